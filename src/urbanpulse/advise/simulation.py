"""Does advice ease the peak, or move it? A morning on a busy Beijing metro segment.

The segment is the eastbound Line 1 train leaving its busiest station in the weekday
morning peak. Its load without advice is the station's profile (from the demo city
cluster, or from a lake). Every rider of the morning peak is a commuter with a
preferred departure (the period they ride in today) and a flexibility drawn from
``FLEXIBILITY``; a ``compliance`` share of commuters ask the service and follow the
advice, the others keep their preferred time. Riders outside the peak stay put.

Three policies: ``none`` (no advice), ``naive`` (everyone told the least crowded
slot in their window) and ``urbanpulse`` (the spreading policy with counters). Each
simulated commuter stands for ``group_size`` riders so a run takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, timedelta

import numpy as np
import pandas as pd

from urbanpulse.advise.advice import NAIVE_POLICY, Policy, compute_advice
from urbanpulse.advise.counters import MemoryCounters
from urbanpulse.advise.forecasts import build_forecast_lookup
from urbanpulse.advise.trips import Trip, Window, build_window

# Minutes either side of the preferred time a commuter would accept, and how common
# each is. Fixed up front (not fitted to the targets): most commuters are tied to a
# start time, a few have flexitime.
FLEXIBILITY = {0: 0.40, 15: 0.20, 30: 0.20, 45: 0.10, 60: 0.10}
COMPLIANCE_RATES = (0.0, 0.1, 0.3, 0.5, 0.7, 1.0)
POLICIES = ("none", "naive", "urbanpulse")
RESULT_COLUMNS = [
    "policy",
    "compliance",
    "peak_load",
    "peak_slot",
    "peak_to_mean",
    "slots_over_capacity",
    "new_slots_over_capacity",
    "peak_cut",
    "mean_shift_min",
    "requests",
]
SIM_DAY = "2026-11-02"  # a Monday with no holiday near


@dataclass(frozen=True)
class Scenario:
    """The simulated morning: one segment, its load without advice, its capacity."""

    site_id: str
    name_en: str
    trip: Trip
    slots: pd.DatetimeIndex  # local period starts of the simulated span
    background: np.ndarray  # load against capacity per slot, no advice
    capacity: float  # riders per period the load is measured against
    peak_start: str = "06:30"
    peak_end: str = "09:45"  # last period whose riders are commuters


def build_commuters(
    scenario: Scenario, *, group_size: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The peak's riders as commuters, each standing for ``group_size`` riders.

    Returns
    -------
    pandas.DataFrame
        Columns: preferred (slot index), flexibility (minutes either side), draw
        (uniform in [0, 1), compared with the compliance rate, so the commuters who
        comply at 30 % also comply at 50 %).
    """
    labels = scenario.slots.strftime("%H:%M")
    peak = (labels >= scenario.peak_start) & (labels <= scenario.peak_end)
    riders = scenario.background * scenario.capacity * peak
    groups = np.floor(riders / group_size + rng.random(len(riders))).astype(int)
    preferred = np.repeat(np.arange(len(riders)), groups)
    flex = rng.choice(list(FLEXIBILITY), size=len(preferred), p=list(FLEXIBILITY.values()))
    return pd.DataFrame(
        {"preferred": preferred, "flexibility": flex, "draw": rng.random(len(preferred))}
    )


def simulate_policy(
    scenario: Scenario,
    commuters: pd.DataFrame,
    policy: str,
    *,
    compliance: float,
    group_size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Where every commuter rides under ``policy``: a slot index per commuter."""
    chosen = commuters["preferred"].to_numpy().copy()
    asking = np.flatnonzero(commuters["draw"].to_numpy() < compliance)
    if policy == "none" or len(asking) == 0:
        return chosen
    base = NAIVE_POLICY if policy == "naive" else Policy()
    rules = replace(base, passengers_per_request=group_size, holdout_share=0.0)
    lookup = build_forecast_lookup(compute_profile_forecast_frame(scenario), period_minutes=15)
    counters = MemoryCounters()
    now = scenario.slots[0].to_pydatetime() - timedelta(days=1)
    position = {int(t.timestamp()): i for i, t in enumerate(scenario.slots)}
    for k in rng.permutation(asking):  # everyone asks before anyone travels
        window = _commuter_window(scenario, int(chosen[k]), int(commuters.at[k, "flexibility"]))
        advice = compute_advice(
            lookup, scenario.trip, window, counters=counters, policy=rules, rng=rng, now=now
        )
        chosen[k] = position[int(advice.slots.iloc[0]["departure"].timestamp())]
    return chosen


def compute_profile_forecast_frame(scenario: Scenario) -> pd.DataFrame:
    """The service's forecast of the segment: the no-advice load with a +-10 % band.

    Returns
    -------
    pandas.DataFrame
        Columns of ``FORECAST_COLUMNS`` for the scenario's station.
    """
    return pd.DataFrame(
        {
            "site_id": scenario.site_id,
            "slot": scenario.slots.tz_convert(UTC),
            "load": scenario.background,
            "load_p10": scenario.background * 0.9,
            "load_p90": scenario.background * 1.1,
            "capacity": scenario.capacity,
        }
    )


def _commuter_window(scenario: Scenario, preferred: int, flexibility: int) -> Window:
    steps = flexibility // 15
    first = max(0, preferred - steps)
    last = min(len(scenario.slots) - 1, preferred + steps)
    # A window's end is its latest departure, itself a candidate: end inside the last
    # acceptable period so that the next one is not offered.
    start, end = scenario.slots[first], scenario.slots[last] + pd.Timedelta(minutes=14)
    return build_window(
        start.to_pydatetime(), end.to_pydatetime(), scenario.slots[preferred].to_pydatetime()
    )


def compute_loads(
    scenario: Scenario, commuters: pd.DataFrame, chosen: np.ndarray, *, group_size: int
) -> np.ndarray:
    """Load against capacity per slot: riders outside the peak plus commuters where they ride."""
    n = len(scenario.slots)
    before = np.bincount(commuters["preferred"].to_numpy(), minlength=n) * group_size
    after = np.bincount(chosen, minlength=n) * group_size
    return scenario.background + (after - before) / scenario.capacity


def simulate_spreading(
    scenario: Scenario,
    *,
    rates: Sequence[float] = COMPLIANCE_RATES,
    group_size: int = 40,
    seed: int = 2026,
) -> tuple[pd.DataFrame, dict[tuple[str, float], np.ndarray]]:
    """Every policy at every compliance rate, deterministic by ``seed``.

    Returns
    -------
    tuple
        A table with columns ``RESULT_COLUMNS`` (one row per policy and rate), and the
        load per slot of each (policy, rate).
    """
    commuters = build_commuters(
        scenario, group_size=group_size, rng=np.random.default_rng([seed, 1])
    )
    rows, loads = [], {}
    for rate in rates:
        for p, policy in enumerate(POLICIES):
            rng = np.random.default_rng([seed, 2, p, round(rate * 1000)])
            chosen = simulate_policy(
                scenario, commuters, policy, compliance=rate, group_size=group_size, rng=rng
            )
            loads[(policy, rate)] = compute_loads(
                scenario, commuters, chosen, group_size=group_size
            )
            shift = np.abs(chosen - commuters["preferred"].to_numpy()) * 15.0
            asked = int((commuters["draw"] < rate).sum()) if policy != "none" else 0
            rows.append(_summarise(scenario, loads[(policy, rate)], policy, rate, shift, asked))
    table = _compare_to_none(pd.DataFrame(rows), loads)
    return table[RESULT_COLUMNS], loads


def _summarise(
    scenario: Scenario, load: np.ndarray, policy: str, rate: float, shift: np.ndarray, asked: int
) -> dict[str, object]:
    peak = int(np.argmax(load))
    return {
        "policy": policy,
        "compliance": rate,
        "peak_load": float(load[peak]),
        "peak_slot": scenario.slots[peak].strftime("%H:%M"),
        "peak_to_mean": float(load[peak] / load.mean()),
        "slots_over_capacity": int((load > 1.0).sum()),
        "mean_shift_min": float(shift.mean()) if len(shift) else 0.0,
        "requests": asked,
    }


def _compare_to_none(
    table: pd.DataFrame, loads: dict[tuple[str, float], np.ndarray]
) -> pd.DataFrame:
    cut, new_over = [], []
    for row in table.itertuples():
        base = loads[("none", row.compliance)]
        mine = loads[(row.policy, row.compliance)]
        cut.append(1.0 - row.peak_load / float(base.max()))
        new_over.append(int(((mine > 1.0) & (base <= 1.0)).sum()))
    return table.assign(peak_cut=cut, new_slots_over_capacity=new_over)


def check_targets(table: pd.DataFrame, *, rate: float = 0.3) -> dict[str, object]:
    """The targets at ``rate`` compliance: a peak cut of at least 15 % against no advice,
    no slot newly over capacity, and whether the naive policy made a new peak.
    """
    at = table[np.isclose(table["compliance"], rate)].set_index("policy")
    up, naive, none = at.loc["urbanpulse"], at.loc["naive"], at.loc["none"]
    return {
        "compliance": rate,
        "urbanpulse_peak_cut": round(float(up["peak_cut"]), 4),
        "peak_cut_target": 0.15,
        "peak_cut_met": bool(up["peak_cut"] >= 0.15),
        "urbanpulse_new_slots_over_capacity": int(up["new_slots_over_capacity"]),
        "no_new_overload_met": bool(up["new_slots_over_capacity"] == 0),
        "naive_peak_slot": str(naive["peak_slot"]),
        "none_peak_slot": str(none["peak_slot"]),
        "naive_moved_peak": bool(naive["peak_slot"] != none["peak_slot"]),
        "naive_peak_cut": round(float(naive["peak_cut"]), 4),
        "naive_moved_peak_at": _get_moved_peaks(table, "naive"),
        "urbanpulse_moved_peak_at": _get_moved_peaks(table, "urbanpulse"),
    }


def _get_moved_peaks(table: pd.DataFrame, policy: str) -> list[float]:
    """Compliance rates at which ``policy`` put the peak in another slot than no advice."""
    none = table[table["policy"] == "none"].set_index("compliance")["peak_slot"]
    mine = table[table["policy"] == policy].set_index("compliance")["peak_slot"]
    return [float(rate) for rate, slot in mine.items() if slot != none[rate]]
