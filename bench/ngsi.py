"""NGSI-LD benchmark, run by hand: ``.venv/bin/python bench/ngsi.py --help``.

Over a demo lake (built in a temp folder unless ``--lake`` is given), times in one
process:

- every observed entity (TrafficFlowObserved, AirQualityObserved, CrowdFlowObserved)
  with its latest values, cold (just after a commit) and warm (the next request);
- the temporal representation of the road sensors' two attributes over one day;

against a baseline that asks DuckDB directly for the same rows (latest value per site
of each metric; one day of the sensors' rows), without building any JSON.

Prints a table, then one final line of JSON with the figures and the baselines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from urbanpulse.ngsi import entities
from urbanpulse.ngsi.query import build_entity_query
from urbanpulse.ngsi.temporal import build_temporal_query, read_temporal_entities
from urbanpulse.ngsi.vocabulary import get_metrics
from urbanpulse.store import Lake, get_observation_coverage, read_sites
from urbanpulse.store import get_metrics as get_stored_metrics
from urbanpulse.store.engine import connect, scan_sql
from urbanpulse.store.engines import build_engine
from urbanpulse.twin import build_demo, is_demo_built

OBSERVED = ("TrafficFlowObserved", "AirQualityObserved", "CrowdFlowObserved")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, help="an existing lake (default: a fresh demo)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    args = parser.parse_args()
    lake = _get_lake(args.lake)
    engine = build_engine("duckdb")
    region = "jingjinji"
    every = build_entity_query(type=",".join(OBSERVED))

    def read_every() -> None:
        entities.read_entities(lake, every, region=region, limit=1000, engine=engine)

    def cold() -> None:
        entities._cache.clear()  # as after a commit
        read_every()

    stored = {m for t in OBSERVED for m in get_metrics(t)} & set(get_stored_metrics(lake))
    con = connect()

    def raw_latest() -> None:
        for metric in sorted(stored):
            scan = scan_sql(lake, "observations", metric=metric)
            con.execute(
                f"SELECT site_id, arg_max(value, ts), max(ts) FROM ({scan}) GROUP BY site_id"
            ).fetchall()

    last = pd.Timestamp(get_observation_coverage(lake, "flow")["last_ts"])
    day_end = last.floor("D")
    day_start = day_end - pd.Timedelta(days=1)
    roads = build_entity_query(type="TrafficFlowObserved")
    window = build_temporal_query(
        timerel="between", time_at=day_start.isoformat(), end_time_at=day_end.isoformat()
    )
    road_ids = list(read_sites(lake, kind="road_sensor")["site_id"])

    def temporal() -> None:
        read_temporal_entities(lake, roads, window, region=region, limit=1000, engine=engine)

    def raw_day() -> None:
        for metric in ("flow", "speed"):
            scan = scan_sql(lake, "observations", metric=metric)
            con.execute(
                f"SELECT site_id, ts, value, unit FROM ({scan}) WHERE site_id IN "
                "(SELECT unnest(?::VARCHAR[])) AND ts >= ? AND ts < ? ORDER BY site_id, ts",
                [road_ids, day_start.to_pydatetime(), day_end.to_pydatetime()],
            ).fetchall()

    figures = {
        "entities_cold_ms": _time(cold, args.repeat),
        "entities_warm_ms": _time(read_every, args.repeat),
        "baseline_latest_ms": _time(raw_latest, args.repeat),
        "temporal_day_ms": _time(temporal, args.repeat),
        "baseline_day_ms": _time(raw_day, args.repeat),
    }
    print(f"{'what':<46}{'ms':>10}")
    for name, value in figures.items():
        print(f"{name:<46}{value:>10.1f}")
    figures["entities"] = entities.read_entities(lake, every, region=region, limit=1).total
    figures["road_sensors"] = len(road_ids)
    print(json.dumps(figures))


def _get_lake(path: Path | None) -> Lake:
    if path is not None:
        return Lake(path)
    root = Path(tempfile.mkdtemp(prefix="urbanpulse-ngsi-"))
    lake = Lake(root / "lake")
    if not is_demo_built(lake):
        print("building a one-week demo lake ...", flush=True)
        build_demo(lake, weeks=1, drop_dir=root / "drop")
    return lake


def _time(run: Callable[[], None], repeat: int) -> float:
    run()  # warm-up: imports, DuckDB's first plan
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1)


if __name__ == "__main__":
    main()
