"""Advice in words: why a slot ranks where it does, and the answer's one-line message.

The words never claim more than the forecasts hold: a slot without a forecast says so
instead of showing 0 %, and a recommendation that keeps the preferred time says that
no other time is enough less crowded to be worth moving for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
        parts.append(NO_FORECAST)
        if int(shift) != 0:
            parts.append(_shift_words(shift))
        return ", ".join(parts)
    if int(shift) == 0:
        parts.append(f"your preferred time, {get_percent(crowding)} full")
    else:
        if math.isnan(base):
            parts.append(f"{get_percent(crowding)} full ({NO_FORECAST} at {base_label})")
        else:
            change = (base - crowding) / base if base > 0 else 0.0
            if abs(change) < 0.005:
                parts.append(f"as crowded as {base_label}")
            else:
                word = "less" if change > 0 else "more"
                parts.append(f"{get_percent(abs(change))} {word} crowded than {base_label}")
        parts.append(_shift_words(shift))
    if crowding > 1.0:
        parts.append("over capacity")
    elif crowding_p90 > 1.0:
        parts.append("may be over capacity")
    return ", ".join(parts)


def build_message(outcome: Outcome) -> str:
    """The answer's one line: what to do and why, or why there is no recommendation."""
    if outcome.coverage == 0.0:
        return (
            "No crowding forecast for this trip in this window: its stations have no "
            "crowding history, or the window is further ahead than the forecasts reach. "
            "The departure times are listed without crowding."
        )
    if outcome.holdout:
        text = (
            "No recommendation this time: this request is in the holdout group "
            f"({get_percent(outcome.holdout_share)} of requests) that lets operators "
            "measure what advice changes. Predicted crowding for every slot is below."
        )
    elif not outcome.preferred_known:
        text = (
            f"No recommendation: there is {NO_FORECAST} at your preferred time "
            f"{outcome.preferred_label} to compare the other times with."
        )
    elif outcome.label is None:
        text = "No recommendation: no departure time in the window has a forecast and a service."
    elif outcome.kept_preferred:
        text = (
            f"Leave at {outcome.label} as you planned ({outcome.reason}): no other time in "
            f"the window is at least {round(outcome.min_gain * 100)} points of capacity "
            "less crowded, so it is as good as any."
        )
    else:
        text = f"Leave at {outcome.label}: {outcome.reason}."
    if outcome.coverage < 1.0:
        text += (
            f" Crowding is forecast for {get_percent(outcome.coverage)} of the stops and "
            "times along the way; the others have no crowding history and are left out."
        )
    return text


def get_percent(share: float) -> str:
    """'23 %' for 0.23."""
    return f"{round(share * 100)} %"


def _shift_words(shift: float) -> str:
    when = "earlier" if shift < 0 else "later"
    return f"{_duration(abs(int(shift)))} {when} than you wanted"


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
