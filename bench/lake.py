"""Benchmark: the lake under live ingest and for one site's week, before and after, in one run.

Run by hand: ``python bench/lake.py [--weeks 8] [--commits 5000] [--reads 200]``.

Measured side by side in one process:

* one site's week of 5-minute boardings (2,016 rows) through ``read_observations`` at the
  1x demo, p50 over ``--reads`` sites: the baseline is the read as it was (a new DuckDB
  connection per read, the site filter as an IN list) over the layout plain ingest
  writes (unsorted files); then today's read over the same files, and over the same
  lake compacted (sorted by site and time, 65,536-row groups). Target: p50 < 10 ms.
* compaction: rows per second rewriting the whole demo, and 200 micro-batch files of
  one partition into one.
* live upkeep: ``maintain_lake`` after 50 micro-batches of 200 rows, three rounds,
  against computing every rollup of the demo from its raw rows.
* opening a lake of ``--commits`` commits: replaying every log entry (the baseline)
  against starting from a checkpoint plus 50 entries after it.
* the cost of sorting in ingest: writing 1 million rows partitioned as ingest does, with
  and without ORDER BY site_id, ts.

The last line is JSON with the figures, the baselines and the target.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from urbanpulse.settings import Settings
from urbanpulse.store import (
    Commit,
    Lake,
    LakeFile,
    append_observations,
    compute_rollups,
    new_batch_id,
)
from urbanpulse.store.compaction import compact_observations
from urbanpulse.store.engine import connect, scan_sql
from urbanpulse.store.maintenance import maintain_lake
from urbanpulse.store.queries import get_months, read_observations
from urbanpulse.twin import build_demo

TARGET_MS = 10.0
WEEK_START = datetime(2026, 10, 12, tzinfo=UTC)  # Monday 08:00 local, inside the demo


def read_as_before(
    lake: Lake, metric: str, site: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """The site-week read as it was before this change: a connection per read, IN list."""
    partition = {"metric": metric, "month": get_months(start, end)}
    sql = (
        f"SELECT site_id, metric, ts, value, unit FROM ({scan_sql(lake, 'observations', **partition)}) "
        "WHERE site_id IN (SELECT unnest(?::VARCHAR[])) AND ts >= ? AND ts < ? ORDER BY site_id, ts"
    )
    return connect().execute(sql, [[site], start, end]).df()


def p50_ms(
    read: Callable[[str], pd.DataFrame], sites: Sequence[str], reads: int
) -> tuple[float, int]:
    for site in sites[:5]:
        read(site)  # warm the file cache and the reader
    times, rows = [], 0
    for k in range(reads):
        started = time.perf_counter()
        rows = len(read(sites[(k * 7) % len(sites)]))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), rows


def bench_reads(root: Path, weeks: int, reads: int) -> dict[str, float]:
    lake = Lake(root / "lake")
    started = time.perf_counter()
    build_demo(lake, weeks=weeks, drop_dir=root / "drop", compact=False)
    built = time.perf_counter() - started
    end = WEEK_START + timedelta(days=7)
    sites = sorted(
        read_observations(
            lake, "boardings", start=WEEK_START, end=WEEK_START + timedelta(hours=1)
        ).site_id.unique()
    )
    before, rows = p50_ms(
        lambda s: read_as_before(lake, "boardings", s, WEEK_START, end), sites, reads
    )
    unsorted, _ = p50_ms(
        lambda s: read_observations(lake, "boardings", site_ids=[s], start=WEEK_START, end=end),
        sites,
        reads,
    )
    files_before = len(lake.get_files("observations"))
    summary = compact_observations(lake, min_files=2, sort_all=True)
    after, _ = p50_ms(
        lambda s: read_observations(lake, "boardings", site_ids=[s], start=WEEK_START, end=end),
        sites,
        reads,
    )
    before_sorted, _ = p50_ms(
        lambda s: read_as_before(lake, "boardings", s, WEEK_START, end), sites, reads
    )
    upkeep = bench_live_upkeep(lake, sites)
    return {
        "demo_build_s": built,
        "rows_per_read": rows,
        "baseline_site_week_p50_ms": before,
        "site_week_p50_ms_unsorted": unsorted,
        "site_week_p50_ms": after,
        "old_read_on_sorted_p50_ms": before_sorted,
        "demo_rows": summary.rows,
        "demo_files_before": files_before,
        "demo_files_after": summary.files_added,
        "compaction_demo_s": summary.seconds,
        "compaction_demo_rows_per_s": summary.rows / summary.seconds,
        **upkeep,
    }


def bench_live_upkeep(lake: Lake, sites: Sequence[str]) -> dict[str, float]:
    """Rollups of the whole demo from raw rows, then maintenance after live micro-batches."""
    settings = Settings(lake_path=lake.root)
    started = time.perf_counter()
    compute_rollups(lake, timezone=settings.local_timezone)
    full = time.perf_counter() - started
    rounds = []
    for r in range(3):
        for b in range(50):
            first = datetime(2026, 10, 31, 15, tzinfo=UTC) + timedelta(seconds=(r * 50 + b) * 10)
            append_observations(
                lake,
                pa.table(
                    {
                        "site_id": [sites[k % len(sites)] for k in range(200)],
                        "metric": ["boardings"] * 200,
                        "ts": pa.array(
                            [first + timedelta(milliseconds=k) for k in range(200)],
                            pa.timestamp("us", tz="UTC"),
                        ),
                        "value": [1.0] * 200,
                        "unit": ["passengers"] * 200,
                    }
                ),
            )
        started = time.perf_counter()
        maintain_lake(lake, settings)
        rounds.append(time.perf_counter() - started)
    return {"rollups_full_s": full, "maintain_after_50_batches_s": statistics.median(rounds)}


def bench_micro_batches(root: Path, batches: int = 200, rows: int = 500) -> dict[str, float]:
    lake = Lake(root / "micro")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for b in range(batches):
        times = [start + timedelta(seconds=b * rows + k) for k in range(rows)]
        append_observations(
            lake,
            pa.table(
                {
                    "site_id": [f"s{k % 50:02d}" for k in range(rows)],
                    "metric": ["flow"] * rows,
                    "ts": pa.array(times, pa.timestamp("us", tz="UTC")),
                    "value": [float(k) for k in range(rows)],
                    "unit": ["veh/h"] * rows,
                }
            ),
        )
    summary = compact_observations(lake, min_files=8)
    return {
        "micro_files": batches,
        "micro_rows": summary.rows,
        "compaction_micro_s": summary.seconds,
    }


def bench_open(root: Path, commits: int) -> dict[str, float]:
    """A log of ``commits`` one-file commits, opened by replay and from a checkpoint."""
    lake = Lake(root / "log", checkpoint_interval=0)
    seed = root / "seed.parquet"
    pq.write_table(pa.table({"x": [1]}), seed)
    started = time.perf_counter()
    previous = ""
    with lake.write_lock():
        for k in range(commits + 50):
            if k == commits:
                replay_ms = _open_ms(root / "log")
                lake.write_checkpoint()
            batch_id = new_batch_id()
            relative = f"quarantine/{batch_id}-{k}.parquet"
            (lake.root / "quarantine").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(seed, lake.root / relative)
            # Half the commits replace an earlier file, as compaction and snapshots do.
            removed = [previous] if k % 2 else []
            lake.commit(Commit("bench", batch_id, [LakeFile("quarantine", relative, 1)], removed))
            previous = relative
    written = time.perf_counter() - started
    checkpoint_ms = _open_ms(root / "log")
    return {
        "commits": commits,
        "commit_ms": written * 1000 / (commits + 50),
        "open_ms_replay_all": replay_ms,
        "open_ms_checkpoint": checkpoint_ms,
    }


def _open_ms(root: Path, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        Lake(root).get_files("quarantine")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_sorted_ingest(root: Path, rows: int = 1_000_000) -> dict[str, float]:
    """Writing ``rows`` as ingest does (partitioned by metric and month), sorted or not."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""CREATE TABLE t AS SELECT 's' || (i % 250)::VARCHAR AS site_id, 'flow' AS metric,
        TIMESTAMPTZ '2026-10-01' + INTERVAL (i // 250 * 5) MINUTE AS ts, random() AS value,
        'veh/h' AS unit FROM range({rows}) r(i) ORDER BY random()"""
    )
    timings = {}
    for name, order in (("unsorted", ""), ("sorted", "ORDER BY site_id, ts")):
        best = float("inf")
        for k in range(3):
            out = root / f"ingest-{name}-{k}"
            con.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}")
            started = time.perf_counter()
            con.execute(
                f"""COPY (SELECT *, strftime(ts, '%Y-%m') AS month FROM t {order}) TO '{out}'
                (FORMAT parquet, PARTITION_BY (metric, month), COMPRESSION zstd)"""
            )
            best = min(best, time.perf_counter() - started)
        timings[f"ingest_write_{name}_s"] = best
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=8, help="Weeks of demo data (1x is 8).")
    parser.add_argument("--commits", type=int, default=5000, help="Commits in the log to open.")
    parser.add_argument("--reads", type=int, default=200, help="Site-week reads per variant.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="urbanpulse-bench-lake-"))
    try:
        figures = {
            **bench_reads(root / "demo", args.weeks, args.reads),
            **bench_micro_batches(root),
            **bench_open(root, args.commits),
            **bench_sorted_ingest(root),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    table = Table(title=f"Lake: 1x demo ({args.weeks} weeks), {args.commits:,} commits")
    for column in ("measure", "baseline", "now"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    f = figures
    table.add_row(
        "site week p50 ms (unsorted files)",
        f"{f['baseline_site_week_p50_ms']:.2f}",
        f"{f['site_week_p50_ms_unsorted']:.2f}",
    )
    table.add_row(
        "site week p50 ms (compacted, sorted)",
        f"{f['old_read_on_sorted_p50_ms']:.2f}",
        f"{f['site_week_p50_ms']:.2f}",
    )
    table.add_row(
        "open lake ms (replay all / checkpoint)",
        f"{f['open_ms_replay_all']:.1f}",
        f"{f['open_ms_checkpoint']:.1f}",
    )
    table.add_row(
        "compaction of the demo",
        f"{f['demo_files_before']} files",
        f"{f['demo_files_after']} files, {f['compaction_demo_s']:.1f} s, {f['compaction_demo_rows_per_s']:,.0f} rows/s",
    )
    table.add_row("compaction of 200 micro-batch files", "", f"{f['compaction_micro_s']:.2f} s")
    table.add_row(
        "rollups s (all from raw / upkeep after 50 micro-batches)",
        f"{f['rollups_full_s']:.2f}",
        f"{f['maintain_after_50_batches_s']:.2f}",
    )
    table.add_row(
        "ingest write of 1M rows s (unsorted / sorted)",
        f"{f['ingest_write_unsorted_s']:.2f}",
        f"{f['ingest_write_sorted_s']:.2f}",
    )
    Console().print(table)
    result = {
        "site_week_p50_ms": round(f["site_week_p50_ms"], 3),
        "baseline_site_week_p50_ms": round(f["baseline_site_week_p50_ms"], 3),
        "target_ms": TARGET_MS,
        "met": f["site_week_p50_ms"] < TARGET_MS,
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in f.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
