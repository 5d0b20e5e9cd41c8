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


@pytest.mark.parametrize("layout", ["wide_metrics", "long"])
def test_a_file_and_a_live_message_refuse_the_same_implausible_values(
    lake, tmp_path: Path, layout: str
):
    """One vocabulary of metrics (catalog.metrics): a value no reading of the metric can
    take is quarantined whether it comes in a mapped file or a live message; a mapping's
    own bound, where it sets one, wins."""
    from urbanpulse.catalog.metrics import PLAUSIBLE_RANGES
    from urbanpulse.stream.batches import commit_items
    from urbanpulse.stream.payloads import Items, decode_json

    if layout == "wide_metrics":
        source = tmp_path / "wide.csv"
        source.write_text("time,station,pm25,temp\n2026-03-01 08:00,A,-5,25\n"
                          "2026-03-01 09:00,A,40,95\n2026-03-01 10:00,A,2500,-10\n")  # fmt: skip
        mapping = build_mapping({
            "layout": "wide_metrics", "time": {"column": "time"}, "site": {"column": "station"},
            "metrics": {"pm25": {"column": "pm25", "unit": "ug/m3"},
                        "temp": {"column": "temp", "unit": "degC", "min": -5}},
        })  # fmt: skip
    else:
        source = tmp_path / "long.csv"
        source.write_text("time,station,metric,value\n2026-03-01 08:00,A,pm25,-5\n"
                          "2026-03-01 09:00,A,temp,95\n2026-03-01 10:00,A,pm25,2500\n"
                          "2026-03-01 10:00,A,temp,-10\n")  # fmt: skip
        mapping = build_mapping({
            "layout": "long", "time": {"column": "time"}, "site": {"column": "station"},
            "metric_column": "metric", "value_column": "value",
            "metrics": {"pm25": {"unit": "ug/m3"}, "temp": {"unit": "degC", "min": -5}},
        })  # fmt: skip
    ingest_files(lake, [source], mapping)
    reasons = sorted(read_quarantine(lake)["reason"])
    assert reasons == [
        f"above maximum {PLAUSIBLE_RANGES['pm25'][1]}",
        f"above maximum {PLAUSIBLE_RANGES['temp'][1]}",
        "below minimum -5.0",  # the mapping's bound, not the catalogue's -90
        f"below minimum {PLAUSIBLE_RANGES['pm25'][0]}",
    ]
    live = Items()
    decode_json(
        '[{"site_id": "A", "metric": "pm25", "ts": "2026-03-02T08:00:00Z", "value": -5},'
        ' {"site_id": "A", "metric": "temp", "ts": "2026-03-02T08:00:00Z", "value": 95}]',
        "test", live,
    )  # fmt: skip
    result = commit_items(
        lake, live, timezone="Asia/Shanghai", allow_new_sites=True, operation="stream"
    )
    assert sorted(problem for _, problem in result.rejected) == [
        f"above maximum {PLAUSIBLE_RANGES['temp'][1]}",
        f"below minimum {PLAUSIBLE_RANGES['pm25'][0]}",
    ]
