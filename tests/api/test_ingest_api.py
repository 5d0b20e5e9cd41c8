"""POST /api/ingest/observations: JSON, NGSI-LD and CSV pushed with a key, never anonymously."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.store.engine import connect, scan_sql

URL = "/api/ingest/observations"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    lake = Lake(tmp_path / "lake")
    upsert_sites(
        lake, pa.table({"site_id": ["air-1", "road-1"], "kind": ["air_monitor", "road_sensor"]})
    )
    return create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))


def _rows(app: FastAPI, table: str, columns: str) -> list[tuple[object, ...]]:
    lake: Lake = app.state.lake
    return (
        connect()
        .execute(f"SELECT {columns} FROM ({scan_sql(lake, table)}) ORDER BY ALL")
        .fetchall()
    )


def test_json_ngsi_ld_and_csv_are_stored_once_and_bad_rows_quarantined(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    client = TestClient(app, headers=grant(app, "government"))
    batch = [
        {"site_id": "air-1", "metric": "pm25", "ts": "2026-11-30T08:00:00+08:00", "value": 35},
        {"site_id": "air-1", "metric": "pm25", "ts": "2026-11-30T08:05:00+08:00", "value": "n/a"},
    ]
    first = client.post(
        URL, content=json.dumps(batch), headers={"Content-Type": "application/json"}
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["received"], body["stored"], body["duplicates"], body["quarantined"]) == (
        2,
        1,
        0,
        1,
    )
    assert body["reasons"] == {"non-numeric value": 1}
    again = client.post(
        URL, content=json.dumps(batch[:1]), headers={"Content-Type": "application/json"}
    )
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1)
    entity = {
        "id": "urn:ngsi-ld:TrafficFlowObserved:road-1",
        "type": "TrafficFlowObserved",
        "intensity": {"type": "Property", "value": 340, "observedAt": "2026-11-30T00:05:00Z"},
    }
    ngsi = client.post(
        URL, content=json.dumps([entity]), headers={"Content-Type": "application/ld+json"}
    )
    assert ngsi.json()["stored"] == 1
    csv_text = "site_id,metric,ts,value,unit\nroad-1,speed,2026-11-30T00:05:00Z,41.2,km/h\nghost,speed,2026-11-30T00:05:00Z,3,km/h\n"
    pushed = client.post(URL, content=csv_text, headers={"Content-Type": "text/csv; charset=utf-8"})
    assert pushed.json()["stored"] == 1 and pushed.json()["reasons"] == {"unknown site": 1}
    assert _rows(app, "observations", "site_id, metric, value, unit") == [
        ("air-1", "pm25", 35.0, None),
        ("road-1", "flow", 340.0, "vehicles"),
        ("road-1", "speed", 41.2, "km/h"),
    ]
    quarantined = _rows(app, "quarantine", "line, column_name, reason")
    assert quarantined == [(2, "value", "non-numeric value"), (3, "site_id", "unknown site")]
    sources = _rows(app, "quarantine", "source")
    assert all(str(s[0]).startswith("http:POST /api/ingest/observations") for s in sources)


def test_anonymous_and_business_callers_are_refused(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    payload = json.dumps(
        {"site_id": "air-1", "metric": "pm25", "ts": "2026-11-30T00:00:00Z", "value": 1}
    )
    headers = {"Content-Type": "application/json"}
    assert TestClient(app).post(URL, content=payload, headers=headers).status_code == 401
    business = TestClient(app, headers=grant(app, "business"))
    assert business.post(URL, content=payload, headers=headers).status_code == 403
    assert _rows(app, "observations", "count(*)") == [(0,)]


def test_an_unknown_content_type_is_415(app: FastAPI, grant: Callable[..., dict[str, str]]) -> None:
    client = TestClient(app, headers=grant(app, "admin"))
    response = client.post(URL, content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415
    assert "text/csv" in response.json()["error"]["message"]


def test_a_correction_for_a_stored_key_is_kept_aside_not_dropped(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    """The same key with a new value is not applied (the first value stays, so a replay
    never doubles anything), and is kept in quarantine with both values, its source and
    position, instead of vanishing as a duplicate."""
    client = TestClient(app, headers=grant(app, "government"))
    reading = {"site_id": "air-1", "metric": "pm25", "ts": "2026-11-30T09:00:00+08:00"}
    headers = {"Content-Type": "application/json"}
    client.post(URL, content=json.dumps([{**reading, "value": 35}]), headers=headers)
    same = client.post(URL, content=json.dumps([{**reading, "value": 35}]), headers=headers)
    assert (same.json()["duplicates"], same.json()["quarantined"]) == (1, 0)
    corrected = client.post(
        URL, content=json.dumps([{**reading, "value": 41}, {**reading, "value": 41}]),
        headers=headers,
    )  # fmt: skip
    body = corrected.json()
    assert (body["stored"], body["duplicates"], body["quarantined"]) == (0, 1, 1)
    assert body["reasons"] == {"a different value for an observation already stored": 1}
    kept = _rows(app, "quarantine", "line, column_name, reason")
    assert kept == [
        (1, "value", "a different value for an observation already stored: not applied "
                     "(35 stored, 41 sent)"),
    ]  # fmt: skip
    assert _rows(app, "observations", "value") == [(35.0,)]
