"""Fixtures for the index engine tests: the shared real-data folder, when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


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
def asem_dir(shared_data: Path) -> Path:
    folder = shared_data / "coinr-asem"
    if not (folder / "expected_values.json").is_file():
        pytest.skip(f"COINr ASEM data not found in {folder}")
    return folder
