"""Mixed garbage never crashes an ingest: bad lines land in quarantine, good rows are stored."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from urbanpulse.ingest import build_mapping, ingest_files
from urbanpulse.store import Lake, read_observations, read_quarantine

HEADER = b"year,month,day,hour,PM2.5,station\n"
MAPPING = build_mapping(
    {
        "layout": "wide_metrics",
        "source": {"missing": ["NA", ""]},
        "time": {"parts": {"year": "year", "month": "month", "day": "day", "hour": "hour"}},
        "site": {"column": "station", "id_prefix": "g-"},
        "metrics": {"pm25": {"column": "PM2.5", "unit": "ug/m3", "min": 0, "max": 2000}},
    }
)
# What each kind of bad line must be quarantined as (None: not a row, only counted).
BAD = {
    "binary": "binary data (NUL bytes) in line",
    "few_fields": "wrong number of fields",
    "many_fields": "wrong number of fields",
    "impossible_date": "unparseable time",
    "overflow": "non-finite value",
    "nan": "non-finite value",
    "dashes": "non-numeric value",
    "wrong_encoding": "text is not valid utf-8 (wrong encoding?)",
    "empty": None,
}


def make_line(kind: str, index: int) -> bytes:
    """A line of the given kind whose key (day, hour) is unique to its index."""
    day, hour = 1 + index // 24, index % 24
    good = f"2023,3,{day},{hour},{index % 500},Dongsi".encode()
    return {
        "good": good,
        "binary": b"\x00\x9f\x13garbage\x01\xff",
        "few_fields": b"2023,3,1",
        "many_fields": good + b",extra,columns",
        "impossible_date": f"2023,2,30,{hour},10,Dongsi".encode(),
        "overflow": f"2023,3,{day},{hour},1e999,Dongsi".encode(),
        "nan": f"2023,3,{day},{hour},NaN,Dongsi".encode(),
        "dashes": f"2023,3,{day},{hour},--,Dongsi".encode(),
        "wrong_encoding": f"2023,3,{day},{hour},5,".encode() + "东四".encode("gbk"),
        "empty": b"",
    }[kind]


def ingest_lines(tmp_path, kinds: list[str]):
    body = b"\n".join(make_line(kind, i) for i, kind in enumerate(kinds))
    path = tmp_path / "garbage.csv"
    path.write_bytes(HEADER + body + b"\n")
    lake = Lake(tmp_path / "lake")
    return lake, ingest_files(lake, [path], MAPPING)


def test_a_file_of_every_kind_of_garbage(tmp_path):
    kinds = ["good", *BAD, "good", "empty", "good"]
    lake, summary = ingest_lines(tmp_path, kinds)
    stored = read_observations(lake, "pm25")
    assert len(stored) == kinds.count("good") == summary.observations_stored
    quarantined = read_quarantine(lake)
    by_line = dict(zip(quarantined["line"], quarantined["reason"], strict=True))
    for index, kind in enumerate(kinds):
        line = index + 2  # header is line 1
        if BAD.get(kind):
            assert by_line[line].startswith(BAD[kind]), (kind, by_line.get(line))
        else:
            assert line not in by_line, kind
    assert summary.blank_lines == kinds.count("empty")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(["good", *BAD]), min_size=1, max_size=40))
def test_any_mix_of_garbage_keeps_every_bad_line_and_every_good_row(tmp_path_factory, kinds):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    lake, summary = ingest_lines(tmp_path, kinds)
    assert summary.observations_stored == kinds.count("good")
    lines = set(read_quarantine(lake)["line"])
    expected = {i + 2 for i, kind in enumerate(kinds) if BAD.get(kind)}
    assert lines == expected
    assert summary.blank_lines == kinds.count("empty")
