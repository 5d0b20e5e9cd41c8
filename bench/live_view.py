"""Live view benchmark, run by hand: ``.venv/bin/python bench/live_view.py --help``.

Serves the app (uvicorn in a thread) over a temp lake holding the demo network's sites,
then ``--commits`` times commits new load readings and measures how long until a
browser-like client sees them: over the server-sent events of ``/api/live/stream``, and,
as the baseline in the same run, by polling ``/api/live/sections`` every ``--poll``
seconds as the page does when EventSource fails. Also times the snapshot itself
(``GET /api/live/sections`` after a commit: cold, and warm).

Prints a table, then one final line of JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa

from serving import serve_in_thread
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, append_observations, upsert_sites
from urbanpulse.twin import build_network


def write_loads(lake: Lake, value: float) -> int:
    sites = build_network(2026).sites.to_pandas()
    metro = sites.loc[sites["kind"] == "metro_station", "site_id"]
    frame = pd.DataFrame(
        {"site_id": metro, "metric": "load", "ts": pd.Timestamp(datetime.now(UTC)),
         "value": value, "unit": "share of capacity"}
    )  # fmt: skip
    append_observations(lake, pa.Table.from_pandas(frame, preserve_index=False))
    return lake.version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=5, help="commits to time (each way)")
    parser.add_argument(
        "--poll", type=float, default=15.0, help="polling interval (s), as the page"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake")
        upsert_sites(lake, build_network(2026).sites)
        write_loads(lake, 0.3)
        with serve_in_thread(create_app(Settings(lake_path=lake.root))) as url:
            stream_s: list[float] = []
            seen: dict[int, float] = {}
            arrived = threading.Condition()

            def listen() -> None:
                sse = {"Accept": "text/event-stream"}
                with httpx.stream(
                    "GET", f"{url}/api/live/stream", headers=sse, timeout=None
                ) as response:
                    for line in response.iter_lines():
                        if line.startswith("id: "):
                            with arrived:
                                seen[int(line[4:])] = time.perf_counter()
                                arrived.notify_all()

            threading.Thread(target=listen, daemon=True).start()
            time.sleep(1.0)
            for k in range(args.commits):
                committed = time.perf_counter()
                version = write_loads(lake, 0.3 + 0.1 * (k % 8))
                with arrived:
                    arrived.wait_for(lambda v=version: v in seen, timeout=30)
                stream_s.append(seen[version] - committed)
                time.sleep(0.5)

            poll_s: list[float] = []
            client = httpx.Client(timeout=30)
            origin = time.perf_counter()  # the page polls on its own fixed schedule
            for k in range(args.commits):
                # Commits fall at varied phases of the poll cycle, as they do for a page.
                time.sleep((k * 0.37 % 1.0) * args.poll)
                committed = time.perf_counter()
                version = write_loads(lake, 0.9)
                j = math.ceil((committed - origin) / args.poll)
                while True:
                    time.sleep(max(0.0, origin + j * args.poll - time.perf_counter()))
                    if client.get(f"{url}/api/live/sections").json()["version"] >= version:
                        poll_s.append(time.perf_counter() - committed)
                        break
                    j += 1

            write_loads(lake, 0.5)
            start = time.perf_counter()
            client.get(f"{url}/api/live/sections")
            cold = time.perf_counter() - start
            warm = []
            for _ in range(20):
                start = time.perf_counter()
                client.get(f"{url}/api/live/sections")
                warm.append(time.perf_counter() - start)

    result = {
        "stream_latency_s_median": round(statistics.median(stream_s), 3),
        "stream_latency_s_max": round(max(stream_s), 3),
        "baseline_poll_latency_s_median": round(statistics.median(poll_s), 3),
        "baseline_poll_latency_s_max": round(max(poll_s), 3),
        "snapshot_cold_ms": round(cold * 1000, 1),
        "snapshot_warm_ms_median": round(statistics.median(warm) * 1000, 1),
        "commits": args.commits,
        "poll_s": args.poll,
    }
    print(f"{'new data seen by the page':<34}{'median s':>10}{'max s':>10}")
    print(
        f"{'server-sent events':<34}{result['stream_latency_s_median']:>10}{result['stream_latency_s_max']:>10}"
    )
    label = f"polling every {args.poll:g} s (baseline)"
    print(f"{label:<34}"
          f"{result['baseline_poll_latency_s_median']:>10}{result['baseline_poll_latency_s_max']:>10}")  # fmt: skip
    print(
        f"snapshot after a commit: {result['snapshot_cold_ms']} ms; "
        f"unchanged: {result['snapshot_warm_ms_median']} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
