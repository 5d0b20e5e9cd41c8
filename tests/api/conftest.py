"""An API client over the shared test lake, the shared demo lake and a live server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.twin import build_demo, is_demo_built


@pytest.fixture(scope="session")
def client(test_lake: Lake) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(lake_path=test_lake.root))) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """One small demo lake (one week, 2026-10-25..31) per test session, shared by files."""
    root = tmp_path_factory.getbasetemp() / "advice-demo"
    lake = Lake(root / "lake")
    if not is_demo_built(lake):
        build_demo(lake, weeks=1, drop_dir=root / "drop")
    return lake
