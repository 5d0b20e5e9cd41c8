"""Acceptance over the real third-party files in ../shared/data (skipped when absent)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from urbanpulse.ingest import ingest_files, read_mapping
from urbanpulse.store import Lake, read_sites
from urbanpulse.store.engine import connect

POLLUTANTS = {"PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3"}

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MAPPINGS = REPO / "mappings"


def count_present_cells(files) -> Counter:
    """Non-missing cells per (station, metric), counted independently with the csv module."""
    counts: Counter = Counter()
    for path in files:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                for column, metric in POLLUTANTS.items():
                    if row[column] != "NA":
                        counts[(row["station"], metric)] += 1
    return counts


def test_beijing_air_quality_folder_through_one_mapping(shared_data, tmp_path):
    files = sorted((shared_data / "beijing-air-quality").glob("*.csv"))
    lake = Lake(tmp_path / "lake")
    mapping = read_mapping(MAPPINGS / "beijing-air-quality.toml")
    first = ingest_files(lake, files, mapping)

    assert len(read_sites(lake)) == 12
    stored = (
        connect(lake)
        .execute("SELECT site_id, metric, count(*) FROM observations GROUP BY ALL")
        .fetchall()
    )
    stored_counts = {(site.removeprefix("bjaq-"), metric): n for site, metric, n in stored}
    expected = count_present_cells(files)
    for key, n in expected.items():
        assert stored_counts[key] == n, key
    assert stored_counts[("Dongsi", "pm25")] == 35_064 - 750
    assert first.quarantined_total == 0

    second = ingest_files(lake, files, mapping)
    assert second.observations_stored == 0
    assert second.duplicates_skipped == first.observations_stored


def test_los_loop_is_207_sites_by_2016_five_minute_steps(shared_data, tmp_path):
    lake = Lake(tmp_path / "lake")
    summary = ingest_files(
        lake, [shared_data / "los-loop" / "los_speed.csv"], read_mapping(MAPPINGS / "los-loop.toml")
    )
    assert summary.new_sites == 207
    sites, steps, total, step_seconds = (
        connect(lake)
        .execute(
            """SELECT count(DISTINCT site_id), count(DISTINCT ts), count(*),
                  min(epoch(ts) - epoch(lag)) FROM (
            SELECT site_id, ts, lag(ts) OVER (PARTITION BY site_id ORDER BY ts) AS lag
            FROM observations)"""
        )
        .fetchall()[0]
    )
    assert (sites, steps, total) == (207, 2016, 207 * 2016)
    assert step_seconds == 300


def test_hangzhou_metro_entries_with_a_date_and_a_clock_column(shared_data, tmp_path):
    source = shared_data / "hangzhou-metro" / "entries_10min.csv"
    lake = Lake(tmp_path / "lake")
    summary = ingest_files(lake, [source], read_mapping(MAPPINGS / "hangzhou-metro.toml"))
    with open(source, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert summary.observations_stored == len(rows) == 80 * 25 * 108
    assert summary.quarantined_total == 0
    first, last, total = (
        connect(lake)
        .execute("SELECT min(ts), max(ts), sum(value) FROM observations WHERE metric = 'entries'")
        .fetchone()
    )
    # 06:00 and 23:50 local (UTC+8) on the first and last day.
    assert first.isoformat().startswith("2018-12-31T22:00") and last.isoformat().startswith(
        "2019-01-25T15:50"
    )
    assert total == sum(int(row["entries"]) for row in rows)
