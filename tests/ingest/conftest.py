"""Fixtures for ingest tests: the shared real data folder, mappings, fresh lakes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from urbanpulse.store import Lake

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MAPPINGS = REPO / "mappings"


def shared_data_dir() -> Path:
    """../shared/data beside the checkout, or the folder named by URBANPULSE_SHARED_DATA."""
    return Path(os.environ.get("URBANPULSE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    folder = shared_data_dir()
    if not folder.is_dir():
        pytest.skip(f"real third-party data not found at {folder} (set URBANPULSE_SHARED_DATA)")
    return folder


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")
