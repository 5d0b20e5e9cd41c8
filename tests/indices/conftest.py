"""Fixtures for the index engine tests: the shared real-data folder, when present."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def asem_dir(shared_data: Path) -> Path:
    folder = shared_data / "coinr-asem"
    if not (folder / "expected_values.json").is_file():
        pytest.skip(f"COINr ASEM data not found in {folder}")
    return folder
