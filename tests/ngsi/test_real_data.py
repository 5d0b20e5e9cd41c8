"""Real third-party data ingested into a lake and served as NGSI-LD: the Los-loop
detectors' speeds (mph in the file, km/h in TrafficFlowObserved) at their real
positions, and a Beijing air-quality station's hourly pollutants and weather."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from urbanpulse.catalog import Site, build_sites_table
from urbanpulse.ingest import ingest_files, read_mapping
from urbanpulse.ngsi.aggregation import parse_aggregation
from urbanpulse.ngsi.entities import read_entities, read_entity
from urbanpulse.ngsi.query import build_entity_query
from urbanpulse.ngsi.temporal import build_temporal_query, read_temporal_entities
from urbanpulse.store import Lake, build_engine, upsert_sites
from urbanpulse.transit.transfers import get_metres

REPO = Path(__file__).resolve().parents[2]
MPH = 1.609344
REGION = "jingjinji"
ENGINE = build_engine("duckdb")

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def shared(shared_data: Path) -> Path:
    return shared_data


@pytest.fixture(scope="module")
def loop_lake(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Los-loop speeds through the shipped mapping, then the detectors' published
    positions added to their sites, as an operator registering them would."""
    lake = Lake(tmp_path_factory.mktemp("los-loop") / "lake")
    mapping = read_mapping(REPO / "mappings" / "los-loop.toml")
    summary = ingest_files(lake, [shared / "los-loop" / "los_speed.csv"], mapping)
    assert summary.observations_stored > 400_000
    places = pd.read_csv(shared / "los-loop" / "metr-la_graph_sensor_locations.csv")
    sites = [
        Site(site_id=f"la-{r.sensor_id}", kind="road_sensor", name_en=f"Loop detector {r.sensor_id}",
             lat=r.latitude, lon=r.longitude)
        for r in places.itertuples()
    ]  # fmt: skip
    upsert_sites(lake, build_sites_table(sites))
    return lake


def speeds(shared: Path) -> pd.DataFrame:
    return pd.read_csv(shared / "los-loop" / "los_speed.csv")


def test_loop_detectors_are_schema_valid_traffic_flow_in_kmh(
    loop_lake: Lake, shared: Path, validate_model: Any
) -> None:
    page = read_entities(
        loop_lake, build_entity_query(type="TrafficFlowObserved"), region=REGION, engine=ENGINE,
        limit=1000, key_values=True,
    )  # fmt: skip
    table = speeds(shared)
    assert page.total == table.shape[1] == 207
    last = table.iloc[-1]
    for entity in page.entities:
        validate_model(entity)
        sensor = entity["id"].rsplit("la-", 1)[1]
        assert entity["averageVehicleSpeed"] == pytest.approx(last[sensor] * MPH)
        assert entity["dateObserved"] == "2012-03-08T07:55:00Z"  # 23:55 in Los Angeles
    one = read_entity(loop_lake, page.entities[0]["id"], region=REGION, engine=ENGINE)
    assert one["averageVehicleSpeed"]["unitCode"] == "KMH"


def test_near_on_real_positions(loop_lake: Lake, shared: Path) -> None:
    places = pd.read_csv(shared / "los-loop" / "metr-la_graph_sensor_locations.csv")
    centre = places.iloc[0]
    near = read_entities(
        loop_lake,
        build_entity_query(
            georel="near;maxDistance==3000", geometry="Point",
            coordinates=f"[{centre.longitude},{centre.latitude}]",
        ),
        region=REGION, engine=ENGINE, limit=1000,
    )  # fmt: skip
    metres = get_metres(places.latitude, places.longitude, centre.latitude, centre.longitude)
    expected = sorted(f"urn:ngsi-ld:TrafficFlowObserved:la-{s}" for s in places.sensor_id[metres <= 3000])  # fmt: skip
    assert [e["id"] for e in near.entities] == expected
    assert 1 < len(expected) < 207


def test_history_of_a_detector_is_the_files_column(loop_lake: Lake, shared: Path) -> None:
    table = speeds(shared)
    sensor = table.columns[5]
    page = read_temporal_entities(
        loop_lake,
        build_entity_query(id=f"urn:ngsi-ld:TrafficFlowObserved:la-{sensor}"),
        build_temporal_query(
            timerel="between", time_at="2012-03-05T08:00:00Z", end_time_at="2012-03-05T09:00:00Z"
        ),
        region=REGION, engine=ENGINE, temporal_values=True,
    )  # fmt: skip
    values = page.entities[0]["averageVehicleSpeed"]["values"]
    # 2012-03-05 00:00 in Los Angeles (UTC-8) is row 4 * 288; 08:00 UTC is that midnight.
    first = 4 * 288
    expected = table[sensor].iloc[first : first + 12] * MPH
    assert [v for v, _ in values] == pytest.approx(list(expected), rel=1e-9)
    assert values[0][1] >= "2012-03-05T08:00:00Z" and values[-1][1] < "2012-03-05T09:00:00Z"


def test_a_detectors_hourly_average_is_the_files_own(loop_lake: Lake, shared: Path) -> None:
    """Summed up per hour (aggregatedValues), a real detector's speeds are the means of
    the file's own 5-minute readings, hour by hour, from the window's start."""
    table = speeds(shared)
    sensor = table.columns[5]
    page = read_temporal_entities(
        loop_lake,
        build_entity_query(id=f"urn:ngsi-ld:TrafficFlowObserved:la-{sensor}"),
        build_temporal_query(
            timerel="between", time_at="2012-03-05T08:00:00Z", end_time_at="2012-03-05T11:00:00Z"
        ),
        region=REGION, engine=ENGINE, aggregation=parse_aggregation("avg,totalCount", "PT1H"),
    )  # fmt: skip
    found = page.entities[0]["averageVehicleSpeed"]
    first = 4 * 288  # 2012-03-05 08:00 UTC, as above
    hours = [table[sensor].iloc[first + 12 * h : first + 12 * (h + 1)] * MPH for h in range(3)]
    assert [v for v, _, _ in found["avg"]] == pytest.approx([h.mean() for h in hours], rel=1e-9)
    assert [v for v, _, _ in found["totalCount"]] == [12, 12, 12]
    assert [s for _, s, _ in found["avg"]] == [f"2012-03-05T{h:02d}:00:00Z" for h in (8, 9, 10)]


@pytest.fixture(scope="module")
def air_lake(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("bjaq") / "lake")
    mapping = read_mapping(REPO / "mappings" / "beijing-air-quality.toml")
    files = sorted((shared / "beijing-air-quality").glob("PRSA_Data_Dongsi_*.csv"))
    ingest_files(lake, files, mapping)
    return lake


def test_a_beijing_station_as_air_quality_observed(
    air_lake: Lake, shared: Path, validate_normalized: Any
) -> None:
    entity = read_entity(
        air_lake, "urn:ngsi-ld:AirQualityObserved:bjaq-Dongsi", region=REGION, engine=ENGINE
    )
    validate_normalized(entity)
    assert entity["alternateName"]["value"] == "东四"
    assert entity["areaServed"]["value"] == "Beijing"
    source = pd.read_csv(next((shared / "beijing-air-quality").glob("PRSA_Data_Dongsi_*.csv")))
    last = source.iloc[-1]  # 2017-02-28 23:00 local, 15:00 UTC
    expected = {"pm25": ("PM2.5", "GQ"), "no2": ("NO2", "GQ"), "o3": ("O3", "GQ"),
                "temperature": ("TEMP", "CEL"), "pressure": ("PRES", "A97"),
                "windSpeed": ("WSPM", "MTS"), "precipitation": ("RAIN", "MMT")}  # fmt: skip
    for attribute, (column, unit_code) in expected.items():
        assert entity[attribute]["value"] == pytest.approx(last[column]), attribute
        assert entity[attribute]["unitCode"] == unit_code
        assert entity[attribute]["observedAt"] == "2017-02-28T15:00:00Z"
    assert "dewp" not in entity  # a dew point has no attribute in the model
