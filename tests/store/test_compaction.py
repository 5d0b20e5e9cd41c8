"""Compaction: same rows before and after, sorted files, no lost appends, crash-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from urbanpulse.store import Lake, append_observations
from urbanpulse.store import compaction as compaction_module
from urbanpulse.store.compaction import SORTED_KEY, compact_observations, compact_partition
from urbanpulse.store.engine import connect, scan_sql

START = datetime(2026, 4, 28, tzinfo=UTC)


def _batch(rows: list[tuple[str, int, float]], metric: str = "flow") -> pa.Table:
    return pa.table(
        {
            "site_id": [site for site, _, _ in rows],
            "metric": [metric] * len(rows),
            "ts": pa.array(
                [START + timedelta(minutes=5 * k) for _, k, _ in rows], pa.timestamp("us", tz="UTC")
            ),
            "value": [value for _, _, value in rows],
            "unit": ["veh/h"] * len(rows),
        }
    )


def _all_rows(lake: Lake) -> list[tuple[object, ...]]:
    sql = f"SELECT site_id, metric, ts, value, unit, month FROM ({scan_sql(lake, 'observations')})"
    return sorted(connect().execute(sql).fetchall())


def _assert_sorted_files(lake: Lake) -> None:
    for path in lake.get_paths("observations"):
        assert (pq.read_metadata(path).metadata or {})[SORTED_KEY.encode()] == b"site_id,ts"
        keys = pq.read_table(path, columns=["site_id", "ts"]).to_pylist()
        assert keys == sorted(keys, key=lambda r: (r["site_id"], r["ts"]))


ROW = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(min_value=0, max_value=20_000),  # up to ~70 days: spans three months
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(ROW, min_size=1, max_size=30), min_size=1, max_size=6))
# A big unsorted file beside two small ones: sort_all rewrites it too (it was left out).
@example(batches=[[("a", k, 1.0) for k in range(30)], [("a", 100, 2.0)], [("b", 2, 3.0)]])
def test_compaction_keeps_exactly_the_same_rows(tmp_path_factory, batches) -> None:
    lake = Lake(tmp_path_factory.mktemp("compact") / "lake")
    for rows in batches:
        append_observations(lake, _batch(rows))
    before, files_before = _all_rows(lake), len(lake.get_files("observations"))
    summary = compact_observations(lake, min_files=2, sort_all=True, target_rows=65_536)
    assert _all_rows(lake) == before
    assert len(lake.get_files("observations")) <= files_before
    assert summary.rows == len(before)
    _assert_sorted_files(lake)


def test_many_small_files_become_one_sorted_file_per_partition(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for k in range(10):
        append_observations(lake, _batch([(site, k, float(k)) for site in ("c", "b", "a")]))
    assert len(lake.get_files("observations")) == 10
    summary = compact_observations(lake, min_files=8)
    assert (summary.partitions, summary.files_removed, summary.files_added) == (1, 10, 1)
    assert [f.rows for f in lake.get_files("observations")] == [30]
    _assert_sorted_files(lake)
    assert lake.get_history()[-1]["operation"] == "compact"
    assert compact_observations(lake, min_files=8).partitions == 0  # nothing left to do


def test_an_append_during_compaction_is_kept(tmp_path: Path, monkeypatch) -> None:
    lake = Lake(tmp_path / "lake")
    for k in range(3):
        append_observations(lake, _batch([("a", k, 1.0)]))
    write_sorted = compaction_module._write_sorted

    def write_then_append(*args, **kwargs):
        write_sorted(*args, **kwargs)
        append_observations(lake, _batch([("z", 99, 5.0)]))  # a writer commits meanwhile

    monkeypatch.setattr(compaction_module, "_write_sorted", write_then_append)
    compact_observations(lake, min_files=2)
    rows = _all_rows(lake)
    assert [r[0] for r in rows] == ["a", "a", "a", "z"]
    assert len(lake.get_files("observations")) == 2  # the compacted file and the new one


def test_a_partition_changed_meanwhile_is_left_alone(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for k in range(3):
        append_observations(lake, _batch([("a", k, 1.0)]))
    files = lake.get_files("observations")
    assert compact_partition(lake, files) is not None
    before = lake.get_paths("observations")
    assert compact_partition(lake, files) is None  # its files are gone: no duplicate rows
    assert lake.get_paths("observations") == before
    assert len(_all_rows(lake)) == 3


def test_a_crash_before_the_commit_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    lake = Lake(tmp_path / "lake")
    for k in range(4):
        append_observations(lake, _batch([("a", k, 1.0), ("b", k, 2.0)]))
    before, version = _all_rows(lake), lake.version

    def killed(commit):
        raise KeyboardInterrupt("killed between placing files and the commit")

    monkeypatch.setattr(lake, "commit", killed)
    with pytest.raises(KeyboardInterrupt):
        compact_observations(lake, min_files=2)
    monkeypatch.undo()
    reopened = Lake(tmp_path / "lake")
    assert reopened.version == version
    assert _all_rows(reopened) == before
    leftovers = reopened.vacuum(grace=timedelta(0))
    assert len(leftovers) == 1  # the compacted file nobody published
    assert _all_rows(Lake(tmp_path / "lake")) == before


def test_vacuum_leaves_a_compaction_still_staging_alone(tmp_path: Path, monkeypatch) -> None:
    lake = Lake(tmp_path / "lake")
    for k in range(3):
        append_observations(lake, _batch([("a", k, 1.0)]))
    write_sorted = compaction_module._write_sorted

    def write_then_vacuum(*args, **kwargs):
        write_sorted(*args, **kwargs)
        assert lake.vacuum(grace=timedelta(minutes=60)) == []  # runs while we stage

    monkeypatch.setattr(compaction_module, "_write_sorted", write_then_vacuum)
    summary = compact_observations(lake, min_files=2)
    assert summary.partitions == 1 and len(_all_rows(lake)) == 3
    assert not (lake.root / "_staging").exists() or not any((lake.root / "_staging").iterdir())


def test_a_big_sorted_file_is_left_alone_while_small_ones_merge(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    append_observations(lake, _batch([(s, k, 1.0) for s in "abcd" for k in range(40)]))
    compact_observations(lake, min_files=1, sort_all=True)
    (big,) = lake.get_files("observations")
    for k in range(40, 44):  # live micro-batches of the same month
        append_observations(lake, _batch([("a", k, 2.0), ("b", k, 2.0)]))
    summary = compact_observations(lake, min_files=3, target_rows=200)
    assert (summary.files_removed, summary.files_added, summary.rows) == (4, 1, 8)
    assert big in lake.get_files("observations")  # 160 rows >= 200 // 2: not rewritten
    assert len(_all_rows(lake)) == 168
    _assert_sorted_files(lake)


def test_a_full_disk_while_compacting_is_one_clear_line(tmp_path: Path, monkeypatch) -> None:
    import errno
    import os

    from typer.testing import CliRunner

    from urbanpulse.cli import app

    lake = Lake(tmp_path / "lake")
    for k in range(3):
        append_observations(lake, _batch([("a", k, 1.0)]))
    before = _all_rows(lake)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(compaction_module, "_write_sorted", full)
    result = CliRunner().invoke(
        app, ["lake", "compact", "--min-files", "2", "--lake", str(lake.root)]
    )
    assert result.exit_code == 2
    assert "the disk is full" in result.output and "Traceback" not in result.output
    assert _all_rows(Lake(lake.root)) == before


def test_small_files_merge_in_tiers_beside_a_file_of_the_whole_month(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    append_observations(lake, _batch([(s, k, 1.0) for s in "abcd" for k in range(200)]))
    compact_observations(lake, min_files=1, sort_all=True)
    (month,) = lake.get_files("observations")  # 800 rows, far below half the target
    for k in range(200, 206):
        append_observations(lake, _batch([("a", k, 2.0), ("b", k, 2.0)]))
    summary = compact_observations(lake, min_files=4)
    assert (summary.files_removed, summary.files_added, summary.rows) == (6, 1, 12)
    assert month in lake.get_files("observations")  # 800 rows >= 2 x 12: left alone
