"""An access store that stops answering: closed routes answer 503 in one line, health
says degraded, and everything works again as soon as the store is back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from urbanpulse.access import issue_key
from urbanpulse.access.store import PostgresAccessStore
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


def test_an_outage_of_the_access_store_is_a_503_and_health_says_so(
    test_lake: Lake, tmp_path: Path, postgres_schema: Callable[[], str]
) -> None:
    url = postgres_schema()
    app = create_app(Settings(lake_path=test_lake.root, access_db_url=url))
    _, token = issue_key(app.state.access.store, scope="admin", name="ops")
    caller = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert caller.get("/api/quarantine").status_code == 200
    store = app.state.access.store
    assert isinstance(store, PostgresAccessStore)
    store.url = "postgresql://postgres@127.0.0.1:1/nowhere"  # the server goes away
    down = caller.get("/api/quarantine")
    assert down.status_code == 503
    body = down.json()["error"]
    # refused for the store, or (the refusal's own audit entry failing too) for the log
    assert body["code"] in ("store_unavailable", "service_unavailable")
    assert "\n" not in body["message"]
    assert "Traceback" not in down.text and "raw" not in down.text
    health = TestClient(app).get("/api/health").json()
    assert (health["status"], health["access_store"]) == ("degraded", "unavailable")
    assert TestClient(app).get("/api/cities").status_code == 200  # public: still served
    store.url = url  # back: the same key works at once (no stale "anonymous" verdict)
    assert caller.get("/api/quarantine").status_code == 200
    health = TestClient(app).get("/api/health").json()
    assert (health["status"], health["access_store"]) == ("ok", "ok")
