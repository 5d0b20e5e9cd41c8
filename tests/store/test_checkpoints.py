"""Checkpoints of the commit log: opening from one equals replaying every entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from urbanpulse.store import Commit, Lake, append_observations, new_batch_id
from urbanpulse.store.lake import TABLES, read_checkpoint

START = datetime(2026, 3, 1, tzinfo=UTC)


def _rows(site: str, hour: int) -> pa.Table:
    return pa.table(
        {
            "site_id": [site],
            "metric": ["flow"],
            "ts": pa.array([START + timedelta(hours=hour)], pa.timestamp("us", tz="UTC")),
            "value": [float(hour)],
            "unit": ["veh/h"],
        }
    )


def _live(lake: Lake) -> dict[str, list[tuple[str, int]]]:
    return {t: sorted((f.path, f.rows) for f in lake.get_files(t)) for t in TABLES}


def _commit_file(lake: Lake, name: str, *, removed: list[str] | None = None) -> str:
    """Publish one small file of the quarantine table (a real Parquet file)."""
    import pyarrow.parquet as pq

    batch_id = new_batch_id()
    relative = f"quarantine/{name}.parquet"
    with lake.write_lock():
        staged = lake.staging_dir(batch_id) / "f.parquet"
        pq.write_table(pa.table({"x": [1]}), staged)
        lake.place_file(staged, relative)
        from urbanpulse.store.lake import LakeFile

        lake.commit(Commit("test", batch_id, [LakeFile("quarantine", relative, 1)], removed or []))
    return relative


def test_a_checkpoint_is_written_every_interval_and_opening_starts_there(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake", checkpoint_interval=5)
    for hour in range(12):
        append_observations(lake, _rows("a", hour))
    log = tmp_path / "lake" / "_log"
    assert sorted(p.name for p in log.glob("*.checkpoint.json")) == [
        "0000000005.checkpoint.json",
        "0000000010.checkpoint.json",
    ]
    assert json.loads((log / "_last_checkpoint").read_text()) == {"version": 10}
    opened = Lake(tmp_path / "lake")
    assert opened.version == 12
    assert opened.checkpoint_version == 10
    assert _live(opened) == _live(Lake(tmp_path / "lake", checkpoint_interval=0)) == _live(lake)


def test_history_is_complete_when_opened_from_a_checkpoint(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake", checkpoint_interval=3)
    for hour in range(7):
        append_observations(lake, _rows("a", hour), info={"hour": hour})
    history = Lake(tmp_path / "lake").get_history()
    assert [entry["info"]["hour"] for entry in history] == list(range(7))


def test_a_torn_checkpoint_is_ignored_and_the_previous_one_used(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake", checkpoint_interval=4)
    for hour in range(9):
        append_observations(lake, _rows("a", hour))
    log = tmp_path / "lake" / "_log"
    latest = log / "0000000008.checkpoint.json"
    latest.write_text(latest.read_text()[:-40])  # cut short, as by a crash mid-write
    opened = Lake(tmp_path / "lake")
    assert opened.version == 9
    assert opened.checkpoint_version == 4
    assert _live(opened) == _live(lake)


def test_a_checkpoint_whose_content_changed_is_ignored(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake", checkpoint_interval=2)
    for hour in range(2):
        append_observations(lake, _rows("a", hour))
    path = tmp_path / "lake" / "_log" / "0000000002.checkpoint.json"
    checkpoint = json.loads(path.read_text())
    checkpoint["files"] = checkpoint["files"][:1]  # valid JSON, wrong content
    path.write_text(json.dumps(checkpoint))
    (tmp_path / "lake" / "_log" / "_last_checkpoint").unlink()
    assert read_checkpoint(tmp_path / "lake" / "_log") is None
    opened = Lake(tmp_path / "lake")
    assert opened.checkpoint_version == 0
    assert _live(opened) == _live(lake)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    interval=st.integers(min_value=1, max_value=6),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 30)), min_size=1, max_size=14),
)
def test_opening_from_any_checkpoint_equals_replaying_all(
    tmp_path_factory, interval: int, steps: list[tuple[bool, int]]
) -> None:
    root = tmp_path_factory.mktemp("ckpt") / "lake"
    lake = Lake(root, checkpoint_interval=interval)
    published: list[str] = []
    for k, (remove, pick) in enumerate(steps):
        # Some commits remove an earlier file, as compaction and replaced snapshots do.
        removed = [published.pop(pick % len(published))] if remove and published else []
        published.append(_commit_file(lake, f"f{k}", removed=removed))
    replayed = Lake(root, checkpoint_interval=0)
    replayed._opened = True  # skip checkpoints: replay every entry
    assert _live(Lake(root)) == _live(replayed)
    assert sorted(f.path for f in Lake(root).get_files("quarantine")) == sorted(published)
    assert len(Lake(root).get_history()) == len(steps)
