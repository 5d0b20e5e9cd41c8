"""Fixtures for ingest tests: the shared real data folder, mappings, fresh lakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from urbanpulse.store import Lake

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MAPPINGS = REPO / "mappings"


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")
