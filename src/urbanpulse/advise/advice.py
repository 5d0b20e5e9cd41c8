"""Best time to travel: rank departure slots by predicted crowding, and spread the load.

For every candidate departure slot the trip's crowding is the worst load along the
way (each train read at the period it leaves its station), plus the recommendations
already issued for those trains and periods, counted as expected extra passengers
against capacity. The score is the slot's generalized cost in minutes, as in the
scheduling model of departure-time choice (Small 1982): the minutes exposed to the
crowd (the ride and the time in the station) weighted by a crowding multiplier, plus
the schedule delay, minutes arriving earlier or later than leaving at the preferred
time would, each weighed by its own value (:class:`Policy`).

Spreading: instead of always naming the single best slot (which sends everyone who
asks at the same moment to the same train), the spreading policy draws among slots
whose score is within ``tolerance`` of the best, with softmax weights, and every issue
is counted so the next person sees it. A ``holdout_share`` of requests gets no
recommendation at all, so operators can compare the two groups.

Honesty: nobody is moved for less than ``min_gain`` (the preferred time is kept and
said to be as good as any); a stop or time without a forecast has NaN crowding (never
0 %), slots are only compared where the forecasts cover the same stops, and nothing is
recommended when the preferred time itself has no forecast to compare with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from urbanpulse.advise.counters import Counters
from urbanpulse.advise.forecasts import ForecastLookup, build_forecast_lookup
from urbanpulse.advise.reasons import Outcome, build_message, build_reason
from urbanpulse.advise.trips import LOCAL_TZ, Trip, Window, check_window
from urbanpulse.errors import InvalidQueryError

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
    "forecast_share",
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
        Slots whose generalized cost is within this many minutes of the best are
        near-equivalent (spreading draws among them).
    min_gain
        How many minutes of generalized cost a slot must save against the preferred
        time before anyone is moved to it; otherwise the preferred time is recommended
        as already as good as any.
    temperature
        Softmax temperature over near-equivalent slots (minutes); lower is greedier.
    value_early
        Cost of a minute of arriving earlier than wanted, in minutes of travel: 0.61
        (Small 1982, The scheduling of consumer activities: work trips, American
        Economic Review 72(3); per-minute values 0.065 early against 0.106 travel).
    value_late
        Cost of a minute of arriving later than wanted, in minutes of travel. Without a
        deadline (leaving at a preferred time) a later arrival costs what a minute of
        travel does, 1.0; against a deadline (arrive-by) ``value_late_deadline``.
    value_late_deadline
        A minute late for a deadline: 2.4 (Small 1982: 0.254 against 0.106 travel).
    station_minutes
        Minutes in the station (entering, waiting, boarding) exposed to the crowd as on
        board: a trip of a few minutes is not free of crowding.
    holdout_share
        Share of requests, drawn at random, that get no recommendation.
    passengers_per_request
        Travellers one request stands for (a group ticket, or a simulated agent).
    expected_compliance
        Share of recommendations expected to be followed, as measured against holdout.
    """

    name: str = "urbanpulse"
    spread: bool = True
    tolerance: float = 1.5
    min_gain: float = 2.0
    temperature: float = 0.75
    value_early: float = 0.61
    value_late: float = 1.0
    value_late_deadline: float = 2.4
    station_minutes: float = 5.0
    holdout_share: float = 0.0
    passengers_per_request: float = 1.0
    expected_compliance: float = 1.0


# Naive advice: the least crowded slot, whatever it costs the traveller in time.
NAIVE_POLICY = Policy(
    name="naive", spread=False, min_gain=0.0, value_early=0.0, value_late=0.0,
    value_late_deadline=0.0,
)  # fmt: skip

# Crowding multipliers of time (load against capacity, standing places included -> the
# weight of a minute): 1 while seats are free, about 2 standing in a full vehicle and
# more beyond, the magnitudes of the valuations reviewed by Wardman and Whelan (2011,
# Twenty years of rail crowding valuation in Britain, Transport Reviews 31(3));
# linear between the points and beyond the last.
CROWDING_LOADS = (0.0, 0.5, 0.75, 1.0, 1.5)
CROWDING_MULTIPLIERS = (1.0, 1.0, 1.4, 2.0, 3.0)


@dataclass(frozen=True)
class Advice:
    """The answer to one request: slots ranked, the recommended one first."""

    trip: Trip
    window: Window
    policy: str
    holdout: bool
    columns: dict[str, np.ndarray]  # ADVICE_COLUMNS as arrays, ranked
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    coverage: float = 1.0  # share of (stop, slot) pairs of the window with a forecast

    @cached_property
    def slots(self) -> pd.DataFrame:
        """The ranked slots as a table (columns ``ADVICE_COLUMNS``).

        Built on first use only: a server answers from ``columns`` and skips the cost
        of a DataFrame per request.
        """
        return pd.DataFrame({name: self.columns[name] for name in ADVICE_COLUMNS})

    @property
    def recommended(self) -> pd.Series | None:
        """The recommended slot's row, or None for a holdout request."""
        if self.slots.empty or not bool(self.columns["recommended"][0]):
            return None
        return self.slots.iloc[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view for the HTTP API and the commuter page."""
        rows = self.slots.assign(
            departure=self.slots["departure"].map(lambda t: t.isoformat()),
            arrival=self.slots["arrival"].map(lambda t: None if t is None else t.isoformat()),
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
            "forecast_coverage": self.coverage,
            "recommended": None if self.recommended is None else rows.iloc[0].to_dict(),
            # NaN (no forecast) as null, never as a number.
            "slots": rows.astype(object).where(rows.notna(), None).to_dict(orient="records"),
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
    record: bool = True,
    holdout: bool | None = None,
) -> Advice:
    """Rank the departure slots of ``window`` for ``trip`` and record the recommendation.

    Parameters
    ----------
    forecast
        A forecast table (``FORECAST_COLUMNS``) or its :func:`build_forecast_lookup`.
    trip, window
        From :func:`build_trip` and :func:`build_window`.
    counters
        Recommendations issued so far; read when ``policy.spread``, written when
        ``record``.
    policy
        How to choose; see :class:`Policy`.
    rng
        Source of the holdout draw and of the choice among near-equivalent slots.
    now
        The current time (defaults to the clock); windows must not be over by then.
    record
        False ranks and answers without counting the recommendation anywhere (a read).
    holdout
        The request's group when the caller has drawn it already (a client keeps its
        group for a trip and day, see ``service.draw_holdout``); None draws from ``rng``.

    Returns
    -------
    Advice
        ``slots`` has columns ``ADVICE_COLUMNS`` (departure and arrival tz-aware in
        ``tz``; crowding is load against capacity, 1.0 = full, NaN where no stop has a
        forecast; forecast_share is the share of the trip's stops that have one),
        recommended row first; nothing is recommended for a holdout request, or when the
        preferred time has no forecast to compare with.
    """
    lookup = forecast if isinstance(forecast, ForecastLookup) else build_forecast_lookup(forecast)
    rng = rng or np.random.default_rng()
    window = check_window(window, now=now or datetime.now(UTC))
    reader = counters if policy.spread else None
    cols = compute_slot_arrays(lookup, trip, window, counters=reader, policy=policy, tz=tz)
    holdout = bool(rng.random() < policy.holdout_share) if holdout is None else holdout
    pref = int(np.argmin(np.abs(cols["shift_minutes"])))
    pick = None if holdout else choose_advised_slot(cols, pref, policy=policy, rng=rng)
    # A holdout (control) answer must not carry the advice by its order either: the
    # preferred time first (the journey is shown at it), then the others in time order.
    order = _rank(cols, pick) if not holdout else _in_time_order(len(cols["score"]), pref)
    ranked = {name: values[order] for name, values in cols.items()}
    ranked["recommended"] = np.zeros(len(order), dtype=bool)
    ranked["recommended"][0] = pick is not None
    ranked["reason"] = np.array(
        [
            build_reason(c, p90, shift, cols["crowding"][pref], str(cols["label"][pref]))
            for c, p90, shift in zip(
                ranked["crowding"], ranked["crowding_p90"], ranked["shift_minutes"], strict=True
            )
        ],
        dtype=object,
    )
    if record and counters is not None and (holdout or pick is not None):
        chosen = None if pick is None else cols["departure"][pick]
        _record(counters, trip, lookup.period_minutes, cols["departure"][pref], chosen)
    coverage = _get_coverage(cols["forecast_share"])
    outcome = Outcome(
        holdout=holdout,
        label=None if pick is None else str(ranked["label"][0]),
        reason="" if pick is None else str(ranked["reason"][0]),
        kept_preferred=pick == pref,
        preferred_label=str(cols["label"][pref]),
        preferred_known=not np.isnan(cols["crowding"][pref]),
        coverage=coverage,
        holdout_share=policy.holdout_share,
        min_gain=policy.min_gain,
    )
    message = build_message(outcome)
    return Advice(trip, window, policy.name, holdout, ranked, message, coverage=coverage)


def get_departure_slots(window: Window, *, period_minutes: int) -> pd.DatetimeIndex:
    """Period starts from the one holding ``window.start`` up to ``window.end`` included:
    the window's last time is the latest departure the traveller accepts."""
    freq = f"{period_minutes}min"
    first = pd.Timestamp(window.start).tz_convert("UTC").floor(freq)
    end = pd.Timestamp(window.end).tz_convert("UTC")
    return pd.date_range(first, end, freq=freq, inclusive="both")


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
    cols = compute_slot_arrays(lookup, trip, window, counters=counters, policy=policy, tz=tz)
    return pd.DataFrame({name: values for name, values in cols.items() if values.ndim == 1})


def compute_slot_arrays(
    lookup: ForecastLookup,
    trip: Trip,
    window: Window,
    *,
    counters: Counters | None,
    policy: Policy,
    tz: str,
) -> dict[str, np.ndarray]:
    """What :func:`compute_slot_table` holds, as arrays by column name (no pandas: an
    advice request computes them for every route it prices)."""
    period = lookup.period_minutes
    step = period * 60
    # Plain epoch arithmetic: a window holds a few dozen slots, and building pandas
    # indexes for them cost more than the advice itself.
    first = int(window.start.timestamp()) // step * step
    # ``end`` included: the window's last time is a departure the traveller accepts.
    dep_keys = np.arange(first, int(window.end.timestamp()) + 1, step, dtype=np.int64)
    zone = ZoneInfo(tz)
    departures = [datetime.fromtimestamp(int(k), zone) for k in dep_keys]
    travel = get_travel_minutes(trip, departures)
    if window.arrive_within is not None:
        dep_keys, departures, travel = _keep_arriving(dep_keys, departures, travel, window)
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
    # The trip is as crowded as its most crowded train; its interval is bounded by the
    # worst p10 and the worst p90 along the way. Stops without a forecast (NaN) are
    # left out, never read as empty; a slot with none at all has NaN crowding.
    known = ~np.isnan(load[0])
    share = known.mean(axis=0) if len(trip.segments) else np.zeros(len(departures))
    worst = np.argmax(np.where(known, load[0], -np.inf), axis=0)
    cols = np.arange(len(departures))
    pref_key = (int(window.preferred.timestamp()) // step) * step
    shift = (dep_keys - pref_key) / 60.0
    some = share > 0
    crowding = np.where(some, load[0, worst, cols], np.nan)
    legs = compute_leg_crowding(trip, load, known)
    rides = get_ride_minutes(trip, departures, travel)
    return {
        "departure": np.asarray(departures, dtype=object),
        "label": np.asarray([d.strftime("%H:%M") for d in departures], dtype=object),
        "arrival": np.asarray(
            [
                None if np.isnan(m) else d + timedelta(minutes=float(m))
                for d, m in zip(departures, travel, strict=True)
            ],
            dtype=object,
        ),
        "travel_minutes": np.round(travel, 1),
        "crowding": crowding,
        "crowding_p10": _worst_known(load[1], known),
        "crowding_p90": _worst_known(load[2], known),
        "expected_extra": np.where(some, load[3, worst, cols], np.nan),
        "bottleneck_site_id": np.asarray(
            [trip.segments[w].site_id if k else None for w, k in zip(worst, some, strict=True)],
            dtype=object,
        ),
        "forecast_share": share,
        "shift_minutes": shift,
        "score": compute_generalized_cost(
            crowding,
            travel,
            dep_keys,
            pref_key,
            window=window,
            policy=policy,
            rides=rides,
            ride_crowding=legs["leg_crowding"],
        ),
        **legs,
    }


LEG_CROWDING_COLUMNS = (
    "leg_crowding",
    "leg_crowding_p10",
    "leg_crowding_p90",
    "leg_bottleneck_site_id",
)


def compute_leg_crowding(trip: Trip, load: np.ndarray, known: np.ndarray) -> dict[str, np.ndarray]:
    """Per leg and slot: its most crowded train's load with its band, and where
    (``load``: load, p10, p90, extra by segment and slot). Arrays (slots, legs); a trip
    without legs (one line, one station) is one leg. NaN where no stop of the leg has
    a forecast."""
    sizes = [len(leg.stops) for leg in trip.legs] or [len(trip.segments)]
    leg_of = np.repeat(np.arange(len(sizes)), sizes)
    slots = load.shape[2]
    out = {
        "leg_crowding": np.full((slots, len(sizes)), np.nan),
        "leg_crowding_p10": np.full((slots, len(sizes)), np.nan),
        "leg_crowding_p90": np.full((slots, len(sizes)), np.nan),
        "leg_bottleneck_site_id": np.full((slots, len(sizes)), None, dtype=object),
    }
    for leg in range(len(sizes)):
        members = np.flatnonzero(leg_of == leg)
        if not len(members):
            continue
        seen = known[members]
        worst = members[np.argmax(np.where(seen, load[0, members], -np.inf), axis=0)]
        some = seen.any(axis=0)
        cols = np.arange(slots)
        out["leg_crowding"][:, leg] = np.where(some, load[0, worst, cols], np.nan)
        out["leg_crowding_p10"][:, leg] = _worst_known(load[1, members], seen)
        out["leg_crowding_p90"][:, leg] = _worst_known(load[2, members], seen)
        out["leg_bottleneck_site_id"][:, leg] = [
            trip.segments[w].site_id if k else None
            for w, k in zip(worst, np.asarray(some).tolist(), strict=True)
        ]
    return out


def get_ride_minutes(trip: Trip, departures: list[datetime], travel: np.ndarray) -> np.ndarray:
    """Minutes on board each leg for each departure, (slots, legs): from the trip's leg
    profile (the period's or the timetable's times), else each leg's usual ride; a trip
    without legs rides all its travel time."""
    if not trip.legs:
        return np.asarray(travel, dtype=float)[:, None]
    if trip.leg_profile is None:
        usual = np.array([leg.ride_minutes for leg in trip.legs], dtype=float)
        return np.broadcast_to(usual, (len(departures), len(usual))).copy()
    per_day = len(trip.leg_profile)
    periods = [(d.hour * 60 + d.minute) * per_day // 1440 for d in departures]
    times = trip.leg_profile[periods]  # (slots, legs, 2): boards, arrives
    return times[:, :, 1] - times[:, :, 0]


def _keep_arriving(
    dep_keys: np.ndarray, departures: list[datetime], travel: np.ndarray, window: Window
) -> tuple[np.ndarray, list[datetime], np.ndarray]:
    """The departures whose own travel time arrives within the arrive-by window."""
    assert window.arrive_within is not None
    first, last = (moment.timestamp() for moment in window.arrive_within)
    arrivals = dep_keys + np.nan_to_num(travel, nan=np.inf) * 60
    keep = (arrivals >= first) & (arrivals <= last)
    if not keep.any():
        raise InvalidQueryError("no departure arrives within that window")
    return dep_keys[keep], [d for d, k in zip(departures, keep, strict=True) if k], travel[keep]


def get_travel_minutes(trip: Trip, departures: list[datetime]) -> np.ndarray:
    """Travel minutes of ``trip`` for each local departure time: from its travel profile
    by 15-minute period of the day (NaN where it does not run), else its fixed time."""
    if trip.travel_profile is None:
        return np.full(len(departures), float(trip.travel_minutes))
    profile = np.asarray(trip.travel_profile, dtype=float)
    per_day = len(profile)
    periods = [(d.hour * 60 + d.minute) * per_day // 1440 for d in departures]
    return profile[periods]


def get_crowding_multiplier(crowding: np.ndarray) -> np.ndarray:
    """How much a minute at each load weighs against a minute with seats free
    (:data:`CROWDING_MULTIPLIERS`); NaN where the load is unknown."""
    loads = np.asarray(crowding, dtype=float)
    inside = np.interp(loads, CROWDING_LOADS, CROWDING_MULTIPLIERS)
    slope = (CROWDING_MULTIPLIERS[-1] - CROWDING_MULTIPLIERS[-2]) / (
        CROWDING_LOADS[-1] - CROWDING_LOADS[-2]
    )
    beyond = CROWDING_MULTIPLIERS[-1] + slope * (loads - CROWDING_LOADS[-1])
    return np.where(np.isnan(loads), np.nan, np.where(loads > CROWDING_LOADS[-1], beyond, inside))


def compute_generalized_cost(
    crowding: np.ndarray,
    travel: np.ndarray,
    dep_keys: np.ndarray,
    pref_key: int,
    *,
    window: Window,
    policy: Policy,
    rides: np.ndarray | None = None,
    ride_crowding: np.ndarray | None = None,
) -> np.ndarray:
    """Minutes of generalized cost of each departure slot (epoch seconds ``dep_keys``).

    Minutes on board each leg (``rides``, (slots, legs)) times the crowding multiplier
    of that leg's load (``ride_crowding``; a leg without a forecast takes the trip's
    worst, ``crowding``), the minutes in the station (``policy.station_minutes``) at the
    trip's worst, and the rest of the travel (walks, waits) as plain minutes; plus the
    schedule delay against the preferred arrival (the arrival of the preferred
    departure): early minutes at ``value_early``, late ones at ``value_late``, or
    ``value_late_deadline`` when the window is one of arrival times. Without ``rides``
    all of ``travel`` is on board at ``crowding``. NaN without a crowding forecast;
    infinite where the trip does not run.
    """
    if len(travel) == 0:
        return np.zeros(0)
    usual = float(np.nanmedian(travel)) if np.isfinite(travel).any() else 0.0
    at_pref = travel[np.argmin(np.abs(dep_keys - pref_key))]
    preferred_arrival = pref_key / 60.0 + (at_pref if np.isfinite(at_pref) else usual)
    arrival = dep_keys / 60.0 + travel
    early = np.maximum(preferred_arrival - arrival, 0.0)
    late = np.maximum(arrival - preferred_arrival, 0.0)
    value_late = policy.value_late if window.arrive_within is None else policy.value_late_deadline
    worst = get_crowding_multiplier(crowding)
    if rides is None or ride_crowding is None:
        exposed = (travel + policy.station_minutes) * worst
    else:
        per_leg = get_crowding_multiplier(ride_crowding)
        per_leg = np.where(np.isnan(per_leg), worst[:, None], per_leg)
        on_board = np.nansum(rides * per_leg, axis=1)
        off_board = np.maximum(travel - np.nansum(rides, axis=1), 0.0)
        exposed = policy.station_minutes * worst + on_board + off_board
        exposed = np.where(np.isnan(worst), np.nan, exposed)
    cost = exposed + policy.value_early * early + value_late * late
    return np.where(np.isnan(travel), np.inf, cost)


def _worst_known(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    worst = np.where(known, values, -np.inf).max(axis=0, initial=-np.inf)
    return np.where(np.isfinite(worst), worst, np.nan)


def _get_coverage(share: np.ndarray) -> float:
    return float(np.mean(share)) if len(share) else 0.0


def choose_advised_slot(
    cols: dict[str, np.ndarray], pref: int, *, policy: Policy, rng: np.random.Generator
) -> int | None:
    """Index of the slot to recommend for slot arrays with the preferred slot ``pref``.

    Only slots whose forecasts cover as many stops as the best-covered slot compete.
    The preferred slot is kept unless another beats its score by ``policy.min_gain``;
    None when the preferred slot has no forecast (nothing to compare with) or no slot
    can be recommended at all.
    """
    share, score = cols["forecast_share"], np.asarray(cols["score"], dtype=float)
    if not len(score) or np.isnan(cols["crowding"][pref]):
        return None
    full = share >= share.max() - 1e-9
    eligible = np.where(full & np.isfinite(score), score, np.inf)
    if not np.isfinite(eligible).any():
        return None
    # A preferred slot without service (infinite score) is beaten by any slot with one.
    bar = score[pref] - policy.min_gain if full[pref] else np.inf
    movers = np.where(eligible <= bar, eligible, np.inf)
    if np.isfinite(score[pref]) and full[pref] and not np.isfinite(movers).any():
        return pref
    return choose_slot(movers, policy=policy, rng=rng)


def choose_slot(scores: np.ndarray, *, policy: Policy, rng: np.random.Generator) -> int:
    """Index of the slot to recommend among those with a finite score.

    Without spreading, the lowest score (earliest on ties). With spreading, a softmax
    draw among the slots within ``policy.tolerance`` of the lowest score.
    """
    finite = np.isfinite(scores)
    if not finite.any():
        raise ValueError("no slot has a finite score")
    best = float(np.min(scores[finite]))
    if not policy.spread:
        return int(np.argmin(np.where(finite, scores, np.inf)))
    gap = np.where(finite, scores - best, np.inf)
    near = np.flatnonzero(gap <= policy.tolerance)
    weights = np.exp(-gap[near] / max(policy.temperature, 1e-9))
    return int(rng.choice(near, p=weights / weights.sum()))


def rank_slots(table: pd.DataFrame, pick: int | None) -> pd.DataFrame:
    """Slots ordered by score (then nearness to the preferred time), ``pick`` first."""
    cols = {name: table[name].to_numpy() for name in ("score", "shift_minutes")}
    return table.iloc[_rank(cols, pick)].reset_index(drop=True)


def _in_time_order(count: int, first: int) -> np.ndarray:
    rest = [k for k in range(count) if k != first]
    return np.asarray([first, *rest], dtype=int)


def _rank(cols: dict[str, np.ndarray], pick: int | None) -> np.ndarray:
    shift = np.asarray(cols["shift_minutes"], dtype=float)
    order = np.lexsort((np.arange(len(shift)), np.abs(shift), cols["score"]))
    if pick is None:
        return order
    return np.concatenate([[pick], order[order != pick]])


def _record(
    counters: Counters,
    trip: Trip,
    period_minutes: int,
    preferred: datetime,
    chosen: datetime | None,
) -> None:
    """Count who asked (by group) and, when advised, the move from preferred to advised.

    Counts are in requests; readers turn them into passengers with the policy.
    """
    counters.increment(preferred, HOLDOUT_SEGMENT if chosen is None else ADVISED_SEGMENT, 1)
    if chosen is None or chosen == preferred:
        return
    step = timedelta(minutes=period_minutes)
    for segment in trip.segments:
        offset = timedelta(minutes=segment.offset_minutes)
        # The traveller leaves the preferred trains and joins the advised ones.
        counters.increment(_floor(chosen + offset, step), segment.segment_id, 1)
        counters.increment(_floor(preferred + offset, step), segment.segment_id, -1)


def _floor(moment: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)
