"""Benchmark: is the advice worth following? The product's advice against what happened.

Run by hand: ``python bench/advice_quality.py [--data ../shared/data] [--stations 80]``.

Hangzhou metro gate entries (80 stations, 10-minute counts, 2019-01-01..25): each
station becomes a metro station of a lake made for the benchmark (capacity: its busiest
15 minutes of the training days). For every weekday of the test days (19-25) the lake
holds the days before it only, the service's clock replays that morning (the first day
without data), and every station asks the product, through the advice service, when to
enter between 07:00 and 09:30 with 08:00 preferred (holdout off, nothing recorded).
The answer is scored against the actual entries of that day (10-minute counts spread
evenly over their minutes, summed to the 15-minute slots):

- regret: actual entries in the advised slot over the window's least (1.0 = the
  emptiest slot; lower is better), the share of advice at the window's last slot and
  the mean shift from the preferred time;
- in the same run, two simple rules: "stay at the preferred time" and "the forecast's
  least-crowded slot" (the product's own forecast, with no cost of moving);
- the share of days whose actual least-crowded slot is the last one (the target for
  the share of advice there: no more often than that);
- the same on hourly counts (the 10-minute data summed to hours): ``invented_subslots``
  counts 15-minute slots whose forecast differs from the other slots of its hour, a
  value no hourly reading supports (target 0).

Prints a table and ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from urbanpulse.advise.counters import MemoryCounters
from urbanpulse.advise.service import AdviceService
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.writes import append_observations, upsert_sites

REPO = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
TEST_DAYS = [date(2019, 1, d) for d in range(19, 26)]
WINDOW = (time(7, 0), time(9, 30), time(8, 0))
SLOT_MINUTES = 15


def read_entries(data: Path, stations: int) -> pd.DataFrame:
    """site_id, ts (UTC), value: the 10-minute gate entries of the first ``stations``."""
    raw = pd.read_csv(data / "hangzhou-metro" / "entries_10min.csv")
    raw = raw[raw["station"] < stations]
    local = pd.to_datetime(raw["date"] + " " + raw["time"], format="%Y-%m-%d %H:%M")
    return pd.DataFrame(
        {
            "site_id": "hz-" + raw["station"].astype(str).str.zfill(2),
            "ts": local.dt.tz_localize(TZ).dt.tz_convert("UTC"),
            "value": raw["entries"].astype(float),
        }
    )


def to_hours(entries: pd.DataFrame) -> pd.DataFrame:
    """The same counts summed to local hours."""
    hour = entries["ts"].dt.floor("h")
    return entries.assign(ts=hour).groupby(["site_id", "ts"], as_index=False)["value"].sum()


def to_slots(entries: pd.DataFrame, period: int) -> pd.DataFrame:
    """Counts of ``period``-minute readings spread evenly over their minutes, summed to
    15-minute slots: the actual entries in each slot (site_id, slot, value)."""
    minutes = np.arange(period)
    spread = entries.loc[entries.index.repeat(period)].copy()
    spread["ts"] = spread["ts"] + pd.to_timedelta(np.tile(minutes, len(entries)), unit="min")
    spread["value"] = spread["value"] / period
    spread["slot"] = spread["ts"].dt.floor(f"{SLOT_MINUTES}min")
    return spread.groupby(["site_id", "slot"])["value"].sum()


def build_lake(root: Path, entries: pd.DataFrame, actual: pd.Series) -> Lake:
    lake = Lake(root)
    train = actual[actual.index.get_level_values("slot") < pd.Timestamp(TEST_DAYS[0], tz=TZ)]
    capacity = train.groupby(level="site_id").max()
    sites = pa.Table.from_pylist(
        [
            {"site_id": site, "kind": "metro_station", "name_en": f"Hangzhou station {site[3:]}",
             "capacity": float(capacity.get(site, 1.0)), "synthetic": False}
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


def ask_every_station(
    service: AdviceService, day: date, sites: list[str], actual: pd.Series
) -> list[dict[str, object]]:
    start, end, preferred = (datetime.combine(day, t, TZ) for t in WINDOW)
    results = []
    for site in sites:
        answer = service.advise(site, None, start, end, preferred, record=False)
        slots = {s["departure"][:16]: s for s in answer["slots"]}
        labels = sorted(slots)
        truth = np.array(
            [actual.get((site, pd.Timestamp(label).tz_localize(TZ)), np.nan) for label in labels]
        )
        if not np.isfinite(truth).all() or truth.min() <= 0:
            continue
        crowding = np.array([np.nan if slots[x]["crowding"] is None else slots[x]["crowding"]
                             for x in labels])  # fmt: skip
        chosen = answer["recommended"]["departure"][:16] if answer["recommended"] else None
        preferred_label = preferred.strftime("%Y-%m-%dT%H:%M")
        advised = labels.index(chosen) if chosen else labels.index(preferred_label)
        least = int(np.nanargmin(crowding)) if np.isfinite(crowding).any() else advised
        results.append(
            {
                "site": site,
                "day": day,
                "truth": truth,
                "crowding": crowding,
                "advised": advised,
                "preferred": labels.index(preferred_label),
                "least_forecast": least,
            }
        )
    return results


def count_invented(results: list[dict[str, object]]) -> int:
    """15-minute slots whose forecast differs from the other slots of their hour."""
    invented = 0
    for r in results:
        crowding = np.asarray(r["crowding"], dtype=float)
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

    last = len(results[0]["truth"]) - 1
    return {
        "answers": len(results),
        "regret": regret("advised"),
        "regret_stay_at_preferred": regret("preferred"),
        "regret_least_crowded_rule": regret("least_forecast"),
        "share_last_slot": float(np.mean([r["advised"] == last for r in results])),
        "share_actual_min_last_slot": float(
            np.mean([int(np.argmin(r["truth"])) == last for r in results])
        ),
        "mean_shift_minutes": float(
            np.mean([abs(r["advised"] - r["preferred"]) * SLOT_MINUTES for r in results])
        ),
    }


def run(entries: pd.DataFrame, period: int, workdir: Path, sites: list[str]) -> dict:
    actual = to_slots(entries, period)
    lake = build_lake(workdir / f"lake-{period}", entries, actual)
    settings = Settings(
        lake_path=lake.root, advice_holdout_share=0.0, local_timezone=str(TZ),
        holiday_country="CN",
    )  # fmt: skip
    append_days(lake, entries, date(2019, 1, 1), TEST_DAYS[0])
    results = []
    for day in TEST_DAYS:
        if day.weekday() < 5:
            service = AdviceService(lake, settings, MemoryCounters())
            results += ask_every_station(service, day, sites, actual)
            service.close()
        append_days(lake, entries, day, day + timedelta(days=1))
    figures = summarise(results)
    figures["invented_subslots"] = count_invented(results) if period == 60 else 0
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
    with tempfile.TemporaryDirectory() as workdir:
        ten = run(entries, 10, Path(workdir), sites)
        hourly = run(to_hours(entries), 60, Path(workdir), sites)
    table = Table(title=f"Advice against the actual entries, {len(sites)} Hangzhou stations, "
                        f"weekdays of {TEST_DAYS[0]}..{TEST_DAYS[-1]}, 07:00-09:30, preferred 08:00")  # fmt: skip
    for column in ("readings", "answers", "advice", "stay at preferred", "least-crowded rule",
                   "at last slot", "actual min at last", "shift min", "invented"):  # fmt: skip
        table.add_column(column, justify="left" if column == "readings" else "right")
    for name, f in (("10-minute", ten), ("hourly", hourly)):
        table.add_row(
            name, str(f["answers"]), f"{f['regret']:.3f}", f"{f['regret_stay_at_preferred']:.3f}",
            f"{f['regret_least_crowded_rule']:.3f}", f"{f['share_last_slot']:.1%}",
            f"{f['share_actual_min_last_slot']:.1%}", f"{f['mean_shift_minutes']:.1f}",
            str(f["invented_subslots"]),
        )  # fmt: skip
    Console(width=160).print(table)
    print("regret: actual entries in the advised slot over the window's least (1 = best)")
    targets = {
        "share_last_slot": "<= share_actual_min_last_slot",
        "regret": "<= regret_least_crowded_rule",
        "invented_subslots": 0,
    }
    print(json.dumps({**ten, "hourly": hourly, "targets": targets}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
