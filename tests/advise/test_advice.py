"""Ranking, reasons, holdout and load spreading over hand-made forecasts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from urbanpulse.advise import (
    ADVICE_COLUMNS,
    ADVISED_SEGMENT,
    HOLDOUT_SEGMENT,
    NAIVE_POLICY,
    MemoryCounters,
    Policy,
    build_forecast_lookup,
    build_trip,
    build_window,
    compute_advice,
    compute_slot_table,
)
from urbanpulse.advise.forecasts import FORECAST_COLUMNS
from urbanpulse.errors import InvalidQueryError, NotFoundError

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PEAK = {"07:00": 0.9, "07:15": 0.85, "07:30": 0.8, "07:45": 0.77, "08:00": 1.0,
        "08:15": 0.95, "08:30": 0.9}  # fmt: skip
# Crowding alone: no cost of leaving earlier or later (the schedule's own tests are in
# test_honesty.py); 30 minutes in the crowd, so a few points of load are worth minutes.
FIXED = Policy(name="fixed", spread=False, value_early=0.0, value_late=0.0,
               value_late_deadline=0.0, station_minutes=30.0)  # fmt: skip


def _window(start: str = "07:00", end: str = "08:30", preferred: str = "08:00") -> object:
    day = "2026-11-02"
    return build_window(f"{day} {start}", f"{day} {end}", f"{day} {preferred}")


def test_slots_are_ranked_with_reasons(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    trip = build_trip(sites, "a-s01")
    advice = compute_advice(make_forecast(["a-s01"], PEAK), trip, _window(), policy=FIXED, now=NOW)
    slots = advice.slots
    assert list(slots.columns) == ADVICE_COLUMNS
    assert slots["label"].tolist() == [
        "07:45", "07:30", "07:15", "08:30", "07:00", "08:15", "08:00"
    ]  # fmt: skip
    assert slots["recommended"].tolist() == [True] + [False] * 6
    assert slots.loc[0, "reason"] == "23 % less crowded than 08:00, 15 min earlier than you wanted"
    assert slots.set_index("label").loc["08:00", "reason"] == (
        "your preferred time, 100 % full, may be over capacity"
    )
    assert slots.loc[0, "crowding_p10"] == pytest.approx(0.67)
    assert slots.loc[0, "crowding_p90"] == pytest.approx(0.87)
    assert advice.message == "Leave at 07:45: " + slots.loc[0, "reason"] + "."
    assert advice.recommended is not None and advice.recommended["label"] == "07:45"
    assert str(slots.loc[0, "departure"]) == "2026-11-02 07:45:00+08:00"


def test_more_crowded_and_later_slots_say_so(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    forecast = make_forecast(["a-s01"], {"07:00": 0.5, "07:15": 0.6, "07:30": 1.2})
    advice = compute_advice(
        forecast, build_trip(sites, "a-s01"), _window("07:00", "07:45", "07:00"),
        policy=FIXED, now=NOW,
    )  # fmt: skip
    reasons = advice.slots.set_index("label")["reason"]
    assert reasons["07:15"] == "20 % more crowded than 07:00, 15 min later than you wanted"
    assert reasons["07:30"] == (
        "140 % more crowded than 07:00, 30 min later than you wanted, over capacity"
    )


def test_crowding_is_read_where_the_train_is(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    # a-s01 -> a-s04 rides trains leaving a-s01 (+0), a-s02 (+3) and a-s03 (+5 min).
    # Leaving at 07:45, the train leaves a-s03 at 07:50: still the 07:45 period there;
    # leaving at 07:55 is not a slot, but leaving at 08:00 reads 08:00 everywhere.
    forecast = make_forecast(
        ["a-s01", "a-s02", "a-s03"],
        per_site={"a-s03": {"07:45": 0.95}, "a-s02": {"08:00": 0.9}},
        default=0.3,
    )
    trip = build_trip(sites, "a-s01", "a-s04")
    table = compute_slot_table(
        build_forecast_lookup(forecast), trip, _window("07:30", "08:15", "07:30"),
        counters=None, policy=FIXED,
    )  # fmt: skip
    by_label = table.set_index("label")
    assert by_label.loc["07:45", "bottleneck_site_id"] == "a-s03"
    assert by_label.loc["07:45", "crowding"] == pytest.approx(0.95)
    assert by_label.loc["08:00", "bottleneck_site_id"] == "a-s02"
    assert by_label.loc["07:30", "crowding"] == pytest.approx(0.3)
    assert (table["travel_minutes"] == 9).all()
    assert (table["arrival"] - table["departure"] == pd.Timedelta(minutes=9)).all()
    assert list(table.columns) == [c for c in ADVICE_COLUMNS if c not in ("recommended", "reason")]


def test_missing_forecast_is_not_found(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    trip = build_trip(sites, "a-s01", "a-s03")
    with pytest.raises(NotFoundError, match="a-s02"):
        compute_advice(make_forecast(["a-s01"]), trip, _window(), now=NOW)
    late = build_window("2026-11-02 11:30", "2026-11-02 13:00")
    with pytest.raises(NotFoundError, match="no crowding forecast"):
        compute_advice(make_forecast(["a-s01", "a-s02"]), trip, late, now=NOW)


def test_past_window_is_refused(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    with pytest.raises(InvalidQueryError, match="in the past"):
        compute_advice(
            make_forecast(["a-s01"]), build_trip(sites, "a-s01"), _window(),
            now=datetime(2026, 11, 3, tzinfo=UTC),
        )  # fmt: skip


def test_to_dict_is_json(sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]) -> None:
    advice = compute_advice(
        make_forecast(["a-s01", "a-s02"], PEAK), build_trip(sites, "a-s01", "a-s03"), _window(),
        now=NOW, rng=np.random.default_rng(0),
    )  # fmt: skip
    payload = json.loads(json.dumps(advice.to_dict()))
    assert payload["recommended"]["recommended"] is True
    assert payload["travel_minutes"] == 5
    assert payload["slots"][0]["departure"].endswith("+08:00")
    assert set(payload["slots"][0]) == set(ADVICE_COLUMNS)


def test_forecast_columns_are_the_documented_ones(
    make_forecast: Callable[..., pd.DataFrame],
) -> None:
    assert list(make_forecast(["a-s01"]).columns) == FORECAST_COLUMNS


def test_holdout_share_is_honoured_and_recorded(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    lookup = build_forecast_lookup(make_forecast(["a-s01"], PEAK))
    trip, window = build_trip(sites, "a-s01"), _window()
    counters, rng = MemoryCounters(), np.random.default_rng(11)
    policy = Policy(holdout_share=0.2)
    n = 2000
    held = [
        compute_advice(lookup, trip, window, counters=counters, policy=policy, rng=rng, now=NOW)
        for _ in range(n)
    ]
    holdout = sum(a.holdout for a in held)
    sd = (n * 0.2 * 0.8) ** 0.5
    assert abs(holdout - 0.2 * n) < 4 * sd
    slot = pd.Timestamp("2026-11-02 08:00", tz="Asia/Shanghai").to_pydatetime()
    assert counters.get([slot], HOLDOUT_SEGMENT) == [holdout]
    assert counters.get([slot], ADVISED_SEGMENT) == [n - holdout]
    sample = next(a for a in held if a.holdout)
    assert sample.recommended is None
    assert not sample.slots["recommended"].any()
    assert "holdout" in sample.message
    assert len(sample.slots) == 7
    # No ranking either: the preferred time first, then the others in time order.
    labels = sample.slots["label"].tolist()
    assert labels[0] == "08:00" and labels[1:] == sorted(labels[1:])


def test_issued_advice_counts_as_extra_load(
    sites: pd.DataFrame, make_forecast: Callable[..., pd.DataFrame]
) -> None:
    lookup = build_forecast_lookup(make_forecast(["a-s01"], PEAK, capacity=100.0))
    trip, window, counters = build_trip(sites, "a-s01"), _window(), MemoryCounters()
    policy = replace(FIXED, spread=True, tolerance=0.0, passengers_per_request=10)
    first = compute_advice(lookup, trip, window, counters=counters, policy=policy, now=NOW)
    assert first.slots.loc[0, "label"] == "07:45"
    # 10 riders moved from 08:00 to 07:45: +0.1 there, -0.1 at 08:00.
    second = compute_advice(lookup, trip, window, counters=counters, policy=policy, now=NOW)
    by_label = second.slots.set_index("label")
    assert by_label.loc["07:45", "crowding"] == pytest.approx(0.87)
    assert by_label.loc["07:45", "expected_extra"] == pytest.approx(0.1)
    assert by_label.loc["08:00", "crowding"] == pytest.approx(0.9)
    assert second.slots.loc[0, "label"] == "07:30"


def _issue(policy: Policy, loads: list[float], n: int, seed: int) -> Counter[str]:
    labels = [f"07:{m:02d}" for m in range(0, 60, 15)] + [f"08:{m:02d}" for m in range(0, 60, 15)]
    labels += [f"09:{m:02d}" for m in range(0, 60, 15)]
    labels = labels[: len(loads)]
    forecast = pd.DataFrame(
        {
            "site_id": "x",
            "slot": pd.DatetimeIndex([f"2026-11-02 {t}" for t in labels], tz="Asia/Shanghai"),
            "load": loads,
            "load_p10": loads,
            "load_p90": loads,
            "capacity": 200.0,  # one request adds 0.005 to the load
        }
    )
    lookup = build_forecast_lookup(forecast)
    sites = pd.DataFrame(
        [{"site_id": "x", "kind": "air_monitor", "name_en": "x", "capacity": 1.0,
          "attributes": "{}"}]
    )  # fmt: skip
    trip = build_trip(sites, "x")
    end = pd.Timestamp(f"2026-11-02 {labels[-1]}", tz="Asia/Shanghai")  # the last slot
    window = build_window(f"2026-11-02 {labels[0]}", end.to_pydatetime(), f"2026-11-02 {labels[0]}")
    counters, rng = MemoryCounters(), np.random.default_rng(seed)
    return Counter(
        compute_advice(
            lookup, trip, window, counters=counters, policy=policy, rng=rng, now=NOW
        ).slots.loc[0, "label"]
        for _ in range(n)
    )


@settings(max_examples=8, deadline=None)
@given(
    loads=st.lists(st.floats(0.5, 0.55), min_size=4, max_size=10),
    n=st.integers(60, 120),
    seed=st.integers(0, 2**16),
)
def test_spreading_keeps_simultaneous_requests_off_one_slot(
    loads: list[float], n: int, seed: int
) -> None:
    # Everyone prefers a full 07:00; the other slots are near-equivalent (within 0.05
    # of load, about a minute and a half of cost over 30 minutes, of each other). The naive policy sends every request to the same quiet slot;
    # spreading keeps every slot well below that.
    naive = _issue(NAIVE_POLICY, [1.0, *loads], n, seed)
    spread = _issue(
        Policy(value_early=0.0, value_late=0.0, station_minutes=30.0), [1.0, *loads], n, seed
    )
    assert max(naive.values()) == n
    assert max(spread.values()) <= 0.5 * n
    assert len(spread) >= 3


def test_each_leg_weighs_its_own_crowd() -> None:
    """A 5-minute crowded leg (load 1.2) and a 30-minute leg with seats (0.3): only
    the five minutes are weighed as crowded, not the whole journey."""
    from urbanpulse.advise.advice import compute_generalized_cost, get_crowding_multiplier

    policy = Policy(station_minutes=5.0)
    window = _window("07:00", "07:00", "07:00")
    keys = np.array([int(window.preferred.timestamp())])
    worst = np.array([1.2])
    travel = np.array([40.0])  # 5 + 30 on board, 5 walking and waiting
    per_leg = compute_generalized_cost(
        worst, travel, keys, int(keys[0]), window=window, policy=policy,
        rides=np.array([[5.0, 30.0]]), ride_crowding=np.array([[1.2, 0.3]]),
    )  # fmt: skip
    crowded = float(get_crowding_multiplier(worst)[0])
    assert per_leg[0] == pytest.approx(5 * crowded + 5 * crowded + 30 * 1.0 + 5)
    whole = compute_generalized_cost(
        worst, travel, keys, int(keys[0]), window=window, policy=policy
    )
    assert whole[0] == pytest.approx((40 + 5) * crowded) and per_leg[0] < whole[0]
    # a leg without a forecast is not taken as empty: it weighs as the trip's worst
    unknown = compute_generalized_cost(
        worst, travel, keys, int(keys[0]), window=window, policy=policy,
        rides=np.array([[5.0, 30.0]]), ride_crowding=np.array([[1.2, np.nan]]),
    )  # fmt: skip
    assert unknown[0] == pytest.approx(5 * crowded + 35 * crowded + 5)
