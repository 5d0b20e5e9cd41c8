"""Lake upkeep over real data: four years of one Beijing air-quality station (UCI PRSA)."""

from __future__ import annotations

import csv
import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from urbanpulse.ingest import build_mapping, ingest_files
from urbanpulse.store import (
    Lake,
    compact_observations,
    compute_rollups,
    read_observations,
    read_rollups,
    retain_observations,
)

REPO = Path(__file__).resolve().parents[2]
STATION = "PRSA_Data_Dongsi_20130301-20170228.csv"


@pytest.fixture
def station_file() -> Path:
    folder = Path(os.environ.get("URBANPULSE_SHARED_DATA", REPO.parent / "shared" / "data"))
    path = folder / "beijing-air-quality" / STATION
    if not path.is_file():
        pytest.skip(f"real third-party data not found at {path} (set URBANPULSE_SHARED_DATA)")
    return path


@pytest.mark.shared_data
def test_four_years_of_a_real_station_keep_every_value_through_upkeep(
    station_file: Path, tmp_path: Path
) -> None:
    with open(station_file, newline="") as handle:
        pm25 = [float(row["PM2.5"]) for row in csv.DictReader(handle) if row["PM2.5"] != "NA"]
    lake = Lake(tmp_path / "lake")
    # The product's own mapping, reduced to PM2.5 (the other ten metrics would only
    # multiply the partitions and the test's time).
    mapping = tomllib.loads((REPO / "mappings" / "beijing-air-quality.toml").read_text())
    mapping["metrics"] = {"pm25": mapping["metrics"]["pm25"]}
    ingest_files(lake, [station_file], build_mapping(mapping))
    before = read_observations(lake, "pm25")
    assert len(before) == len(pm25)

    compact_observations(lake, min_files=1, sort_all=True)
    # One file a month in UTC: 2013-03-01 00:00 in Beijing is still February in UTC.
    assert len(lake.get_files("observations", metric="pm25")) == 49
    compute_rollups(lake, timezone="Asia/Shanghai")
    summary = retain_observations(lake, raw_days=400, timezone="Asia/Shanghai")

    # The newest hour is 2017-02-28 23:00 in Beijing; 400 days before it falls in January
    # 2016, so 2013-02 to 2015-12 (35 months) leave raw and stay as rollups.
    assert len(summary.partitions_removed) == 35
    after = read_observations(lake, "pm25")
    assert after.ts.min() >= datetime(2016, 1, 1, tzinfo=UTC)
    assert after.equals(before[before.ts >= after.ts.min()].reset_index(drop=True))
    daily = read_rollups(lake, "pm25", grain="daily")
    assert sum(daily.column("count").to_pylist()) == len(pm25)
    assert sum(daily.column("sum").to_pylist()) == pytest.approx(sum(pm25))
    hourly = read_rollups(lake, "pm25", grain="hourly", site_ids=["bjaq-Dongsi"])
    assert hourly.num_rows == len(pm25)  # one reading an hour: each hour is one value
    assert max(hourly.column("max").to_pylist()) == max(pm25)
