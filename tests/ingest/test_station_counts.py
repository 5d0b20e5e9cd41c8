"""Long tables (date, hour, station, count): every bad row kept with its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from urbanpulse.ingest import build_mapping, ingest_files, read_mapping
from urbanpulse.store import read_observations, read_quarantine, read_sites

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MAPPINGS = REPO / "mappings"


def test_long_table_stores_good_rows_and_quarantines_the_rest(lake):
    mapping = read_mapping(FIXTURES / "station_counts.toml")
    summary = ingest_files(lake, [FIXTURES / "station_counts.csv"], mapping)

    assert summary.rows_read == 10
    assert summary.observations_stored == 5
    assert summary.missing_cells == 1
    assert dict(summary.quarantined) == {
        "below minimum": 1,
        "non-numeric value": 1,
        "unparseable time": 1,
        "duplicate key within file": 1,
    }
    # every data row is accounted for exactly once
    assert summary.observations_stored + summary.missing_cells + summary.quarantined_total == 10

    quarantined = read_quarantine(lake).sort_values("line")
    assert list(quarantined["line"]) == [5, 7, 9, 11]
    assert list(quarantined["reason"]) == [
        "below minimum 0.0",
        "non-numeric value",
        "unparseable time",
        "duplicate key within file",
    ]
    assert quarantined["source"].str.endswith("station_counts.csv").all()
    assert quarantined.iloc[2]["raw"] == "2026-02-30,9,GM,700"


def test_local_times_are_stored_in_utc_and_first_of_a_repeated_key_wins(lake):
    mapping = read_mapping(FIXTURES / "station_counts.toml")
    ingest_files(lake, [FIXTURES / "station_counts.csv"], mapping)
    rows = read_observations(lake, "entries", site_ids=["bj-XZM"])
    seven_local = datetime(2026, 3, 1, 23, tzinfo=UTC)  # 07:00 in Beijing
    first = rows[rows["ts"] == seven_local]
    assert list(first["value"]) == [1520.0]
    assert str(rows["ts"].dt.tz) == "UTC"


def test_unknown_sites_are_quarantined_when_the_mapping_forbids_new_ones(lake):
    ingest_files(
        lake, [FIXTURES / "station_counts.csv"], read_mapping(FIXTURES / "station_counts.toml")
    )
    assert set(read_sites(lake)["site_id"]) == {"bj-XZM", "bj-GM", "bj-ZZZ"}

    raw = read_mapping(FIXTURES / "station_counts.toml").model_dump()
    raw["site"]["allow_new"] = False
    strict = build_mapping(raw)
    later = FIXTURES.parent / "fixtures" / "station_counts.csv"
    other = lake.root.parent / "later.csv"
    other.write_text(later.read_text().replace("ZZZ", "NEW"))
    summary = ingest_files(lake, [other], strict)
    assert summary.quarantined["unknown site"] == 1
    assert "bj-NEW" not in set(read_sites(lake)["site_id"])


def test_running_the_same_file_twice_stores_and_quarantines_nothing_new(lake):
    mapping = read_mapping(FIXTURES / "station_counts.toml")
    first = ingest_files(lake, [FIXTURES / "station_counts.csv"], mapping)
    second = ingest_files(lake, [FIXTURES / "station_counts.csv"], mapping)
    assert second.observations_stored == 0
    assert second.duplicates_skipped == first.observations_stored
    assert second.files_already_ingested == 1
    assert len(read_quarantine(lake)) == first.quarantined_total


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_excel_and_parquet_sources_report_sheet_rows_and_row_numbers(lake, tmp_path, kind):
    import pandas as pd

    frame = pd.read_csv(FIXTURES / "station_counts.csv", dtype=str, keep_default_na=False)
    path = tmp_path / f"counts.{kind}"
    if kind == "xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    summary = ingest_files(lake, [path], read_mapping(FIXTURES / "station_counts.toml"))
    assert summary.observations_stored == 5
    lines = sorted(read_quarantine(lake)["line"])
    # Excel rows count the header as row 1, like the sheet; Parquet rows count from 1.
    assert lines == ([5, 7, 9, 11] if kind == "xlsx" else [4, 6, 8, 10])
