"""Inputs real files contain that once stored wrong data or stopped an ingest."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest

from urbanpulse.errors import MappingError
from urbanpulse.ingest import build_mapping, ingest_files
from urbanpulse.store import (
    Lake,
    append_observations,
    read_observations,
    read_quarantine,
    read_sites,
    upsert_sites,
)


def ingest_text(tmp_path, text: str | bytes, raw_mapping: dict, name: str = "source.csv"):
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    lake = Lake(tmp_path / "lake")
    return lake, ingest_files(lake, [path], build_mapping(raw_mapping))


MATRIX = {
    "layout": "wide_sites",
    "time": {"start": "2026-03-02T00:00:00", "step": "1h", "timezone": "Asia/Shanghai"},
    "site": {"id_prefix": "d-"},
    "metrics": {"speed": {"unit": "km/h"}},
}


def test_a_rejected_line_keeps_its_step_in_a_matrix(tmp_path):
    lake, _ = ingest_text(tmp_path, "D1,D2\n10,11\n20,21,999\n30,31\n40,41\n", MATRIX)
    stored = read_observations(lake, "speed", site_ids=["d-D1"])
    local = stored["ts"].dt.tz_convert("Asia/Shanghai").dt.hour.tolist()
    assert dict(zip(local, stored["value"], strict=True)) == {0: 10.0, 2: 30.0, 3: 40.0}


def test_a_bad_line_before_others_keeps_their_steps_in_the_careful_reader_too(tmp_path):
    text = b"D1,D2\n10,11\n\xff\xfe,21\n30,31\n"
    lake, _ = ingest_text(tmp_path, text, MATRIX)
    stored = read_observations(lake, "speed", site_ids=["d-D1"])
    assert stored["ts"].dt.tz_convert("Asia/Shanghai").dt.hour.tolist() == [0, 2]


def test_date_parts_of_a_matrix_are_not_sites(tmp_path):
    raw = {**MATRIX, "time": {"parts": {"date": "date", "hour": "hour"}, "timezone": "UTC"}}
    lake, summary = ingest_text(
        tmp_path, "date,hour,D1,D2\n2026-03-02,7,1,2\n2026-03-02,8,3,4\n", raw
    )
    assert set(read_sites(lake)["site_id"]) == {"d-D1", "d-D2"}
    assert summary.observations_stored == 4 and summary.quarantined_total == 0


def test_a_date_without_time_is_local_midnight(tmp_path):
    raw = {
        "layout": "long",
        "value_column": "v",
        "time": {"column": "day", "timezone": "Asia/Shanghai"},
        "site": {"column": "s"},
        "metrics": {"count": {}},
    }
    lake, _ = ingest_text(tmp_path, "day,s,v\n2024-03-01,a,1\n2024-03-02 00:00,a,2\n", raw)
    stored = read_observations(lake, "count")
    assert stored["ts"].tolist() == [
        pd.Timestamp("2024-02-29 16:00", tz="UTC"),
        pd.Timestamp("2024-03-01 16:00", tz="UTC"),
    ]


LONG = {
    "layout": "long",
    "value_column": "value",
    "metric_column": "metric",
    "time": {"column": "time"},
    "site": {"column": "line"},
    "metrics": {"entries": {"column": "in"}, "exits": {"column": "out"}},
}


def test_source_columns_named_like_internal_ones(tmp_path):
    text = "line,problem,metric,time,value\nL1,x,in,2026-03-02 08:00,5\nL1,x,out,2026-03-02 08:00,6\nL2,x,in,not a time,7\n"
    lake, summary = ingest_text(tmp_path, text, LONG)
    assert summary.observations_stored == 2
    rejected = read_quarantine(lake)
    assert list(rejected["reason"]) == ["unparseable time"]
    assert rejected["raw"].iloc[0] == "L2,x,in,not a time,7"


def test_sentinel_dates_are_quarantined_not_fatal(tmp_path):
    text = (
        "line,problem,metric,time,value\nL1,x,in,9999-12-31 00:00,5\nL1,x,in,2026-03-02 08:00,6\n"
    )
    _, summary = ingest_text(tmp_path, text, LONG)
    assert summary.observations_stored == 1
    assert summary.quarantined["time out of range"] == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0 not a zip"),
        ("broken.xlsx", b"PK\x03\x04 truncated"),
    ],
)
def test_an_unreadable_file_is_quarantined_and_the_others_still_land(tmp_path, name, content):
    good = tmp_path / "good.csv"
    good.write_text("line,problem,metric,time,value\nL1,x,in,2026-03-02 08:00,5\n")
    bad = tmp_path / name
    bad.write_bytes(content)
    lake = Lake(tmp_path / "lake")
    summary = ingest_files(lake, [good, bad, tmp_path / "absent.csv"], build_mapping(LONG))
    assert summary.observations_stored == 1
    assert summary.quarantined["unreadable file"] == 2


def test_parquet_with_a_list_column_is_quarantined_as_unreadable(tmp_path):
    path = tmp_path / "nested.parquet"
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table(
            {"line": ["L1"], "time": ["2026-03-02 08:00"], "metric": ["in"], "value": [[1, 2]]}
        ),
        path,
    )
    summary = ingest_files(Lake(tmp_path / "lake"), [path], build_mapping(LONG))
    assert summary.quarantined["unreadable file"] == 1


def test_old_mac_line_ends_and_utf16_text_are_read(tmp_path):
    text = (
        "line,problem,metric,time,value\rL1,x,in,2026-03-02 08:00,5\rL1,x,out,2026-03-02 08:00,6\r"
    )
    (tmp_path / "mac").mkdir()
    _, summary = ingest_text(tmp_path / "mac", text, LONG)
    assert summary.observations_stored == 2
    wide = "line,problem,metric,time,value\nL1,x,in,2026-03-02 08:00,5\n".encode("utf-16")
    (tmp_path / "utf16").mkdir()
    raw = {**LONG, "source": {"encoding": "utf-16"}}
    _, summary = ingest_text(tmp_path / "utf16", wide, raw)
    assert summary.observations_stored == 1 and summary.quarantined_total == 0


def test_same_content_twice_in_one_batch_is_quarantined_once(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("line,problem,metric,time,value\nL1,x,in,bad,5\n")
    lake = Lake(tmp_path / "lake")
    ingest_files(lake, [path, tmp_path / "." / "a.csv"], build_mapping(LONG))
    assert len(read_quarantine(lake)) == 1


def test_odd_delimiters_and_infinite_bounds(tmp_path):
    raw = {**LONG, "source": {"delimiter": "'"}}
    _, summary = ingest_text(tmp_path, "line'problem'metric'time'value\nL1'x'in'bad'5\n", raw)
    assert summary.quarantined["unparseable time"] == 1
    with pytest.raises(MappingError, match="finite"):
        build_mapping({**LONG, "metrics": {"entries": {"column": "in", "min": float("-inf")}}})


def test_upserts_and_appends_refuse_missing_or_unsafe_keys(tmp_path):
    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, pa.table({"site_id": ["A", "B"], "kind": ["other", "other"]}))
    with pytest.raises(ValueError, match="missing"):
        upsert_sites(lake, pa.table({"site_id": ["D", None], "kind": ["other", "other"]}))
    with pytest.raises(ValueError, match="repeats"):
        upsert_sites(lake, pa.table({"site_id": ["D", "D"], "kind": ["other", "other"]}))
    assert set(read_sites(lake)["site_id"]) == {"A", "B"}
    row = {
        "site_id": ["A"],
        "metric": ["no 2"],
        "ts": pa.array([datetime(2026, 3, 2, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        "value": [1.0],
        "unit": ["u"],
    }
    with pytest.raises(ValueError, match="metric codes"):
        append_observations(lake, pa.table(row))
    with pytest.raises(ValueError, match="times"):
        far = pa.array([datetime(2999, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
        append_observations(lake, pa.table({**row, "metric": ["no2"], "ts": far}))


def test_readers_and_a_writer_share_one_lake_object(tmp_path):
    lake = Lake(tmp_path / "lake")
    errors: list[Exception] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                lake.get_files("observations")
            except Exception as exc:  # any failure is the finding
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    writer = Lake(lake.root)
    for hour in range(15):
        ts = pa.array([datetime(2026, 3, 2, hour, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
        append_observations(
            writer,
            pa.table(
                {"site_id": ["A"], "metric": ["flow"], "ts": ts, "value": [1.0], "unit": ["u"]}
            ),
        )
    done.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert sum(f.rows for f in lake.get_files("observations")) == 15


@pytest.mark.parametrize(("tokens", "cell"), [(["NA"], " NA "), (["-999", "NA"], " -999")])
def test_padded_missing_tokens_are_missing_even_numeric_ones(tmp_path, tokens, cell):
    raw = {**LONG, "source": {"missing": tokens}}
    text = f"line,problem,metric,time,value\nL1,x,in,2026-03-02 08:00,{cell}\nL1,x,out,2026-03-02 08:00,3\n"
    _, summary = ingest_text(tmp_path, text, raw)
    assert summary.missing_cells == 1 and summary.observations_stored == 1
