"""Benchmark: ingest the Beijing air-quality folder, against plain DuckDB in the same run.

Run by hand: ``python bench/ingest.py [--data ../shared/data] [--repeat 3]``.

UrbanPulse reads the 12 files through mappings/beijing-air-quality.toml (validation,
quarantine, dedupe against the lake, atomic commit). The baseline converts the same
files with plain DuckDB: read_csv, unpivot, write Parquet partitioned the same way
(metric, month), with no validation, no dedupe and no commit. Both count observations
stored per second; the target is UrbanPulse at >= 0.6x the baseline's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from urbanpulse.ingest import ingest_files, read_mapping
from urbanpulse.store import Lake

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.6  # issue 16: at least 0.6x plain DuckDB
METRICS = ["PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "WSPM"]


def run_urbanpulse(files: list[Path], workdir: Path) -> tuple[float, int]:
    lake = Lake(workdir / "lake")
    mapping = read_mapping(REPO / "mappings" / "beijing-air-quality.toml")
    start = time.perf_counter()
    summary = ingest_files(lake, files, mapping)
    return time.perf_counter() - start, summary.observations_stored


def run_plain_duckdb(files: list[Path], workdir: Path) -> tuple[float, int]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    listed = ", ".join(f"'{f}'" for f in files)
    columns = ", ".join(f'"{m}"' for m in METRICS)
    start = time.perf_counter()
    con.execute(
        f"""COPY (
            SELECT station AS site_id, lower(metric) AS metric,
                   timezone('Asia/Shanghai', make_timestamp(year, month, day, hour, 0, 0)) AS ts,
                   value::DOUBLE AS value,
                   strftime(timezone('Asia/Shanghai', make_timestamp(year, month, day, hour, 0, 0)), '%Y-%m') AS "month"
            FROM (UNPIVOT read_csv([{listed}], nullstr = 'NA') ON {columns} INTO NAME metric VALUE value)
        ) TO '{workdir / "plain"}' (FORMAT parquet, PARTITION_BY (metric, "month"), COMPRESSION zstd)"""
    ).fetchall()
    elapsed = time.perf_counter() - start
    stored = con.execute(
        f"SELECT count(*) FROM read_parquet('{workdir / 'plain'}/**/*.parquet')"
    ).fetchall()[0][0]
    return elapsed, int(stored)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("URBANPULSE_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", default=default, help="folder holding beijing-air-quality/")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each side (median is reported)"
    )
    args = parser.parse_args()
    files = sorted((Path(args.data) / "beijing-air-quality").glob("*.csv"))
    if not files:
        print(f"no Beijing air-quality files under {args.data}", file=sys.stderr)
        return 2
    ours, theirs = [], []
    stored_ours = stored_theirs = 0
    for _ in range(args.repeat):
        # Alternate the two sides so drift in machine load hits both alike.
        with tempfile.TemporaryDirectory() as tmp:
            seconds, stored_ours = run_urbanpulse(files, Path(tmp))
            ours.append(seconds)
        with tempfile.TemporaryDirectory() as tmp:
            seconds, stored_theirs = run_plain_duckdb(files, Path(tmp))
            theirs.append(seconds)
    t_ours, t_theirs = statistics.median(ours), statistics.median(theirs)
    rate_ours, rate_theirs = stored_ours / t_ours, stored_theirs / t_theirs
    ratio = rate_ours / rate_theirs
    table = Table(title=f"Beijing air-quality ingest ({len(files)} files, median of {args.repeat})")
    for column in ("engine", "observations", "seconds", "observations/s", "ratio"):
        table.add_column(column, justify="right" if column != "engine" else "left")
    table.add_row(
        "UrbanPulse ingest",
        f"{stored_ours:,}",
        f"{t_ours:.2f}",
        f"{rate_ours:,.0f}",
        f"{ratio:.2f}",
    )
    table.add_row(
        "plain DuckDB (baseline)",
        f"{stored_theirs:,}",
        f"{t_theirs:.2f}",
        f"{rate_theirs:,.0f}",
        "1.00",
    )
    Console().print(table)
    print(
        json.dumps(
            {
                "benchmark": "ingest_beijing_air_quality",
                "urbanpulse_obs_per_s": round(rate_ours),
                "baseline_obs_per_s": round(rate_theirs),
                "ratio": round(ratio, 3),
                "target_ratio": TARGET_RATIO,
                "met": ratio >= TARGET_RATIO,
                "observations": stored_ours,
                "baseline_observations": stored_theirs,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
