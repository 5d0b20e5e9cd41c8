"""Advice in words: why a slot ranks where it does, and the answer's one-line message.

The words never claim more than the forecasts hold: a slot without a forecast says so
instead of showing 0 %, and a recommendation that keeps the preferred time says that
no other time is enough less crowded to be worth moving for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from urbanpulse.i18n import gettext as _

# The words are in the language of the request being answered (urbanpulse.i18n): a
# reason's parts change order and grammar between Chinese and English, so they are
# whole templates, not English fragments glued together.
NO_FORECAST = "no crowding forecast"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What :func:`compute_advice` decided, for the message.

    Attributes
    ----------
    holdout
        The request is in the holdout group: no recommendation by design.
    label
        'HH:MM' of the recommended slot, or None when nothing is recommended.
    reason
        The recommended slot's reason, or "" when nothing is recommended.
    kept_preferred
        The recommendation is the preferred time because no slot beat it by ``min_gain``.
    preferred_label
        'HH:MM' of the preferred slot.
    preferred_known
        The preferred slot has a crowding forecast.
    coverage
        Share of (stop, slot) pairs of the window that have a crowding forecast.
    holdout_share, min_gain
        From the policy, quoted in the message.
    """

    holdout: bool
    label: str | None
    reason: str
    kept_preferred: bool
    preferred_label: str
    preferred_known: bool
    coverage: float
    holdout_share: float
    min_gain: float


def build_reason(
    crowding: float, crowding_p90: float, shift: float, base: float, base_label: str
) -> str:
    """A short reason in words, e.g. '23 % less crowded than 08:00, 15 min earlier than
    you wanted'; ``base`` and ``base_label`` are the preferred slot's crowding and time.
    A NaN crowding (no forecast) says so; a NaN ``base`` compares with nothing."""
    parts = []
    if math.isnan(crowding):
        parts.append(_("no crowding forecast"))
        if int(shift) != 0:
            parts.append(_shift_words(shift))
        return _(", ").join(parts)
    full = get_percent(crowding)
    if int(shift) == 0:
        parts.append(_("your preferred time, {share} full").format(share=full))
    else:
        if math.isnan(base):
            text = _("{share} full (no crowding forecast at {time})")
            parts.append(text.format(share=full, time=base_label))
        else:
            change = (base - crowding) / base if base > 0 else 0.0
            if abs(change) < 0.005:
                parts.append(_("as crowded as {time}").format(time=base_label))
            else:
                text = (
                    _("{share} less crowded than {time}")
                    if change > 0
                    else _("{share} more crowded than {time}")
                )
                parts.append(text.format(share=get_percent(abs(change)), time=base_label))
        parts.append(_shift_words(shift))
    if crowding > 1.0:
        parts.append(_("over capacity"))
    elif crowding_p90 > 1.0:
        parts.append(_("may be over capacity"))
    return _(", ").join(parts)


def build_message(outcome: Outcome) -> str:
    """The answer's one line: what to do and why, or why there is no recommendation."""
    if outcome.coverage == 0.0:
        return _(
            "No crowding forecast for this trip in this window: its stations have no "
            "crowding history, or the window is further ahead than the forecasts reach. "
            "The departure times are listed without crowding."
        )
    if outcome.holdout:
        text = _(
            "No recommendation this time: this request is in the holdout group "
            "({share} of requests) that lets operators measure what advice changes. "
            "Predicted crowding for every slot is below."
        ).format(share=get_percent(outcome.holdout_share))
    elif not outcome.preferred_known:
        text = _(
            "No recommendation: there is no crowding forecast at your preferred time "
            "{time} to compare the other times with."
        ).format(time=outcome.preferred_label)
    elif outcome.label is None:
        text = _("No recommendation: no departure time in the window has a forecast and a service.")
    elif outcome.kept_preferred:
        text = _(
            "Leave at {time} as you planned ({reason}): no other time in the window saves "
            "{minutes} minutes or more of crowded travel once leaving earlier or later is "
            "counted, so it is as good as any."
        ).format(time=outcome.label, reason=outcome.reason, minutes=f"{outcome.min_gain:g}")
    else:
        text = _("Leave at {time}: {reason}.").format(time=outcome.label, reason=outcome.reason)
    if outcome.coverage < 1.0:
        text += _(
            " Crowding is forecast for {share} of the stops and times along the way; the "
            "others have no crowding history and are left out."
        ).format(share=get_percent(outcome.coverage))
    return text


def get_percent(share: float) -> str:
    """'23 %' for 0.23."""
    return f"{round(share * 100)} %"


def _shift_words(shift: float) -> str:
    text = (
        _("{duration} earlier than you wanted")
        if shift < 0
        else _("{duration} later than you wanted")
    )
    return text.format(duration=_duration(abs(int(shift))))


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("{minutes} min").format(minutes=rest)
    if rest:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=rest)
    return _("{hours} h").format(hours=hours)
