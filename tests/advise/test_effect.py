"""The measured effect: advised against holdout with an interval, kept across restarts."""

from __future__ import annotations

import shutil
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from urbanpulse.advise.effect import (
    EFFECT_NAMES,
    JOURNAL_PATH,
    build_effect_store,
    compute_difference_interval,
    compute_wilson_interval,
    summarise_effect,
)
from urbanpulse.advise.service import TripRequest, build_advice_service
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

TZ = "Asia/Shanghai"
DAY = date(2026, 11, 2)
SLOTS = pd.date_range("2026-11-02 00:00", periods=96, freq="15min", tz=TZ)


def _at(label: str) -> datetime:
    return pd.Timestamp(f"2026-11-02 {label}", tz=TZ).to_pydatetime()


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17, table I.
    assert compute_wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert compute_wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert compute_wilson_interval(0, 0) is None


def test_difference_interval_matches_newcombe() -> None:
    # Newcombe (1998), Statistics in Medicine 17, table II, example (a): 56/70 - 48/80.
    d, low, high = compute_difference_interval(56, 70, 48, 80)  # type: ignore[misc]
    assert d == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    assert compute_difference_interval(1, 10, 0, 0) is None


def test_summary_gives_sample_sizes_and_the_peak_share_cut() -> None:
    counts = {name: np.zeros(96, dtype=int) for name in EFFECT_NAMES}
    peak, early = 32, 30  # 08:00, 07:30
    counts["holdout"][peak], counts["holdout"][early] = 30, 10
    counts["advised"][peak], counts["advised"][early] = 300, 100
    counts["moved_out"][peak], counts["moved_in"][early] = 120, 120
    body = summarise_effect(SLOTS, counts)
    assert (body["advised"], body["holdout"]) == (400, 40)
    assert body["peak"] == "08:00" and (body["peak_holdout"], body["peak_advised"]) == (30, 180)
    assert body["peak_share_holdout"] == pytest.approx(0.75)
    assert body["peak_share_advised"] == pytest.approx(0.45)
    assert body["peak_share_cut"] == pytest.approx(0.30)
    assert body["peak_share_cut_low"] < 0.30 < body["peak_share_cut_high"]
    assert body["peak_share_cut_low"] > 0  # 40 holdout requests are enough to tell here
    assert [row["label"] for row in body["items"]] == ["07:30", "08:00"]


def test_memory_counts_survive_a_restart_through_the_journal(tmp_path: Path) -> None:
    settings = Settings(lake_path=tmp_path / "lake")
    first = build_effect_store(settings)
    for _ in range(3):
        first.record("bj-m1", _at("08:00"), _at("07:45"), holdout=False)
    first.record("bj-m1", _at("08:00"), _at("08:00"), holdout=False)
    first.record("bj-m1", _at("08:00"), None, holdout=True)
    first.close()
    journal = tmp_path / "lake" / JOURNAL_PATH
    lines_before = len(journal.read_text().splitlines())
    with open(journal, "a") as handle:
        handle.write("half a line\n")  # a torn write is skipped, not fatal
    again = build_effect_store(settings)
    counts = again.get_counts("bj-m1", [_at("07:45"), _at("08:00")])
    assert counts["advised"].tolist() == [0, 4] and counts["holdout"].tolist() == [0, 1]
    assert counts["moved_out"].tolist() == [0, 3] and counts["moved_in"].tolist() == [3, 0]
    # Replaying compacts the journal to one line per (segment, slot).
    assert len(journal.read_text().splitlines()) == 4 < lines_before
    again.record("bj-m1", _at("08:00"), None, holdout=True)
    again.close()
    third = build_effect_store(settings)
    assert third.get_counts("bj-m1", [_at("08:00")])["holdout"].tolist() == [2]


def test_an_unwritable_journal_does_not_stop_advice(tmp_path: Path) -> None:
    (tmp_path / "lake").write_text("a file where the lake folder should be")
    store = build_effect_store(Settings(lake_path=tmp_path / "lake"))
    store.record("bj-m1", _at("08:00"), None, holdout=True)  # logged, not raised
    assert store.get_counts("bj-m1", [_at("08:00")])["holdout"].tolist() == [1]


def _ask(service: object, n: int) -> None:
    for _ in range(n):
        trip = TripRequest(
            "bj-m1-s05", "bj-m1-s07", datetime(2026, 11, 2, 7), datetime(2026, 11, 2, 9, 30),
            datetime(2026, 11, 2, 8),
        )  # fmt: skip
        service.advise(trip)  # type: ignore[attr-defined]


def test_the_service_s_effect_survives_a_restart(demo_lake: Lake, tmp_path: Path) -> None:
    # A lake of its own, so that other tests' requests do not count here.
    root = tmp_path / "lake"
    shutil.copytree(demo_lake.root, root, ignore=shutil.ignore_patterns("_advice"))
    settings = Settings(lake_path=root, advice_holdout_share=0.5)
    first = build_advice_service(settings, Lake(root))
    _ask(first, 40)
    before = first.get_effect("bj-m1", DAY)
    first.close()
    restarted = build_advice_service(settings, Lake(root))
    after = restarted.get_effect("bj-m1", DAY)
    assert before["advised"] + before["holdout"] == 40
    assert min(before["advised"], before["holdout"]) > 0
    assert after == before
    _ask(restarted, 2)
    again = restarted.get_effect("bj-m1", DAY)
    assert again["advised"] + again["holdout"] == 42


@pytest.mark.services
def test_redis_effect_counts_survive_a_restart(tmp_path: Path, redis_client: Any) -> None:
    # The prefix is named after the lake folder: a unique one keeps runs apart.
    settings = Settings(
        lake_path=tmp_path / f"lake-{uuid.uuid4().hex[:8]}", counters_backend="redis"
    )
    first = build_effect_store(settings)
    try:
        first.record("bj-m1", _at("08:00"), _at("07:45"), holdout=False)
        first.record("bj-m1", _at("08:00"), None, holdout=True)
        restarted = build_effect_store(settings)  # a new client, as a new API process
        counts = restarted.get_counts("bj-m1", [_at("07:45"), _at("08:00")])
        assert counts["advised"].tolist() == [0, 1] and counts["holdout"].tolist() == [0, 1]
        assert counts["moved_in"].tolist() == [1, 0]
        assert not (settings.lake_path / JOURNAL_PATH).exists()  # Redis keeps them
    finally:
        first.counters.clear()  # type: ignore[attr-defined]


def test_the_interval_waits_for_a_minimum_sample_in_each_group() -> None:
    from urbanpulse.advise.effect import MIN_GROUP_REQUESTS, summarise_effect

    slots = pd.date_range("2026-11-02 07:00", periods=4, freq="15min", tz="Asia/Shanghai")

    def counts(advised: list[int], holdout: list[int], moved: list[int]) -> dict:
        zero = np.zeros(4, dtype=int)
        out, into = np.array(moved), np.roll(np.array(moved), 1)
        return {"advised": np.array(advised), "holdout": np.array(holdout),
                "moved_out": out, "moved_in": into if len(moved) else zero}  # fmt: skip

    few = summarise_effect(slots, counts([2, 8, 0, 0], [2, 8, 0, 0], [0, 4, 0, 0]))
    assert few["peak_share_cut"] is not None  # the cut in these requests, said as such
    assert few["peak_share_cut_low"] is None and few["peak_share_cut_high"] is None
    assert few["min_requests_per_group"] == MIN_GROUP_REQUESTS
    enough = summarise_effect(slots, counts([6, 24, 0, 0], [6, 24, 0, 0], [0, 12, 0, 0]))
    assert enough["peak_share_cut_low"] is not None
    assert enough["peak_share_cut_low"] <= enough["peak_share_cut"] <= enough["peak_share_cut_high"]


def _hangzhou_slots(shared_data: Path, station: int) -> pd.DataFrame:
    """One real Hangzhou station's entries (10-minute counts, January 2019) summed into
    15-minute advice slots: days x slots."""
    source = shared_data / "hangzhou-metro" / "entries_10min.csv"
    raw = pd.read_csv(source)
    raw = raw[raw["station"] == station]
    local = pd.to_datetime(raw["date"] + " " + raw["time"], format="%Y-%m-%d %H:%M")
    slot = local.dt.hour * 60 + local.dt.minute // 15 * 15
    return raw.assign(day=local.dt.date, slot=slot).pivot_table(
        index="day", columns="slot", values="entries", aggfunc="sum", fill_value=0
    )


@pytest.mark.shared_data
@pytest.mark.parametrize("followed", [0.0, 0.4, 1.0])
def test_observed_flows_recover_how_many_riders_followed_advice(
    shared_data: Path, followed: float
) -> None:
    """On a real station's counts (Hangzhou, a Wednesday and the three before it), a
    known share of the requests moved off the morning peak is taken out of its count,
    as riders who followed advice would be: the estimate's interval holds that share.
    With a handful of requests, day-to-day variation hides them, and no share is
    claimed."""
    from urbanpulse.advise.effect import estimate_compliance

    grid = _hangzhou_slots(shared_data, station=4)
    days = [date(2019, 1, d) for d in (2, 9, 16, 23)]
    table = grid.loc[days].to_numpy(dtype=float)
    peak = int(np.argmax(table[-1]))
    moved_out = np.zeros(table.shape[1])
    observed = table[-1].copy()
    moved_out[peak] = 2 * table[-1, peak]  # advice on a large share of the peak's riders
    observed[peak] -= followed * moved_out[peak]
    found = estimate_compliance(observed, table[:-1], moved_out, peak)
    assert found["days"] == 3 and found["measurable"]
    assert found["share_low"] <= followed <= found["share_high"]
    assert found["share_high"] - found["share_low"] < 0.5
    few = moved_out.copy()
    few[peak] = 10
    hidden = estimate_compliance(table[-1], table[:-1], few, peak)
    assert not hidden["measurable"] and hidden["share_high"] - hidden["share_low"] >= 0.5


def test_compliance_needs_earlier_days_and_moved_requests() -> None:
    from urbanpulse.advise.effect import estimate_compliance

    observed, moved = np.array([100.0, 80.0]), np.array([0.0, 30.0])
    # Two earlier days: too few to know the slot's usual riders.
    assert estimate_compliance(observed, np.array([[90.0, 100.0]] * 2), moved, 1)["share"] is None
    history = np.array([[90.0, 100.0], [95.0, 101.0], [np.nan, np.nan], [92.0, 99.0]])
    found = estimate_compliance(observed, history, moved, 1)
    assert found["days"] == 3 and found["expected"] == pytest.approx(100.0)
    assert found["share"] == pytest.approx(20 / 30)  # 100 usual, 80 counted, 30 moved
    unmoved = estimate_compliance(observed, history, np.zeros(2), 1)
    assert unmoved["share"] is None and unmoved["expected"] == pytest.approx(100.0)


def test_the_effect_reads_the_line_s_counted_riders(demo_lake: Lake, tmp_path: Path) -> None:
    """On the demo, a day with boardings counted: the effect of requests counted for
    that day carries the line's riders in its peak slot; the test's demo holds one week,
    so there are no earlier same weekdays to compare with, and no share is claimed."""
    root = tmp_path / "lake"
    shutil.copytree(demo_lake.root, root, ignore=shutil.ignore_patterns("_advice"))
    service = build_advice_service(Settings(lake_path=root), Lake(root))
    counted = datetime(2026, 10, 28, 8, tzinfo=service.tz)
    for _ in range(3):
        service.effect.record("bj-m1", counted, counted.replace(hour=9), holdout=False)
    effect = service.get_effect("bj-m1", date(2026, 10, 28))
    flows = effect["compliance"]
    assert effect["peak"] == "08:00" and flows["metric"] == "boardings" and flows["sites"] > 10
    assert flows["days"] == 0 and flows["moved"] == 3 and flows["observed"] > 1000
    assert flows["expected"] is None and flows["share"] is None and not flows["measurable"]
    assert service.get_effect("bj-m1", date(2026, 11, 20))["compliance"] is None
