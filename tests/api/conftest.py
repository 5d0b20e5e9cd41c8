"""An API client over the shared test lake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


@pytest.fixture(scope="session")
def client(test_lake: Lake) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(lake_path=test_lake.root))) as test_client:
        yield test_client
