"""Fixtures for the transit tests: the shared real feeds (skipped when absent) and lakes
holding them, each loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from urbanpulse.store import Lake
from urbanpulse.transit import LoadSummary, load_network


@pytest.fixture(scope="session")
def beijing_lake(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Lake, LoadSummary]:
    """The Beijing subway file loaded once into a temporary lake, with its summary."""
    source = shared_data / "beijing-subway-2017"
    if not (source / "subway.json").is_file():
        pytest.skip(f"Beijing subway file not found in {source}")
    lake = Lake(tmp_path_factory.mktemp("beijing") / "lake")
    return lake, load_network(lake, source)
