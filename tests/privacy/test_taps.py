from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.privacy.conftest import build_tap_line

from urbanpulse.errors import SourceError
from urbanpulse.privacy import (
    SHENZHEN_TAPS,
    KeyRing,
    compute_tap_counts,
    ingest_taps,
    read_public_counts,
    read_public_flows,
    read_tap_file,
)
from urbanpulse.store import Lake, read_quarantine
from urbanpulse.store.engines import build_engine

IN, OUT = "地铁入站", "地铁出站"


def _ingest(lake: Lake, keys: KeyRing, *paths: Path, k: int = 3):
    return ingest_taps(
        lake, list(paths), SHENZHEN_TAPS, keys, k=k, period_minutes=15, timezone="Asia/Shanghai"
    )


def test_taps_are_pseudonymised_and_bad_rows_masked(tap_file: Callable, keys: KeyRing) -> None:
    path = tap_file(
        [
            build_tap_line("SECRETAA", "2018-09-01 08:01:00", IN, "罗湖"),
            build_tap_line("SECRETBB", "2018-09-01 08:02:00", OUT, "-"),
            build_tap_line("SECRETCC", "not a time", IN, "罗湖"),
            build_tap_line("", "2018-09-01 08:03:00", IN, "罗湖"),
            build_tap_line("SECRETDD", "2018-09-01 08:04:00", "飞机", "罗湖"),
        ]
    )
    batch = read_tap_file(path, SHENZHEN_TAPS, keys)
    assert list(batch.taps.columns) == [
        "pseudonym",
        "ts",
        "mode",
        "direction",
        "station",
        "site_id",
        "line",
        "source",
        "key_period",
    ]
    assert batch.taps.pseudonym.tolist() == [keys.pseudonymise("SECRETAA", "2018-09")]
    assert batch.taps.site_id.tolist() == ["shenzhen-metro:罗湖"]
    assert str(batch.taps.ts.iloc[0]) == "2018-09-01 00:01:00+00:00"
    reasons = {r["line"]: r["reason"] for r in batch.rejects}
    assert reasons == {
        3: "missing station",
        4: "unparseable time",
        5: "missing card id",
        6: "unknown tap type",
    }
    assert all("SECRET" not in str(r["raw"]) and "<masked>" in str(r["raw"]) for r in batch.rejects)


def test_station_names_are_cleaned(tap_file: Callable, keys: KeyRing) -> None:
    path = tap_file(
        [
            build_tap_line("A1", "2018-09-01 08:01:00", IN, "罗湖站"),
            build_tap_line("A2", "2018-09-01 08:01:00", IN, "?I岭"),
        ]
    )
    stations = read_tap_file(path, SHENZHEN_TAPS, keys).taps.station.tolist()
    assert stations == ["罗湖", "孖岭"]


def test_ingest_stores_counts_flows_and_quarantine_without_card_numbers(
    tmp_path: Path, tap_file: Callable, keys: KeyRing
) -> None:
    rows = []
    for i in range(4):  # four trips 罗湖 -> 国贸, one card each
        rows.append(build_tap_line(f"SECRET{i}X", f"2018-09-01 08:0{i}:00", IN, "罗湖"))
        rows.append(build_tap_line(f"SECRET{i}X", f"2018-09-01 08:2{i}:00", OUT, "国贸"))
    rows.append(build_tap_line("SECRETZZ", "2018-09-01 08:05:00", IN, "老街"))
    rows.append(build_tap_line("SECRETYY", "2018-09-01 08:06:00", OUT, "-"))
    lake = Lake(tmp_path / "lake")
    summary = _ingest(lake, keys, tap_file(rows))
    assert (summary.taps_stored, summary.pseudonyms, summary.quarantined) == (
        9,
        5,
        {"missing station": 1},
    )
    counts = read_public_counts(lake)
    assert list(counts.columns) == [
        "site_id",
        "station",
        "period_start",
        "period_minutes",
        "direction",
        "taps",
        "suppressed",
    ]
    shown = counts[~counts.suppressed]
    assert sorted(zip(shown.station, shown.direction, shown.taps, strict=True)) == [
        ("国贸", "exit", 4),
        ("罗湖", "entry", 4),
    ]
    assert counts[counts.station == "老街"].suppressed.all()
    flows = read_public_flows(lake)
    assert list(flows.columns) == [
        "origin_site_id",
        "destination_site_id",
        "date",
        "trips",
        "suppressed",
    ]
    assert flows.trips.tolist() == [4]
    counted = compute_tap_counts(
        lake, engine=build_engine("duckdb"), period_minutes=15, timezone="Asia/Shanghai"
    )
    assert counted.taps.sum() == 9
    assert "SECRET" not in read_quarantine(lake).to_string()
    for file in (tmp_path / "lake").rglob("*"):
        if file.is_file():
            assert b"SECRET" not in file.read_bytes()
            if file.suffix == ".parquet":
                assert "SECRET" not in pq.read_table(file).to_pandas().to_string()


def test_ingest_is_idempotent_and_adds_new_files(
    tmp_path: Path, tap_file: Callable, keys: KeyRing
) -> None:
    lake = Lake(tmp_path / "lake")
    first = tap_file([build_tap_line("C1", "2018-09-01 08:01:00", IN, "罗湖")] * 3)
    assert _ingest(lake, keys, first).taps_stored == 1  # repeated rows are one tap
    again = _ingest(lake, keys, first)
    assert (again.files_already_ingested, again.taps_stored) == (1, 0)
    more = tap_file([build_tap_line(f"D{i}", "2018-09-01 08:02:00", IN, "罗湖") for i in range(2)])
    _ingest(lake, keys, more)
    assert read_public_counts(lake).taps.tolist() == [3]


def test_a_file_without_the_mapped_columns_is_a_source_error(tmp_path: Path, keys: KeyRing) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="lacks columns"):
        read_tap_file(path, SHENZHEN_TAPS, keys)


def test_a_tap_mapping_reads_other_layouts(tmp_path: Path, keys: KeyRing) -> None:
    from urbanpulse.privacy import read_tap_mapping

    mapping = tmp_path / "taps.toml"
    mapping.write_text(
        'timezone = "Asia/Kolkata"\nsite_prefix = "metro"\nsensitive = ["phone"]\n'
        '[columns]\ncard = "card_id"\ntime = "time"\nstation = "stop"\nkind = "dir"\nline = "line"\n'
        '[kinds]\nIN = ["metro", "entry"]\nOUT = ["metro", "exit"]\n',
        "utf-8",
    )
    spec = read_tap_mapping(mapping)
    data = tmp_path / "taps.csv"
    data.write_text(
        "card_id,time,stop,dir,line,phone\n"
        "K1,2024-03-01 09:00:00,Rajiv Chowk,IN,Blue,98100\n"
        "K2,2024-03-01 09:00:00,,IN,Blue,98200\n",
        "utf-8",
    )
    batch = read_tap_file(data, spec, keys)
    assert batch.taps.site_id.tolist() == ["metro:Rajiv Chowk"]
    assert str(batch.taps.ts.iloc[0]) == "2024-03-01 03:30:00+00:00"
    assert [r["raw"] for r in batch.rejects] == ["<masked>,2024-03-01 09:00:00,,IN,Blue,<masked>"]
