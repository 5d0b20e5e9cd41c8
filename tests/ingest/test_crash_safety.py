"""A SIGKILL in the middle of an ingest leaves a consistent lake; a re-run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq

from urbanpulse.ingest import build_mapping, ingest_files
from urbanpulse.store import Lake
from urbanpulse.store.engine import connect

FILES = 24
ROWS_PER_FILE = 4_000
MAPPING = {
    "layout": "wide_metrics",
    "time": {"parts": {"year": "year", "month": "month", "day": "day", "hour": "hour"}},
    "site": {"column": "station", "id_prefix": "k-"},
    "metrics": {
        "pm25": {"column": "PM2.5", "unit": "ug/m3", "min": 0},
        "no2": {"column": "NO2", "unit": "ug/m3", "min": 0},
    },
}


def write_sources(folder: Path) -> list[Path]:
    """One file per station, hourly rows, one bad value per file (a negative NO2)."""
    import pandas as pd

    folder.mkdir()
    hours = pd.date_range("2024-01-01", periods=ROWS_PER_FILE, freq="h")
    paths = []
    for n in range(FILES):
        frame = pd.DataFrame(
            {
                "year": hours.year,
                "month": hours.month,
                "day": hours.day,
                "hour": hours.hour,
                "PM2.5": (pd.Series(range(ROWS_PER_FILE)) % 300).astype(str),
                "NO2": (pd.Series(range(ROWS_PER_FILE)) % 90).astype(str),
                "station": f"S{n:02d}",
            }
        )
        frame.loc[7, "NO2"] = "-1"
        path = folder / f"station_{n:02d}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def start_ingest(lake_root: Path, paths: list[Path]) -> subprocess.Popen:
    # One file per commit, so the kill lands between or inside commits.
    script = textwrap.dedent(
        f"""
        from urbanpulse.ingest import build_mapping, ingest_files
        from urbanpulse.store import Lake
        ingest_files(Lake({str(lake_root)!r}), {[str(p) for p in paths]!r},
                     build_mapping({MAPPING!r}), batch_bytes=1)
        """
    )
    return subprocess.Popen([sys.executable, "-c", script])


def committed_versions(lake_root: Path) -> int:
    log = lake_root / "_log"
    return len(list(log.glob("*.json"))) if log.is_dir() else 0


def assert_consistent(lake: Lake) -> int:
    """Every visible file is whole and readable, keys are unique, counts match the log."""
    for path in lake.get_paths("observations") + lake.get_paths("quarantine"):
        pq.read_metadata(path)
    con = connect(lake)
    total, unique = con.execute(
        "SELECT count(*), count(DISTINCT (site_id, metric, ts)) FROM observations"
    ).fetchall()[0]
    assert total == unique
    logged = sum(entry["info"].get("stored", 0) for entry in lake.get_history())
    assert total == logged
    quarantined, distinct = con.execute(
        "SELECT count(*), count(DISTINCT (source, line, column_name)) FROM quarantine"
    ).fetchall()[0]
    assert quarantined == distinct
    return int(total)


def test_sigkill_halfway_then_rerun_gives_exact_counts(tmp_path):
    paths = write_sources(tmp_path / "sources")
    lake_root = tmp_path / "lake"
    process = start_ingest(lake_root, paths)
    deadline = time.monotonic() + 120
    while committed_versions(lake_root) < FILES // 2 and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"

    lake = Lake(lake_root)
    stored_before = assert_consistent(lake)
    assert 0 < stored_before < FILES * ROWS_PER_FILE * 2 - FILES

    summary = ingest_files(lake, paths, build_mapping(MAPPING))
    lake = Lake(lake_root)
    assert assert_consistent(lake) == FILES * ROWS_PER_FILE * 2 - FILES
    assert summary.observations_stored == FILES * ROWS_PER_FILE * 2 - FILES - stored_before
    con = connect(lake)
    assert con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] == FILES
    assert con.execute("SELECT count(*) FROM sites").fetchall()[0][0] == FILES


def test_files_placed_but_never_committed_stay_invisible_and_vacuum_removes_them(tmp_path):
    paths = write_sources(tmp_path / "sources")[:2]
    lake = Lake(tmp_path / "lake")
    ingest_files(lake, paths[:1], build_mapping(MAPPING))
    before = assert_consistent(lake)

    # Interrupt a write right before its commit: files are in place, the log is not.
    original = Lake.commit

    def crash(self, commit):
        raise KeyboardInterrupt("simulated crash before commit")

    Lake.commit = crash
    try:
        ingest_files(lake, paths[1:], build_mapping(MAPPING))
    except KeyboardInterrupt:
        pass
    finally:
        Lake.commit = original

    fresh = Lake(lake.root)
    assert assert_consistent(fresh) == before
    orphans = fresh.vacuum(grace=timedelta(0))
    assert orphans and all(
        o.startswith(("observations/", "quarantine/", "sites/")) for o in orphans
    )
    assert assert_consistent(Lake(lake.root)) == before
