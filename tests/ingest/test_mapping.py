"""Mapping files: TOML and YAML say the same thing; mistakes are named with their place."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from urbanpulse.errors import MappingError
from urbanpulse.ingest import build_mapping, ingest_files, read_mapping
from urbanpulse.ingest.mapping import TimeSpec
from urbanpulse.store import Lake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_yaml_and_toml_give_the_same_mapping_and_the_same_ingest(tmp_path):
    toml_mapping = read_mapping(FIXTURES / "station_counts.toml")
    as_yaml = tmp_path / "station_counts.yaml"
    as_yaml.write_text(yaml.safe_dump(toml_mapping.model_dump(mode="json")))
    yaml_mapping = read_mapping(as_yaml)
    assert yaml_mapping == toml_mapping
    summary = ingest_files(Lake(tmp_path / "lake"), [FIXTURES / "station_counts.csv"], yaml_mapping)
    assert summary.observations_stored == 5


@pytest.mark.parametrize(
    ("raw", "place"),
    [
        ({"layout": "long", "time": {"column": "t"}, "metrics": {"x": {}}}, "value_column"),
        (
            {
                "layout": "wide_metrics",
                "time": {"column": "t"},
                "site": {"column": "s"},
                "metrics": {"PM2.5": {"column": "p"}},
            },
            "metrics",
        ),
        (
            {
                "layout": "wide_sites",
                "time": {"start": "2026-01-01T00:00:00"},
                "metrics": {"v": {}},
            },
            "step",
        ),
        (
            {
                "layout": "wide_sites",
                "time": {"column": "t", "timezone": "Mars/Olympus"},
                "metrics": {"v": {}},
            },
            "time.timezone",
        ),
        (
            {
                "layout": "wide_sites",
                "time": {"column": "t"},
                "site": {"kind": "spaceport"},
                "metrics": {"v": {}},
            },
            "site.kind",
        ),
        (
            {
                "layout": "wide_sites",
                "time": {"column": "t"},
                "metrics": {"v": {}},
                "colour": "blue",
            },
            "colour",
        ),
        ({"layout": "sideways", "time": {"column": "t"}, "metrics": {"v": {}}}, "layout"),
    ],
)
def test_a_bad_mapping_names_what_is_wrong(raw, place):
    with pytest.raises(MappingError) as error:
        build_mapping(raw, origin="m.toml")
    assert place in str(error.value) and "m.toml" in str(error.value)


def test_unreadable_mapping_files_raise_mapping_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("layout = [unclosed")
    with pytest.raises(MappingError, match="not valid TOML"):
        read_mapping(broken)
    with pytest.raises(MappingError, match="cannot read mapping"):
        read_mapping(tmp_path / "absent.yaml")


def test_a_step_must_be_readable():
    raw = {
        "layout": "wide_sites",
        "time": {"start": "2026-01-01T00:00:00", "step": "5 fortnights"},
        "metrics": {"v": {}},
    }
    with pytest.raises(MappingError, match=r"time\.step"):
        build_mapping(raw)


def test_a_clock_column_stands_for_hour_and_minute(tmp_path):
    from urbanpulse.store.engine import connect

    source = tmp_path / "counts.csv"
    source.write_text("station,date,time,n\nA,2026-03-02,06:10,5\nA,2026-03-02,06:20:00,7\n")
    mapping = tmp_path / "counts.toml"
    mapping.write_text(
        'layout = "long"\nvalue_column = "n"\n[time]\nparts = { date = "date", time = "time" }\n'
        'timezone = "Asia/Kolkata"\n[site]\ncolumn = "station"\n[metrics.entries]\nunit = "p"\n'
    )
    lake = Lake(tmp_path / "lake")
    ingest_files(lake, [source], read_mapping(mapping))
    stamps = [
        r[0] for r in connect(lake).execute("SELECT ts FROM observations ORDER BY ts").fetchall()
    ]
    assert [s.isoformat()[11:16] for s in stamps] == ["00:40", "00:50"]  # UTC of 06:10 IST


def test_a_clock_column_and_an_hour_column_cannot_both_be_given():
    with pytest.raises(ValueError, match="one time column"):
        TimeSpec(parts={"date": "d", "time": "t", "hour": "h"})


def test_quarantine_masks_the_columns_a_mapping_marks_sensitive(tmp_path):
    from urbanpulse.store import read_quarantine

    source = tmp_path / "taps.csv"
    source.write_text(
        "card,station,time,n\n"
        "C1234567,A,2026-03-02 08:00,5\n"  # good
        "C7654321,A,not a time,5\n"  # a bad time: the whole row is kept, card masked
        "C1111111,A,2026-03-02 08:15,-4\n"  # a bad value: only that cell is kept
        "C2222222,A,2026-03-02 08:30\n"  # too few fields: withheld, nobody can split it
    )
    mapping = tmp_path / "taps.toml"
    mapping.write_text(
        'layout = "long"\nvalue_column = "n"\nsensitive = ["card"]\n'
        '[time]\ncolumn = "time"\nformat = "%Y-%m-%d %H:%M"\n[site]\ncolumn = "station"\n'
        '[metrics.entries]\nunit = "p"\nmin = 0\n'
    )
    lake = Lake(tmp_path / "lake")
    summary = ingest_files(lake, [source], read_mapping(mapping))
    assert summary.observations_stored == 1 and summary.quarantined_total == 3
    rejected = read_quarantine(lake)
    raws = " ".join(str(r) for r in rejected["raw"])
    for card in ("C7654321", "C1111111", "C2222222"):
        assert card not in raws
    assert "***,A,not a time,5" in raws and "withheld" in raws
