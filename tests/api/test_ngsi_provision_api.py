"""NGSI-LD provisioning: entities created, updated, appended, deleted and upserted in
batches by a government key, stored through the live ingest core, read back as sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.ngsi.validation import parse_utc_time
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.store.engine import connect, scan_sql

ENTITIES = "/ngsi-ld/v1/entities"
BATCH = "/ngsi-ld/v1/entityOperations"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
DONGSI = "urn:ngsi-ld:AirQualityObserved:bj-dongsi"
LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, pa.table({"site_id": ["air-1"], "kind": ["air_monitor"]}))
    return create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))


@pytest.fixture
def client(app: FastAPI, grant: Callable[..., dict[str, str]]) -> TestClient:
    return TestClient(app, headers=grant(app, "government"))


def _observations(app: FastAPI) -> list[tuple[object, ...]]:
    sql = f"SELECT site_id, metric, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M'), value FROM ({scan_sql(app.state.lake, 'observations')}) ORDER BY ALL"  # fmt: skip
    return connect().execute(sql).fetchall()


def _quarantine(app: FastAPI) -> list[tuple[object, ...]]:
    sql = f"SELECT reason, source FROM ({scan_sql(app.state.lake, 'quarantine')}) ORDER BY ALL"
    return connect().execute(sql).fetchall()


def _dongsi(**extra: object) -> dict[str, object]:
    return {
        "id": DONGSI,
        "type": "AirQualityObserved",
        "@context": ["https://smartdatamodels.org/context.jsonld"],
        "name": {"type": "Property", "value": "东四"},
        "alternateName": {"type": "Property", "value": "Dongsi"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [116.417, 39.929]},
        },
        "no2": {
            "type": "Property",
            "value": 41.0,
            "unitCode": "GQ",
            "observedAt": "2026-12-01T08:00:00Z",
        },
        "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:dongsi-01"},
        **extra,
    }


def test_a_created_entity_is_a_site_with_observations_and_reads_back(
    app: FastAPI, client: TestClient
) -> None:
    response = client.post(ENTITIES, json=_dongsi(pm25=35), headers=LD)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{ENTITIES}/{DONGSI}"

    entity = client.get(f"{ENTITIES}/{DONGSI}").json()
    assert entity["name"]["value"] == "Dongsi" and entity["alternateName"]["value"] == "东四"
    assert entity["location"]["value"]["coordinates"] == [116.417, 39.929]
    assert entity["areaServed"]["value"] == "Beijing"  # nearest city seat, 2 km away
    assert entity["no2"]["value"] == 41.0 and entity["no2"]["observedAt"] == "2026-12-01T08:00:00Z"  # fmt: skip
    # Context the product does not model is published back as it was sent.
    assert entity["refDevice"] == {"type": "Relationship", "object": "urn:ngsi-ld:Device:dongsi-01"}  # fmt: skip
    assert entity["pm25"]["value"] == 35.0  # keyValues form, timed by its arrival
    stored = _observations(app)
    assert ("bj-dongsi", "no2", "2026-12-01T08:00", 41.0) in stored and len(stored) == 2

    again = client.post(ENTITIES, json=_dongsi(), headers=LD)
    assert again.status_code == 409
    assert again.json()["type"] == ERRORS + "AlreadyExists"
    # A site of another kind cannot be made into this type either.
    clash = client.post(ENTITIES, json={"id": "urn:ngsi-ld:TrafficFlowObserved:air-1", "type": "TrafficFlowObserved"})  # fmt: skip
    assert clash.status_code == 409 and "air_monitor" in clash.json()["detail"]


def test_attribute_updates_add_values_report_what_they_left_and_keep_corrections_aside(
    app: FastAPI, client: TestClient
) -> None:
    assert client.post(ENTITIES, json=_dongsi(), headers=LD).status_code == 201
    later = {"no2": {"type": "Property", "value": 44.5, "observedAt": "2026-12-01T09:00:00Z"}}
    assert client.patch(f"{ENTITIES}/{DONGSI}/attrs", json=later).status_code == 204
    assert client.get(f"{ENTITIES}/{DONGSI}").json()["no2"]["value"] == 44.5

    # PATCH only touches attributes the entity has; the rest are named, not dropped silently.
    partial = client.patch(f"{ENTITIES}/{DONGSI}/attrs", json={"laneId": 3, "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:dongsi-02"}})  # fmt: skip
    assert partial.status_code == 207
    assert partial.json() == {
        "updated": ["refDevice"],
        "notUpdated": [{"attributeName": "laneId", "reason": "the entity has no such attribute"}],
    }
    # POST appends it; with noOverwrite an existing attribute stays.
    assert client.post(f"{ENTITIES}/{DONGSI}/attrs", json={"laneId": 3}).status_code == 204
    kept = client.post(f"{ENTITIES}/{DONGSI}/attrs?options=noOverwrite", json={"laneId": 4})
    assert kept.status_code == 207 and kept.json()["notUpdated"][0]["attributeName"] == "laneId"
    assert client.get(f"{ENTITIES}/{DONGSI}").json()["laneId"]["value"] == 3

    # A new value for a time already stored is a correction: kept in quarantine, not applied.
    correction = {"no2": {"type": "Property", "value": 50.0, "observedAt": "2026-12-01T09:00:00Z"}}
    answer = client.patch(f"{ENTITIES}/{DONGSI}/attrs/no2", json=correction["no2"])
    assert answer.status_code == 400 and "44.5 stored, 50 sent" in answer.json()["detail"]
    assert client.get(f"{ENTITIES}/{DONGSI}").json()["no2"]["value"] == 44.5
    assert any("44.5 stored, 50 sent" in reason for reason, _ in _quarantine(app))
    # An implausible value is kept in quarantine too, and the writer is told.
    wild = client.post(f"{ENTITIES}/{DONGSI}/attrs", json={"no2": {"value": -5, "observedAt": "2026-12-01T10:00:00Z"}})  # fmt: skip
    assert wild.status_code == 207 and wild.json()["notUpdated"][0]["reason"] == "below minimum 0.0"

    missing = client.patch(f"{ENTITIES}/urn:ngsi-ld:AirQualityObserved:nowhere/attrs", json=later)
    assert missing.status_code == 404 and missing.json()["type"] == ERRORS + "ResourceNotFound"


def test_batches_create_upsert_and_delete_in_one_commit_each(
    app: FastAPI, client: TestClient
) -> None:
    def road(site: str, speed: float) -> dict[str, object]:
        return {
            "id": f"urn:ngsi-ld:TrafficFlowObserved:{site}",
            "type": "TrafficFlowObserved",
            "averageVehicleSpeed": {
                "type": "Property",
                "value": speed,
                "observedAt": "2026-12-01T08:00:00Z",
            },
            "address": {"type": "Property", "value": {"addressLocality": "唐山市"}},
        }

    created = client.post(f"{BATCH}/create", json=[road("ts-1", 40.0), road("ts-2", 52.0)])
    assert created.status_code == 201
    assert created.json() == ["urn:ngsi-ld:TrafficFlowObserved:ts-1", "urn:ngsi-ld:TrafficFlowObserved:ts-2"]  # fmt: skip
    versions = app.state.lake.version

    upsert = [road("ts-2", 55.0) | {"averageVehicleSpeed": {"value": 55.0, "observedAt": "2026-12-01T09:00:00Z"}}, road("ts-3", 30.0), {"id": "not a uri", "type": "Thing"}]  # fmt: skip
    answer = client.post(f"{BATCH}/upsert", json=upsert)
    assert answer.status_code == 207
    body = answer.json()
    assert body["success"] == ["urn:ngsi-ld:TrafficFlowObserved:ts-3", "urn:ngsi-ld:TrafficFlowObserved:ts-2"]  # fmt: skip
    assert body["errors"][0]["entityId"] == "not a uri"
    assert body["errors"][0]["error"]["type"] == ERRORS + "BadRequestData"
    assert app.state.lake.version == versions + 1  # the good entities, in one commit
    entity = client.get(f"{ENTITIES}/urn:ngsi-ld:TrafficFlowObserved:ts-2").json()
    assert entity["averageVehicleSpeed"]["value"] == 55.0 and entity["areaServed"]["value"] == "Tangshan"  # fmt: skip

    ids = ["urn:ngsi-ld:TrafficFlowObserved:ts-1", "urn:ngsi-ld:TrafficFlowObserved:ts-3"]
    assert client.post(f"{BATCH}/delete", json=ids).status_code == 204
    assert client.get(f"{ENTITIES}/{ids[0]}").status_code == 404
    # Deleting retires the site; its readings stay in the lake as history.
    assert ("ts-1", "speed", "2026-12-01T08:00", 40.0) in _observations(app)
    assert client.delete(f"{ENTITIES}/{ids[0]}").status_code == 404
    # The same id may be created again.
    assert client.post(ENTITIES, json=road("ts-1", 41.0)).status_code == 201
    # An update with noOverwrite keeps what exists, adds what does not, and names the
    # entity whose attributes it left as they were (207), one not wholly written.
    kept = {"id": "urn:ngsi-ld:Building:kb-1", "type": "Building", "name": {"type": "Property", "value": "A"}}  # fmt: skip
    assert client.post(f"{BATCH}/create", json=[kept]).status_code == 201
    fresh = {"id": "urn:ngsi-ld:Building:kb-2", "type": "Building"}
    assert client.post(f"{BATCH}/create", json=[fresh]).status_code == 201
    changed = [kept | {"name": {"type": "Property", "value": "B"}, "floors": {"type": "Property", "value": 3}},
               fresh | {"floors": {"type": "Property", "value": 5}}]  # fmt: skip
    partly = client.post(f"{BATCH}/update", params={"options": "noOverwrite"}, json=changed)
    assert partly.status_code == 207
    assert partly.json()["success"] == ["urn:ngsi-ld:Building:kb-2"]
    assert [e["entityId"] for e in partly.json()["errors"]] == [kept["id"]]
    assert (
        "name (exists and noOverwrite was asked)" in partly.json()["errors"][0]["error"]["detail"]
    )
    stored = client.get(f"{ENTITIES}/{kept['id']}").json()
    assert stored["name"]["value"] == "A" and stored["floors"]["value"] == 3
    assert client.post(f"{BATCH}/update", json=changed).status_code == 204  # overwriting
    assert client.get(f"{ENTITIES}/{kept['id']}").json()["name"]["value"] == "B"
    # An entity twice in a batch is written in order, the later last (5.5.11): an
    # upsert replaces it whole; a second creation is refused as an existing entity.
    twice = "urn:ngsi-ld:Building:tw-1"
    first = {"id": twice, "type": "Building", "height": {"type": "Property", "value": 1}, "old": {"type": "Property", "value": True}}  # fmt: skip
    second = {"id": twice, "type": "Building", "height": {"type": "Property", "value": 2}}
    upserted = client.post(f"{BATCH}/upsert", json=[first, fresh | {"id": "urn:ngsi-ld:Building:tw-2"}, second])  # fmt: skip
    assert upserted.status_code == 201 and upserted.json() == [twice, "urn:ngsi-ld:Building:tw-2"]
    entity = client.get(f"{ENTITIES}/{twice}").json()
    assert entity["height"]["value"] == 2 and "old" not in entity
    created = client.post(f"{BATCH}/create", json=[fresh | {"id": "urn:ngsi-ld:Building:tw-3"}] * 2)
    assert created.status_code == 207 and created.json()["success"] == ["urn:ngsi-ld:Building:tw-3"]
    assert created.json()["errors"][0]["error"]["type"] == ERRORS + "AlreadyExists"
    # A null item (5.5.4) refuses the whole batch: its good sibling is not written either.
    for operation in ("create", "upsert", "update", "merge"):
        refused = client.post(f"{BATCH}/{operation}", json=[road("ts-9", 20.0), None])
        assert refused.status_code == 400, operation
        assert refused.json()["type"] == ERRORS + "BadRequestData"
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:TrafficFlowObserved:ts-9").status_code == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"id": "urn:ngsi-ld:Building:b1"}, "a type is a non-empty text"),
        # A context entity is kept as sent, so it must be well formed (hostile input too).
        ({"id": "urn:ngsi-ld:Thing:a\u202eb", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:a<b>", "type": "Thing"}, "is not a URI"),
        # Letters of any script are an IRI's; invisible characters never are.
        ({"id": "urn:ngsi-ld:Thing:a\u200bb", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:a\u00a0b", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:\ufeffab", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:a\ufe0fb", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:a\U000e0100b", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:a\u3164b", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:a\u2800b", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:a\U0001fffeb", "type": "Thing"}, "is not a URI"),
        # A trailing line break once passed every pattern (a $ matches before it).
        ({"id": "urn:ngsi-ld:Thing:a\n", "type": "Thing"}, "is not a URI"),
        ({"id": "urn:ngsi-ld:Thing:1", "type": "Thing\n"}, "is not a term or an IRI"),
        ({"id": "urn:ngsi-ld:Thing:1", "type": "1Thing"}, "is not a term or an IRI"),
        (
            {"id": "urn:ngsi-ld:Thing:1", "type": "Thing", "p": {"type": "Property"}},
            "a Property has a 'value'",
        ),
        (
            {
                "id": "urn:ngsi-ld:Thing:1",
                "type": "Thing",
                "r": {"type": "Relationship", "object": "no uri"},
            },
            "object is a URI",
        ),
        (
            {
                "id": "urn:ngsi-ld:Thing:1",
                "type": "Thing",
                "location": {"type": "Property", "value": 1},
            },
            "location is a GeoProperty",
        ),
        (
            {
                "id": "urn:ngsi-ld:Thing:1",
                "type": "Thing",
                "observedAt": {"type": "Property", "value": 1},
            },
            "core term",
        ),
        (
            {
                "id": "urn:ngsi-ld:Thing:1",
                "type": "Thing",
                "p": {"type": "Property", "value": {"a": None}},
            },
            "holds a null",
        ),
        (
            {
                "id": "urn:ngsi-ld:Thing:1",
                "type": "Thing",
                "g": {
                    "type": "GeoProperty",
                    "value": {"type": "GeometryCollection", "geometries": []},
                },
            },
            "GeoJSON geometry",
        ),
        (
            {
                "id": "urn:ngsi-ld:Thing:1",
                "type": "Thing",
                "p": {"type": "Property", "value": 1, "observedAt": "2026-12-01T08:00:00+08:00"},
            },
            "ending in Z",
        ),
        (
            {"id": "urn:ngsi-ld:Sensor:b1", "type": "AirQualityObserved"},
            "keeps AirQualityObserved entities under",
        ),
        (
            {"id": "urn:ngsi-ld:AirQualityObserved:a", "type": "TrafficFlowObserved"},
            "not the type its id names",
        ),
        (
            {"id": "urn:ngsi-ld:AirQualityObserved:a@b", "type": "AirQualityObserved"},
            "a site id is",
        ),
        (
            {"id": DONGSI, "type": "AirQualityObserved", "no2": {"value": "high"}},
            "an observed value is a number",
        ),
        (
            {
                "id": DONGSI,
                "type": "AirQualityObserved",
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Polygon", "coordinates": []},
                },
            },
            "GeoJSON Point",
        ),
    ],
)
def test_entities_the_product_cannot_keep_are_refused_with_the_reason(
    client: TestClient, body: object, detail: str
) -> None:
    response = client.post(ENTITIES, json=body)
    assert response.status_code == 400
    assert response.json()["type"] == ERRORS + "BadRequestData"
    assert detail in response.json()["detail"]


def test_a_body_of_the_wrong_form_is_an_invalid_request(client: TestClient) -> None:
    for body in ([1, 2], "text"):
        response = client.post(ENTITIES, json=body)
        assert response.status_code == 400
        assert response.json()["type"] == ERRORS + "InvalidRequest"
    bad_json = client.post(ENTITIES, content=b"{", headers=LD)
    assert bad_json.json()["type"] == ERRORS + "InvalidRequest"
    bad_option = client.post(f"{ENTITIES}/{DONGSI}/attrs?options=sideways", json={"no2": 1})
    assert bad_option.json()["type"] == ERRORS + "InvalidRequest"


def test_writes_need_a_writer_key_and_json(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    assert TestClient(app).post(ENTITIES, json=_dongsi()).status_code == 401
    business = TestClient(app, headers=grant(app, "business"))
    assert business.post(f"{BATCH}/upsert", json=[_dongsi()]).status_code == 403
    admin = TestClient(app, headers=grant(app, "admin"))
    plain = admin.post(ENTITIES, content=b"id=1", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert admin.post(ENTITIES, content=b"{", headers=LD).status_code == 400
    assert admin.post(f"{BATCH}/translate", json=[_dongsi()]).status_code == 404
    assert admin.post(f"{BATCH}/create", json=[]).status_code == 400


def test_context_entities_of_other_types_are_kept_as_sent_and_queried(
    app: FastAPI, client: TestClient
) -> None:
    """A FIWARE component's own types (a ParkingSpot here) are kept beside the sites:
    created, read, queried by type, q and a point's distance, changed and deleted."""
    spot = {
        "id": "urn:ngsi-ld:ParkingSpot:dongcheng-17",
        "type": "ParkingSpot",
        "status": {"type": "Property", "value": "free"},
        "capacity": {"type": "Property", "value": 12},
        # An IRI may hold letters of any script (RFC 3987).
        "refParkingSite": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingSite:东城-p1"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [116.41, 39.92]},
        },
    }
    assert client.post(ENTITIES, json=spot).status_code == 201
    assert client.post(ENTITIES, json=spot).status_code == 409
    # An id with letters of any script: its address is sent percent-encoded (it once
    # failed the response, a 500).
    station = {"id": "urn:ngsi-ld:ParkingSpot:西直门-1", "type": "ParkingSpot"}
    created = client.post(ENTITIES, json=station)
    assert created.status_code == 201
    assert created.headers["location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:%E8%A5%BF%E7%9B%B4%E9%97%A8-1"  # fmt: skip
    assert client.get(created.headers["location"]).json() == station
    assert client.delete(created.headers["location"]).status_code == 204
    read = client.get(f"{ENTITIES}/{spot['id']}").json()
    assert read == {k: v for k, v in spot.items()}
    near = {"type": "ParkingSpot", "georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": "[116.417,39.929]"}  # fmt: skip
    assert [e["id"] for e in client.get(ENTITIES, params=near).json()] == [spot["id"]]
    far = near | {"coordinates": "[117.2,39.08]"}
    assert client.get(ENTITIES, params=far).json() == []
    assert len(client.get(ENTITIES, params={"type": "ParkingSpot", "q": "capacity>10"}).json()) == 1
    assert client.get(ENTITIES, params={"type": "ParkingSpot", "q": "capacity>20"}).json() == []
    simple = client.get(f"{ENTITIES}/{spot['id']}", params={"options": "keyValues"}).json()
    assert (
        simple["status"] == "free" and simple["refParkingSite"] == "urn:ngsi-ld:ParkingSite:东城-p1"
    )

    assert client.patch(f"{ENTITIES}/{spot['id']}/attrs", json={"status": {"type": "Property", "value": "occupied"}}).status_code == 204  # fmt: skip
    partial = client.patch(f"{ENTITIES}/{spot['id']}/attrs", json={"colour": {"type": "Property", "value": "blue"}})  # fmt: skip
    assert partial.status_code == 207
    assert client.post(f"{ENTITIES}/{spot['id']}/attrs", json={"colour": {"type": "Property", "value": "blue"}}).status_code == 204  # fmt: skip
    read = client.get(f"{ENTITIES}/{spot['id']}").json()
    assert read["status"]["value"] == "occupied" and read["colour"]["value"] == "blue"
    # An upsert replaces the whole entity, unless options=update merges it.
    replaced = {"id": spot["id"], "type": "ParkingSpot", "status": {"type": "Property", "value": "closed"}}  # fmt: skip
    assert client.post(f"{BATCH}/upsert", json=[replaced]).status_code == 204
    assert "colour" not in client.get(f"{ENTITIES}/{spot['id']}").json()
    merged = {"id": spot["id"], "type": "ParkingSpot", "colour": {"type": "Property", "value": "red"}}  # fmt: skip
    assert client.post(f"{BATCH}/upsert?options=update", json=[merged]).status_code == 204
    read = client.get(f"{ENTITIES}/{spot['id']}").json()
    assert read["status"]["value"] == "closed" and read["colour"]["value"] == "red"

    assert client.delete(f"{ENTITIES}/{spot['id']}").status_code == 204
    assert client.get(f"{ENTITIES}/{spot['id']}").status_code == 404
    assert client.delete(f"{ENTITIES}/{spot['id']}").status_code == 404
    assert client.post(ENTITIES, json=spot).status_code == 201  # the id may be used again


def test_discovery_lists_context_entities_types_and_attributes(client: TestClient) -> None:
    """/types and /attributes answer for every entity the system holds, the ones written
    by a FIWARE component as well as the sites; entity members (id, type, scope, system
    times) are not attributes."""
    spot = {
        "id": "urn:ngsi-ld:ParkingSpot:p-1",
        "type": "ParkingSpot",
        "scope": "/Beijing/Dongcheng",
        "status": [
            {"type": "Property", "value": "free"},
            {"type": "Property", "value": "open", "datasetId": "urn:ngsi-ld:Dataset:gate"},
        ],
        "refParkingSite": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingSite:p1"},
    }
    assert client.post(ENTITIES, json=spot).status_code == 201, "created"

    # The product's own types first, then the context entities' by name.
    assert client.get("/ngsi-ld/v1/types").json()["typeList"] == ["AirQualityObserved", "ParkingSpot"]  # fmt: skip
    info = client.get("/ngsi-ld/v1/types/ParkingSpot").json()
    assert info["entityCount"] == 1
    assert {d["attributeName"]: d["attributeTypes"] for d in info["attributeDetails"]} == {
        "refParkingSite": ["Relationship"],
        "status": ["Property"],
    }
    listed = client.get("/ngsi-ld/v1/attributes").json()["attributeList"]
    assert {"status", "refParkingSite"} <= set(listed)
    assert not {"id", "type", "scope", "createdAt", "modifiedAt"} & set(listed)
    status = client.get("/ngsi-ld/v1/attributes/status").json()
    assert status["typeNames"] == ["ParkingSpot"] and status["attributeCount"] == 1
    assert status["id"] == "https://uri.etsi.org/ngsi-ld/default-context/status"
    for member in ("scope", "createdAt"):
        assert client.get(f"/ngsi-ld/v1/attributes/{member}").status_code == 404
    # scope is kept as its value, not as instances, and goes as any attribute does
    assert client.delete(f"{ENTITIES}/{spot['id']}/attrs/scope").status_code == 204
    assert "scope" not in client.get(f"{ENTITIES}/{spot['id']}").json()


def test_a_named_tenant_is_refused_and_nothing_is_written_or_mixed(client: TestClient) -> None:
    """UrbanPulse keeps one tenant. A write or read naming another (NGSILD-Tenant)
    is a NonexistentTenant, so one tenant's entities never land among another's; an
    empty header names the default tenant."""
    spot = {"id": "urn:ngsi-ld:ParkingSpot:t-1", "type": "ParkingSpot"}
    other = {"NGSILD-Tenant": "district-a"}
    refusals = [
        client.post(ENTITIES, json=spot, headers=other),
        client.get(ENTITIES, params={"type": "ParkingSpot"}, headers=other),
        client.get("/ngsi-ld/v1/types", headers=other),
        client.delete(f"{ENTITIES}/{spot['id']}", headers=other),
    ]
    for response in refusals:
        assert response.status_code == 404
        assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant"
    assert client.get(f"{ENTITIES}/{spot['id']}").status_code == 404, "nothing was created"
    assert client.post(ENTITIES, json=spot, headers={"NGSILD-Tenant": ""}).status_code == 201
    assert client.get(f"{ENTITIES}/{spot['id']}").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/ngsi-ld/v1/attributes?limit=5",
        "/ngsi-ld/v1/attributes/status?details=true",
        "/ngsi-ld/v1/types?limt=5",
        "/ngsi-ld/v1/entities?type=ParkingSpot&limt=5",
        "/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:p-1?optoins=keyValues",
    ],
)
def test_a_query_parameter_the_operation_does_not_define_is_an_invalid_request(
    client: TestClient, path: str
) -> None:
    """ETSI GS CIM 009 6.3.20: a misspelt parameter is refused, never silently ignored
    (the default page would pass for the one asked for)."""
    response = client.get(path)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == ERRORS + "InvalidRequest"


def test_a_merge_adds_an_instance_of_a_dataset_the_entity_lacks(client: TestClient) -> None:
    """A merge that sends an attribute, or an instance of a datasetId, the entity does
    not hold yet adds it (it once recursed until the server gave up, a 500)."""
    building = "urn:ngsi-ld:Building:b-merge"
    url = f"{ENTITIES}/{building}"
    created = {"id": building, "type": "Building", "name": {"type": "Property", "value": "A"}}
    assert client.post(ENTITIES, json=created).status_code == 201
    survey = {"type": "Property", "value": 7, "datasetId": "urn:ngsi-ld:Dataset:survey"}
    assert client.patch(url, json={"floors": survey}).status_code == 204
    assert client.get(url).json()["floors"] == survey
    counted = {"type": "Property", "value": 6, "datasetId": "urn:ngsi-ld:Dataset:count"}
    assert client.patch(url, json={"floors": [counted, {"type": "Property", "value": 5}]}).status_code == 204  # fmt: skip
    floors = client.get(url).json()["floors"]
    assert sorted(f["value"] for f in floors) == [5, 6, 7]


def test_datasetid_keeps_those_instances_of_each_attribute(client: TestClient) -> None:
    """datasetId on a read keeps the instances of the datasets named (@none: the
    default instance); an attribute left with none is left out, the entity stays."""
    building = "urn:ngsi-ld:Building:b-datasets"
    french = "urn:ngsi-ld:Dataset:french-name"
    created = {
        "id": building,
        "type": "Building",
        "name": [
            {"type": "Property", "value": "Eiffel Tower"},
            {"type": "Property", "value": "Tour Eiffel", "datasetId": french},
        ],
        "floors": {"type": "Property", "value": 3},
    }
    assert client.post(ENTITIES, json=created).status_code == 201
    read = client.get(f"{ENTITIES}/{building}", params={"datasetId": french}).json()
    assert read == {"id": building, "type": "Building", "name": created["name"][1]}  # type: ignore[index]
    default = client.get(f"{ENTITIES}/{building}", params={"datasetId": "@none", "options": "keyValues"})  # fmt: skip
    assert default.json() == {"id": building, "type": "Building", "name": "Eiffel Tower", "floors": 3}  # fmt: skip
    both = client.get(ENTITIES, params={"type": "Building", "datasetId": f"@none,{french}"}).json()
    assert both == [created]
    none = client.get(ENTITIES, params={"type": "Building", "datasetId": "urn:ngsi-ld:Dataset:x"})
    assert none.json() == [{"id": building, "type": "Building"}]
    bad = client.get(ENTITIES, params={"type": "Building", "datasetId": "not a uri"})
    assert bad.status_code == 400 and "datasetId" in bad.json()["detail"]


def test_merge_replace_and_attribute_operations_on_a_context_entity(client: TestClient) -> None:
    """ETSI GS CIM 009 5.6.5, 5.6.17-5.6.19: merge keeps the members not sent and removes
    an attribute sent as urn:ngsi-ld:null; replace keeps nothing but the id, type and
    creation time; one attribute is replaced, merged or deleted by its instance."""
    building = "urn:ngsi-ld:Building:b-1"
    url = f"{ENTITIES}/{building}"
    sent = {
        "id": building,
        "type": "Building",
        "name": {"type": "Property", "value": "Eiffel Tower"},
        "airQualityLevel": {
            "type": "Property",
            "value": 4,
            "unitCode": "C62",
            "observedAt": "2020-09-09T16:40:00.000Z",
        },
        "almostFull": {"type": "Property", "value": False},
        "floors": [
            {"type": "Property", "value": 3},
            {"type": "Property", "value": 5, "datasetId": "urn:ngsi-ld:Dataset:survey"},
        ],
    }
    assert client.post(ENTITIES, json=sent).status_code == 201
    created = client.get(url, params={"options": "sysAttrs"}).json()

    merge = {"airQualityLevel": {"type": "Property", "value": 1, "observedAt": "2024-01-01T00:00:00.000Z"}, "almostFull": "urn:ngsi-ld:null"}  # fmt: skip
    assert client.patch(url, json=merge).status_code == 204
    merged = client.get(url).json()
    assert merged["airQualityLevel"] == {"type": "Property", "value": 1, "unitCode": "C62", "observedAt": "2024-01-01T00:00:00.000Z"}  # fmt: skip
    assert "almostFull" not in merged and merged["name"]["value"] == "Eiffel Tower"
    assert client.patch(f"{ENTITIES}/urn:ngsi-ld:Building:none", json=merge).status_code == 404

    # one attribute: merged (PATCH), replaced whole (PUT), only when the entity has it
    attribute = f"{url}/attrs/airQualityLevel"
    assert client.patch(attribute, json={"type": "Property", "value": 2}).status_code == 204
    assert client.get(url).json()["airQualityLevel"]["unitCode"] == "C62"
    assert client.put(attribute, json={"type": "Property", "value": 3}).status_code == 204
    assert client.get(url).json()["airQualityLevel"] == {"type": "Property", "value": 3}
    assert client.put(f"{url}/attrs/colour", json={"type": "Property", "value": "red"}).status_code == 404  # fmt: skip
    assert client.patch(attribute, json={}).status_code == 400  # nothing to change

    # deleting one instance of a multi-instance attribute, then the attribute
    assert client.delete(f"{url}/attrs/floors", params={"datasetId": "urn:ngsi-ld:Dataset:survey"}).status_code == 204  # fmt: skip
    assert client.get(url).json()["floors"] == {"type": "Property", "value": 3}
    assert client.delete(f"{url}/attrs/floors", params={"datasetId": "urn:ngsi-ld:Dataset:survey"}).status_code == 404  # fmt: skip
    assert client.delete(f"{url}/attrs/floors").status_code == 204
    assert "floors" not in client.get(url).json()
    assert client.delete(f"{url}/attrs/floors").status_code == 404

    # null removes an attribute of any kind, a GeoProperty too
    place = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.29, 48.86]}}
    assert client.patch(url, json={"location": place}).status_code == 204
    assert client.patch(url, json={"location": {"type": "GeoProperty", "value": "urn:ngsi-ld:null"}}).status_code == 204  # fmt: skip
    assert "location" not in client.get(url).json()
    for path in ("/ngsi-ld/v1/entities/not-a-uri", "/ngsi-ld/v1/entities/not-a-uri/attrs/name", "/ngsi-ld/v1/temporal/entities/not-a-uri"):  # fmt: skip
        assert client.delete(path).status_code == 400, path

    replaced = {"id": building, "type": "Building", "height": {"type": "Property", "value": 330}}
    assert client.put(url, json=replaced).status_code == 204
    now = client.get(url, params={"options": "sysAttrs"}).json()
    assert set(now) == {"id", "type", "height", "createdAt", "modifiedAt"}
    assert now["createdAt"] == created["createdAt"]


def test_a_sites_context_attribute_is_deleted_and_its_observed_values_stay(
    app: FastAPI, client: TestClient
) -> None:
    assert client.post(ENTITIES, json=_dongsi(), headers=LD).status_code == 201
    url = f"{ENTITIES}/{DONGSI}"
    assert client.delete(f"{url}/attrs/refDevice").status_code == 204
    assert "refDevice" not in client.get(url).json()
    refused = client.delete(f"{url}/attrs/no2")
    assert refused.status_code == 400 and "history" in refused.json()["detail"]
    assert ("air-1", "no2") not in {(r[0], r[1]) for r in _observations(app)}  # another site
    assert ("bj-dongsi", "no2") in {(r[0], r[1]) for r in _observations(app)}


def test_purge_deletes_what_a_query_selects_and_refuses_an_unbounded_one(
    client: TestClient,
) -> None:
    for n in range(3):
        kind = "Building" if n < 2 else "Vehicle"
        body = {"id": f"urn:ngsi-ld:{kind}:p-{n}", "type": kind, "floors": {"type": "Property", "value": n}}  # fmt: skip
        assert client.post(ENTITIES, json=body).status_code == 201
    assert client.delete(ENTITIES).status_code == 400  # nothing names what to purge
    assert client.delete(ENTITIES, params={"type": "Building", "q": "floors>0"}).status_code == 204
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Building:p-1").status_code == 404
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Building:p-0").status_code == 200
    assert client.delete(ENTITIES, params={"type": "Building", "q": "floors>0"}).status_code == 404
    assert client.delete(ENTITIES, params={"type": "Building,Vehicle"}).status_code == 204
    assert client.get(ENTITIES, params={"type": "Building,Vehicle"}).json() == []


def test_purge_drops_or_keeps_attributes_and_asks_for_a_real_selection(client: TestClient) -> None:
    """ETSI GS CIM 009 5.6.21: drop removes those attributes of what the query selects,
    keep all but those, the entities stay; ids, an id pattern or system attributes alone
    select too much; drop and keep together are refused; local=true purges all."""
    for n in range(2):
        body = {"id": f"urn:ngsi-ld:Building:d-{n}", "type": "Building",
                **{a: {"type": "Property", "value": n} for a in ("floors", "height", "name")}}  # fmt: skip
        assert client.post(ENTITIES, json=body).status_code == 201
    for unqualified in (
        {"id": "urn:ngsi-ld:Building:d-0"}, {"idPattern": ".*"}, {"attrs": "createdAt"},
        {"q": 'modifiedAt>"2020-01-01T00:00:00Z"'},
        {"type": "Building", "drop": "floors", "keep": "name"},
    ):  # fmt: skip
        answer = client.delete(ENTITIES, params=unqualified)
        assert answer.status_code == 400 and answer.json()["type"].endswith("BadRequestData"), unqualified  # fmt: skip
    assert client.delete(ENTITIES, params={"type": "Building", "drop": "floors"}).status_code == 204
    assert client.delete(ENTITIES, params={"id": "urn:ngsi-ld:Building:d-1", "type": "Building", "keep": "name"}).status_code == 204  # fmt: skip
    left = {e["id"]: sorted(set(e) - {"id", "type"}) for e in client.get(ENTITIES, params={"type": "Building"}).json()}  # fmt: skip
    assert left == {"urn:ngsi-ld:Building:d-0": ["height", "name"], "urn:ngsi-ld:Building:d-1": ["name"]}  # fmt: skip
    assert client.delete(ENTITIES, params={"local": "true", "type": "Building"}).status_code == 204
    assert client.get(ENTITIES, params={"type": "Building"}).json() == []


def test_a_context_entity_is_answered_in_the_context_of_the_request(client: TestClient) -> None:
    """Whatever context it was written in (in the body as application/ld+json, in a
    Link header, or none), a JSON-LD answer names the context of the request that reads
    it: the Link header's, else NGSI-LD's core context."""
    context = "https://example.org/contexts/parking.jsonld"
    link = {"Link": f'<{context}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}  # fmt: skip
    bodies = {
        "urn:ngsi-ld:ParkingSpot:in-body": ({"@context": context}, LD),
        "urn:ngsi-ld:ParkingSpot:in-link": ({}, link),
        "urn:ngsi-ld:ParkingSpot:none": ({}, {}),
    }
    for entity_id, (extra, headers) in bodies.items():
        body = {"id": entity_id, "type": "ParkingSpot", "status": {"type": "Property", "value": "free"}, **extra}  # fmt: skip
        assert client.post(ENTITIES, json=body, headers=headers).status_code == 201
    accept = {"Accept": "application/ld+json"}
    core = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
    for entity_id in bodies:
        assert client.get(f"{ENTITIES}/{entity_id}", headers=accept).json()["@context"] == core
        assert client.get(f"{ENTITIES}/{entity_id}", headers=accept | link).json()["@context"] == context  # fmt: skip
    # a merge keeps what it was written in; the answer in plain JSON carries none in the body
    assert client.patch(f"{ENTITIES}/urn:ngsi-ld:ParkingSpot:in-link", json={"status": {"type": "Property", "value": "taken"}}, headers=link).status_code == 204  # fmt: skip
    again = client.get(f"{ENTITIES}/urn:ngsi-ld:ParkingSpot:in-link", headers=accept | link).json()
    assert again["@context"] == context and again["status"]["value"] == "taken"
    assert "@context" not in client.get(f"{ENTITIES}/urn:ngsi-ld:ParkingSpot:in-link").json()


def test_names_are_read_and_answered_in_the_context_of_the_request(
    tmp_path: Path, grant: Callable[..., dict[str, str]]
) -> None:
    """JSON-LD compaction (ETSI GS CIM 009 5.5.7): a type or attribute a known context
    defines is that context's term for a request that links it, and its full IRI for
    one that does not; a query may name it either way. A name no context defines is
    the same under both (the core context's default vocabulary)."""
    url = "https://example.org/contexts/towers.jsonld"
    document = tmp_path / "towers.jsonld"
    vocabulary = "https://example.org/vocab#"
    document.write_text(json.dumps({"@context": {"Tower": f"{vocabulary}Tower", "height": f"{vocabulary}height"}}))  # fmt: skip
    settings = Settings(lake_path=tmp_path / "lake", access_db=tmp_path / "access.sqlite3", ngsild_contexts={url: document})  # fmt: skip
    app = create_app(settings)
    client = TestClient(app, headers=grant(app, "government"))
    link = {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}  # fmt: skip
    tower = {"id": "urn:ngsi-ld:Tower:t-9", "type": "Tower", "height": {"type": "Property", "value": 300}, "colour": {"type": "Property", "value": "red"}}  # fmt: skip
    assert client.post(ENTITIES, json=tower, headers=link).status_code == 201

    linked = client.get(f"{ENTITIES}/{tower['id']}", headers=link).json()
    assert linked == tower
    bare = client.get(f"{ENTITIES}/{tower['id']}").json()
    assert bare == {"id": tower["id"], "type": f"{vocabulary}Tower", f"{vocabulary}height": tower["height"], "colour": tower["colour"]}  # fmt: skip
    # attrs by IRI without the context, by term with it: the same attribute either way
    by_iri = client.get(ENTITIES, params={"type": f"{vocabulary}Tower", "attrs": f"{vocabulary}height"}).json()  # fmt: skip
    assert by_iri == [{"id": tower["id"], "type": f"{vocabulary}Tower", f"{vocabulary}height": tower["height"]}]  # fmt: skip
    by_term = client.get(ENTITIES, params={"type": "Tower", "attrs": "height", "q": "height>200"}, headers=link).json()  # fmt: skip
    assert by_term == [{"id": tower["id"], "type": "Tower", "height": tower["height"]}]
    assert client.get(ENTITIES, params={"type": "Tower", "q": "height>400"}, headers=link).json() == []  # fmt: skip
    # an entity written in a context UrbanPulse does not know is found by its names as written
    unknown = {"Link": '<https://example.org/unknown.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}  # fmt: skip
    stranger = {"id": "urn:ngsi-ld:Tower:t-11", "type": "Tower", "height": {"type": "Property", "value": 90}}  # fmt: skip
    assert client.post(ENTITIES, json=stranger, headers=unknown).status_code == 201
    found = client.get(ENTITIES, params={"type": "Tower", "attrs": "height", "q": "height<100"}, headers=link).json()  # fmt: skip
    assert [e["id"] for e in found] == [stranger["id"]]
    # the temporal API reads and answers names the same way
    history = {"id": "urn:ngsi-ld:Tower:t-10", "type": "Tower", "height": [{"type": "Property", "value": 310, "observedAt": "2024-01-01T00:00:00Z"}]}  # fmt: skip
    assert client.post(TEMPORAL, json=history, headers=link).status_code == 201
    window = {"timerel": "after", "timeAt": "2023-01-01T00:00:00Z"}
    bare = client.get(f"{TEMPORAL}/{history['id']}", params=window).json()
    assert bare["type"] == f"{vocabulary}Tower" and f"{vocabulary}height" in bare
    found = client.get(TEMPORAL, params=window | {"type": f"{vocabulary}Tower", "attrs": f"{vocabulary}height"}).json()  # fmt: skip
    assert [(e["id"], e["type"]) for e in found] == [(history["id"], f"{vocabulary}Tower")]
    found = client.get(TEMPORAL, params=window | {"type": "Tower", "q": "height>300"}, headers=link).json()  # fmt: skip
    assert [(e["id"], list(e)[2:3]) for e in found] == [(history["id"], ["height"])]
    # discovery by the IRI, its slashes sent encoded, is discovery by the term
    for path, term in (("attributes", "height"), ("types", "Tower")):
        by_term = client.get(f"/ngsi-ld/v1/{path}/{term}", headers=link)
        encoded = quote(f"{vocabulary}{term}", safe="")
        assert by_term.status_code == 200 and client.get(f"/ngsi-ld/v1/{path}/{encoded}", headers=link).json() == by_term.json()  # fmt: skip
        assert by_term.json()["id"] == f"{vocabulary}{term}"  # the IRI it was written as
    # without the context, discovery names the type and attribute by their IRIs
    # (the one written in an unknown context is another type: its IRI is the default one)
    default = "https://uri.etsi.org/ngsi-ld/default-context/Tower"
    assert client.get("/ngsi-ld/v1/types").json()["typeList"] == ["Tower", f"{vocabulary}Tower"]
    assert client.get("/ngsi-ld/v1/types", headers=link).json()["typeList"] == ["Tower", default]
    assert {"colour", f"{vocabulary}height"} <= set(client.get("/ngsi-ld/v1/attributes").json()["attributeList"])  # fmt: skip


def test_pick_omit_wildcard_type_and_parameters_not_supported(client: TestClient) -> None:
    """Projections (ETSI GS CIM 009 4.21), type=* and local are read; a part of
    NGSI-LD UrbanPulse does not implement (join, orderBy, ...) is refused by name
    (422 OperationNotSupported), never ignored."""
    spot = {
        "id": "urn:ngsi-ld:ParkingSpot:p-9",
        "type": "ParkingSpot",
        "status": {"type": "Property", "value": "free"},
        "category": {"type": "Property", "value": "onstreet"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [116.4, 39.9]},
        },
        "entrance": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [116.5, 39.8]},
        },
    }
    assert client.post(ENTITIES, json=spot).status_code == 201
    url = f"{ENTITIES}/{spot['id']}"
    assert client.get(url, params={"pick": "id,status"}).json() == {"id": spot["id"], "status": spot["status"]}  # fmt: skip
    assert set(client.get(url, params={"omit": "location,entrance,type"}).json()) == {"id", "status", "category"}  # fmt: skip
    listed = client.get(ENTITIES, params={"type": "*", "pick": "id", "local": "true"}).json()
    assert {"id": spot["id"]} in listed
    # The wildcard implies local=true (6.4.3.2): said false, the query contradicts itself.
    assert client.get(ENTITIES, params={"type": "*", "local": "false"}).status_code == 400
    for bad in ({"pick": "id", "omit": "status"}, {"pick": "id;status"}, {"pick": "a{b}"}, {"pick": "id", "attrs": "status"}):  # fmt: skip
        answer = client.get(url, params=bad)
        assert answer.status_code == 400 and answer.json()["type"] == ERRORS + "BadRequestData", bad  # fmt: skip
    assert client.get(url, params={"type": "Building"}).status_code == 404
    # the geo-query as one text, as some clients (ngsildclient) send it
    near = {"type": "ParkingSpot", "geoQ": "geometry=Point;coordinates=[116.4,39.9];georel=near;maxDistance==1000"}  # fmt: skip
    assert [e["id"] for e in client.get(ENTITIES, params=near).json()] == [spot["id"]]
    far = near | {"geoQ": near["geoQ"].replace("116.4", "117.2")}
    assert client.get(ENTITIES, params=far).json() == []
    assert client.get(ENTITIES, params=near | {"georel": "near;maxDistance==5"}).status_code == 400
    assert client.get(ENTITIES, params={"type": "ParkingSpot", "geoQ": "colour=red"}).status_code == 400  # fmt: skip
    geo = {"Accept": "application/geo+json"}
    feature = client.get(url, params={"geometryProperty": "entrance"}, headers=geo).json()
    assert feature["geometry"] == {"type": "Point", "coordinates": [116.5, 39.8]}
    assert client.get(url, params={"geometryProperty": "entrance"}).status_code == 400
    for part in ({"collation": "de"}, {"csf": "a==b"}, {"expandValues": "status"}):
        answer = client.get(ENTITIES, params={"type": "ParkingSpot", **part})
        assert answer.status_code == 422 and answer.json()["type"] == ERRORS + "OperationNotSupported", part  # fmt: skip


def test_a_query_sent_as_a_body_selects_as_the_url_query_does(client: TestClient) -> None:
    """POST /entityOperations/query: selectors are alternatives, q, attrs and geoQ
    apply to all, paging and count come from the URL; open to every caller."""
    for n, kind in enumerate(("Building", "Building", "Vehicle")):
        body = {
            "id": f"urn:ngsi-ld:{kind}:q-{n}",
            "type": kind,
            "floors": {"type": "Property", "value": n},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [116.4 + n, 39.9]},
            },
        }
        assert client.post(ENTITIES, json=body).status_code == 201
    query = f"{BATCH}/query"

    def ids(body: dict[str, object], **params: str) -> list[str]:
        answer = client.post(query, json=body, params=params)
        assert answer.status_code == 200, answer.text
        return [e["id"] for e in answer.json()]

    assert ids({"type": "Query", "entities": [{"type": "Building"}]}) == ["urn:ngsi-ld:Building:q-0", "urn:ngsi-ld:Building:q-1"]  # fmt: skip
    either = {"type": "Query", "entities": [{"type": "Building", "id": "urn:ngsi-ld:Building:q-1"}, {"type": "Vehicle"}]}  # fmt: skip
    assert ids(either) == ["urn:ngsi-ld:Building:q-1", "urn:ngsi-ld:Vehicle:q-2"]
    assert ids(either | {"q": "floors>1"}) == ["urn:ngsi-ld:Vehicle:q-2"]
    near = {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": [116.4, 39.9]}
    assert ids({"type": "Query", "entities": [{"type": "Building"}], "geoQ": near}) == ["urn:ngsi-ld:Building:q-0"]  # fmt: skip
    counted = client.post(query, json=either, params={"limit": "1", "count": "true"})
    assert counted.headers["NGSILD-Results-Count"] == "2" and len(counted.json()) == 1
    anonymous = TestClient(client.app)
    assert anonymous.post(query, json=either).status_code == 200
    for bad in ({"entities": [{"type": "Building"}]}, {"type": "Query"}, {"type": "Query", "entities": "Building"}, {"type": "Query", "entities": [{"type": "Building"}], "attrs": []}):  # fmt: skip
        assert client.post(query, json=bad).status_code == 400, bad
    many = {"type": "Query", "entities": [{"type": "Building"}] * 101}
    assert client.post(query, json=many).status_code == 400  # each selector is a read
    temporal = {"type": "Query", "entities": [{"type": "Building"}], "temporalQ": {"timerel": "after"}}  # fmt: skip
    assert client.post(query, json=temporal).status_code == 400  # a query of the temporal API
    for attrs in ("id,type", "createdAt"):  # members, not attributes; system ones alone
        assert client.get(ENTITIES, params={"attrs": attrs}).status_code == 400, attrs


TEMPORAL = "/ngsi-ld/v1/temporal/entities"


def test_a_context_entitys_temporal_representation_is_written_queried_and_deleted(
    client: TestClient,
) -> None:
    """ETSI GS CIM 009 5.6.11-5.6.16 and 5.7.3-5.7.4 for an entity UrbanPulse does not
    model: instances added, read by time (timerel, lastN, temporalValues), one changed
    and one deleted by its instanceId, then the attribute and the whole history."""
    vehicle = "urn:ngsi-ld:Vehicle:t-1"
    speeds = [{"type": "Property", "value": v, "observedAt": f"2020-08-01T12:0{m}:00Z"} for v, m in ((120, 3), (80, 5), (100, 7))]  # fmt: skip
    body = {"id": vehicle, "type": "Vehicle", "speed": speeds, "fuelLevel": [{"type": "Property", "value": 67, "observedAt": "2020-08-01T12:03:00Z"}]}  # fmt: skip
    created = client.post(TEMPORAL, json=body)
    assert created.status_code == 201 and created.headers["location"] == f"{TEMPORAL}/{vehicle}"
    more = {"fuelLevel": [{"type": "Property", "value": 53, "observedAt": "2020-08-01T13:05:00Z"}]}  # fmt: skip
    assert client.post(f"{TEMPORAL}/{vehicle}/attrs", json=more).status_code == 204
    assert client.post(TEMPORAL, json={"id": vehicle, "type": "Vehicle", **more}).status_code == 204  # fmt: skip
    assert client.post(TEMPORAL, json={"id": vehicle, "type": "Car", **more}).status_code == 409

    after = client.get(TEMPORAL, params={"type": "Vehicle", "timerel": "after", "timeAt": "2020-08-01T12:04:00Z"}).json()  # fmt: skip
    assert [i["value"] for i in after[0]["speed"]] == [80, 100]
    assert [i["value"] for i in after[0]["fuelLevel"]] == [53, 53]
    assert all(i["instanceId"].startswith("urn:ngsi-ld:Instance:") for i in after[0]["speed"])
    last = client.get(f"{TEMPORAL}/{vehicle}", params={"attrs": "speed", "lastN": "1", "options": "temporalValues"}).json()  # fmt: skip
    assert last == {"id": vehicle, "type": "Vehicle", "speed": {"type": "Property", "values": [[100, "2020-08-01T12:07:00Z"]]}}  # fmt: skip

    # q: an entity whose state matched at some instant of the window, with its instances
    fast = {"type": "Vehicle", "q": "speed>110", "timerel": "after", "timeAt": "2020-08-01T12:00:00Z"}  # fmt: skip
    assert [e["id"] for e in client.get(TEMPORAL, params=fast).json()] == [vehicle]
    later = fast | {"timeAt": "2020-08-01T12:04:00Z"}  # 120 was before the window
    assert client.get(TEMPORAL, params=later).json() == []
    # both at once: speed 100 since 12:07 and fuel 53 since 13:05 (67 before)
    both = fast | {"q": "speed>90;fuelLevel<60"}
    assert [e["id"] for e in client.get(TEMPORAL, params=both).json()] == [vehicle]
    never = fast | {"q": "speed>110;fuelLevel<60"}  # 120 was at 12:03, when fuel was 67
    assert client.get(TEMPORAL, params=never).json() == []

    by_body = {"type": "Query", "entities": [{"type": "Vehicle"}], "attrs": ["speed"], "temporalQ": {"timerel": "after", "timeAt": "2020-08-01T12:04:00Z", "lastN": 1}}  # fmt: skip
    posted = client.post("/ngsi-ld/v1/temporal/entityOperations/query", json=by_body)
    assert posted.status_code == 200, posted.text
    assert [[i["value"] for i in e["speed"]] for e in posted.json()] == [[100]]
    by_body["temporalQ"] = {"timerel": "during", "timeAt": "2020-08-01T12:04:00Z"}
    assert client.post("/ngsi-ld/v1/temporal/entityOperations/query", json=by_body).status_code == 400  # fmt: skip
    picked = client.get(f"{TEMPORAL}/{vehicle}", params={"pick": "id,speed"}).json()
    assert set(picked) == {"id", "speed"}
    for emptied in ({"pick": "colour"}, {"omit": "id,type,speed,fuelLevel"}):  # nothing left
        assert client.get(f"{TEMPORAL}/{vehicle}", params=emptied).status_code == 404, emptied

    first = client.get(f"{TEMPORAL}/{vehicle}").json()["speed"][0]["instanceId"]
    instance = f"{TEMPORAL}/{vehicle}/attrs/speed/{first}"
    assert client.patch(instance, json={"value": 110}).status_code == 204
    assert client.get(f"{TEMPORAL}/{vehicle}").json()["speed"][0] == {"type": "Property", "value": 110, "observedAt": "2020-08-01T12:03:00Z", "instanceId": first}  # fmt: skip
    assert client.delete(instance).status_code == 204
    assert client.delete(instance).status_code == 404
    assert len(client.get(f"{TEMPORAL}/{vehicle}").json()["speed"]) == 2
    assert client.delete(f"{TEMPORAL}/{vehicle}/attrs/fuelLevel").status_code == 204
    assert "fuelLevel" not in client.get(f"{TEMPORAL}/{vehicle}").json()
    assert client.delete(f"{TEMPORAL}/{vehicle}").status_code == 204
    assert client.get(f"{TEMPORAL}/{vehicle}").status_code == 404
    assert client.delete(f"{TEMPORAL}/{vehicle}").status_code == 404
    # a site's history is its observations, never written here
    site = client.post(TEMPORAL, json={"id": DONGSI, "type": "AirQualityObserved", "no2": [{"type": "Property", "value": 1, "observedAt": "2020-08-01T12:03:00Z"}]})  # fmt: skip
    assert site.status_code == 400


def test_scope_queries_and_ordering(client: TestClient) -> None:
    """scopeQ (ETSI GS CIM 009 4.19: + one level, # any below, ',' or, ';' and) and
    orderBy (4.23: members and sub-attributes, ;asc and ;desc, missing ones last)."""
    gardens = {
        "urn:ngsi-ld:Garden:a": ("/Madrid/Gardens/ParqueNorte", "Oak", 3),
        "urn:ngsi-ld:Garden:b": (["/Madrid/Gardens/Retiro", "/CompanyA"], "Elm", 1),
        "urn:ngsi-ld:Garden:c": ("/Nara/Gardens", "Ash", 2),
    }
    for entity_id, (scope, name, rank) in gardens.items():
        body = {"id": entity_id, "type": "Garden", "scope": scope,
                "name": {"type": "Property", "value": name, "rank": {"type": "Property", "value": rank}}}  # fmt: skip
        assert client.post(ENTITIES, json=body).status_code == 201

    def ids(**params: str) -> list[str]:
        answer = client.get(ENTITIES, params={"type": "Garden", **params})
        assert answer.status_code == 200, answer.text
        return [e["id"][-1] for e in answer.json()]

    assert ids(scopeQ="/Madrid/#") == ["a", "b"]
    assert ids(scopeQ="/+/Gardens") == ["c"]
    assert ids(scopeQ="/Madrid/Gardens/Retiro;/CompanyA") == ["b"]
    assert ids(scopeQ="/Nara/#,/CompanyA") == ["b", "c"]
    assert ids(scopeQ="/#") == ["a", "b", "c"]
    assert client.get(ENTITIES, params={"type": "Garden", "scopeQ": "Madrid"}).status_code == 400
    assert ids(orderBy="name") == ["c", "b", "a"]
    assert ids(orderBy="name;desc") == ["a", "b", "c"]
    assert ids(orderBy="name.rank") == ["b", "c", "a"]
    assert ids(orderBy="type,name.rank;desc", limit="2") == ["a", "c"]
    assert ids(orderBy="colour,id") == ["a", "b", "c"]  # none has it: by id
    assert client.get(ENTITIES, params={"type": "Garden", "orderBy": "name;up"}).status_code == 400


def test_updating_attributes_replaces_instances_by_dataset_and_null_removes(
    client: TestClient,
) -> None:
    """PATCH .../attrs (ETSI GS CIM 009 5.6.2): an instance sent replaces the stored one
    of its datasetId and leaves the others; urn:ngsi-ld:null removes that instance."""
    url = f"{ENTITIES}/urn:ngsi-ld:Vehicle:u-1"
    speed = [
        {"type": "Property", "value": 50},
        {"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:Dataset:gps"},
    ]
    body = {"id": "urn:ngsi-ld:Vehicle:u-1", "type": "Vehicle", "speed": speed, "name": {"type": "Property", "value": "bus 7"}}  # fmt: skip
    assert client.post(ENTITIES, json=body).status_code == 201
    gps = {"type": "Property", "value": 60, "datasetId": "urn:ngsi-ld:Dataset:gps"}
    assert client.patch(f"{url}/attrs", json={"speed": gps}).status_code == 204
    assert client.get(url).json()["speed"] == [speed[0], gps]
    gone = {"type": "Property", "value": "urn:ngsi-ld:null", "datasetId": "urn:ngsi-ld:Dataset:gps"}  # fmt: skip
    assert client.patch(f"{url}/attrs", json={"speed": gone}).status_code == 204
    assert client.get(url).json()["speed"] == speed[0]
    assert client.patch(f"{url}/attrs", json={"name": {"type": "Property", "value": "urn:ngsi-ld:null"}}).status_code == 204  # fmt: skip
    assert "name" not in client.get(url).json()
    # names in the path are checked as names, ids as URIs
    for path in (f"{url}/attrs/invalid(Name", f"{TEMPORAL}/urn:ngsi-ld:Vehicle:u-1/attrs/bad(name", f"{TEMPORAL}/urn:ngsi-ld:Vehicle:u-1/attrs/speed/not-a-uri"):  # fmt: skip
        assert client.delete(path).status_code == 400, path
    assert client.get(url, params={"pick": "id|speed"}).json() == {"id": "urn:ngsi-ld:Vehicle:u-1", "speed": speed[0]}  # fmt: skip


def test_a_context_entity_of_several_types(client: TestClient) -> None:
    """ETSI GS CIM 009 4.16: an entity's type may be a list; it is found by any of
    them, listed under each, and an append adds the types it names."""
    tower = {"id": "urn:ngsi-ld:Landmark:t-1", "type": ["Building", "TouristDestination"], "name": {"type": "Property", "value": "Eiffel Tower"}}  # fmt: skip
    assert client.post(ENTITIES, json=tower).status_code == 201
    for kind in ("Building", "TouristDestination"):
        assert [e["id"] for e in client.get(ENTITIES, params={"type": kind}).json()] == [tower["id"]]  # fmt: skip
    assert {"Building", "TouristDestination"} <= set(client.get("/ngsi-ld/v1/types").json()["typeList"])  # fmt: skip
    url = f"{ENTITIES}/{tower['id']}"
    assert client.get(url).json()["type"] == ["Building", "TouristDestination"]
    assert client.post(f"{url}/attrs", json={"type": "Monument", "height": {"type": "Property", "value": 330}}).status_code == 204  # fmt: skip
    assert client.get(url).json()["type"] == ["Building", "TouristDestination", "Monument"]
    site = {"id": "urn:ngsi-ld:AirQualityObserved:x-1", "type": ["AirQualityObserved", "Building"]}  # fmt: skip
    assert client.post(ENTITIES, json=site).status_code == 400  # a site has one type


def test_transient_entities_and_instances_are_gone_once_they_expire(client: TestClient) -> None:
    """ETSI GS CIM 009 4.22: an entity or an attribute instance with an expiresAt is
    served until then and gone after, whichever operation wrote it."""
    past, future = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
    name = {"type": "Property", "value": "tower"}
    bodies = [
        {"id": "urn:ngsi-ld:Building:gone", "type": "Building", "expiresAt": past, "name": name},
        {"id": "urn:ngsi-ld:Building:kept", "type": "Building", "expiresAt": future, "name": name},
        {"id": "urn:ngsi-ld:Building:part", "type": "Building", "name": name,
         "temperature": {"type": "Property", "value": 21, "expiresAt": past}},
    ]  # fmt: skip
    assert client.post(f"{BATCH}/create", json=bodies).status_code == 201
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Building:gone").status_code == 404
    listed = client.get(ENTITIES, params={"type": "Building", "options": "sysAttrs"}).json()
    assert [e["id"] for e in listed] == ["urn:ngsi-ld:Building:kept", "urn:ngsi-ld:Building:part"]
    assert listed[0]["expiresAt"] == future and "temperature" not in listed[1]
    # expiresAt is a system time (6.3.11): shown only with sysAttrs, as createdAt is.
    plain = client.get(ENTITIES, params={"type": "Building"}).json()
    assert "expiresAt" not in plain[0] and "createdAt" not in plain[0]
    assert "expiresAt" not in client.get("/ngsi-ld/v1/attributes").json()["attributeList"]
    # a merge can make a durable entity transient
    merge = {"expiresAt": past}
    assert client.patch(f"{ENTITIES}/urn:ngsi-ld:Building:part", json=merge).status_code == 204
    assert client.get(f"{ENTITIES}/urn:ngsi-ld:Building:part").status_code == 404
    bad = {"id": "urn:ngsi-ld:Building:bad", "type": "Building", "expiresAt": "tomorrow"}
    assert client.post(ENTITIES, json=bad).status_code == 400
    # a time of the right shape that is on no calendar is refused too: stored, it made
    # every later read of context entities fail
    for moment in ("2030-13-01T00:00:00Z", "2030-02-30T00:00:00Z"):
        month13 = bad | {"expiresAt": moment}
        assert client.post(ENTITIES, json=month13).status_code == 400, moment
        instance = {"name": name | {"expiresAt": moment}}
        assert client.post(f"{ENTITIES}/urn:ngsi-ld:Building:kept/attrs", json=instance).status_code == 400  # fmt: skip
    assert client.get(ENTITIES, params={"type": "Building"}).status_code == 200


NGSI_NULL = "urn:ngsi-ld:null"


def test_where_the_context_travels_and_what_no_value_may_be(client: TestClient) -> None:
    """ETSI GS CIM 009 6.3.5: a JSON-LD body carries its @context and no Link header
    beside it, a JSON body none; JSON null is no value anywhere in an entity; an empty
    id in a path is a bad request, not a missing entity."""
    thing = {"id": "urn:ngsi-ld:Thing:ctx", "type": "Thing", "p": {"type": "Property", "value": 1}}
    context = {"@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}
    link = {"Link": '<https://example.org/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"'}
    refused = [
        client.post(ENTITIES, json=thing, headers=LD),  # JSON-LD without its @context
        client.post(ENTITIES, json={**thing, **context}),  # @context in a JSON body
        client.post(ENTITIES, json={**thing, **context}, headers={**LD, **link}),
        client.post(ENTITIES, json={**thing, "q": {"type": "Property", "value": None}}),
        client.post(ENTITIES, json={**thing, "r": {"type": "Relationship", "object": None}}),
        client.post(
            ENTITIES, json={**thing, "p": {"type": "Property", "value": 1, "unitCode": None}}
        ),
        client.post(f"{ENTITIES}//attrs", json={"p": {"type": "Property", "value": 2}}),
        # the NGSI-LD Null removes in a merge; a create has nothing to remove
        client.post(ENTITIES, json={**thing, "q": {"type": "Property", "value": NGSI_NULL}}),
        client.post(
            ENTITIES,
            json={**thing, "p": {**thing["p"], "s": {"type": "Property", "value": NGSI_NULL}}},
        ),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")
    assert client.get(f"{ENTITIES}/{thing['id']}").status_code == 404  # nothing was kept
    assert client.post(ENTITIES, json={**thing, **context}, headers=LD).status_code == 201
    assert client.patch(f"{ENTITIES}/{thing['id']}/attrs", json={"p": {"type": "Property", "value": {"a": None}}}).status_code == 400  # fmt: skip
    # In a batch each entity is judged on its own: a misplaced @context refuses it alone.
    for batch, headers in (([{**thing, "id": "urn:ngsi-ld:Thing:b1"}, {**thing, "id": "urn:ngsi-ld:Thing:b2", **context}], {}),
                           ([{**thing, "id": "urn:ngsi-ld:Thing:b3", **context}, {**thing, "id": "urn:ngsi-ld:Thing:b4"}], LD)):  # fmt: skip
        answer = client.post(f"{BATCH}/create", json=batch, headers=headers)
        assert answer.status_code == 207, answer.text
        assert answer.json()["success"] == [batch[0]["id"]]
        assert [e["entityId"] for e in answer.json()["errors"]] == [batch[1]["id"]]
        assert client.get(f"{ENTITIES}/{batch[1]['id']}").status_code == 404
    # A plain JSON batch takes the Link header's @context, as one entity written alone does.
    linked = client.post(f"{BATCH}/create", json=[{**thing, "id": "urn:ngsi-ld:Thing:b5"}], headers=link)  # fmt: skip
    assert linked.status_code == 201, linked.text
    assert client.post(ENTITIES, json={**thing, "id": "urn:ngsi-ld:Thing:b6"}, headers=link).status_code == 201  # fmt: skip
    read = [client.get(f"{ENTITIES}/urn:ngsi-ld:Thing:{n}", headers={"Accept": "application/ld+json", **link}).json() for n in ("b5", "b6")]  # fmt: skip
    assert read[0] == read[1] | {"id": "urn:ngsi-ld:Thing:b5"}


def test_linked_entities_come_inline_or_flat_to_the_level_asked(client: TestClient) -> None:
    """ETSI GS CIM 009 4.5.23: join=inline puts the entity a Relationship points at
    inside it, join=flat after the entities asked for, each once; joinLevel says how
    deep; a link to an entity that is not there stays a plain link."""
    country = {"id": "urn:ngsi-ld:Country:fr", "type": "Country", "name": {"type": "Property", "value": "France"}}  # fmt: skip
    city = {"id": "urn:ngsi-ld:City:paris", "type": "City", "isIn": {"type": "Relationship", "object": country["id"]}}  # fmt: skip
    building = {"id": "urn:ngsi-ld:Building:j-1", "type": "Building",
                "locatedAt": {"type": "Relationship", "object": city["id"]},
                "ownedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Person:nobody"}}  # fmt: skip
    for entity in (country, city, building):
        assert client.post(ENTITIES, json=entity).status_code == 201
    url = f"{ENTITIES}/{building['id']}"

    inline = client.get(url, params={"join": "inline"}).json()
    assert inline["locatedAt"]["entity"] == city  # one level: the city's own link stays a link
    assert "entity" not in inline["ownedBy"]
    deep = client.get(url, params={"join": "inline", "joinLevel": "2"}).json()
    assert deep["locatedAt"]["entity"]["isIn"]["entity"] == country
    simple = client.get(url, params={"join": "inline", "options": "keyValues"}).json()
    assert simple["locatedAt"] == {"id": city["id"], "type": "City", "isIn": country["id"]}
    assert simple["ownedBy"] == "urn:ngsi-ld:Person:nobody"

    flat = client.get(url, params={"join": "flat", "joinLevel": "2"}).json()
    assert [e["id"] for e in flat] == [building["id"], city["id"], country["id"]]
    queried = client.get(ENTITIES, params={"type": "Building,City", "join": "flat"}).json()
    assert sorted(e["id"] for e in queried) == sorted(
        [building["id"], city["id"], country["id"]]
    )  # each once
    for bad in ({"join": "sideways"}, {"join": "flat", "joinLevel": "0"}, {"join": "flat", "joinLevel": "x"}):  # fmt: skip
        assert client.get(url, params=bad).status_code == 400, bad
    # A Query body joins as the URL does (its join was once ignored).
    query = {"type": "Query", "entities": [{"type": "Building"}], "join": "inline", "joinLevel": 2}
    posted = client.post(f"{BATCH}/query", json=query).json()
    assert [e["locatedAt"]["entity"]["isIn"]["entity"] for e in posted] == [country]
    flat_body = client.post(f"{BATCH}/query", json=query | {"join": "flat"}).json()
    assert [e["id"] for e in flat_body] == [building["id"], city["id"], country["id"]]
    assert client.post(f"{BATCH}/query", json=query | {"join": "sideways"}).status_code == 400
    temporal = client.post("/ngsi-ld/v1/temporal/entityOperations/query", json=query)
    assert temporal.status_code == 422  # a temporal query does not join


def test_pick_and_omit_reach_into_linked_entities_as_deep_as_the_join(client: TestClient) -> None:
    """ETSI GS CIM 009 4.21 with 4.5.23: locatedAt{id,name} keeps the relationship and
    only id and name of the entity it links; omit works the same way round; a
    projection deeper than joinLevel is refused."""
    country = {"id": "urn:ngsi-ld:Country:de", "type": "Country", "name": {"type": "Property", "value": "Germany"}, "note": {"type": "Property", "value": "x"}}  # fmt: skip
    city = {"id": "urn:ngsi-ld:City:berlin", "type": "City", "name": {"type": "Property", "value": "Berlin"}, "isIn": {"type": "Relationship", "object": country["id"]}}  # fmt: skip
    building = {"id": "urn:ngsi-ld:Building:p-1", "type": "Building", "height": {"type": "Property", "value": 30}, "locatedAt": {"type": "Relationship", "object": city["id"]}}  # fmt: skip
    for entity in (country, city, building):
        assert client.post(ENTITIES, json=entity).status_code == 201
    url = f"{ENTITIES}/{building['id']}"
    picked = client.get(url, params={"join": "inline", "pick": "id,locatedAt{id,name}"}).json()
    assert picked == {"id": building["id"], "locatedAt": {**building["locatedAt"], "entity": {"id": city["id"], "name": city["name"]}}}  # fmt: skip
    flat = client.get(url, params={"join": "flat", "joinLevel": "2", "pick": "id,locatedAt{id,isIn{id,name}}"}).json()  # fmt: skip
    assert flat == [
        {"id": building["id"], "locatedAt": building["locatedAt"]},
        {"id": city["id"], "isIn": city["isIn"]},
        {"id": country["id"], "name": country["name"]},
    ]
    omitted = client.get(url, params={"join": "inline", "joinLevel": "2", "omit": "height,locatedAt{name,isIn{note}}"}).json()  # fmt: skip
    assert "height" not in omitted and "name" not in omitted["locatedAt"]["entity"]
    assert omitted["locatedAt"]["entity"]["isIn"]["entity"] == {k: v for k, v in country.items() if k != "note"}  # fmt: skip
    for too_deep in (
        {"pick": "id,locatedAt{isIn{id}}", "join": "inline"},
        {"pick": "locatedAt{id}"},
    ):
        assert client.get(url, params=too_deep).status_code == 400, too_deep


def test_an_entity_with_none_of_the_members_asked_for_is_not_found(client: TestClient) -> None:
    """ETSI GS CIM 009 5.7.1: attrs, pick or omit that leave nothing of an entity answer
    404 rather than an empty entity."""
    thing = {"id": "urn:ngsi-ld:Thing:few", "type": "Thing", "p": {"type": "Property", "value": 1}}
    assert client.post(ENTITIES, json=thing).status_code == 201
    url = f"{ENTITIES}/{thing['id']}"
    for asked in ({"attrs": "unknown"}, {"pick": "unknown"}, {"omit": "id,type,p"}):
        assert client.get(url, params=asked).status_code == 404, asked
    assert client.get(url, params={"attrs": "p"}).json()["p"]["value"] == 1
    assert client.get(url, params={"pick": "id"}).json() == {"id": thing["id"]}
    other = {
        "id": "urn:ngsi-ld:Thing:other",
        "type": "Thing",
        "r": {"type": "Property", "value": 2},
    }
    assert client.post(ENTITIES, json=other).status_code == 201
    # in a query, an entity the projection leaves nothing of is left out
    assert client.get(ENTITIES, params={"type": "Thing", "pick": "p"}).json() == [{"p": thing["p"]}]


def test_a_type_is_found_by_its_term_or_by_the_iri_it_expands_to(client: TestClient) -> None:
    """A query may name a type as written or as the IRI its @context expands it to;
    under another context the same term is another type."""
    context = {"Tower": "https://example.org/vocab#Tower"}
    tower = {"id": "urn:ngsi-ld:Tower:t-1", "type": "Tower", "@context": context, "h": {"type": "Property", "value": 300}}  # fmt: skip
    assert client.post(ENTITIES, json=tower, headers=LD).status_code == 201
    found = client.get(ENTITIES, params={"type": "https://example.org/vocab#Tower"}).json()
    assert [e["id"] for e in found] == [tower["id"]]
    assert [e["id"] for e in client.get(ENTITIES, params={"type": "Tower"}).json()] == [tower["id"]]
    other = {"type": "Query", "entities": [{"type": "https://example.org/other#Tower"}], "@context": context}  # fmt: skip
    assert client.post("/ngsi-ld/v1/entityOperations/query", json=other, headers=LD).json() == []


def test_local_alone_asks_for_every_entity_and_a_selector_may_list_ids(client: TestClient) -> None:
    """ETSI GS CIM 009 6.4.3.2: local=true may stand alone (every entity here is this
    broker's own); 5.2.33: a query body's selector may give several ids."""
    ids = [f"urn:ngsi-ld:Thing:l-{n}" for n in range(3)]
    for entity_id in ids:
        assert client.post(ENTITIES, json={"id": entity_id, "type": "Thing"}).status_code == 201
    assert client.get(ENTITIES).status_code == 400  # nothing asked for
    assert set(ids) <= {e["id"] for e in client.get(ENTITIES, params={"local": "true"}).json()}
    body = {"type": "Query", "entities": [{"type": "Thing", "id": ids[:2]}]}
    found = client.post("/ngsi-ld/v1/entityOperations/query", json=body).json()
    assert sorted(e["id"] for e in found) == ids[:2]


def test_names_of_any_script_and_a_geo_query_on_any_geoproperty(client: TestClient) -> None:
    """A term may be written in any script (拥挤度, Škola); georel may be asked of a
    GeoProperty other than location (geoproperty), which a site does not have."""
    point = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [116.40, 39.90]}}
    hall = {"id": "urn:ngsi-ld:Skola:s-1", "type": "Škola", "拥挤度": {"type": "Property", "value": 0.7}, "observationSpace": point}  # fmt: skip
    assert client.post(ENTITIES, json=hall).status_code == 201
    found = client.get(ENTITIES, params={"type": "Škola", "q": "拥挤度>0.5", "attrs": "拥挤度"}).json()  # fmt: skip
    assert found == [{"id": hall["id"], "type": "Škola", "拥挤度": hall["拥挤度"]}]
    near = {"georel": "near;maxDistance==1000", "geometry": "Point", "coordinates": "[116.401,39.901]"}  # fmt: skip
    on_space = client.get(ENTITIES, params=near | {"geoproperty": "observationSpace", "local": "true"}).json()  # fmt: skip
    assert [e["id"] for e in on_space] == [hall["id"]]  # no site has an observationSpace
    assert client.get(ENTITIES, params=near | {"type": "Škola"}).json() == []  # it has no location
    assert client.get(ENTITIES, params=near | {"geoproperty": "1 bad", "local": "true"}).status_code == 400  # fmt: skip


def test_a_type_selector_gates_every_write_to_one_entity(client: TestClient) -> None:
    """ETSI GS CIM 009 5.6: with ?type=, an entity of another type is not found and is
    left as it was; of the type named, the write goes through."""
    hall = {"id": "urn:ngsi-ld:Building:hall-1", "type": "Building", "floors": {"type": "Property", "value": 3}}  # fmt: skip
    assert client.post(ENTITIES, json=hall).status_code == 201
    url, other, same = f"{ENTITIES}/{hall['id']}", {"type": "Vehicle"}, {"type": "Building"}
    value = {"type": "Property", "value": 4}
    writes = [
        lambda t: client.patch(f"{url}/attrs", params=t, json={"floors": value}),
        lambda t: client.post(f"{url}/attrs", params=t, json={"lifts": value}),
        lambda t: client.patch(f"{url}/attrs/floors", params=t, json={"value": 5}),
        lambda t: client.delete(f"{url}/attrs/lifts", params=t),
        lambda t: client.delete(url, params=t),
    ]
    for write in writes:
        before = client.get(url).json()
        refused = write(other)
        assert refused.status_code == 404 and refused.json()["type"] == f"{ERRORS}ResourceNotFound"
        assert client.get(url).json() == before, "untouched"
        assert write(same).status_code == 204
    assert client.get(url).status_code == 404


def test_lang_answers_a_language_property_in_one_language(client: TestClient) -> None:
    """ETSI GS CIM 009 4.15: with lang, a LanguageProperty is a Property in the language
    the ranges prefer (its text alone in keyValues); without, the whole map."""
    square = {"id": "urn:ngsi-ld:Square:grand-place", "type": "Square", "street": {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}}}  # fmt: skip
    assert client.post(ENTITIES, json=square).status_code == 201
    url = f"{ENTITIES}/{square['id']}"
    assert client.get(url).json()["street"] == square["street"]
    assert client.get(url, params={"lang": "nl-BE,fr;q=0.5"}).json()["street"] == {"type": "Property", "value": "Grote Markt", "lang": "nl"}  # fmt: skip
    assert client.get(url, params={"lang": "fr", "options": "keyValues"}).json()["street"] == "Grand Place"  # fmt: skip
    listed = client.get(ENTITIES, params={"type": "Square", "lang": "*"}).json()
    assert listed[0]["street"]["lang"] == "fr"
    assert client.get(url, params={"lang": "fr;q=7"}).status_code == 400


def test_temporal_instances_are_chosen_and_simplified_by_dataset(client: TestClient) -> None:
    """ETSI GS CIM 009 4.5.5 and 5.7.4: datasetId keeps the instances of the datasets
    it lists (@none: the default instances), and temporalValues gives one series per
    dataset, never one series mixing two sources."""
    at = "2024-03-01T08:0{}:00Z".format
    speed = [
        {"type": "Property", "value": 60, "observedAt": at(1)},
        {
            "type": "Property",
            "value": 80,
            "observedAt": at(2),
            "datasetId": "urn:ngsi-ld:Dataset:gps",
        },
        {"type": "Property", "value": 62, "observedAt": at(3)},
    ]
    fuel = [{"type": "Property", "value": 53, "observedAt": at(4), "datasetId": "urn:ngsi-ld:Dataset:can"}]  # fmt: skip
    car = {"id": "urn:ngsi-ld:Car:d-1", "type": "Car", "speed": speed, "fuel": fuel}
    assert client.post(TEMPORAL, json=car).status_code == 201
    window = {"type": "Car", "timerel": "after", "timeAt": "2024-01-01T00:00:00Z", "options": "temporalValues"}  # fmt: skip

    def query(**extra: str) -> list[dict[str, object]]:
        answer = client.get(TEMPORAL, params=window | extra)
        assert answer.status_code == 200, answer.text
        return [{k: v for k, v in e.items() if k not in ("id", "type")} for e in answer.json()]

    assert query() == [{
        "fuel": {"type": "Property", "datasetId": "urn:ngsi-ld:Dataset:can", "values": [[53, at(4)]]},
        "speed": [
            {"type": "Property", "values": [[60, at(1)], [62, at(3)]]},
            {"type": "Property", "datasetId": "urn:ngsi-ld:Dataset:gps", "values": [[80, at(2)]]},
        ],
    }]  # fmt: skip
    assert query(datasetId="@none") == [{"speed": {"type": "Property", "values": [[60, at(1)], [62, at(3)]]}}]  # fmt: skip
    assert list(query(datasetId="urn:ngsi-ld:Dataset:gps,urn:ngsi-ld:Dataset:can")[0]) == ["fuel", "speed"]  # fmt: skip
    assert query(datasetId="urn:ngsi-ld:Dataset:can", attrs="speed") == []  # nothing left of it
    one = client.get(f"{TEMPORAL}/{car['id']}", params={"datasetId": "urn:ngsi-ld:Dataset:none-such"})  # fmt: skip
    assert one.status_code == 200 and set(one.json()) == {"id", "type"}  # it exists, bare
    assert client.get(TEMPORAL, params=window | {"datasetId": "not a uri"}).status_code == 400


def test_instances_carry_their_system_times_and_may_be_read_by_them(client: TestClient) -> None:
    """ETSI GS CIM 009 4.8 and 5.7.4: with sysAttrs each instance shows when it was
    written (createdAt) and last changed (modifiedAt); timeproperty reads the window
    on either instead of observedAt. A site's history is read when observed only."""
    meter = {"id": "urn:ngsi-ld:Meter:s-1", "type": "Meter", "v": [{"type": "Property", "value": 1, "observedAt": "2020-01-01T00:00:00Z"}]}  # fmt: skip
    written = datetime.now(UTC)
    assert client.post(TEMPORAL, json=meter).status_code == 201
    url = f"{TEMPORAL}/{meter['id']}"
    first = client.get(url, params={"options": "sysAttrs"}).json()["v"][0]
    assert parse_utc_time(first["createdAt"]) >= written - timedelta(seconds=1)
    assert first["createdAt"] == first["modifiedAt"]
    instance = f"{url}/attrs/v/{first['instanceId']}"
    assert client.patch(instance, json={"v": [{"type": "Property", "value": 2, "observedAt": "2020-01-01T00:00:00Z"}]}).status_code == 204  # fmt: skip
    changed = client.get(url, params={"options": "sysAttrs"}).json()["v"][0]
    assert changed["createdAt"] == first["createdAt"] < changed["modifiedAt"]
    assert "createdAt" not in client.get(url).json()["v"][0]  # only when asked for

    def values(**window: str) -> list[object]:
        answer = client.get(url, params=window)
        assert answer.status_code == 200, answer.text
        return [i["value"] for i in answer.json().get("v", [])]

    since = first["createdAt"]
    assert values(timerel="after", timeAt=since, timeproperty="createdAt") == [2]
    assert values(timerel="before", timeAt=since, timeproperty="createdAt") == []
    assert values(timerel="after", timeAt=changed["modifiedAt"], timeproperty="modifiedAt") == [2]  # fmt: skip
    assert values(timerel="after", timeAt=since) == []  # observed in 2020
    assert client.get(url, params={"timeproperty": "deletedAt"}).status_code == 422
    assert client.get(url, params={"timeproperty": "seenAt"}).status_code == 400
    site = client.get(f"{TEMPORAL}/{DONGSI}", params={"timeproperty": "createdAt"})
    assert site.status_code == 400 and "observedAt" in site.json()["detail"]


def test_the_temporal_api_orders_by_id_only_and_has_no_join(client: TestClient) -> None:
    """ETSI GS CIM 009 5.7.4: a temporal query may be ordered by id, ascending or
    descending across pages; any other order, and a nested pick, are bad requests."""
    for n in range(3):
        entity = {"id": f"urn:ngsi-ld:Meter:o-{n}", "type": "Meter", "v": [{"type": "Property", "value": n, "observedAt": "2024-01-01T00:00:00Z"}]}  # fmt: skip
        assert client.post(TEMPORAL, json=entity).status_code == 201
    window = {"type": "Meter", "timerel": "after", "timeAt": "2023-01-01T00:00:00Z"}

    def ids(**extra: str) -> list[str]:
        answer = client.get(TEMPORAL, params={**window, **extra})
        assert answer.status_code == 200, answer.text
        return [e["id"].rsplit("-", 1)[1] for e in answer.json()]

    assert ids() == ids(orderBy="id") == ["0", "1", "2"]
    assert ids(orderBy="id;desc") == ["2", "1", "0"]
    assert ids(orderBy="id;desc", limit="2", offset="2") == ["0"]
    for bad in ({"orderBy": "v"}, {"orderBy": "id,v"}, {"pick": "id,v{x}"}):
        assert client.get(TEMPORAL, params={**window, **bad}).status_code == 400, bad


def test_hostile_nesting_is_a_bad_request_not_a_crash(client: TestClient) -> None:
    """Bodies and projections nested to exhaust a recursive reader answer 400: a body
    deeper than 64 levels (and one deeper than the JSON reader goes), braces deeper
    than a join can follow."""
    deep = '{"id": "urn:ngsi-ld:Thing:deep", "type": "Thing", "p": {"type": "Property", "value": ' + "[" * 70 + "]" * 70 + "}}"  # fmt: skip
    deeper = "[" * 100_000 + "]" * 100_000
    for body in (deep, deeper):
        answer = client.post(ENTITIES, content=body.encode(), headers={"Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 400 and "deep" in answer.json()["detail"]
    braces = "id," + "a{" * 500 + "b" + "}" * 500
    assert client.get(ENTITIES, params={"type": "Thing", "pick": braces, "join": "inline"}).status_code == 400  # fmt: skip
    shallow = '{"id": "urn:ngsi-ld:Thing:ok", "type": "Thing", "p": {"type": "JsonProperty", "json": ' + "[" * 20 + "]" * 20 + "}}"  # fmt: skip
    assert client.post(ENTITIES, content=shallow.encode(), headers={"Content-Type": "application/json"}).status_code == 201  # fmt: skip


def test_a_temporal_scope_query_selects_by_the_scope_valid_in_the_window(
    client: TestClient,
) -> None:
    """ETSI GS CIM 009 4.18-4.19 and 5.7.4.4: a scope holds from when it was set until
    it is replaced; scopeQ selects the entities whose scope matched while valid in the
    window, with only the instances observed while it held."""

    def at(minute: int, hour: int = 12) -> str:
        return f"2026-03-01T{hour:02d}:{minute:02d}:00Z"

    def prop(value: object, moment: str) -> dict[str, object]:
        return {"type": "Property", "value": value, "observedAt": moment}

    fixtures = {
        "ab": ([prop("/A/B", at(0, 10))], [prop("ab", at(5))]),
        "both": ([prop(["/A/B", "/C"], at(0, 10))], [prop("both", at(5))]),
        "bare": ([], [prop("bare", at(5))]),
        "mid": ([prop("/M", at(10))], [prop("midpre", at(5)), prop("midpost", at(15))]),
        "rep": (
            [prop("/R", at(0, 10)), prop("/S", at(30))],
            [prop("repold", at(15)), prop("repnew", at(45))],
        ),
        "late": ([prop("/Z", at(0, 14))], [prop("late", at(5))]),
    }
    for name, (scopes, speeds) in fixtures.items():
        body = {"id": f"urn:ngsi-ld:Vehicle:s-{name}", "type": "Vehicle", "speed": speeds}
        if scopes:
            body["scope"] = scopes
        assert client.post(TEMPORAL, json=body).status_code == 201

    def query(scope_q: str) -> dict[str, list[object]]:
        window = {"timerel": "between", "timeAt": at(0), "endTimeAt": at(0, 13)}
        answer = client.get(TEMPORAL, params={"type": "Vehicle", "scopeQ": scope_q, **window})
        assert answer.status_code == 200, answer.text
        return {e["id"].rsplit("-", 1)[1]: [i["value"] for i in e.get("speed", [])] for e in answer.json()}  # fmt: skip

    assert query("/A/B").keys() == {"ab", "both"}
    assert query("/A/#").keys() == {"ab", "both"}
    assert query("/#").keys() == {"ab", "both", "mid", "rep"}  # not unscoped, not set later
    assert query("/Y") == {} and query("/Z") == {}
    assert query("(/A/B;/C)").keys() == {"both"}
    assert query("/X|/M").keys() == {"mid"}
    assert query("/M") == {"mid": ["midpost"]}  # only what was observed once it was set
    assert query("/R") == {"rep": ["repold"]}  # until it was replaced
    assert query("/S") == {"rep": ["repnew"]}
    scoped = client.get(TEMPORAL, params={"type": "Vehicle", "scopeQ": "/A/B", "timerel": "between", "timeAt": at(0), "endTimeAt": at(0, 13)}).json()  # fmt: skip
    assert {e["id"]: [i["value"] for i in e["scope"]] for e in scoped} == {
        "urn:ngsi-ld:Vehicle:s-ab": ["/A/B"], "urn:ngsi-ld:Vehicle:s-both": [["/A/B", "/C"]],
    }  # fmt: skip
    nested = client.get(TEMPORAL, params={"type": "Vehicle", "scopeQ": "/A;(/B|/C)"})
    assert nested.status_code == 400 and "write them out" in nested.text


def test_a_query_body_orders_by_a_member_or_by_distance(client: TestClient) -> None:
    """ETSI GS CIM 009 5.2.43: a Query body's ordering orders by members or by the
    distance from its coordinates (which an order by distance needs); a collation is
    refused rather than ignored."""
    for name, lon, lat in (("near", 116.40, 39.91), ("far", 117.20, 39.13), ("none", None, None)):
        vehicle: dict[str, object] = {"id": f"urn:ngsi-ld:Vehicle:o-{name}", "type": "Vehicle",
                                      "name": {"type": "Property", "value": name}}  # fmt: skip
        if lon is not None:
            vehicle["location"] = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}  # fmt: skip
        assert client.post(ENTITIES, json=vehicle).status_code == 201

    def ordered(ordering: object, **params: str) -> list[str]:
        query = {"type": "Query", "entities": [{"type": "Vehicle"}], "ordering": ordering}
        answer = client.post(f"{BATCH}/query", json=query, params=params)
        assert answer.status_code == 200, answer.text
        return [e["id"].rsplit("-", 1)[1] for e in answer.json()]

    tiananmen = [116.397, 39.909]
    assert ordered({"orderBy": ["location;dist-asc"], "coordinates": tiananmen}) == ["near", "far", "none"]  # fmt: skip
    assert ordered({"orderBy": ["location;dist-desc"], "coordinates": tiananmen}) == ["far", "near", "none"]  # fmt: skip
    assert ordered({"orderBy": ["location;dist-asc"], "coordinates": tiananmen}, options="keyValues") == ["near", "far", "none"]  # fmt: skip
    assert ordered({"orderBy": ["name;desc"]}) == ["none", "near", "far"]
    assert ordered({"orderBy": ["name"]}, limit="1", offset="1") == ["near"]  # a page of the order
    for bad, status in (
        ({"orderBy": ["location;dist-asc"]}, 400),
        ({"orderBy": ["location;dist-asc"], "coordinates": "116,39"}, 400),
        ({"orderBy": ["name"], "geometry": 5}, 400),
        ({"orderBy": ["name;sideways"]}, 400),
        ({"orderBy": ["name"], "collation": "not a tag!!"}, 400),
        ({"orderBy": ["name"], "collation": "zh-u-co-pinyin"}, 422),
    ):
        query = {"type": "Query", "entities": [{"type": "Vehicle"}], "ordering": bad}
        assert client.post(f"{BATCH}/query", json=query).status_code == status, bad


def test_keyvalues_keeps_each_kind_of_attribute_readable(client: TestClient) -> None:
    """ETSI GS CIM 009 4.5.4: simplified, a Property is its value and a Relationship
    its object, lists their items; a language map, JSON and a vocabulary term stay
    wrapped ({"languageMap": ...}); several instances are a map by datasetId."""
    vehicle = {
        "id": "urn:ngsi-ld:Vehicle:kinds", "type": "Vehicle",
        "speed": [{"type": "Property", "value": 55},
                  {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:gps"}],
        "brandName": {"type": "LanguageProperty", "languageMap": {"en": "hi", "zh": "你好"}},
        "street": {"type": "JsonProperty", "json": {"a": 1}},
        "category": {"type": "VocabProperty", "vocab": "non-commercial"},
        "tyreTreadDepths": {"type": "ListProperty", "valueList": [1.2, 3.4]},
        "isParked": {"type": "Relationship", "object": "urn:ngsi-ld:OffStreetParking:1"},
        "route": {"type": "ListRelationship", "objectList": ["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"]},
    }  # fmt: skip
    assert client.post(ENTITIES, json=vehicle).status_code == 201
    simple = client.get(f"{ENTITIES}/{vehicle['id']}", params={"options": "keyValues"}).json()
    assert simple == {
        "id": vehicle["id"], "type": "Vehicle",
        "speed": {"dataset": {"@none": 55, "urn:ngsi-ld:Dataset:gps": 11}},
        "brandName": {"languageMap": {"en": "hi", "zh": "你好"}},
        "street": {"json": {"a": 1}}, "category": {"vocab": "non-commercial"},
        "tyreTreadDepths": [1.2, 3.4], "isParked": "urn:ngsi-ld:OffStreetParking:1",
        "route": ["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"],
    }  # fmt: skip
    # An objectList sent as bare URIs is kept and answered as {"object": uri} entries.
    normalized = client.get(f"{ENTITIES}/{vehicle['id']}").json()
    assert normalized["route"]["objectList"] == [{"object": "urn:ngsi-ld:Road:1"}, {"object": "urn:ngsi-ld:Road:2"}]  # fmt: skip
    # A language asked for makes the language map a plain value of that language.
    chinese = client.get(f"{ENTITIES}/{vehicle['id']}", params={"options": "keyValues", "lang": "zh"})  # fmt: skip
    assert chinese.json()["brandName"] == "你好"


def test_the_url_and_a_query_body_order_project_and_answer_alike(client: TestClient) -> None:
    """orderBy reaches a member of a value (address[city]) and orders by distance from
    orderFrom; a collation is refused; a list of quoted values matches any of them; ids
    win over idPattern; a Query body's pick, omit and geometryProperty act as the URL's."""
    places = (
        ("near", 116.40, "Amsterdam", "Eiffel Tower"),
        ("far", 117.20, "Zurich", "Pisa Tower"),
    )
    for name, lon, city, title in places:
        body = {"id": f"urn:ngsi-ld:Building:u-{name}", "type": "Building",
                "name": {"type": "Property", "value": title},
                "address": {"type": "Property", "value": {"city": city}},
                "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 39.9]}}}  # fmt: skip
        assert client.post(ENTITIES, json=body).status_code == 201

    def ids(**params: str) -> list[str]:
        answer = client.get(ENTITIES, params={"type": "Building", **params})
        assert answer.status_code == 200, answer.text
        return [e["id"].rsplit("-", 1)[1] for e in answer.json()]

    assert ids(orderBy="address[city];desc") == ["far", "near"]
    assert ids(orderBy="location;dist-asc", orderFrom="[117.3,39.9]") == ["far", "near"]
    assert client.get(ENTITIES, params={"type": "Building", "orderBy": "location;dist-asc"}).status_code == 400  # fmt: skip
    assert client.get(ENTITIES, params={"type": "Building", "collation": "de"}).status_code == 422
    assert client.get(ENTITIES, params={"type": "Building", "collation": "no tag!"}).status_code == 400  # fmt: skip
    assert ids(q='name=="Eiffel Tower","Pisa Tower"') == ["far", "near"]
    assert ids(q='name!="Eiffel Tower","Big Ben"') == ["far"]
    assert ids(id="urn:ngsi-ld:Building:u-near", idPattern=".*far") == ["near"]
    # q through a Relationship needs a join that deep; system attributes alone select all.
    for too_wide in ({"type": "Building", "q": 'owner{name}=="x"'}, {"q": 'modifiedAt>"2020-01-01T00:00:00Z"'}):  # fmt: skip
        assert client.get(ENTITIES, params=too_wide).status_code == 400, too_wide
    purge = client.delete(ENTITIES, params={"type": "Building", "q": 'owner{name}=="x"'})
    assert purge.status_code == 400 and len(ids()) == 2  # nothing purged

    query = {"type": "Query", "entities": [{"type": "Building"}]}
    picked = client.post(f"{BATCH}/query", json=query | {"pick": ["id", "name"]}).json()
    assert all(set(e) == {"id", "name"} for e in picked) and len(picked) == 2
    omitted = client.post(f"{BATCH}/query", json=query | {"omit": ["location", "address"]}).json()
    assert all(set(e) == {"id", "type", "name"} for e in omitted)
    geo = {"Accept": "application/geo+json"}
    features = client.post(f"{BATCH}/query", json=query, headers=geo).json()
    assert features["type"] == "FeatureCollection"
    assert [f["geometry"]["coordinates"][0] for f in features["features"]] == [117.2, 116.4]


def test_a_temporal_query_judges_places_and_languages_within_its_window(
    client: TestClient,
) -> None:
    """A geo-query over context entities' histories is met by a place observed in the
    window (not before it); q reads languages, lists and Relationships there as it does
    for the current state."""
    moves = [("2020-08-01T10:00:00Z", [2.35, 48.85]), ("2020-08-01T12:00:00Z", [13.40, 52.52])]
    body = {
        "id": "urn:ngsi-ld:Vehicle:t-geo", "type": "Vehicle",
        "location": [{"type": "GeoProperty", "value": {"type": "Point", "coordinates": c}, "observedAt": t} for t, c in moves],
        "brandName": {"type": "LanguageProperty", "languageMap": {"en": "red", "fr": "rouge"}, "observedAt": "2020-08-01T12:00:00Z"},
        "tags": {"type": "Property", "value": ["a", "b"], "observedAt": "2020-08-01T12:00:00Z"},
        "ref": {"type": "Relationship", "object": "urn:ngsi-ld:Road:1", "observedAt": "2020-08-01T12:00:00Z"},
    }  # fmt: skip
    assert client.post(TEMPORAL, json=body).status_code == 201
    window = {"type": "Vehicle", "timerel": "after", "timeAt": "2020-08-01T11:00:00Z"}

    def found(**params: str) -> bool:
        answer = client.get(TEMPORAL, params=window | params)
        assert answer.status_code == 200, answer.text
        return [e["id"] for e in answer.json()] == [body["id"]]

    near = {"georel": "near;maxDistance==5000", "geometry": "Point"}
    assert found(**near, coordinates="[13.41,52.52]")  # Berlin, observed in the window
    assert not found(**near, coordinates="[2.35,48.86]")  # Paris, observed before it
    assert found(q='brandName[fr]=="rouge"') and not found(q='brandName[en]=="rouge"')
    assert found(q='brandName[*]=="rouge"') and not found(q='brandName[*]!="red"')
    assert found(q='tags=="b"') and not found(q='tags!="a"')
    assert found(q='ref=="urn:ngsi-ld:Road:1"') and not found(q='ref>"urn:a"')
    # temporalValues keeps a language map wrapped, as keyValues does (4.5.4, 4.5.9).
    series = client.get(f"{TEMPORAL}/{body['id']}", params={"attrs": "brandName", "options": "temporalValues"}).json()  # fmt: skip
    assert series["brandName"]["languageMaps"] == [[{"languageMap": {"en": "red", "fr": "rouge"}}, "2020-08-01T12:00:00Z"]]  # fmt: skip


def test_a_language_propertys_null_removes_its_instance(client: TestClient) -> None:
    """NGSI-LD's null for a LanguageProperty is {"@none": "urn:ngsi-ld:null"} in its
    languageMap (4.5.18): sent for one dataset, it removes that instance only."""
    url = f"{ENTITIES}/urn:ngsi-ld:Building:lp"
    street = [{"type": "LanguageProperty", "languageMap": {"fr": "Avenue", "en": "Avenue E"}},
              {"type": "LanguageProperty", "datasetId": "urn:ngsi-ld:Dataset:01", "languageMap": {"fr": "A2"}}]  # fmt: skip
    assert client.post(ENTITIES, json={"id": url.rsplit("/", 1)[1], "type": "Building", "street": street}).status_code == 201  # fmt: skip
    null = {"type": "LanguageProperty", "languageMap": {"@none": "urn:ngsi-ld:null"}, "datasetId": "urn:ngsi-ld:Dataset:01"}  # fmt: skip
    assert client.patch(f"{url}/attrs", json={"street": null}).status_code == 204
    assert client.get(url).json()["street"] == street[0]


def test_a_datasetid_of_none_is_the_default_instance(client: TestClient) -> None:
    """ETSI GS CIM 009 4.5.5: datasetId "@none" names the default instance: kept as
    none, and one beside an instance without a datasetId is a second default."""
    one = {"id": "urn:ngsi-ld:Building:none-1", "type": "Building",
           "name": {"type": "Property", "value": "x", "datasetId": "@none"}}  # fmt: skip
    assert client.post(ENTITIES, json=one).status_code == 201
    assert client.get(f"{ENTITIES}/{one['id']}").json()["name"] == {
        "type": "Property",
        "value": "x",
    }
    two = {"id": "urn:ngsi-ld:Building:none-2", "type": "Building",
           "name": [one["name"], {"type": "Property", "value": "y"}]}  # fmt: skip
    assert client.post(ENTITIES, json=two).status_code == 400


def test_a_temporal_query_answers_only_entities_with_an_instant_in_its_window(
    client: TestClient,
) -> None:
    """An entity none of whose instances fall in the window is not in the answer."""
    for name, day in (("early", "2020-08-01"), ("late", "2020-09-01")):
        speed = [{"type": "Property", "value": 1, "observedAt": f"{day}T12:00:00Z"}]
        assert client.post(TEMPORAL, json={"id": f"urn:ngsi-ld:Vehicle:w-{name}", "type": "Vehicle", "speed": speed}).status_code == 201  # fmt: skip
    window = {"type": "Vehicle", "timerel": "after", "timeAt": "2020-08-15T00:00:00Z"}
    assert [e["id"] for e in client.get(TEMPORAL, params=window).json()] == ["urn:ngsi-ld:Vehicle:w-late"]  # fmt: skip
    before = window | {"timerel": "before"}
    assert [e["id"] for e in client.get(TEMPORAL, params=before).json()] == ["urn:ngsi-ld:Vehicle:w-early"]  # fmt: skip


def test_a_json_property_holds_raw_json_and_core_terms_are_no_types(client: TestClient) -> None:
    """ETSI GS CIM 009 4.5.24: a JsonProperty's json is kept as sent, nulls included
    (anywhere else a null is refused); "type" is JSON-LD's @type, never an entity type."""
    raw = {"id": "some-id", "type": "some-type", "null": None, "list": [1, None]}
    body = {"id": "urn:ngsi-ld:Building:json-1", "type": "Building",
            "settings": {"type": "JsonProperty", "json": raw}}  # fmt: skip
    assert client.post(ENTITIES, json=body).status_code == 201
    assert client.get(f"{ENTITIES}/{body['id']}").json()["settings"]["json"] == raw
    concise = {"extra": {"json": [None]}}
    assert client.post(f"{ENTITIES}/{body['id']}/attrs", json=concise).status_code == 204
    nulled = {"id": "urn:ngsi-ld:Building:json-2", "type": "Building", "p": {"type": "Property", "value": {"a": None}}}  # fmt: skip
    assert client.post(ENTITIES, json=nulled).status_code == 400
    assert client.post(ENTITIES, json={"id": "urn:ngsi-ld:Building:json-3", "type": "type"}).status_code == 400  # fmt: skip


def test_a_partial_update_changes_only_an_instance_the_attribute_has(client: TestClient) -> None:
    """ETSI GS CIM 009 5.6.4: the fragment's datasetId (none: the default instance)
    names the instance changed; one the attribute lacks is not found, never added."""
    gps = "urn:ngsi-ld:Dataset:gps"
    body = {"id": "urn:ngsi-ld:Vehicle:pu-1", "type": "Vehicle",
            "speed": {"type": "Property", "value": 10, "datasetId": gps}}  # fmt: skip
    assert client.post(ENTITIES, json=body).status_code == 201
    url = f"{ENTITIES}/{body['id']}/attrs/speed"
    assert client.patch(url, json={"value": 12}).status_code == 404  # no default instance
    assert client.patch(url, json={"value": 12, "datasetId": "urn:ngsi-ld:Dataset:x"}).status_code == 404  # fmt: skip
    assert client.patch(url, json={"value": 12, "datasetId": gps}).status_code == 204
    assert client.get(f"{ENTITIES}/{body['id']}").json()["speed"]["value"] == 12
    # Checked before the lake is read: an id that is no URI, and scope, no attribute.
    assert client.patch(f"{ENTITIES}/not-a-uri/attrs/speed", json={"value": 1}).status_code == 400
    scoped = {"id": "urn:ngsi-ld:Vehicle:pu-2", "type": "Vehicle", "scope": "/Madrid"}
    assert client.post(ENTITIES, json=scoped).status_code == 201
    assert client.patch(f"{ENTITIES}/{scoped['id']}/attrs/scope", json={"value": "/Paris"}).status_code == 400  # fmt: skip


def test_appending_an_instance_of_a_new_dataset_keeps_the_others(client: TestClient) -> None:
    """ETSI GS CIM 009 5.6.3: an appended instance replaces the one of its datasetId
    only; with noOverwrite an instance of a new datasetId is still added, and one of a
    datasetId the attribute has is left as it was (207 names the attribute)."""

    def speed(value: int, dataset: str) -> dict[str, object]:
        return {"type": "Property", "value": value, "datasetId": f"urn:ngsi-ld:Dataset:{dataset}"}

    body = {"id": "urn:ngsi-ld:Vehicle:ap-1", "type": "Vehicle", "speed": [speed(55, "a"), speed(54, "b")]}  # fmt: skip
    assert client.post(ENTITIES, json=body).status_code == 201
    attrs = f"{ENTITIES}/{body['id']}/attrs"

    def stored() -> dict[str, int]:
        found = client.get(f"{ENTITIES}/{body['id']}").json()["speed"]
        return {i["datasetId"].rsplit(":", 1)[1]: i["value"] for i in found}

    assert client.post(attrs, json={"speed": speed(56, "c")}).status_code == 204
    assert stored() == {"a": 55, "b": 54, "c": 56}
    assert client.post(attrs, json={"speed": speed(60, "a")}).status_code == 204
    assert stored() == {"a": 60, "b": 54, "c": 56}
    kept = client.post(attrs, params={"options": "noOverwrite"}, json={"speed": [speed(1, "a"), speed(57, "d")]})  # fmt: skip
    assert kept.status_code == 207 and kept.json()["notUpdated"][0]["attributeName"] == "speed"
    assert stored() == {"a": 60, "b": 54, "c": 56, "d": 57}
    assert client.post(attrs, params={"options": "noOverwrite"}, json={"speed": speed(58, "e")}).status_code == 204  # fmt: skip
    assert stored()["e"] == 58


def test_a_partial_update_of_sub_attributes_keeps_the_value_and_its_type(
    client: TestClient,
) -> None:
    """A fragment of sub-attributes alone (a JSON-LD one with its @context) changes
    those members: the Relationship keeps its object and type, and the @context is
    the request's, not a member."""
    parked = {"type": "Relationship", "object": "urn:ngsi-ld:OffStreetParking:D1",
              "observedAt": "2017-07-29T12:00:04Z",
              "providedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Bob"}}  # fmt: skip
    context = ["https://smartdatamodels.org/context.jsonld"]
    body = {"id": "urn:ngsi-ld:Vehicle:pu-3", "type": "Vehicle", "isParked": parked, "@context": context}  # fmt: skip
    assert client.post(ENTITIES, json=body, headers=LD).status_code == 201
    fragment = {"providedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Ann"}, "@context": context}  # fmt: skip
    url = f"{ENTITIES}/{body['id']}/attrs/isParked"
    assert client.patch(url, json=fragment, headers=LD).status_code == 204
    stored = client.get(f"{ENTITIES}/{body['id']}").json()["isParked"]
    assert stored == parked | {"providedBy": fragment["providedBy"]}
    # Its type is not changed by a partial update (5.6.4): a replacement may do that.
    other = {"type": "Property", "value": "parked"}
    refused = client.patch(url, json=other)
    assert refused.status_code == 400 and "keeps its type" in refused.json()["detail"]
    assert client.get(f"{ENTITIES}/{body['id']}").json()["isParked"] == stored


@pytest.fixture
def paged_client(tmp_path: Path, grant: Callable[..., dict[str, str]]) -> TestClient:
    """A server whose temporal answers hold at most 5 instances of an attribute."""
    settings = Settings(
        lake_path=tmp_path / "lake",
        access_db=tmp_path / "access.sqlite3",
        ngsi_temporal_instance_limit=5,
    )
    app = create_app(settings)
    return TestClient(app, headers=grant(app, "government"))


def _instants(entities: list[dict[str, object]]) -> list[tuple[str, str, str]]:
    return sorted(
        (str(e["id"]), name, str(i["observedAt"]))
        for e in entities
        for name, instances in e.items()
        if isinstance(instances, list)
        for i in instances
    )


def test_a_long_history_is_read_in_ranges_that_miss_and_repeat_nothing(
    paged_client: TestClient,
) -> None:
    """ETSI GS CIM 009 6.3.10: over the instance limit the answer is 206 with the
    instants it holds (Content-Range), every attribute cut to them, so reading on from
    the range's end misses nothing (only the end's own instant, which "after" includes,
    is read again); an attribute with none in the range stays, empty."""
    client = paged_client
    minutes = [f"2020-01-01T01:{m:02d}:00Z" for m in range(1, 13)]
    body = {"id": "urn:ngsi-ld:Vehicle:p-1", "type": "Vehicle",
            "speed": [{"type": "Property", "value": k, "observedAt": t} for k, t in enumerate(minutes)],
            "fuelLevel": [{"type": "Property", "value": k, "observedAt": t} for k, t in enumerate(minutes[::3])]}  # fmt: skip
    later = {"id": "urn:ngsi-ld:Vehicle:p-2", "type": "Vehicle",
             "speed": [{"type": "Property", "value": 1, "observedAt": "2020-09-01T12:00:00Z"}]}  # fmt: skip
    for entity in (body, later):
        assert client.post(TEMPORAL, json=entity).status_code == 201
    everything = _instants(client.get(TEMPORAL, params={"type": "Vehicle", "lastN": "5"}).json())
    assert len(everything) == 5 + 4 + 1  # lastN no larger than the limit: never cut

    held: list[tuple[str, str, str]] = []
    time_at = "2019-01-01T00:00:00Z"
    pages = 0
    while True:  # oldest first, each page read from the last one's end
        asked = {"type": "Vehicle", "timerel": "after", "timeAt": time_at}
        answer = client.get(TEMPORAL, params=asked)
        pages += 1
        assert pages < 10 and answer.status_code in (200, 206)
        found = _instants(answer.json())
        if answer.status_code == 200:
            held += [f for f in found if f not in held]
            break
        unit, start, end, size = _read_content_range(answer.headers["content-range"])
        assert (unit, start, size) == ("date-time", time_at, "*")
        assert all(start <= t <= end for _, _, t in found)
        assert max(t for _, _, t in found) == end
        assert answer.json()[1]["speed"] == []  # the September vehicle: none in the range
        again = [f for f in found if f in held]
        assert {t for _, _, t in again} <= {time_at}  # only the last end's own instant
        held += [f for f in found if f not in held]
        time_at = end
    assert len(held) == len(set(held)) == 12 + 4 + 1 and pages == 3

    # A Query body answers alike; with two selectors, one range holds for both.
    query = "/ngsi-ld/v1/temporal/entityOperations/query"
    first_page = client.get(TEMPORAL, params={"type": "Vehicle", "timerel": "after", "timeAt": "2019-01-01T00:00:00Z"})  # fmt: skip
    temporal_q = {"timerel": "after", "timeAt": "2019-01-01T00:00:00Z"}
    for selectors in ([{"type": "Vehicle"}], [{"id": "urn:ngsi-ld:Vehicle:p-2", "type": "Vehicle"}, {"id": "urn:ngsi-ld:Vehicle:p-1", "type": "Vehicle"}]):  # fmt: skip
        posted = client.post(query, json={"type": "Query", "entities": selectors, "temporalQ": temporal_q})  # fmt: skip
        assert posted.status_code == 206, selectors
        assert posted.headers["content-range"] == first_page.headers["content-range"]
        assert _instants(posted.json()) == _instants(first_page.json())

    newest = client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:p-1", params={"lastN": "20", "timerel": "before", "timeAt": "2021-01-01T00:00:00Z"})  # fmt: skip
    assert newest.status_code == 206
    unit, start, end, size = _read_content_range(newest.headers["content-range"])
    assert (unit, start, end, size) == ("date-time", "2021-01-01T00:00:00Z", minutes[-5], "20")
    assert [i["observedAt"] for i in newest.json()["speed"]] == minutes[-5:]
    assert [i["observedAt"] for i in newest.json()["fuelLevel"]] == [minutes[9]]
    simplified = client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:p-1", params={"timerel": "after", "timeAt": minutes[4], "options": "temporalValues", "attrs": "fuelLevel,speed"}).json()  # fmt: skip
    assert [t for _, t in simplified["speed"]["values"]] == minutes[4:9]
    assert [t for _, t in simplified["fuelLevel"]["values"]] == [minutes[6]]
    oldest = client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:p-1", params={"timerel": "after", "timeAt": minutes[0], "options": "temporalValues", "attrs": "fuelLevel,speed"}).json()  # fmt: skip
    assert oldest["fuelLevel"]["values"] == [[0, minutes[0]], [1, minutes[3]]]
    assert (
        client.get(f"{TEMPORAL}/urn:ngsi-ld:Vehicle:p-2", params={"lastN": "9"}).status_code == 200
    )


def _read_content_range(header: str) -> tuple[str, str, str, str]:
    unit, rest = header.split(" ", 1)
    span, size = rest.rsplit("/", 1)
    start, end = span[:20], span[21:]
    assert span[20] == "-", header
    return unit, start, end, size


def test_a_temporal_answer_sums_up_each_attribute_per_period(client: TestClient) -> None:
    """ETSI GS CIM 009 4.5.19: aggregatedValues with aggrMethods and aggrPeriodDuration
    (in the URL, a temporalQ or aggrParams) gives [value, start, end] per period, the
    periods of an entity's attributes lined up; format wins over options."""
    at = "2020-08-01T12:0{}:00Z".format
    body = {"id": "urn:ngsi-ld:Vehicle:ag-1", "type": "Vehicle",
            "speed": [{"type": "Property", "value": v, "observedAt": at(m)} for v, m in ((120, 3), (80, 5), (100, 7))],
            "fuelLevel": [{"type": "Property", "value": 67, "observedAt": at(3)},
                          {"type": "Property", "value": 53, "observedAt": "2020-08-01T13:05:00Z"}]}  # fmt: skip
    assert client.post(TEMPORAL, json=body).status_code == 201
    url = f"{TEMPORAL}/{body['id']}"
    hourly = {"options": "aggregatedValues", "aggrMethods": "avg,max", "aggrPeriodDuration": "PT1H"}
    found = client.get(url, params=hourly).json()
    first, second = ["2020-08-01T12:03:00Z", "2020-08-01T13:03:00Z"], ["2020-08-01T13:03:00Z", "2020-08-01T14:03:00Z"]  # fmt: skip
    assert found["speed"] == {"type": "Property", "avg": [[100.0, *first]], "max": [[120.0, *first]]}  # fmt: skip
    assert found["fuelLevel"]["avg"] == [[67.0, *first], [53.0, *second]]
    # A Query body asks for it in its temporalQ, or in aggrParams; no instance ids then.
    query = "/ngsi-ld/v1/temporal/entityOperations/query"
    for extra in ({"temporalQ": {"timerel": "after", "timeAt": "2020-08-01T12:03:00Z", "aggrMethods": "avg", "aggrPeriodDuration": "PT1H"}},
                  {"temporalQ": {"timerel": "after", "timeAt": "2020-08-01T12:03:00Z"}, "aggrParams": {"aggrMethods": ["avg"], "aggrPeriodDuration": "PT1H"}}):  # fmt: skip
        posted = client.post(
            query, json={"type": "Query", "entities": [{"type": "Vehicle"}], **extra}
        )
        assert posted.status_code == 200, posted.text
        assert posted.json()[0]["fuelLevel"]["avg"] == [[67.0, *first], [53.0, *second]]
        assert "instanceId" not in posted.text
    # format names the representation: temporalValues wins over the option
    values = client.get(url, params=hourly | {"format": "temporalValues"}).json()
    assert values["speed"]["values"][0] == [120, at(3)]
    for bad in ({"options": "aggregatedValues"}, {"options": "aggregatedValues", "aggrMethods": "median"},
                hourly | {"aggrPeriodDuration": "hourly"}, {"aggrMethods": "avg"},
                {"options": "aggregatedValues,temporalValues", "aggrMethods": "avg"}):  # fmt: skip
        answer = client.get(url, params=bad)
        assert answer.status_code == 400 and answer.json()["type"] == ERRORS + "BadRequestData", bad
    refused = client.post(query, json={"type": "Query", "entities": [{"type": "Vehicle"}], "temporalQ": {"timerel": "after", "timeAt": at(0)}, "aggrParams": {"aggrMethods": ["avg"], "aggrPeriodDuration": "1 hour"}})  # fmt: skip
    assert refused.status_code == 400 and "aggrPeriodDuration" in refused.text
