"""Fixtures for the transit tests: the shared real feeds (skipped when absent) and lakes
holding them, each loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from urbanpulse.store import Lake
from urbanpulse.transit import LoadSummary, load_network


def get_shared_data_dir() -> Path:
    """../shared/data beside the checkout, or the folder named by URBANPULSE_SHARED_DATA."""
    env = os.environ.get("URBANPULSE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = get_shared_data_dir()
    if not folder.is_dir():
        pytest.skip(f"shared real data not found at {folder} (set URBANPULSE_SHARED_DATA)")
    return folder


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
