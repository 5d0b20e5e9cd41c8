"""Benchmark: is the advice worth following? The product's advice against what happened.

Run by hand: ``python bench/advice_quality.py [--data ../shared/data] [--stations 80]``.

Hangzhou metro gate entries (80 stations, 10-minute counts, 2019-01-01..25): each
station becomes a metro station of a lake made for the benchmark (capacity: one
direction's share of its busiest 15 minutes of the training days), on lines made for the benchmark from the published
adjacency (``graph.csv``): the longest path of stations first, then the longest among
the stations left, and so on, two minutes between neighbours. Upstream publishes no
line names or running times, so these lines are the benchmark's, not Hangzhou's.

For every weekday of the test days (19-25) the lake holds the days before it only, the
service's clock replays that morning (the first day without data), and the product is
asked, through the advice service, when to leave between 07:00 and 09:30 with 08:00
preferred (holdout off, nothing recorded). Two kinds of request:

- stations: each station alone (the five minutes in the station);
- rides: from each station six stops along its line, each way where the line goes on
  (the ride's crowding is its most crowded train, read at the minute it leaves each
  stop, as the product reads its forecasts).

Each answer is scored against the actual entries of that day (10-minute counts spread
evenly over their minutes, summed to the product's slots), read through the same trip
as the forecast:

- regret: the actual crowding of the advised slot over the window's least (1.0 = the
  emptiest slot; lower is better), the share of advice at the window's last slot and
  the mean shift from the preferred time;
- cost regret: the advised slot's generalized cost (the product's own cost: crowded
  minutes, schedule delay) computed with the actual loads, minus the least such cost in
  the window, in minutes (0 = the best choice in hindsight). This is what the advice
  claims to minimise; the plain regret ignores the rider's time;
- in the same run, two simple rules: "stay at the preferred time" and "the forecast's
  least-crowded slot" (the product's own forecast, with no cost of moving);
- the share of answers whose actual least-crowded slot is the last one (the target for
  the share of advice there: no more often than that);
- the same on hourly counts (the 10-minute data summed to hours): ``invented_subslots``
  counts 15-minute slots whose forecast differs from the other slots of their hour, a
  value no hourly reading supports (target 0).

Prints a table and ends with one line of JSON (the 10-minute stations' figures at the
top level, as before; rides and hourly readings beside them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from urbanpulse.advise.advice import compute_slot_arrays
from urbanpulse.advise.counters import MemoryCounters
from urbanpulse.advise.forecasts import DIRECTION_SHARE, ForecastLookup
from urbanpulse.advise.service import AdviceService, TripRequest
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.writes import append_observations, upsert_sites

REPO = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
TEST_DAYS = [date(2019, 1, d) for d in range(19, 26)]
WINDOW = (time(7, 0), time(9, 30), time(8, 0))
MINUTES_BETWEEN_STOPS = 2
RIDE_STOPS = 6


@dataclass(frozen=True)
class Request:
    origin: str
    destination: str | None


def read_entries(data: Path, stations: int) -> pd.DataFrame:
    """site_id, ts (UTC), value: the 10-minute gate entries of the first ``stations``."""
    raw = pd.read_csv(data / "hangzhou-metro" / "entries_10min.csv")
    raw = raw[raw["station"] < stations]
    local = pd.to_datetime(raw["date"] + " " + raw["time"], format="%Y-%m-%d %H:%M")
    return pd.DataFrame(
        {
            "site_id": get_site_id(raw["station"]),
            "ts": local.dt.tz_localize(TZ).dt.tz_convert("UTC"),
            "value": raw["entries"].astype(float),
        }
    )


def get_site_id(station: pd.Series) -> pd.Series:
    return "hz-" + station.astype(str).str.zfill(2)


def build_lines(data: Path, sites: list[str]) -> list[list[str]]:
    """Lines for the benchmark from the adjacency: the longest shortest path among the
    stations not yet on a line, repeatedly (a line per corridor, each station on one)."""
    adjacency = pd.read_csv(data / "hangzhou-metro" / "graph.csv", index_col=0).to_numpy()
    graph = nx.relabel_nodes(
        nx.from_numpy_array(adjacency),
        dict(enumerate(get_site_id(pd.Series(range(len(adjacency)))))),
    )
    left, lines = set(sites) & set(graph), []
    while left:
        part = graph.subgraph(left)
        longest: list[str] = []
        for component in nx.connected_components(part):
            # Two sweeps find the longest path of a tree; near enough on a metro.
            reach = nx.single_source_shortest_path_length(part.subgraph(component), min(component))
            end = max(sorted(reach), key=reach.__getitem__)
            paths = nx.single_source_shortest_path(part.subgraph(component), end)
            path = paths[max(sorted(paths), key=lambda k: len(paths[k]))]
            longest = path if len(path) > len(longest) else longest
        lines.append(longest)
        left -= set(longest)
    return lines


def list_rides(lines: list[list[str]]) -> list[Request]:
    """From each station ``RIDE_STOPS`` stops along its line, each way the line goes on."""
    rides = []
    for line in lines:
        for i, site in enumerate(line):
            for j in (i + RIDE_STOPS, i - RIDE_STOPS):
                if 0 <= j < len(line):
                    rides.append(Request(site, line[j]))
    return rides


def to_hours(entries: pd.DataFrame) -> pd.DataFrame:
    """The same counts summed to local hours."""
    hour = entries["ts"].dt.floor("h")
    return entries.assign(ts=hour).groupby(["site_id", "ts"], as_index=False)["value"].sum()


def to_slots(entries: pd.DataFrame, period: int, slot_minutes: int) -> pd.Series:
    """Counts of ``period``-minute readings spread evenly over their minutes, summed to
    ``slot_minutes`` slots: the actual entries in each slot, by (site_id, slot)."""
    minutes = np.arange(period)
    spread = entries.loc[entries.index.repeat(period)].copy()
    spread["ts"] = spread["ts"] + pd.to_timedelta(np.tile(minutes, len(entries)), unit="min")
    spread["value"] = spread["value"] / period
    spread["slot"] = spread["ts"].dt.floor(f"{slot_minutes}min")
    return spread.groupby(["site_id", "slot"])["value"].sum()


def get_capacity(entries: pd.DataFrame) -> pd.Series:
    """Each station's capacity: one direction's share of its busiest 15 minutes of the
    training days, so that the busiest period reads as a full train (load 1.0, standing)
    and a quiet one as seats free; with the whole count as capacity no load ever passed
    0.5, where a minute on board weighs the same at every load, and no ride was ever
    worth moving."""
    train = entries[entries["ts"] < pd.Timestamp(TEST_DAYS[0], tz=TZ)]
    period = int(
        train["ts"].diff().dt.total_seconds().dropna().pipe(lambda s: s[s > 0]).min() // 60
    )
    busiest = to_slots(train, period, 15).groupby(level="site_id").max()
    return (busiest * DIRECTION_SHARE).clip(lower=1.0)


def build_lake(root: Path, entries: pd.DataFrame, lines: list[list[str]]) -> Lake:
    lake = Lake(root)
    capacity = get_capacity(entries)
    position = {
        site: (f"hz-bench-{n}", k, MINUTES_BETWEEN_STOPS if k + 1 < len(line) else None)
        for n, line in enumerate(lines)
        for k, site in enumerate(line)
    }
    sites = pa.Table.from_pylist(
        [
            {"site_id": site, "kind": "metro_station", "name_en": f"Hangzhou station {site[3:]}",
             "capacity": float(capacity[site]), "synthetic": False,
             "attributes": json.dumps({"line_id": position[site][0], "sequence": position[site][1],
                                       "minutes_to_next": position[site][2]})}
            for site in sorted(entries["site_id"].unique())
        ]
    )  # fmt: skip
    upsert_sites(lake, sites)
    return lake


def append_days(lake: Lake, entries: pd.DataFrame, start: date, end: date) -> None:
    """Store the entries of local days [start, end)."""
    local = entries["ts"].dt.tz_convert(TZ).dt.date
    rows = entries[(local >= start) & (local < end)]
    if rows.empty:
        return
    table = pa.Table.from_pandas(
        rows.assign(metric="entries", unit="passengers")[
            ["site_id", "metric", "ts", "value", "unit"]
        ],
        preserve_index=False,
    )
    append_observations(lake, table)


def build_actual_lookup(entries: pd.DataFrame, period: int, slot_minutes: int) -> ForecastLookup:
    """What the day held, in a forecast's shape: each slot's actual entries turned into
    one direction's load against the station's capacity (a perfect forecast)."""
    actual = to_slots(entries, period, slot_minutes)
    capacity = get_capacity(entries)
    sites = {}
    for site_id, counts in actual.groupby(level="site_id"):
        keys = (counts.index.get_level_values("slot").astype("int64") // 10**9).to_numpy(np.int64)
        load = counts.to_numpy(float) * DIRECTION_SHARE / capacity[site_id]
        sites[str(site_id)] = (
            keys,
            np.vstack([load, load, load, np.full(len(load), capacity[site_id])]),
        )
    return ForecastLookup(slot_minutes, sites)


def ask(
    service: AdviceService, day: date, requests: list[Request], entries: pd.DataFrame, period: int
) -> list[dict[str, object]]:
    start, end, preferred = (datetime.combine(day, t, TZ) for t in WINDOW)
    results, actual = [], {}
    for request in requests:
        inputs = service.read_inputs(
            TripRequest(request.origin, request.destination, start, end, preferred)
        )
        answer = service.respond(inputs, record=False)
        slot_minutes = inputs.lookup.period_minutes
        if slot_minutes not in actual:
            actual[slot_minutes] = build_actual_lookup(entries, period, slot_minutes)
        truth = compute_slot_arrays(
            actual[slot_minutes], inputs.trip, inputs.window, counters=None, policy=service.policy,
            tz=service.settings.local_timezone,
        )  # fmt: skip
        labels = [d.strftime("%Y-%m-%dT%H:%M") for d in truth["departure"]]
        crowding_truth = np.asarray(truth["crowding"], dtype=float)
        if not np.isfinite(crowding_truth).all() or crowding_truth.min() <= 0:
            continue
        slots = {s["departure"][:16]: s for s in answer["slots"]}
        forecast = np.array([np.nan if slots[x]["crowding"] is None else slots[x]["crowding"]
                             for x in labels])  # fmt: skip
        chosen = answer["recommended"]["departure"][:16] if answer["recommended"] else None
        pref = labels.index(preferred.strftime("%Y-%m-%dT%H:%M"))
        advised = labels.index(chosen) if chosen else pref
        results.append(
            {
                "truth": crowding_truth,
                "cost": np.asarray(truth["score"], dtype=float),
                "forecast": forecast,
                "advised": advised,
                "preferred": pref,
                "least_forecast": int(np.nanargmin(forecast))
                if np.isfinite(forecast).any()
                else advised,
                "slot_minutes": inputs.lookup.period_minutes,
            }
        )
    return results


def count_invented(results: list[dict[str, object]]) -> int:
    """15-minute slots whose forecast differs from the other slots of their hour."""
    invented = 0
    for r in results:
        if r["slot_minutes"] >= 60:
            continue  # hourly slots: nothing finer to invent
        crowding = np.asarray(r["forecast"], dtype=float)
        # the window starts on the hour: slots 4k..4k+3 share an hour
        for first in range(0, len(crowding), 4):
            hour = crowding[first : first + 4]
            known = hour[np.isfinite(hour)]
            if len(known) > 1:
                invented += int(np.sum(~np.isclose(known, known[0], rtol=1e-6)))
    return invented


def summarise(results: list[dict[str, object]]) -> dict[str, float]:
    def regret(key: str) -> float:
        return float(np.mean([r["truth"][r[key]] / r["truth"].min() for r in results]))

    def cost_regret(key: str) -> float:
        return float(np.mean([r["cost"][r[key]] - np.min(r["cost"]) for r in results]))

    return {
        "answers": len(results),
        "regret": regret("advised"),
        "regret_stay_at_preferred": regret("preferred"),
        "regret_least_crowded_rule": regret("least_forecast"),
        "cost_regret_minutes": cost_regret("advised"),
        "cost_regret_stay_at_preferred": cost_regret("preferred"),
        "cost_regret_least_crowded_rule": cost_regret("least_forecast"),
        "share_last_slot": float(np.mean([r["advised"] == len(r["truth"]) - 1 for r in results])),
        "share_actual_min_last_slot": float(
            np.mean([int(np.argmin(r["truth"])) == len(r["truth"]) - 1 for r in results])
        ),
        "mean_shift_minutes": float(
            np.mean([abs(r["advised"] - r["preferred"]) * r["slot_minutes"] for r in results])
        ),
    }


def run(
    entries: pd.DataFrame,
    period: int,
    workdir: Path,
    lines: list[list[str]],
    kinds: dict[str, list[Request]],
) -> dict[str, dict]:
    lake = build_lake(workdir / f"lake-{period}", entries, lines)
    settings = Settings(
        lake_path=lake.root, advice_holdout_share=0.0, local_timezone=str(TZ),
        holiday_country="CN",
    )  # fmt: skip
    append_days(lake, entries, date(2019, 1, 1), TEST_DAYS[0])
    results: dict[str, list] = {kind: [] for kind in kinds}
    for day in TEST_DAYS:
        if day.weekday() < 5:
            service = AdviceService(lake, settings, MemoryCounters())
            for kind, requests in kinds.items():
                results[kind] += ask(service, day, requests, entries, period)
            service.close()
        append_days(lake, entries, day, day + timedelta(days=1))
    figures = {kind: summarise(found) for kind, found in results.items()}
    for kind, found in results.items():
        figures[kind]["invented_subslots"] = count_invented(found) if period == 60 else 0
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("URBANPULSE_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default))
    parser.add_argument("--stations", type=int, default=80)
    args = parser.parse_args()
    if not (args.data / "hangzhou-metro").is_dir():
        print(f"{args.data / 'hangzhou-metro'} not found; set --data", file=sys.stderr)
        return 2
    entries = read_entries(args.data, args.stations)
    sites = sorted(entries["site_id"].unique())
    lines = build_lines(args.data, sites)
    kinds = {"stations": [Request(s, None) for s in sites], "rides": list_rides(lines)}
    with tempfile.TemporaryDirectory() as workdir:
        ten = run(entries, 10, Path(workdir), lines, kinds)
        hourly = run(to_hours(entries), 60, Path(workdir), lines, kinds)
    table = Table(title=f"Advice against the actual entries, {len(sites)} Hangzhou stations "
                        f"on {len(lines)} lines made for the benchmark, weekdays of "
                        f"{TEST_DAYS[0]}..{TEST_DAYS[-1]}, 07:00-09:30, preferred 08:00")  # fmt: skip
    for column in ("requests", "readings", "answers", "regret: advice", "stay", "least-crowded",
                   "cost regret min: advice", "stay", "least-crowded", "at last slot",
                   "actual min at last", "shift min", "invented"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("requests", "readings") else "right")
    for name, figures in (("10-minute", ten), ("hourly", hourly)):
        for kind, f in figures.items():
            table.add_row(
                kind, name, str(f["answers"]), f"{f['regret']:.3f}",
                f"{f['regret_stay_at_preferred']:.3f}", f"{f['regret_least_crowded_rule']:.3f}",
                f"{f['cost_regret_minutes']:.2f}", f"{f['cost_regret_stay_at_preferred']:.2f}",
                f"{f['cost_regret_least_crowded_rule']:.2f}", f"{f['share_last_slot']:.1%}",
                f"{f['share_actual_min_last_slot']:.1%}", f"{f['mean_shift_minutes']:.1f}",
                str(f["invented_subslots"]),
            )  # fmt: skip
    Console(width=200).print(table)
    print("regret: actual crowding at the advised slot over the window's least (1 = best)")
    print("cost regret: the advised slot's generalized cost with the actual loads, minus the "
          "window's least, in minutes (0 = best in hindsight)")  # fmt: skip
    targets = {
        "share_last_slot": "<= share_actual_min_last_slot",
        "regret": "<= regret_least_crowded_rule",
        "cost_regret_minutes": "<= cost_regret_least_crowded_rule and stay_at_preferred",
        "invented_subslots": 0,
    }
    print(
        json.dumps({**ten["stations"], "rides": ten["rides"], "hourly": hourly, "targets": targets})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
