"""The NGSI-LD routes over HTTP: media types, headers, paging, ProblemDetails, access."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.ngsi.vocabulary import ENTITY_TYPES
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

BASE = "/ngsi-ld/v1"
CONTEXT_REL = 'rel="http://www.w3.org/ns/json-ld#context"'
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


@pytest.fixture(scope="module")
def demo_app(demo_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """An app over the demo lake, its access store in a folder of its own."""
    access_db = tmp_path_factory.mktemp("ngsi-access") / "access.sqlite3"
    return create_app(Settings(lake_path=demo_lake.root, access_db=access_db))


@pytest.fixture(scope="module")
def demo_client(demo_app: FastAPI) -> Iterator[TestClient]:
    """An anonymous client."""
    with TestClient(demo_app) as client:
        yield client


@pytest.fixture(scope="module")
def official(demo_app: FastAPI, grant: Callable[..., dict[str, str]]) -> Iterator[TestClient]:
    """A client with a government key."""
    with TestClient(demo_app, headers=grant(demo_app, "government")) as client:
        yield client


def problem(response: Any, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["type"] == ERRORS + kind and body["status"] == status
    return str(body["detail"])


def test_entities_as_json_with_the_context_in_a_link_header(demo_client: TestClient) -> None:
    response = demo_client.get(f"{BASE}/entities", params={"type": "AirQualityObserved"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert CONTEXT_REL in response.headers["link"]
    entities = response.json()
    assert entities and all(e["type"] == "AirQualityObserved" for e in entities)
    assert all("@context" not in e for e in entities)


def test_entities_as_json_ld_carry_their_context(demo_client: TestClient) -> None:
    response = demo_client.get(
        f"{BASE}/entities/urn:ngsi-ld:TrafficFlowObserved:bd-road-01",
        headers={"Accept": "application/ld+json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    assert CONTEXT_REL not in response.headers.get("link", "")
    entity = response.json()
    assert "https://smartdatamodels.org/context.jsonld" in entity["@context"]
    assert entity["intensity"]["type"] == "Property"


def test_key_values_and_geojson(demo_client: TestClient) -> None:
    simple = demo_client.get(
        f"{BASE}/entities", params={"type": "TrafficFlowObserved", "options": "keyValues"}
    ).json()
    assert isinstance(simple[0]["intensity"], float | int)
    geo = demo_client.get(
        f"{BASE}/entities",
        params={"type": "GtfsStop", "limit": "5"},
        headers={"Accept": "application/geo+json"},
    )
    assert geo.headers["content-type"].startswith("application/geo+json")
    collection = geo.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 5
    assert collection["features"][0]["geometry"]["type"] == "Point"


def test_q_and_near_over_http(demo_client: TestClient) -> None:
    response = demo_client.get(
        f"{BASE}/entities",
        params={
            "type": "TrafficFlowObserved",
            "q": "averageVehicleSpeed>30;intensity>=0",
            "georel": "near;maxDistance==20000",
            "geometry": "Point",
            "coordinates": "[115.46,38.88]",
            "options": "keyValues",
        },
    )
    assert response.status_code == 200
    entities = response.json()
    assert entities and all(e["averageVehicleSpeed"] > 30 for e in entities)
    assert all(e["areaServed"] == "Baoding" for e in entities)


def test_pages_walk_every_entity_once(demo_client: TestClient) -> None:
    first = demo_client.get(
        f"{BASE}/entities", params={"type": "CrowdFlowObserved", "limit": "50", "count": "true"}
    )
    total = int(first.headers["NGSILD-Results-Count"])
    assert total > 100
    seen = [e["id"] for e in first.json()]
    response = first
    while 'rel="next"' in response.headers.get("link", ""):
        links = response.headers["link"].split(", <")
        url = next(part for part in links if 'rel="next"' in part).split(">")[0].lstrip("<")
        # The path on this server, parameters in name order (ETSI GS CIM 009 6.3.13).
        path, query = url.split("?")
        assert path == f"{BASE}/entities"
        assert [pair.split("=")[0] for pair in query.split("&")] == ["count", "limit", "offset", "type"]  # fmt: skip
        response = demo_client.get(url)
        assert 'rel="prev"' in response.headers["link"]
        seen += [e["id"] for e in response.json()]
    assert len(seen) == len(set(seen)) == total
    every_type = ",".join(ENTITY_TYPES)
    only_count = demo_client.get(
        f"{BASE}/entities", params={"type": every_type, "limit": "0", "count": "true"}
    )
    assert only_count.json() == [] and int(only_count.headers["NGSILD-Results-Count"]) > total
    # options=count asks the same; a query naming nothing to select by is refused.
    by_option = demo_client.get(
        f"{BASE}/entities", params={"type": every_type, "limit": "0", "options": "count"}
    )
    assert by_option.headers["NGSILD-Results-Count"] == only_count.headers["NGSILD-Results-Count"]
    problem(demo_client.get(f"{BASE}/entities"), 400, "BadRequestData")


@pytest.mark.parametrize(
    "params",
    [
        {"q": "intensity>>1"},
        {"q": "(intensity>1"},
        {"idPattern": "("},
        {"georel": "near", "geometry": "Point", "coordinates": "[116,39]"},
        {"georel": "within", "geometry": "Polygon", "coordinates": "[[1,2]]"},
        {"georel": "near;maxDistance==10", "geometry": "Point", "coordinates": "[200,39]"},
        {"georel": "near;maxDistance==10"},
        {"limit": "5000"},
        {"limit": "-1"},
        {"offset": "x"},
        {"type": "TrafficFlowObserved", "id": "not a uri"},
        # Ids alone are not a query (ETSI GS CIM 009 5.7.2 and its test suite).
        {"id": "urn:ngsi-ld:TrafficFlowObserved:bd-road-01"},
    ],
)
def test_bad_queries_are_problem_details(demo_client: TestClient, params: dict[str, str]) -> None:
    detail = problem(demo_client.get(f"{BASE}/entities", params=params), 400, "BadRequestData")
    assert "\n" not in detail and detail


@pytest.mark.parametrize(
    "params",
    [
        {"type": "TrafficFlowObserved", "options": "verbose"},
        {"type": "TrafficFlowObserved", "format": "fancy"},
    ],
)
def test_requests_of_a_wrong_form_are_invalid_requests(
    demo_client: TestClient, params: dict[str, str]
) -> None:
    problem(demo_client.get(f"{BASE}/entities", params=params), 400, "InvalidRequest")


def test_missing_entity_and_unacceptable_media(demo_client: TestClient) -> None:
    missing = demo_client.get(f"{BASE}/entities/urn:ngsi-ld:TrafficFlowObserved:nowhere")
    assert "nowhere" in problem(missing, 404, "ResourceNotFound")
    xml = demo_client.get(f"{BASE}/entities", headers={"Accept": "application/xml"})
    problem(xml, 406, "NotAcceptable")


def test_temporal_history_is_closed_to_anonymous_callers(
    demo_client: TestClient, official: TestClient
) -> None:
    path = f"{BASE}/temporal/entities/urn:ngsi-ld:AirQualityObserved:bj-air-01"
    assert demo_client.get(path, params={"lastN": "3"}).status_code == 401
    response = official.get(path, params={"lastN": "3", "options": "temporalValues"})
    assert response.status_code == 200, response.text
    entity = response.json()
    assert len(entity["pm25"]["values"]) == 3


def test_temporal_query_pages_and_cuts(official: TestClient) -> None:
    response = official.get(
        f"{BASE}/temporal/entities",
        params={"type": "TrafficFlowObserved", "attrs": "intensity", "limit": "2", "count": "true"},
    )
    assert response.status_code == 206  # a week of 5-minute steps is more than one response
    assert response.headers["content-range"].startswith("date-time ")
    assert int(response.headers["NGSILD-Results-Count"]) > 2
    assert [set(e) for e in response.json()] == [{"id", "type", "intensity"}] * 2
    window = official.get(
        f"{BASE}/temporal/entities",
        params={
            "type": "TrafficFlowObserved",
            "timerel": "between",
            "timeAt": "2026-10-28T00:00:00Z",
            "endTimeAt": "2026-10-28T01:00:00Z",
        },
    )
    assert window.status_code == 200
    assert all(len(e["intensity"]) <= 12 for e in window.json())
    bad = official.get(f"{BASE}/temporal/entities", params={"timerel": "before"})
    problem(bad, 400, "BadRequestData")


def test_openapi_lists_the_routes_with_problem_details(demo_client: TestClient) -> None:
    schema = demo_client.get("/openapi.json").json()
    paths = {p for p in schema["paths"] if p.startswith(BASE)}
    assert paths == {
        f"{BASE}/entities",
        f"{BASE}/entities/{{entityId}}",
        f"{BASE}/entities/{{entityId}}/attrs",
        f"{BASE}/entities/{{entityId}}/attrs/{{attrId}}",
        f"{BASE}/entityOperations/{{operation}}",
        f"{BASE}/entityOperations/query",
        f"{BASE}/temporal/entityOperations/query",
        f"{BASE}/temporal/entities",
        f"{BASE}/temporal/entities/{{entityId}}/attrs",
        f"{BASE}/temporal/entities/{{entityId}}/attrs/{{attrId}}",
        f"{BASE}/temporal/entities/{{entityId}}/attrs/{{attrId}}/{{instanceId}}",
        f"{BASE}/temporal/entities/{{entityId}}",
        f"{BASE}/types",
        f"{BASE}/types/{{entityType}}",
        f"{BASE}/attributes",
        f"{BASE}/attributes/{{attrId}}",
        f"{BASE}/jsonldContexts/urbanpulse",
    }
    ref = schema["paths"][f"{BASE}/entities"]["get"]["responses"]["400"]["content"]
    assert ref["application/json"]["schema"]["$ref"].endswith("/ProblemDetailsPublic")
    assert json.dumps(schema).count("ngsi-ld") > 4


def test_the_developers_page_examples_answer(demo_client: TestClient, official: TestClient) -> None:
    import html
    import re

    page = demo_client.get("/developers").text
    urls = [html.unescape(u) for u in re.findall(r'"http://testserver(/ngsi-ld/[^"]+)"', page)]
    assert len(urls) == 3
    for url in urls:
        client = official if "/temporal/" in url else demo_client
        response = client.get(url)
        assert response.status_code == 200, (url, response.text)
        assert response.json(), url


def test_a_failure_is_an_internal_error_problem_without_internals(
    demo_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urbanpulse.api.routers import ngsi

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError("/secret/lake/observations/x.parquet: unreadable")

    monkeypatch.setattr(ngsi, "read_entities", fail)
    failed = demo_client.get(f"{BASE}/entities", params={"type": "CrowdFlowObserved"})
    detail = problem(failed, 500, "InternalError")
    assert "secret" not in detail


def test_types_published_now(demo_client: TestClient) -> None:
    listed = demo_client.get(f"{BASE}/types").json()
    assert listed["type"] == "EntityTypeList"
    assert listed["typeList"] == [
        "TrafficFlowObserved", "AirQualityObserved", "CrowdFlowObserved", "GtfsStop",
    ]  # fmt: skip
    detailed = demo_client.get(f"{BASE}/types", params={"details": "true"}).json()
    names = {t["typeName"]: set(t["attributeNames"]) for t in detailed}
    assert {"intensity", "averageVehicleSpeed", "location"} <= names["TrafficFlowObserved"]
    assert "pm25" in names["AirQualityObserved"] and "pm25" not in names["GtfsStop"]
    assert (
        detailed[0]["id"]
        == "https://smartdatamodels.org/dataModel.Transportation/TrafficFlowObserved"
    )
    problem(demo_client.get(f"{BASE}/types", params={"details": "yes"}), 400, "BadRequestData")


def test_one_type_and_the_attributes_are_discoverable(demo_client: TestClient) -> None:
    info = demo_client.get(f"{BASE}/types/AirQualityObserved").json()
    assert info["type"] == "EntityTypeInfo" and info["typeName"] == "AirQualityObserved"
    assert info["entityCount"] > 0
    details = {a["attributeName"]: a for a in info["attributeDetails"]}
    assert details["pm25"]["attributeTypes"] == ["Property"]
    assert details["location"]["attributeTypes"] == ["GeoProperty"]
    problem(demo_client.get(f"{BASE}/types/NoSuchType"), 404, "ResourceNotFound")

    listed = demo_client.get(f"{BASE}/attributes").json()
    assert listed["type"] == "AttributeList"
    assert {"pm25", "intensity", "location"} <= set(listed["attributeList"])
    detailed = {
        a["attributeName"]: a
        for a in demo_client.get(f"{BASE}/attributes", params={"details": "true"}).json()
    }
    assert "AirQualityObserved" in detailed["location"]["typeNames"]
    assert "TrafficFlowObserved" in detailed["location"]["typeNames"]
    one = demo_client.get(f"{BASE}/attributes/pm25").json()
    assert one["type"] == "Attribute" and one["typeNames"] == ["AirQualityObserved"]
    assert one["attributeCount"] == info["entityCount"]  # every monitor reports pm25
    problem(demo_client.get(f"{BASE}/attributes/noSuchAttribute"), 404, "ResourceNotFound")


def test_the_context_is_served_here_and_linked(demo_client: TestClient) -> None:
    response = demo_client.get(f"{BASE}/entities", params={"type": "AirQualityObserved"})
    link = response.headers["link"]
    assert link.startswith("</ngsi-ld/v1/jsonldContexts/urbanpulse>")
    document = demo_client.get("/ngsi-ld/v1/jsonldContexts/urbanpulse")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/ld+json")
    terms = document.json()["@context"]
    # every term an answer uses expands without another host
    for entity in response.json():
        assert set(entity) - {"id", "type"} <= set(terms)
    crowd = demo_client.get(f"{BASE}/entities", params={"type": "CrowdFlowObserved"}).json()
    assert all(set(entity) - {"id", "type"} <= set(terms) for entity in crowd)
    assert terms["AirQualityObserved"].startswith("https://smartdatamodels.org/")
