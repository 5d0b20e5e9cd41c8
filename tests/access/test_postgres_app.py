"""The app on the PostgreSQL store (URBANPULSE_ACCESS_DB_URL): keys and audit live there."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from urbanpulse.access import PostgresAccessStore, issue_key, verify_audit
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


def test_the_app_keeps_keys_and_audit_in_postgres(
    test_lake: Lake, postgres_schema: Callable[[], str]
) -> None:
    url = postgres_schema()
    app = create_app(Settings(lake_path=test_lake.root, access_db_url=url))
    store = app.state.access.store
    assert isinstance(store, PostgresAccessStore)
    _, token = issue_key(store, scope="admin", name="ops")
    client = TestClient(app)
    assert client.get("/api/quarantine").status_code == 401
    assert client.get("/api/quarantine", headers={"X-API-Key": token}).status_code == 200
    assert [e.status for e in PostgresAccessStore(url).read_audit()] == [401, 200]
    assert verify_audit(store).ok
