"""GET /api/live/sections and the server-sent events of GET /api/live/stream."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.conftest import write_loads

from urbanpulse.api import create_app
from urbanpulse.api.routers import live as live_router
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.twin import build_network

LINE_4 = [f"bj-m4-s{k:02d}" for k in range(1, 24)]
SSE = {"Accept": "text/event-stream"}  # what EventSource sends


@pytest.fixture
def live_app(tmp_path: Path) -> FastAPI:
    """An app over the demo network's sites with one fresh reading on Line 4."""
    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, build_network(2026).sites)
    write_loads(lake, dict.fromkeys(LINE_4, 0.3), datetime.now(UTC))
    return create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))


def _line(snapshot: dict[str, Any], line_id: str) -> dict[str, Any]:
    return next(line for line in snapshot["lines"] if line["line_id"] == line_id)


def test_snapshot_is_open_to_anyone_and_colours_every_section(live_app: FastAPI) -> None:
    with TestClient(live_app) as client:
        response = client.get("/api/live/sections")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "synthetic", "version", "generated_at", "last_reading", "stale", "stale_since",
        "stale_after_s", "stale_sections", "levels", "lines",
    }  # fmt: skip
    assert body["synthetic"] is True and body["stale"] is False and body["stale_since"] is None
    line = _line(body, "bj-m4")
    assert len(line["sections"]) == len(LINE_4) - 1
    assert {s["level"] for s in line["sections"]} == {"comfortable"}
    assert line["sections"][0]["from_site_id"] == LINE_4[0]
    assert [lvl["name_en"] for lvl in body["levels"]] == [
        "comfortable", "normal", "crowded", "very crowded",
    ]  # fmt: skip


def test_snapshot_says_since_when_the_feed_is_stale(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, build_network(2026).sites)
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    write_loads(lake, dict.fromkeys(LINE_4, 0.9), last)
    app = create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))
    with TestClient(app) as client:
        body = client.get("/api/live/sections").json()
    assert body["stale"] is True
    assert pd.Timestamp(body["stale_since"]) == pd.Timestamp(last)
    assert body["stale_sections"] == len(LINE_4) - 1
    assert {s["level"] for s in _line(body, "bj-m4")["sections"]} == {"crowded"}  # last known


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) of each server-sent event, as EventSource parses them."""
    name, data = "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


@pytest.fixture
def fast_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams that look for data ten times a second and beat after half a second."""
    monkeypatch.setattr(live_router, "TICK_SECONDS", 0.1)
    monkeypatch.setattr(live_router, "HEARTBEAT_SECONDS", 0.5)


def test_stream_pushes_a_snapshot_at_once_and_again_when_data_arrives(
    live_app: FastAPI,
    app_server: Callable[[FastAPI], AbstractContextManager[str]],
    fast_stream: None,
) -> None:
    lake: Lake = live_app.state.lake
    with (
        app_server(live_app) as url,
        httpx.stream("GET", f"{url}/api/live/stream", headers=SSE, timeout=30) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        events = read_events(r)
        name, first = next(events)
        assert name == "sections"
        assert {s["level"] for s in _line(first, "bj-m4")["sections"]} == {"comfortable"}

        write_loads(lake, {LINE_4[0]: 1.2, LINE_4[1]: 1.2}, datetime.now(UTC))
        name, second = next(events)
        while name != "sections":  # heartbeats may come first
            name, second = next(events)
        assert second["version"] > first["version"]
        assert _line(second, "bj-m4")["sections"][0]["level"] == "very_crowded"

        name, beat = next(events)  # nothing new: the stream beats
        assert name == "heartbeat" and datetime.fromisoformat(beat["time"])


def test_stream_ends_after_max_events_and_its_lifetime(
    tmp_path: Path,
    live_app: FastAPI,
    app_server: Callable[[FastAPI], AbstractContextManager[str]],
    fast_stream: None,
) -> None:
    with app_server(live_app) as url:
        with httpx.stream(
            "GET", f"{url}/api/live/stream?max_events=2", headers=SSE, timeout=30
        ) as r:
            names = [name for name, _ in read_events(r)]
        assert names == ["sections", "heartbeat"]
    live_app.state.settings.live_stream_max_s = 0  # the stream reads it per connection
    with TestClient(live_app) as client:
        response = client.get("/api/live/stream", headers=SSE)
    assert response.status_code == 200
    assert response.text.count("event: sections") == 1
    assert response.text.startswith("retry: ")


def test_a_client_that_does_not_ask_for_events_gets_one_snapshot(live_app: FastAPI) -> None:
    with TestClient(live_app) as client:  # Accept: */*, like curl or a crawler
        response = client.get("/api/live/stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.count("event: ") == 1 and "event: sections" in response.text


def test_stream_rejects_a_bad_max_events_as_json(live_app: FastAPI) -> None:
    with TestClient(live_app) as client:
        response = client.get("/api/live/stream?max_events=0")
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
