"""Best time to travel: rank departure slots by predicted crowding, and spread the load.

For every candidate departure slot the trip's crowding is the worst load along the
way (each train read at the period it leaves its station), plus the recommendations
already issued for those trains and periods, counted as expected extra passengers
against capacity. The score adds a small cost per hour away from the preferred time.

Spreading: instead of always naming the single best slot (which sends everyone who
asks at the same moment to the same train), the spreading policy draws among slots
whose score is within ``tolerance`` of the best, with softmax weights, and every issue
is counted so the next person sees it. A ``holdout_share`` of requests gets no
recommendation at all, so operators can compare the two groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.advise.counters import Counters
from urbanpulse.advise.forecasts import ForecastLookup, build_forecast_lookup
from urbanpulse.advise.trips import LOCAL_TZ, Trip, Window, check_window

ADVICE_COLUMNS = [
    "departure",
    "label",
    "arrival",
    "travel_minutes",
    "crowding",
    "crowding_p10",
    "crowding_p90",
    "expected_extra",
    "bottleneck_site_id",
    "shift_minutes",
    "score",
    "recommended",
    "reason",
]
# Counter segments that record who asked, by group, at their preferred slot.
ADVISED_SEGMENT = "_requests:advised"
HOLDOUT_SEGMENT = "_requests:holdout"


@dataclass(frozen=True, slots=True)
class Policy:
    """How advice is chosen.

    Attributes
    ----------
    name
        Shown in responses and simulation tables.
    spread
        Read the counters and draw among near-best slots; False names the best slot.
    tolerance
        Slots scoring within this much (load share) of the best are near-equivalent.
    temperature
        Softmax temperature over near-equivalent slots (load share); lower is greedier.
    shift_penalty
        Score added per hour between a slot and the preferred time.
    holdout_share
        Share of requests, drawn at random, that get no recommendation.
    passengers_per_request
        Travellers one request stands for (a group ticket, or a simulated agent).
    expected_compliance
        Share of recommendations expected to be followed, as measured against holdout.
    """

    name: str = "urbanpulse"
    spread: bool = True
    tolerance: float = 0.05
    temperature: float = 0.02
    shift_penalty: float = 0.2
    holdout_share: float = 0.0
    passengers_per_request: float = 1.0
    expected_compliance: float = 1.0


NAIVE_POLICY = Policy(name="naive", spread=False, shift_penalty=0.0)


@dataclass(frozen=True)
class Advice:
    """The answer to one request: slots ranked, the recommended one first."""

    trip: Trip
    window: Window
    policy: str
    holdout: bool
    slots: pd.DataFrame  # ADVICE_COLUMNS, ranked
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def recommended(self) -> pd.Series | None:
        """The recommended slot's row, or None for a holdout request."""
        if self.holdout or self.slots.empty:
            return None
        return self.slots.iloc[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view for the HTTP API and the commuter page."""
        rows = self.slots.assign(
            departure=self.slots["departure"].map(lambda t: t.isoformat()),
            arrival=self.slots["arrival"].map(lambda t: t.isoformat()),
        )
        return {
            "origin": self.trip.origin,
            "destination": self.trip.destination,
            "line_id": self.trip.line_id,
            "travel_minutes": self.trip.travel_minutes,
            "preferred": self.window.preferred.isoformat(),
            "policy": self.policy,
            "holdout": self.holdout,
            "message": self.message,
            "recommended": None if self.recommended is None else rows.iloc[0].to_dict(),
            "slots": rows.to_dict(orient="records"),
        }


def compute_advice(
    forecast: pd.DataFrame | ForecastLookup,
    trip: Trip,
    window: Window,
    *,
    counters: Counters | None = None,
    policy: Policy = Policy(),
    rng: np.random.Generator | None = None,
    now: datetime | None = None,
    tz: str = LOCAL_TZ,
) -> Advice:
    """Rank the departure slots of ``window`` for ``trip`` and record the recommendation.

    Parameters
    ----------
    forecast
        A forecast table (``FORECAST_COLUMNS``) or its :func:`build_forecast_lookup`.
    trip, window
        From :func:`build_trip` and :func:`build_window`.
    counters
        Recommendations issued so far; read when ``policy.spread``, always written.
    policy
        How to choose; see :class:`Policy`.
    rng
        Source of the holdout draw and of the choice among near-equivalent slots.
    now
        The current time (defaults to the clock); windows must not be over by then.

    Returns
    -------
    Advice
        ``slots`` has columns ``ADVICE_COLUMNS`` (departure and arrival tz-aware in
        ``tz``; crowding is load against capacity, 1.0 = full), recommended row first.
    """
    lookup = forecast if isinstance(forecast, ForecastLookup) else build_forecast_lookup(forecast)
    rng = rng or np.random.default_rng()
    window = check_window(window, now=now or datetime.now(UTC))
    table = compute_slot_table(
        lookup, trip, window, counters=counters if policy.spread else None, policy=policy, tz=tz
    )
    holdout = bool(rng.random() < policy.holdout_share)
    pick = None if holdout else choose_slot(table["score"].to_numpy(), policy=policy, rng=rng)
    ranked = rank_slots(table, pick)
    preferred = table.iloc[int(np.argmin(np.abs(table["shift_minutes"].to_numpy())))]
    ranked["reason"] = [build_reason(row, preferred) for row in ranked.itertuples()]
    if counters is not None:
        _record(counters, trip, lookup.period_minutes, ranked, preferred, holdout)
    return Advice(
        trip,
        window,
        policy.name,
        holdout,
        ranked[ADVICE_COLUMNS],
        _message(ranked, holdout, policy),
    )


def get_departure_slots(window: Window, *, period_minutes: int) -> pd.DatetimeIndex:
    """Period starts from the one holding ``window.start`` up to (not incl.) ``window.end``."""
    freq = f"{period_minutes}min"
    first = pd.Timestamp(window.start).floor(freq)
    return pd.date_range(first, pd.Timestamp(window.end), freq=freq, inclusive="left")


def compute_slot_table(
    lookup: ForecastLookup,
    trip: Trip,
    window: Window,
    *,
    counters: Counters | None,
    policy: Policy,
    tz: str = LOCAL_TZ,
) -> pd.DataFrame:
    """Crowding, travel time, shift and score of every departure slot, in time order.

    Returns
    -------
    pandas.DataFrame
        Columns: departure, label, arrival, travel_minutes, crowding, crowding_p10,
        crowding_p90, expected_extra, bottleneck_site_id, shift_minutes, score.
    """
    period = lookup.period_minutes
    departures = get_departure_slots(window, period_minutes=period).tz_convert(tz)
    dep_keys = departures.as_unit("s").asi8
    step = period * 60
    load = np.empty((4, len(trip.segments), len(departures)))  # load, p10, p90, extra
    for s, segment in enumerate(trip.segments):
        keys = (dep_keys + segment.offset_minutes * 60) // step * step
        values = lookup.get_values(segment.site_id, keys)
        extra = np.zeros(len(keys))
        if counters is not None:
            slots = [datetime.fromtimestamp(int(k), UTC) for k in keys]
            counts = np.asarray(counters.get(slots, segment.segment_id), dtype=float)
            people = policy.passengers_per_request * policy.expected_compliance
            extra = counts * people / np.where(values[3] > 0, values[3], np.inf)
        load[:, s] = [values[0] + extra, values[1] + extra, values[2] + extra, extra]
    worst = np.argmax(load[0], axis=0)
    cols = np.arange(len(departures))
    preferred = pd.Timestamp(window.preferred).floor(f"{period}min")
    shift = np.asarray((departures - preferred) / pd.Timedelta(minutes=1), dtype=float)
    table = pd.DataFrame(
        {
            "departure": departures,
            "label": departures.strftime("%H:%M"),
            "arrival": departures + pd.Timedelta(minutes=trip.travel_minutes),
            "travel_minutes": trip.travel_minutes,
            "crowding": load[0, worst, cols],
            "crowding_p10": load[1].max(axis=0),
            "crowding_p90": load[2].max(axis=0),
            "expected_extra": load[3, worst, cols],
            "bottleneck_site_id": [trip.segments[w].site_id for w in worst],
            "shift_minutes": shift,
        }
    )
    table["score"] = table["crowding"] + policy.shift_penalty * np.abs(shift) / 60.0
    return table


def choose_slot(scores: np.ndarray, *, policy: Policy, rng: np.random.Generator) -> int:
    """Index of the slot to recommend.

    Without spreading, the lowest score (earliest on ties). With spreading, a softmax
    draw among the slots within ``policy.tolerance`` of the lowest score.
    """
    best = float(np.min(scores))
    if not policy.spread:
        return int(np.argmin(scores))
    gap = scores - best
    near = np.flatnonzero(gap <= policy.tolerance)
    weights = np.exp(-gap[near] / max(policy.temperature, 1e-9))
    return int(rng.choice(near, p=weights / weights.sum()))


def rank_slots(table: pd.DataFrame, pick: int | None) -> pd.DataFrame:
    """Slots ordered by score (then nearness to the preferred time), ``pick`` first."""
    order = table.assign(_abs=table["shift_minutes"].abs(), recommended=False)
    order = order.sort_values(["score", "_abs", "departure"], kind="stable")
    if pick is not None:
        order.loc[pick, "recommended"] = True
        order = pd.concat([order.loc[[pick]], order.drop(index=pick)])
    return order.drop(columns="_abs").reset_index(drop=True)


def build_reason(row: Any, preferred: pd.Series) -> str:
    """A short reason in words, e.g. '23 % less crowded than 08:00, 15 min earlier than
    you wanted'."""
    parts = []
    shift = int(row.shift_minutes)
    if shift == 0:
        parts.append(f"your preferred time, {row.crowding:.0%} full".replace("%", " %"))
    else:
        base = float(preferred["crowding"])
        change = (base - row.crowding) / base if base > 0 else 0.0
        if abs(change) < 0.005:
            parts.append(f"as crowded as {preferred['label']}")
        else:
            word = "less" if change > 0 else "more"
            parts.append(
                f"{abs(change):.0%} {word} crowded than {preferred['label']}".replace("%", " %")
            )
        when = "earlier" if shift < 0 else "later"
        parts.append(f"{_duration(abs(shift))} {when} than you wanted")
    if row.crowding_p90 > 1.0:
        parts.append("may be over capacity" if row.crowding <= 1.0 else "over capacity")
    return ", ".join(parts)


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _message(ranked: pd.DataFrame, holdout: bool, policy: Policy) -> str:
    if holdout:
        return (
            "No recommendation this time: this request is in the holdout group "
            f"({policy.holdout_share:.0%} of requests) that lets operators measure what "
            "advice changes. Predicted crowding for every slot is below."
        ).replace("%", " %")
    top = ranked.iloc[0]
    return f"Leave at {top['label']}: {top['reason']}."


def _record(
    counters: Counters,
    trip: Trip,
    period_minutes: int,
    ranked: pd.DataFrame,
    preferred: pd.Series,
    holdout: bool,
) -> None:
    """Count who asked (by group) and, when advised, the move from preferred to advised.

    Counts are in requests; readers turn them into passengers with the policy.
    """
    pref_at = pd.Timestamp(preferred["departure"]).to_pydatetime()
    counters.increment(pref_at, HOLDOUT_SEGMENT if holdout else ADVISED_SEGMENT, 1)
    if holdout:
        return
    chosen = pd.Timestamp(ranked.iloc[0]["departure"]).to_pydatetime()
    if chosen == pref_at:
        return
    step = timedelta(minutes=period_minutes)
    for segment in trip.segments:
        offset = timedelta(minutes=segment.offset_minutes)
        # The traveller leaves the preferred trains and joins the advised ones.
        counters.increment(_floor(chosen + offset, step), segment.segment_id, 1)
        counters.increment(_floor(pref_at + offset, step), segment.segment_id, -1)


def _floor(moment: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)


def with_holdout(policy: Policy, share: float) -> Policy:
    """The same policy with another holdout share."""
    return replace(policy, holdout_share=share)
