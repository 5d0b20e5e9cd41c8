"""Retention: raw months leave only with their rollups, and no value is ever lost."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError
from urbanpulse.store import Lake, append_observations, read_observations
from urbanpulse.store import retention as retention_module
from urbanpulse.store.compaction import compact_observations
from urbanpulse.store.retention import compute_rollups, read_rollups, retain_observations

START = datetime(2026, 1, 1, tzinfo=UTC)
TZ = "Asia/Shanghai"
NOW = datetime(2026, 5, 1, tzinfo=UTC)
ROLLUP_COLUMNS = ["site_id", "metric", "bucket_start", "count", "sum", "mean", "min", "max", "unit"]


def _batch(rows: list[tuple[str, int, float]]) -> pa.Table:
    """Rows (site, hour since START, value) of metric pm25."""
    return pa.table(
        {
            "site_id": [site for site, _, _ in rows],
            "metric": ["pm25"] * len(rows),
            "ts": pa.array(
                [START + timedelta(hours=h, minutes=7) for _, h, _ in rows],
                pa.timestamp("us", tz="UTC"),
            ),
            "value": [value for _, _, value in rows],
            "unit": ["ug/m3"] * len(rows),
        }
    )


def _hourly_truth(rows: list[tuple[str, int, float]]) -> dict[tuple[str, datetime], tuple]:
    """Count, sum, min and max per site and hour, computed in plain Python."""
    groups: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for site, hour, value in rows:
        groups[(site, START + timedelta(hours=hour))].append(value)
    return {k: (len(v), round(sum(v), 6), min(v), max(v)) for k, v in groups.items()}


def _hourly(lake: Lake) -> dict[tuple[str, datetime], tuple]:
    table = read_rollups(lake, "pm25", grain="hourly").to_pylist()
    return {
        (r["site_id"], r["bucket_start"]): (r["count"], round(r["sum"], 6), r["min"], r["max"])
        for r in table
    }


def _daily_totals(lake: Lake) -> tuple[int, float]:
    table = read_rollups(lake, "pm25", grain="daily").to_pylist()
    return sum(r["count"] for r in table), round(sum(r["sum"] for r in table), 6)


def _raw_keys(lake: Lake) -> list[tuple[str, Any, float]]:
    frame = read_observations(lake, "pm25")
    return sorted(zip(frame.site_id, frame.ts, frame.value, strict=True))


ROW = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.integers(min_value=0, max_value=24 * 110),  # January to mid-April
    st.integers(min_value=-500, max_value=500).map(float),
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.lists(ROW, min_size=1, max_size=25), min_size=1, max_size=4),
    raw_days=st.sampled_from([1, 20, 45, 80]),
)
def test_retention_keeps_every_value_as_raw_or_rollup(tmp_path_factory, batches, raw_days) -> None:
    lake = Lake(tmp_path_factory.mktemp("retain") / "lake")
    stored: dict[tuple[str, int], float] = {}
    for rows in batches:
        append_observations(lake, _batch(rows))
        for site, hour, value in rows:
            stored.setdefault((site, hour), value)  # the lake keeps the first of a key
    rows = [(site, hour, value) for (site, hour), value in stored.items()]
    compute_rollups(lake, timezone=TZ)
    raw_before = _raw_keys(lake)
    summary = retain_observations(lake, raw_days=raw_days, timezone=TZ, now=NOW)
    newest = START + timedelta(hours=max(h for _, h, _ in rows), minutes=7)
    cutoff = newest - timedelta(days=raw_days)
    raw_after = _raw_keys(lake)
    # Raw rows left are exactly those of months not wholly before the cutoff.
    kept_from = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
    assert raw_after == [r for r in raw_before if r[1] >= kept_from]
    assert summary.rows_removed == len(raw_before) - len(raw_after)
    # Every value, kept or removed, is still summarised, hour by hour and day by day.
    assert _hourly(lake) == _hourly_truth(rows)
    assert _daily_totals(lake) == (len(rows), round(sum(v for _, _, v in rows), 6))


def test_raw_months_past_the_cutoff_leave_with_their_rollups_archived(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [(site, h, float(h % 17)) for site in "ab" for h in range(0, 24 * 100, 5)]
    append_observations(lake, _batch(rows))
    summary = retain_observations(lake, raw_days=30, timezone=TZ, now=NOW)
    assert summary.partitions_removed == ["pm25/2026-01", "pm25/2026-02"]
    assert summary.partitions_rolled_up == 2
    assert read_observations(lake, "pm25").ts.min() >= datetime(2026, 3, 1, tzinfo=UTC)
    layers = {f.partition["layer"] for f in lake.get_files("rollups_hourly")}
    assert layers == {"archive"}
    assert [e["operation"] for e in lake.get_history()][-2:] == ["rollup", "retain"]
    removed = [r for r in rows if r[1] < 24 * (31 + 28)]
    assert _hourly(lake) == _hourly_truth(removed)  # only months due were rolled up
    assert compute_rollups(lake, timezone=TZ) == 2  # March and April, beside the archive
    assert _hourly(lake) == _hourly_truth(rows)
    again = retain_observations(lake, raw_days=30, timezone=TZ, now=NOW)
    assert again.partitions_removed == [] and again.rows_removed == 0


def test_age_counts_from_the_newest_observation_not_only_the_clock(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    append_observations(lake, _batch([("a", h, 1.0) for h in range(0, 24 * 70, 3)]))
    far_future = datetime(2030, 1, 1, tzinfo=UTC)
    summary = retain_observations(lake, raw_days=31, timezone=TZ, now=far_future)
    assert summary.partitions_removed == ["pm25/2026-01"]  # Mar 11 - 31 days: Feb stays


def test_a_crash_between_rollup_and_removal_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [("a", h, float(h)) for h in range(0, 24 * 90, 2)]
    append_observations(lake, _batch(rows))
    raw_before = _raw_keys(lake)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed after the rollup commit")

    monkeypatch.setattr(retention_module, "_remove_summarised", killed)
    with pytest.raises(KeyboardInterrupt):
        retain_observations(lake, raw_days=20, timezone=TZ, now=NOW)
    monkeypatch.undo()
    reopened = Lake(tmp_path / "lake")
    assert reopened.get_history()[-1]["operation"] == "rollup"
    assert _raw_keys(reopened) == raw_before  # raw untouched, rollups committed beside it
    assert compute_rollups(reopened, timezone=TZ) == 1  # only March: Jan and Feb were done
    assert _hourly(reopened) == _hourly_truth(rows)
    summary = retain_observations(reopened, raw_days=20, timezone=TZ, now=NOW)
    assert summary.partitions_rolled_up == 0  # the committed rollups are used as they are
    assert summary.partitions_removed == ["pm25/2026-01", "pm25/2026-02"]
    assert _hourly(reopened) == _hourly_truth(rows)


def test_a_crash_in_the_removal_commit_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [("a", h, float(h)) for h in range(0, 24 * 90, 2)]
    append_observations(lake, _batch(rows))
    compute_rollups(lake, timezone=TZ)
    commit = lake.commit

    def killed(entry):
        if entry.operation == "retain":
            raise KeyboardInterrupt("killed before the retention commit")
        return commit(entry)

    monkeypatch.setattr(lake, "commit", killed)
    with pytest.raises(KeyboardInterrupt):
        retain_observations(lake, raw_days=20, timezone=TZ, now=NOW)
    reopened = Lake(tmp_path / "lake")
    assert len(_raw_keys(reopened)) == len(rows)
    assert _hourly(reopened) == _hourly_truth(rows)  # the archive links were never published
    reopened.vacuum(grace=timedelta(0))
    assert retain_observations(reopened, raw_days=20, timezone=TZ, now=NOW).rows_removed > 0
    assert _hourly(reopened) == _hourly_truth(rows)


def test_a_value_arriving_after_the_rollup_keeps_its_month_raw(tmp_path: Path, monkeypatch) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [("a", h, 1.0) for h in range(0, 24 * 90, 4)]
    append_observations(lake, _batch(rows))
    compute = retention_module.compute_rollups

    def rollup_then_late_value(*args, **kwargs):
        done = compute(*args, **kwargs)
        append_observations(lake, _batch([("late", 1, 42.0)]))  # January, not rolled up yet
        return done

    monkeypatch.setattr(retention_module, "compute_rollups", rollup_then_late_value)
    summary = retain_observations(lake, raw_days=20, timezone=TZ, now=NOW)
    assert summary.partitions_removed == ["pm25/2026-02"]  # January has an unsummarised value
    assert ("late", 42.0) in {(r[0], r[2]) for r in _raw_keys(lake)}
    monkeypatch.undo()
    retain_observations(lake, raw_days=20, timezone=TZ, now=NOW)
    compute_rollups(lake, timezone=TZ)
    assert _hourly(lake) == _hourly_truth([*rows, ("late", 1, 42.0)])
    assert not any(r[0] == "late" for r in _raw_keys(lake))


def test_late_values_and_compaction_after_retention_are_counted_once(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [("a", h, 2.0) for h in range(0, 24 * 90, 6)]
    append_observations(lake, _batch(rows))
    retain_observations(lake, raw_days=20, timezone=TZ, now=NOW)
    late = [("a", 3, 5.0), ("b", 30, 7.0)]  # January again, after its raw months left
    for row in late:
        append_observations(lake, _batch([row]))
    compact_observations(lake, min_files=2)
    compute_rollups(lake, timezone=TZ)
    assert _hourly(lake) == _hourly_truth([*rows, *late])
    compact_observations(lake, min_files=1, sort_all=True)
    compute_rollups(lake, timezone=TZ)  # rollups of compacted files replace, never add
    assert _hourly(lake) == _hourly_truth([*rows, *late])


def test_read_rollups_has_exactly_its_columns_and_refuses_other_grains(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    append_observations(lake, _batch([("a", h, 1.0) for h in range(48)]))
    compute_rollups(lake, timezone=TZ)
    daily = read_rollups(lake, "pm25", grain="daily", site_ids=["a"])
    assert daily.column_names == ROLLUP_COLUMNS
    # Local days of Asia/Shanghai start at 16:00 UTC the day before.
    assert {ts.hour for ts in daily.column("bucket_start").to_pylist()} == {16}
    window = read_rollups(
        lake, "pm25", start=START + timedelta(hours=5), end=START + timedelta(hours=8)
    )
    assert window.num_rows == 3
    with pytest.raises(InvalidQueryError, match="grain"):
        read_rollups(lake, "pm25", grain="week")


STEP = st.one_of(
    st.tuples(st.just("append"), st.lists(ROW, min_size=1, max_size=8)),
    st.tuples(st.just("compact"), st.integers(min_value=1, max_value=3)),
    st.tuples(st.just("rollup"), st.just(0)),
    st.tuples(st.just("retain"), st.sampled_from([5, 30, 60])),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, min_size=1, max_size=10))
# A value sent again after retention removed its month was stored anew and counted twice.
@example(
    steps=[("append", [("a", 0, 0.0), ("a", 864, 0.0)]), ("retain", 5), ("append", [("a", 0, 0.0)])]
)
def test_any_sequence_of_upkeep_keeps_rollups_equal_to_every_value(tmp_path_factory, steps) -> None:
    """Appends, compactions (each merging rolled-up and new files), incremental rollups and
    retention in any order: the rollups always summarise exactly the values stored."""
    lake = Lake(tmp_path_factory.mktemp("upkeep") / "lake")
    stored: dict[tuple[str, int], float] = {}
    for action, arg in steps:
        if action == "append":
            append_observations(lake, _batch(arg))
            for site, hour, value in arg:
                stored.setdefault((site, hour), value)
        elif action == "compact":
            compact_observations(lake, min_files=arg + 1, sort_all=arg == 1)
        elif action == "rollup":
            compute_rollups(lake, timezone=TZ)
        else:
            retain_observations(lake, raw_days=arg, timezone=TZ, now=NOW)
    compute_rollups(lake, timezone=TZ)
    rows = [(site, hour, value) for (site, hour), value in stored.items()]
    assert _hourly(lake) == _hourly_truth(rows)
    assert _daily_totals(lake) == (len(rows), round(sum(v for _, _, v in rows), 6))
    assert compute_rollups(lake, timezone=TZ) == 0  # up to date: nothing more to do


def test_new_files_are_added_to_the_rollups_without_reading_the_month_again(
    tmp_path: Path, monkeypatch
) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [("a", h, 1.0) for h in range(0, 24 * 20)]
    append_observations(lake, _batch(rows))
    compute_rollups(lake, timezone=TZ)
    plans = []
    plan = retention_module._plan

    def recording(*args, **kwargs):
        plans.append(plan(*args, **kwargs))
        return plans[-1]

    monkeypatch.setattr(retention_module, "_plan", recording)
    late = [("b", 5, 3.0), ("b", 6, 4.0)]
    append_observations(lake, _batch(late))
    assert compute_rollups(lake, timezone=TZ) == 1
    assert plans[-1].base is not None and len(plans[-1].read) == 1  # only the new file
    compact_observations(lake, min_files=2)  # merges two rolled-up files into one
    append_observations(lake, _batch([("c", 7, 9.0)]))
    assert compute_rollups(lake, timezone=TZ) == 1
    # The compacted file counts as covered: only the newest file is read.
    assert plans[-1].base is not None and len(plans[-1].read) == 1
    assert _hourly(lake) == _hourly_truth([*rows, *late, ("c", 7, 9.0)])


def test_a_file_ingested_again_after_retention_is_not_counted_twice(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [("a", h, float(h % 7)) for h in range(0, 24 * 90, 3)]
    append_observations(lake, _batch(rows))
    summary = retain_observations(lake, raw_days=20, timezone=TZ, now=NOW)
    assert summary.partitions_removed == ["pm25/2026-01", "pm25/2026-02"]
    retired = sum(f.rows for f in lake.get_files("retired_keys"))
    assert retired == summary.rows_removed
    stored, skipped = append_observations(lake, _batch(rows))  # the same file again
    assert (stored, skipped) == (0, len(rows))
    compute_rollups(lake, timezone=TZ)
    assert _hourly(lake) == _hourly_truth(rows)
    assert _daily_totals(lake) == (len(rows), round(sum(v for _, _, v in rows), 6))
