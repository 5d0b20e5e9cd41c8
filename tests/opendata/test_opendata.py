"""The open data room: catalogue coverage, paging, formats, exports, GeoJSON and DCAT."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from urbanpulse.catalog import Site, build_sites_table
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.opendata import (
    build_dcat_catalog,
    build_geojson,
    encode_batches,
    encode_table,
    get_catalog,
    get_dataset,
    get_records,
    read_dataset_batches,
    read_dataset_page,
)
from urbanpulse.store import Lake, read_observations, read_sites
from urbanpulse.store.networks import replace_network

DAY = (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))


def test_catalogue_coverage_is_computed_from_the_lake(test_lake: Lake) -> None:
    catalog = {d.dataset_id: d for d in get_catalog(test_lake)}
    assert set(catalog) == {"observations-passengers", "observations-pm25", "sites", "indicators"}
    pm25 = catalog["observations-pm25"]
    rows = read_observations(test_lake, "pm25")
    assert pm25.coverage.rows == len(rows)
    assert pm25.coverage.start == rows["ts"].min().isoformat()
    assert pm25.coverage.end == rows["ts"].max().isoformat()
    sites = read_sites(test_lake)
    assert pm25.coverage.bbox == (
        sites["lon"].min(),
        sites["lat"].min(),
        sites["lon"].max(),
        sites["lat"].max(),
    )
    assert pm25.scope == "government" and pm25.synthetic  # raw readings: data policy
    assert catalog["indicators"].coverage.start == "2020-01-01"
    assert catalog["indicators"].coverage.regions == ("110000", "120000")
    with pytest.raises(NotFoundError, match="observations-pm25"):
        get_dataset(test_lake, "taps")


def _follow(lake: Lake, dataset_id: str, limit: int, **window: datetime) -> list[dict]:
    dataset = get_dataset(lake, dataset_id)
    seen: list[dict] = []
    cursor = None
    while True:
        page = read_dataset_page(lake, dataset, limit=limit, cursor=cursor, **window)
        assert page.rows.num_rows <= limit
        seen += get_records(page.rows)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(min_value=7, max_value=120))
def test_following_cursors_visits_every_row_exactly_once(test_lake: Lake, limit: int) -> None:
    start, end = DAY
    seen = _follow(test_lake, "observations-pm25", limit, start=start, end=end)
    direct = read_observations(test_lake, "pm25", start=start, end=end)
    assert [(r["site_id"], r["ts"]) for r in seen] == [
        (s, t.isoformat()) for s, t in zip(direct["site_id"], direct["ts"], strict=True)
    ]


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_small_tables_page_in_key_order(test_lake: Lake, limit: int) -> None:
    seen = _follow(test_lake, "sites", limit)
    assert [r["site_id"] for r in seen] == sorted(read_sites(test_lake)["site_id"])
    keys = [
        (r["indicator"], r["region_code"], r["year"])
        for r in _follow(test_lake, "indicators", limit)
    ]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) == 3


def test_a_cursor_belongs_to_its_dataset_and_query(test_lake: Lake) -> None:
    pm25 = get_dataset(test_lake, "observations-pm25")
    cursor = read_dataset_page(test_lake, pm25, limit=2).next_cursor
    assert cursor is not None
    for other, window in [
        (get_dataset(test_lake, "sites"), {}),
        (pm25, {"start": DAY[0]}),
    ]:
        with pytest.raises(InvalidQueryError, match="cursor"):
            read_dataset_page(test_lake, other, limit=2, cursor=cursor, **window)
    for garbage in ("not-a-cursor", "e30", "bnVsbA"):
        with pytest.raises(InvalidQueryError, match="cursor"):
            read_dataset_page(test_lake, pm25, limit=2, cursor=garbage)


def test_every_table_format_round_trips(test_lake: Lake) -> None:
    dataset = get_dataset(test_lake, "observations-passengers")
    rows = read_dataset_page(test_lake, dataset, limit=50).rows
    records = get_records(rows)
    assert list(records[0]) == ["site_id", "metric", "ts", "value", "unit"]
    parquet = pq.read_table(io.BytesIO(encode_table(rows, "parquet")))
    assert parquet.equals(rows)
    assert get_records(parquet) == records
    csv = pacsv.read_csv(io.BytesIO(encode_table(rows, "csv")))
    assert get_records(csv.cast(rows.schema)) == records
    ndjson = encode_table(rows, "ndjson").decode().splitlines()
    assert [json.loads(line) for line in ndjson] == records
    assert json.loads(b"".join(encode_batches(rows.schema, rows.to_batches(), "json"))) == records


def test_export_of_a_range_equals_a_direct_read(test_lake: Lake) -> None:
    dataset = get_dataset(test_lake, "observations-pm25")
    schema, batches = read_dataset_batches(test_lake, dataset, start=DAY[0], end=DAY[1])
    exported = pq.read_table(io.BytesIO(b"".join(encode_batches(schema, batches, "parquet"))))
    direct = read_observations(test_lake, "pm25", start=DAY[0], end=DAY[1])
    assert exported.num_rows == len(direct) > 0
    assert exported.column("value").to_pylist() == direct["value"].tolist()
    assert exported.column("site_id").to_pylist() == direct["site_id"].tolist()
    empty_schema, empty = read_dataset_batches(
        test_lake,
        dataset,
        start=datetime(2030, 1, 1, tzinfo=UTC),
        end=datetime(2030, 2, 1, tzinfo=UTC),
    )
    assert (
        pq.read_table(io.BytesIO(b"".join(encode_batches(empty_schema, empty, "parquet")))).num_rows
        == 0
    )


def test_sites_are_geojson_points_in_lon_lat_order(test_lake: Lake) -> None:
    dataset = get_dataset(test_lake, "sites")
    doc = build_geojson(read_dataset_page(test_lake, dataset, limit=100).rows, dataset)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 3
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (feature["properties"]["lon"], feature["properties"]["lat"])
        assert 73 < lon < 136 and 18 < lat < 54  # China: a swapped pair falls outside
    with pytest.raises(InvalidQueryError):
        build_geojson(pa.table({"x": [1]}), get_dataset(test_lake, "indicators"))


def test_transit_lines_are_linestrings_through_their_stations(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    coords = {"A": (116.30, 39.90), "B": (116.35, 39.91), "C": (116.40, 39.92), "X": None}
    sites = build_sites_table(
        [
            Site(site_id=f"t:{k}", kind="metro_station", name_en=k, lon=c[0], lat=c[1])
            if c
            else Site(site_id=f"t:{k}", kind="metro_station", name_en=k)
            for k, c in coords.items()
        ]
    )
    stops = pa.table(
        {
            "line_id": ["t:red"] * 4 + ["t:grey"],
            "direction": ["0"] * 5,
            "sequence": [0, 1, 2, 3, 0],
            "site_id": ["t:C", "t:X", "t:B", "t:A", "t:A"],
        }
    )
    lines = pa.table(
        {"line_id": ["t:red", "t:grey"], "direction": ["0", "0"], "mode": ["metro"] * 2}
    )
    replace_network(lake, "t", {"line_stops": stops, "lines": lines}, sites=sites)
    dataset = get_dataset(lake, "transit-lines")
    doc = build_geojson(read_dataset_page(lake, dataset, limit=10).rows, dataset)
    by_id = {f["id"]: f for f in doc["features"]}
    # In running order, lon before lat, the station without coordinates left out.
    assert by_id["t/t:red/0"]["geometry"] == {
        "type": "LineString",
        "coordinates": [[116.40, 39.92], [116.35, 39.91], [116.30, 39.90]],
    }
    assert by_id["t/t:red/0"]["properties"]["stations"] == 4
    assert by_id["t/t:grey/0"]["geometry"] is None  # one located station is no line
    stations = get_dataset(lake, "transit-stations")
    assert stations.coverage.rows == 4 and stations.geometry == "point"
    assert stations.coverage.bbox == (116.30, 39.90, 116.40, 39.92)


def test_dcat_catalogue_has_the_dcat_fields(test_lake: Lake) -> None:
    datasets = get_catalog(test_lake)
    doc = build_dcat_catalog(datasets, base_url="http://h", links={"sites": {"csv": "http://h/x"}})
    assert doc["@type"] == "dcat:Catalog" and "dcat" in doc["@context"]
    nodes = {n["dct:identifier"]: n for n in doc["dcat:dataset"]}
    pm25 = nodes["observations-pm25"]
    assert pm25["@type"] == "dcat:Dataset"
    assert pm25["dct:license"] == {"@id": "https://creativecommons.org/licenses/by/4.0/"}
    assert pm25["dct:temporal"]["dcat:startDate"]["@value"].startswith("2026-03-01T16:00")
    assert pm25["dct:spatial"]["dcat:bbox"]["@value"].startswith("POLYGON((115.5322 38.8633")
    assert nodes["sites"]["dcat:distribution"] == [
        {
            "@type": "dcat:Distribution",
            "dct:format": "csv",
            "dcat:mediaType": "text/csv",
            "dcat:accessURL": {"@id": "http://h/x"},
            "dct:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"},
        }
    ]
