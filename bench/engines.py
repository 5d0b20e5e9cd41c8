"""Store engines benchmark, run by hand: ``.venv/bin/python bench/engines.py --help``.

The same 6 questions through the store interface, on DuckDB and on Spark (local[*]),
over scaled demo lakes (``urbanpulse demo --scale N``: 1x is the demo's 261 sites over
8 weeks, about 6.2 million observations; 100x about 620 million), built once under
``--root`` (default /tmp/urbanpulse-bench) and reused:

1. site_week      one station's boardings over its last week (about 2,000 rows)
2. metric_month   one metric (pm25) of every site over the last 4 weeks
3. hourly_profile hourly profile (mean, p50, p90 by day type) of every site's boardings
4. panel_15min    15-minute period means of every road sensor's flow, last 2 weeks
5. indicators     the indicator panel (5 indicators, every region, every year)
6. daily_rollup   daily count/mean/min/max/sum of every site's boardings (local days)

Per query: median seconds of ``--repeat`` runs after one warm-up, and peak resident
memory (RSS sampled every 20 ms from /proc: of this process for DuckDB, plus its
children, the JVM, for Spark; tracemalloc sees neither DuckDB's nor the JVM's memory). The engines' answers are
compared row for row (floats to 1e-9). In the same run, wrk measures one site's week
through the HTTP API against /api/health of the same server, over a served 1x demo lake
(built under ``--root`` as ``urbanpulse demo`` builds it), before the engine queries.
Asked again and again, the week is answered from the server's cache of the lake's
version; each other station's week asked once, from one client, gives the cost of a
first request beside it (``api_site_week_first_request_p50_ms``).

Prints a table; the last line is JSON with same_results, per-engine timings, the growth
factor from the smallest to the largest size, and api_site_week_p50_ms beside
api_health_p50_ms. The machine's 2 cores are shared by everything, the load generator
included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa

from serving import get_free_port, wait_until_healthy
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, read_sites
from urbanpulse.store.engines import build_engine
from urbanpulse.store.interface import Engine, compute_profiles
from urbanpulse.twin import build_demo, is_demo_built
from urbanpulse.twin.scale import build_scaled_demo

TZ, COUNTRY = "Asia/Shanghai", "CN"
END = datetime(2026, 10, 31, 16, tzinfo=UTC)  # local midnight after the demo's last day
SITE = "bj-m1-s06"
INDICATORS = 5
TARGET_API_MS = 10.0
Query = Callable[[Engine, Lake], pa.Table]


def build_queries(lake: Lake) -> dict[str, Query]:
    names = sorted(set(build_engine("duckdb").read_indicators(lake)["indicator"].to_pylist()))[
        :INDICATORS
    ]
    week, month, fortnight = (END - timedelta(days=d) for d in (7, 28, 14))
    return {
        "site_week": lambda e, lk: e.read_observations(
            lk, "boardings", site_ids=[SITE], start=week, end=END
        ),
        "metric_month": lambda e, lk: e.read_observations(lk, "pm25", start=month, end=END),
        "hourly_profile": lambda e, lk: compute_profiles(
            lk, "boardings", period_minutes=60, tz=TZ, country=COUNTRY, engine=e
        ),
        "panel_15min": lambda e, lk: e.compute_periods(
            lk, "flow", period_minutes=15, tz=TZ, start=fortnight, end=END
        ),
        "indicators": lambda e, lk: e.read_indicators(lk, indicators=names),
        "daily_rollup": lambda e, lk: e.compute_periods(
            lk, "boardings", period_minutes=1440, tz=TZ
        ),
    }


class PeakRss:
    """Peak resident memory of this process and all its descendants, sampled."""

    def __init__(self, *, children: bool, interval: float = 0.02) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.children = children

    def _rss(self) -> int:
        return get_tree_rss() if self.children else get_tree_rss(children=False)

    def __enter__(self) -> PeakRss:
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())


def get_tree_rss(*, children: bool = True) -> int:
    """RSS in bytes of this process and (``children``) its descendants, from /proc."""
    root = os.getpid()
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc") if children else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier += children
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def get_lake(root: Path, scale: int) -> Lake:
    lake = Lake(root / f"x{scale}")
    started = time.perf_counter()
    summary = build_scaled_demo(lake, scale=scale)
    if summary.chunks_written:
        print(
            f"built {scale}x: {summary.observations:,} observations in {time.perf_counter() - started:.0f} s"
        )
    return lake


def run_query(
    query: Query, engine: Engine, lake: Lake, repeat: int, *, warm_up: bool
) -> tuple[pa.Table, float, int]:
    if warm_up:
        query(engine, lake)  # Parquet footers, the JVM's compiled code
    seconds, peak, result = [], 0, None
    for _ in range(repeat):
        # DuckDB runs in this process; Spark's work runs in the JVM, a child process.
        with PeakRss(children=engine.name == "spark") as rss:
            started = time.perf_counter()
            result = query(engine, lake)
            seconds.append(time.perf_counter() - started)
        peak = max(peak, rss.peak)
    assert result is not None
    return result, statistics.median(seconds), peak


def is_same(a: pa.Table, b: pa.Table) -> bool:
    """Same rows in the same order, floats to 1e-9 (addition order may differ)."""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a[name].to_numpy(zero_copy_only=False), b[name].to_numpy(zero_copy_only=False)
        if pa.types.is_floating(a.schema.field(name).type):
            if not np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True):
                return False
        elif not (x == y).all():
            return False
    return True


def measure_api(root: Path, seconds: int, connections: int) -> dict[str, float]:
    """wrk against one site's week and /api/health of one served 1x demo lake."""
    from urbanpulse.access import issue_key
    from urbanpulse.access.service import build_access_store

    lake = Lake(root / "demo")
    if not is_demo_built(lake):
        print("building the 1x demo lake to serve ...")
        build_demo(lake, drop_dir=root / "demo-drop")
    settings = Settings(lake_path=lake.root)
    _, token = issue_key(build_access_store(settings), scope="government", name="bench engines")
    port = get_free_port()
    env = {
        **os.environ,
        "URBANPULSE_LAKE_PATH": str(lake.root),
        "URBANPULSE_RATE_LIMIT_PER_MINUTE": "{}",
        "URBANPULSE_QUOTA_PER_DAY": "{}",
    }
    command = [
        sys.executable, "-m", "uvicorn", "urbanpulse.api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, base, 60)
        start = (END - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = (
            f"/api/sites/{SITE}/observations?metric=boardings&start={start}"
            f"&end={END.strftime('%Y-%m-%dT%H:%M:%SZ')}&limit=2016"
        )
        headers = {"Authorization": f"Bearer {token}"}
        check = httpx.get(base + path, headers=headers, timeout=10)
        check.raise_for_status()
        rows = len(check.json().get("items", []))
        # wrk asks for one week again and again, which the server answers from its
        # cache of the lake's version; every other station's week, asked once each
        # from one client, shows what a first request costs.
        stations = [s for s in read_sites(lake)["site_id"] if s.startswith("bj-m") and s != SITE]
        first = []
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for station in stations:
                began = time.perf_counter()
                client.get(path.replace(SITE, station)).raise_for_status()
                first.append((time.perf_counter() - began) * 1000)
        return {
            "site_week": _wrk(base + path, headers, seconds, connections),
            "health": _wrk(base + "/api/health", {}, seconds, connections),
            "site_week_rows": rows,
            "first_request_p50_ms": round(statistics.median(first), 2),
            "first_requests": len(first),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "failures": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    script = Path(f"/tmp/urbanpulse-bench-wrk-{os.getpid()}.lua")
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    return {
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
        "rps": round(figures["requests"] / (figures["duration_us"] / 1e6), 1),
        "failures": figures["failures"],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10", help="Scales to run, e.g. 1,10,100.")
    parser.add_argument("--engines", default="duckdb,spark", help="Engines, comma-separated.")
    parser.add_argument(
        "--root", type=Path, default=Path("/tmp/urbanpulse-bench"), help="Lakes' folder."
    )
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs per query (median).")
    parser.add_argument(
        "--spark-master",
        default="local[*]",
        help="Spark master of the Spark engine (local[*], spark://host:7077), or a Spark "
        "Connect server (sc://host:15002).",
    )
    parser.add_argument(
        "--api-seconds", type=int, default=10, help="wrk seconds per endpoint (0: skip)."
    )
    parser.add_argument("--connections", type=int, default=4, help="wrk connections.")
    parser.add_argument(
        "--warm-up-until", type=int, default=10,
        help="Up to this scale, warm each query up and time --repeat runs; above it, time one "
        "cold run (100x takes long).",
    )  # fmt: skip
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    engine_names = args.engines.split(",")
    engines = {n: build_engine(n, master=args.spark_master) for n in engine_names}
    if args.api_seconds and shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk (or --api-seconds 0)")
    # The API first: a few seconds, and its figures do not wait on the long part.
    api = measure_api(args.root, args.api_seconds, args.connections) if args.api_seconds else None
    if api is not None:
        print(
            f"API p50: site week {api['site_week']['p50_ms']} ms (answered again), "
            f"{api['first_request_p50_ms']} ms asked the first time ({api['first_requests']} "
            f"stations, one client), health {api['health']['p50_ms']} ms"
        )
    rows: list[dict[str, Any]] = []
    for scale in sizes:
        lake = get_lake(args.root, scale)
        observations = sum(f.rows for f in lake.get_files("observations"))
        queries = build_queries(lake)
        for name, query in queries.items():
            results = {}
            for engine_name, engine in engines.items():
                small = scale <= args.warm_up_until
                result, seconds, peak = run_query(
                    query, engine, lake, args.repeat if small else 1, warm_up=small
                )
                results[engine_name] = result
                rows.append(
                    {
                        "scale": scale, "observations": observations, "query": name,
                        "engine": engine_name, "seconds": seconds, "peak_rss_mb": peak / 2**20,
                        "rows": result.num_rows,
                    }
                )  # fmt: skip
            same = all(is_same(results[engine_names[0]], r) for r in results.values())
            for row in rows[-len(engines) :]:
                row["same"] = same
            print(
                f"{scale:>4}x {name:<15} "
                + "  ".join(
                    f"{r['engine']} {r['seconds']:8.3f} s {r['peak_rss_mb']:7.0f} MB"
                    for r in rows[-len(engines) :]
                )
                + f"  rows {result.num_rows:>9,}  same {same}",
                flush=True,
            )
    print_summary(rows, sizes, engine_names, api)


def print_summary(
    rows: list[dict[str, Any]], sizes: list[int], engines: list[str], api: dict[str, Any] | None
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Store engines: the same questions on the same lakes")
    for column in (
        "size",
        "observations",
        "query",
        "rows",
        *[f"{e} s" for e in engines],
        *[f"{e} MB" for e in engines],
        "same",
    ):
        table.add_column(column, justify="left" if column in ("query", "size") else "right")
    by_key = {(r["scale"], r["query"], r["engine"]): r for r in rows}
    queries = list(dict.fromkeys(r["query"] for r in rows))
    for scale in sizes:
        for query in queries:
            first = by_key[(scale, query, engines[0])]
            table.add_row(
                f"{scale}x", f"{first['observations']:,}", query, f"{first['rows']:,}",
                *[f"{by_key[(scale, query, e)]['seconds']:.3f}" for e in engines],
                *[f"{by_key[(scale, query, e)]['peak_rss_mb']:.0f}" for e in engines],
                str(first["same"]),
            )  # fmt: skip
    Console(width=180).print(table)
    lo, hi = min(sizes), max(sizes)
    timings = {
        e: {f"{s}x": {q: round(by_key[(s, q, e)]["seconds"], 4) for q in queries} for s in sizes}
        for e in engines
    }
    growth = {
        e: {
            q: round(by_key[(hi, q, e)]["seconds"] / max(by_key[(lo, q, e)]["seconds"], 1e-9), 2)
            for q in queries
        }
        for e in engines
    }
    peak = {
        e: {f"{s}x": round(max(by_key[(s, q, e)]["peak_rss_mb"] for q in queries)) for s in sizes}
        for e in engines
    }
    summary: dict[str, Any] = {
        "same_results": all(r["same"] for r in rows),
        "sizes": [f"{s}x" for s in sizes],
        "observations": {
            f"{s}x": by_key[(s, queries[0], engines[0])]["observations"] for s in sizes
        },
        "seconds": timings,
        "peak_rss_mb": peak,
        f"growth_{lo}x_to_{hi}x": growth,
    }
    if api is not None:
        summary.update(
            api_site_week_p50_ms=api["site_week"]["p50_ms"],
            api_health_p50_ms=api["health"]["p50_ms"],
            api_site_week_rows=api["site_week_rows"],
            api_site_week_first_request_p50_ms=api["first_request_p50_ms"],
            api_site_week_rps=api["site_week"]["rps"],
            api_health_rps=api["health"]["rps"],
            api_failures=api["site_week"]["failures"] + api["health"]["failures"],
            api_target_ms=TARGET_API_MS,
            api_met=api["site_week"]["p50_ms"] < TARGET_API_MS,
        )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
