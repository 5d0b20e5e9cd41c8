"""Advice API benchmark, run by hand: ``.venv/bin/python bench/advice_api.py --help``.

Serves the app with uvicorn on a free 127.0.0.1 port (a subprocess, ``--workers``
processes) over a demo lake (built in a temp folder with two weeks of data unless
``--lake`` is given), warms the forecast caches, then fires requests on loopback only,
paced at ``--rate`` requests per second, bounded by ``--requests`` and ``--seconds``.
The same run measures ``POST /api/advice`` (asked as the commuter page asks, and
counted), one-line trips and trips that change lines, and, as a baseline, ``GET /api/health`` of
the same app. Target: p99 under 50 ms at 500 requests/s or more. Beside it, server time
in process on two real networks: the Beijing subway (period model) and BART's timetable
(each slot's legs on the trips' own times).

Prints a table, then one final line of JSON with figures, baseline figures and targets.
The load generator runs on the same machine and takes CPU from the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np

from serving import get_free_port, wait_until_healthy
from urbanpulse.advise.service import TripRequest, build_advice_service
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.twin import build_demo, is_demo_built

TARGET_P99_MS = 50.0
TARGET_RATE = 500.0
# Trips of different lengths on several lines, so requests read several cached forecasts.
TRIPS = (
    ("bj-m1-s05", "bj-m1-s15"), ("bj-m1-s20", "bj-m1-s03"), ("bj-m2-s02", "bj-m2-s09"),
    ("bj-m4-s04", "bj-m4-s12"), ("tj-m1-s03", "tj-m1-s10"), ("sjz-m1-s02", "sjz-m1-s08"),
)  # fmt: skip
WINDOWS = (("07:00", "09:30", "08:00"), ("06:30", "09:00", "07:45"), ("17:00", "19:30", "18:00"))
# Journeys that change lines: Xizhimen -> Guomao, Zhongguancun -> Guomao, Pingguoyuan ->
# Beijing South, Anheqiao North -> Dongzhimen.
TRANSFER_TRIPS = (
    ("bj-m2-s01", "bj-m1-s20"), ("bj-m4-s06", "bj-m1-s20"), ("bj-m1-s01", "bj-m4-s21"),
    ("bj-m4-s01", "bj-m2-s14"),
)  # fmt: skip
TARGET_BEIJING_MS = 100.0
# BART journeys on its own timetable, most with a change (Dublin -> Richmond at Lake
# Merritt or Bay Fair, Antioch -> Oakland Airport, Concord -> Fremont), a few direct.
BART_TRIPS = tuple(
    (f"bart-rt:{a}", f"bart-rt:{b}")
    for a, b in (("DUBL", "RICH"), ("ANTC", "OAKL"), ("CONC", "FRMT"), ("RICH", "DUBL"),
                 ("PITT", "SFIA"), ("WARM", "RICH"), ("DALY", "PITT"), ("MLBR", "CONC"))
)  # fmt: skip
BART_DAY = "2019-02-11"  # a Monday of the feed's service
BART_SETTINGS = {
    "URBANPULSE_LOCAL_TIMEZONE": "America/Los_Angeles",
    "URBANPULSE_HOLIDAY_COUNTRY": "US",
    "URBANPULSE_CLOCK": f"{BART_DAY}T06:00",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, help="Lake to serve (default: a 2-week demo).")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes.")
    parser.add_argument(
        "--counters", choices=("memory", "redis"), default="memory",
        help="Counters backend; use redis with more than one worker.",
    )  # fmt: skip
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="Requests per second.")
    parser.add_argument("--requests", type=int, default=5000, help="Most requests per endpoint.")
    parser.add_argument("--seconds", type=float, default=15.0, help="Most seconds per endpoint.")
    parser.add_argument("--concurrency", type=int, default=64, help="Most requests in flight.")
    parser.add_argument(
        "--generator", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
        help="Load generator: wrk (C, closed loop over --connections) when installed, else a "
        "paced Python client; wrk leaves the server far more of the 2 cores.",
    )  # fmt: skip
    parser.add_argument("--connections", type=int, default=8, help="wrk: open connections.")
    parser.add_argument(
        "--shared-data", type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="Folder of the shared real data (the Beijing subway network); skipped if absent.",
    )  # fmt: skip
    return parser.parse_args()


def get_lake(path: Path | None, scratch: Path) -> Lake:
    if path is not None:
        return Lake(path)
    lake = Lake(scratch / "lake")
    if not is_demo_built(lake):
        print("building a 2-week demo lake...", file=sys.stderr)
        build_demo(lake, weeks=2, drop_dir=scratch / "drop")
    return lake


def start_server(
    lake: Lake, args: argparse.Namespace, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = get_free_port()
    env = {
        **os.environ,
        **(settings or {}),
        "URBANPULSE_LAKE_PATH": str(lake.root),
        "URBANPULSE_COUNTERS_BACKEND": args.counters,
        "URBANPULSE_ADVICE_HOLDOUT_SHARE": "0.1",
        # The load comes from one address: per-client rate limits and quotas would turn
        # it away; the limiter itself still runs on every request.
        "URBANPULSE_RATE_LIMIT_PER_MINUTE": "{}",
        "URBANPULSE_QUOTA_PER_DAY": "{}",
    }
    command = [
        sys.executable, "-m", "uvicorn", "urbanpulse.api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(server, base, 30)
    return server, base


def build_queries(day: str, trips: tuple[tuple[str, str], ...] = TRIPS) -> list[dict[str, str]]:
    return [
        {"origin": o, "destination": d, "start": f"{day}T{s}", "end": f"{day}T{e}",
         "preferred": f"{day}T{p}"}
        for o, d in trips for s, e, p in WINDOWS
    ]  # fmt: skip


def measure_beijing(shared: Path, scratch: Path, *, calls: int = 300) -> dict[str, object] | None:
    """Server time of advice for Xizhimen -> Guomao on the real Beijing subway network
    (loaded from the shared data; no ridership, so no crowding): the first request, which
    reads the network and plans, and then ``calls`` answered from the caches."""
    from datetime import datetime

    from urbanpulse.advise.routes import resolve_station_pair
    from urbanpulse.transit import load_network

    source = shared / "beijing-subway-2017"
    if not (source / "subway.json").is_file():
        return None
    lake = Lake(scratch / "beijing")
    load_network(lake, source)
    settings = Settings(lake_path=lake.root, clock=datetime(2026, 12, 1, 6, 0))
    service = build_advice_service(settings, lake)
    origin, destination = resolve_station_pair(lake, "西直门", "国贸")
    window = (datetime(2026, 12, 1, 7, 0), datetime(2026, 12, 1, 9, 30), datetime(2026, 12, 1, 8))
    body, timing = time_advice(
        lambda: service.advise(TripRequest(origin, destination, *window)), calls
    )
    return {"transfers": body["transfers"], "routes": len(body["routes"]), **timing}


def time_advice(ask: Callable[[], dict], calls: int) -> tuple[dict, dict[str, float]]:
    """The first answer, and server times: the first (cold) and p50/p99 of ``calls``
    answered from the caches."""
    started = time.perf_counter()
    body = ask()
    first_ms = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        ask()
        times.append((time.perf_counter() - started) * 1000)
    return body, {
        "first_request_ms": round(first_ms, 1),
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p99_ms": round(float(np.percentile(times, 99)), 2),
    }


def measure_timetable(shared: Path, scratch: Path, *, calls: int = 300) -> dict[str, object] | None:
    """Server time of advice for Dublin/Pleasanton -> Richmond (a change at Lake
    Merritt) on BART's real timetable (2019-02-11, a Monday): the legs of every slot
    are the trips' own times (raptor.compute_timed_leg_profile). The first request reads
    the day's timetable and plans; then ``calls`` answered from the caches."""
    from datetime import datetime

    from urbanpulse.transit import load_network

    feed = shared / "gtfs-realtime" / "bart-2019" / "bart-rt.zip"
    if not feed.is_file():
        return None
    lake = Lake(scratch / "bart")
    load_network(lake, feed)
    settings = Settings(
        lake_path=lake.root, clock=datetime(2019, 2, 11, 6, 0),
        local_timezone="America/Los_Angeles", holiday_country="US",
    )  # fmt: skip
    service = build_advice_service(settings, lake)
    day = datetime(2019, 2, 11)
    window = (day.replace(hour=7), day.replace(hour=9, minute=30), day.replace(hour=8))
    body, timing = time_advice(
        lambda: service.advise(TripRequest("bart-rt:DUBL", "bart-rt:RICH", *window)), calls
    )
    return {"transfers": body["transfers"], "slots": len(body["slots"]), **timing}


def measure_timetable_http(
    shared: Path, scratch: Path, args: argparse.Namespace
) -> dict[str, dict[str, float]] | None:
    """POST /api/advice under load on BART's timetable (each slot's legs on the trips'
    own times), served on its own lake, with /api/health of the same server."""
    from urbanpulse.transit import load_network

    feed = shared / "gtfs-realtime" / "bart-2019" / "bart-rt.zip"
    if not feed.is_file():
        return None
    lake = Lake(scratch / "bart-http")
    load_network(lake, feed)
    queries = build_queries(BART_DAY, BART_TRIPS)
    server, base = start_server(lake, args, BART_SETTINGS)
    try:
        asyncio.run(warm(base, queries, args.workers))
        if args.generator == "wrk":
            health = run_wrk(base, "/api/health", [], args, scratch)
            advice = run_wrk(base, "/api/advice", queries, args, scratch)
        else:
            health = asyncio.run(run_load(base, "/api/health", [], args))
            advice = asyncio.run(run_load(base, "/api/advice", queries, args))
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {"advice": advice, "health": health}


async def warm(base: str, queries: list[dict[str, str]], workers: int) -> None:
    """Fill every worker's forecast cache: each query a few times per worker."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for query in queries:
            answers = await asyncio.gather(
                *[client.get("/api/advice", params=query) for _ in range(3 * workers)]
            )
            for answer in answers:
                answer.raise_for_status()


async def run_load(
    base: str, path: str, queries: list[dict[str, str]], args: argparse.Namespace
) -> dict[str, float]:
    """Paced requests at ``args.rate``; latency from send to full response."""
    latencies: list[float] = []
    failures = 0
    gate = asyncio.Semaphore(args.concurrency)
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:

        async def one(i: int) -> None:
            nonlocal failures
            async with gate:
                started = time.perf_counter()
                try:
                    response = (
                        await client.post(path, json=queries[i % len(queries)])
                        if queries
                        else await client.get(path)
                    )
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                failures += not ok

        tasks = []
        begin = time.perf_counter()
        for i in range(args.requests):
            due = begin + i / args.rate
            if due - begin > args.seconds:
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        # Bounded in time: requests still queued when the budget is spent are dropped.
        _, late = await asyncio.wait(
            tasks, timeout=max(1.0, args.seconds + 5 - (time.perf_counter() - begin))
        )
        for task in late:
            task.cancel()
        elapsed = time.perf_counter() - begin
    values = np.asarray(latencies)
    return {
        "requests": len(values),
        "failures": failures,
        "dropped": len(late),
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(values) / elapsed, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
    }


WRK_SCRIPT = """
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  if #bodies == 0 then return wrk.format("GET", nil) end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "failures": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d}\\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def run_wrk(
    base: str, path: str, queries: list[dict[str, str]], args: argparse.Namespace, scratch: Path
) -> dict[str, float]:
    """Closed-loop load from wrk on loopback, bounded by ``--seconds``."""
    # Advice is asked the way the commuter page asks it: POST, which is counted.
    bodies = [json.dumps(json.dumps(q)) for q in queries]
    script = scratch / f"wrk{abs(hash((path, len(queries))))}.lua"
    script.write_text(WRK_SCRIPT % ", ".join(bodies))
    command = [
        "wrk", "-t1", f"-c{args.connections}", f"-d{int(args.seconds)}s", "-s", str(script),
        base + path,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    seconds = figures["duration_us"] / 1e6
    return {
        "requests": figures["requests"],
        "failures": figures["failures"],
        "dropped": 0,
        "seconds": round(seconds, 2),
        "throughput_rps": round(figures["requests"] / seconds, 1),
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p95_ms": round(figures["p95_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
    }


def print_table(rows: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    load = (
        f"wrk, {args.connections} connections"
        if args.generator == "wrk"
        else f"paced python client, offered {args.rate:g}/s, concurrency<={args.concurrency}"
    )
    print(f"\nworkers={args.workers} counters={args.counters} load: {load}")
    header = f"{'endpoint':<14}{'requests':>9}{'fail':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(f"{name:<14}{r['requests']:>9}{r['failures']:>6}{r['throughput_rps']:>9}"
              f"{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}")  # fmt: skip


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="urbanpulse-bench-") as scratch:
        lake = get_lake(args.lake, Path(scratch))
        day = build_advice_service(Settings(lake_path=lake.root), lake).get_clock().planning_day
        queries = build_queries(day.isoformat())
        transfer_queries = build_queries(day.isoformat(), TRANSFER_TRIPS)
        server, base = start_server(lake, args)
        try:
            started = time.perf_counter()
            asyncio.run(warm(base, queries + transfer_queries, args.workers))
            warm_seconds = time.perf_counter() - started
            if args.generator == "wrk":
                health = run_wrk(base, "/api/health", [], args, Path(scratch))
                advice = run_wrk(base, "/api/advice", queries, args, Path(scratch))
                transfer = run_wrk(base, "/api/advice", transfer_queries, args, Path(scratch))
            else:
                health = asyncio.run(run_load(base, "/api/health", [], args))
                advice = asyncio.run(run_load(base, "/api/advice", queries, args))
                transfer = asyncio.run(run_load(base, "/api/advice", transfer_queries, args))
        finally:
            server.terminate()
            server.wait(timeout=timedelta(seconds=20).total_seconds())
        beijing = measure_beijing(args.shared_data, Path(scratch))
        timetable = measure_timetable(args.shared_data, Path(scratch))
        timetable_http = measure_timetable_http(args.shared_data, Path(scratch), args)
    rows = {"/api/advice": advice, "  transfers": transfer, "/api/health": health}
    if timetable_http is not None:
        rows |= {"BART /api/advice": timetable_http["advice"],
                 "BART /api/health": timetable_http["health"]}  # fmt: skip
    print_table(rows, args)
    if beijing is not None:
        print(
            f"real Beijing subway, Xizhimen -> Guomao ({beijing['transfers']} change): server "
            f"time p50 {beijing['p50_ms']} ms, p99 {beijing['p99_ms']} ms, first request "
            f"{beijing['first_request_ms']} ms"
        )
    if timetable is not None:
        print(
            f"BART timetable, Dublin -> Richmond ({timetable['transfers']} change, legs on "
            f"the trips' times): server time p50 {timetable['p50_ms']} ms, p99 "
            f"{timetable['p99_ms']} ms, first request {timetable['first_request_ms']} ms"
        )
    timed = [timetable_http["advice"]] if timetable_http is not None else []
    met = all(
        r["p99_ms"] < TARGET_P99_MS and r["throughput_rps"] >= TARGET_RATE and not r["failures"]
        for r in (advice, transfer, *timed)
    )
    beijing_met = beijing is not None and float(beijing["p99_ms"]) < TARGET_BEIJING_MS  # type: ignore[arg-type]
    print(json.dumps({
        "benchmark": "advice_api", "workers": args.workers, "counters": args.counters,
        "generator": args.generator,
        "offered_rate_rps": args.rate, "planning_day": day.isoformat(),
        "warm_seconds": round(warm_seconds, 2), "advice": advice, "transfer": transfer,
        "baseline_health": health,
        "ratio_throughput": round(advice["throughput_rps"] / health["throughput_rps"], 3),
        "ratio_p99": round(advice["p99_ms"] / health["p99_ms"], 3),
        "transfer_ratio_throughput": round(transfer["throughput_rps"] / health["throughput_rps"], 3),
        "transfer_ratio_p99": round(transfer["p99_ms"] / health["p99_ms"], 3),
        "beijing_server_time": beijing,
        "timetable_server_time": timetable,
        "timetable_http": timetable_http,
        "targets": {"p99_ms": TARGET_P99_MS, "rate_rps": TARGET_RATE, "met": met,
                    "beijing_server_ms": TARGET_BEIJING_MS, "beijing_met": beijing_met},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
