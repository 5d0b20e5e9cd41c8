"""API clients over the shared test lake: anonymous, or with a key of a given scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from urbanpulse.access import issue_key
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


@pytest.fixture(scope="session")
def api_app(test_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app over the shared lake, its access store in a folder of its own."""
    access_db = tmp_path_factory.mktemp("access") / "access.sqlite3"
    return create_app(Settings(lake_path=test_lake.root, access_db=access_db))


@pytest.fixture(scope="session")
def client(api_app: FastAPI) -> Iterator[TestClient]:
    """An anonymous client (public scope)."""
    with TestClient(api_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def client_for(api_app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """Factory: ``client_for("government")`` is a client sending a fresh key of that
    scope (``"public"`` gives an anonymous one)."""
    clients: dict[str, TestClient] = {}

    def make(scope: str) -> TestClient:
        if scope not in clients:
            headers = {}
            if scope != "public":
                _, token = issue_key(api_app.state.access.store, scope=scope, name=f"test {scope}")
                headers["Authorization"] = f"Bearer {token}"
            clients[scope] = TestClient(api_app, headers=headers).__enter__()
        return clients[scope]

    yield make
    for test_client in clients.values():
        test_client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def government_client(client_for: Callable[[str], TestClient]) -> TestClient:
    """A client sending a government key."""
    return client_for("government")


@pytest.fixture(scope="session")
def admin_client(client_for: Callable[[str], TestClient]) -> TestClient:
    """A client sending an admin key."""
    return client_for("admin")
