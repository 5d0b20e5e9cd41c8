"""Sites and latest observations of the demo lake as NGSI-LD entities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from urbanpulse.ngsi.entities import LOOKBACK, read_entities, read_entity
from urbanpulse.ngsi.query import build_entity_query
from urbanpulse.ngsi.vocabulary import ENTITY_TYPES, get_kinds
from urbanpulse.store import (
    Lake,
    build_engine,
    get_observation_coverage,
    read_observations,
    read_sites,
)
from urbanpulse.transit.transfers import get_metres

REGION = "jingjinji"
ENGINE = build_engine("duckdb")
Validate = Callable[[dict[str, Any]], None]


def read_all(lake: Lake, **query: str) -> list[dict[str, Any]]:
    key_values = query.pop("key_values", "") == "true"
    page = read_entities(
        lake,
        build_entity_query(**query),
        region=REGION,
        engine=ENGINE,
        limit=10_000,
        key_values=key_values,
    )
    assert len(page.entities) == page.total
    return page.entities


def test_every_site_is_published_as_each_type_of_its_kind(demo_lake: Lake) -> None:
    sites = read_sites(demo_lake)
    entities = read_all(demo_lake)
    expected = sorted(
        f"urn:ngsi-ld:{t}:{s}"
        for t in ENTITY_TYPES
        for s in sites[sites["kind"].isin(get_kinds(t))]["site_id"]
    )
    assert [e["id"] for e in entities] == expected
    assert {e["type"] for e in entities} == set(ENTITY_TYPES)


def test_key_values_satisfy_the_smart_data_models_schemas(
    demo_lake: Lake, validate_model: Validate
) -> None:
    entities = read_all(demo_lake, key_values="true")
    observed = [e for e in entities if e["type"] != "GtfsStop"]
    with_values = [e for e in observed if "dateObserved" in e]
    assert len(with_values) >= 0.9 * len(observed)  # a few sites dropped out at the end
    for entity in with_values + [e for e in entities if e["type"] == "GtfsStop"]:
        validate_model(entity)
    attributes = {k for e in with_values for k in e}
    assert {"intensity", "averageVehicleSpeed", "pm25", "no2", "peopleCount"} <= attributes
    assert {"occupancy", "congested", "hasStop", "location", "name"} <= attributes


def test_normalized_entities_have_the_ngsi_ld_shape(
    demo_lake: Lake, validate_normalized: Validate
) -> None:
    for entity in read_all(demo_lake):
        validate_normalized(entity)
    road = read_all(demo_lake, type="TrafficFlowObserved")[0]
    assert road["location"]["type"] == "GeoProperty"
    assert road["intensity"]["unitCode"] == "C62"
    assert road["averageVehicleSpeed"]["unitCode"] == "KMH"
    assert road["intensity"]["observedAt"].endswith("Z")
    crowd = read_all(demo_lake, type="CrowdFlowObserved")[0]
    assert crowd["hasStop"] == {
        "type": "Relationship",
        "object": crowd["id"].replace("CrowdFlowObserved", "GtfsStop"),
    }


def test_latest_values_are_the_lakes_last_observations(demo_lake: Lake) -> None:
    entities = read_all(demo_lake, type="AirQualityObserved", key_values="true")
    end = get_observation_coverage(demo_lake, "pm25")["last_ts"] + pd.Timedelta(seconds=1)
    rows = read_observations(demo_lake, "pm25", start=end - LOOKBACK, end=end)
    last = rows.groupby("site_id").tail(1).set_index("site_id")
    checked = 0
    for entity in entities:
        site_id = entity["id"].rsplit(":", 1)[1]
        if site_id in last.index:
            assert entity["pm25"] == pytest.approx(last.loc[site_id, "value"])
            checked += 1
    assert checked == len(last) > 10


def test_q_selects_exactly_the_matching_entities(demo_lake: Lake) -> None:
    every = read_all(demo_lake, type="TrafficFlowObserved", key_values="true")
    fast = read_all(demo_lake, type="TrafficFlowObserved", key_values="true", q="averageVehicleSpeed>=50")  # fmt: skip
    assert 0 < len(fast) < len(every)
    assert {e["id"] for e in fast} == {
        e["id"] for e in every if e.get("averageVehicleSpeed", -1) >= 50
    }
    both = read_all(demo_lake, key_values="true", q="averageVehicleSpeed>=50;intensity<20|pm25>80")
    assert {e["id"] for e in both} == {
        e["id"]
        for e in read_all(demo_lake, key_values="true")
        if (e.get("averageVehicleSpeed", -1) >= 50 and e.get("intensity", 99) < 20)
        or e.get("pm25", -1) > 80
    }
    named = read_all(demo_lake, type="GtfsStop", q='name~=(?i)^xizhimen$|alternateName=="西直门"')
    assert named and all("Xizhimen" in e["name"]["value"] for e in named)


def test_near_keeps_the_sites_within_the_distance(demo_lake: Lake) -> None:
    lon, lat = 116.3554, 39.9406  # Xizhimen
    near = read_all(
        demo_lake,
        type="GtfsStop",
        georel="near;maxDistance==3000",
        geometry="Point",
        coordinates=f"[{lon},{lat}]",
    )
    sites = read_sites(demo_lake)
    stations = sites[sites["kind"].isin(get_kinds("GtfsStop"))]
    metres = get_metres(stations["lat"], stations["lon"], lat, lon)
    assert sorted(e["id"].rsplit(":", 1)[1] for e in near) == sorted(
        stations["site_id"][metres <= 3000]
    )
    assert 0 < len(near) < len(stations)


def test_within_a_polygon_keeps_the_sites_inside(demo_lake: Lake) -> None:
    ring = [[116.0, 39.6], [116.8, 39.6], [116.8, 40.2], [116.0, 40.2], [116.0, 39.6]]
    inside = read_all(
        demo_lake, georel="within", geometry="Polygon", coordinates=str([ring]), key_values="true"
    )
    assert inside
    for entity in inside:
        lon, lat = entity["location"]["coordinates"]
        assert 116.0 < lon < 116.8 and 39.6 < lat < 40.2
    assert all(e.get("areaServed") == "Beijing" for e in inside)


def test_attrs_project_and_select(demo_lake: Lake) -> None:
    entities = read_all(demo_lake, attrs="pm25")
    assert entities and {e["type"] for e in entities} == {"AirQualityObserved"}
    assert all(set(e) == {"id", "type", "pm25"} for e in entities)
    located = read_all(demo_lake, attrs="pm25,location")
    assert len(located) > len(entities)  # any of the attributes selects an entity
    assert all(set(e) <= {"id", "type", "pm25", "location"} for e in located)


def test_one_entity_by_id_and_a_missing_one(demo_lake: Lake) -> None:
    entity = read_entity(
        demo_lake, "urn:ngsi-ld:TrafficFlowObserved:bd-road-01", region=REGION, engine=ENGINE
    )
    assert entity["type"] == "TrafficFlowObserved"
    from urbanpulse.errors import NotFoundError

    with pytest.raises(NotFoundError):
        read_entity(
            demo_lake, "urn:ngsi-ld:TrafficFlowObserved:nowhere", region=REGION, engine=ENGINE
        )


def test_a_new_commit_is_seen_by_the_next_read(make_lake: Callable[..., Lake]) -> None:
    import pyarrow as pa

    from urbanpulse.store import append_observations

    lake = make_lake(days=2)
    road = "urn:ngsi-ld:TrafficFlowObserved:bd-road-1"
    assert "intensity" not in read_entity(lake, road, region=REGION, engine=ENGINE)
    ts = pd.Timestamp("2026-03-03T15:00:00Z")
    rows = {"site_id": ["bd-road-1"], "metric": ["flow"], "ts": [ts], "value": [42.0]}
    append_observations(lake, pa.Table.from_pydict(rows | {"unit": ["vehicles"]}))
    entity = read_entity(lake, road, region=REGION, engine=ENGINE)
    assert entity["intensity"] == {
        "type": "Property", "value": 42, "observedAt": "2026-03-03T15:00:00Z", "unitCode": "C62",
    }  # fmt: skip
