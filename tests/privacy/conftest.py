"""Fixtures for the privacy tests: tiny tap files, key rings, and the real Shenzhen taps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from urbanpulse.privacy import KeyRing

HEADER = "card_no,deal_date,deal_type,deal_money,deal_value,equ_no,company_name,station,car_no,conn_mark,close_date"


def build_tap_line(card: str, when: str, kind: str, station: str, line: str = "地铁一号线") -> str:
    """One Shenzhen-layout tap row."""
    return f"{card},{when},{kind},0,0,260000000,{line},{station},IGT-1,0,2018-09-01 00:00:00"


@pytest.fixture
def tap_file(tmp_path: Path) -> Callable[[list[str]], Path]:
    """Factory: write Shenzhen-layout rows (see :func:`build_tap_line`) to a CSV."""
    counter = iter(range(1000))

    def write(lines: list[str]) -> Path:
        path = tmp_path / f"taps_{next(counter)}.csv"
        path.write_text("\n".join([HEADER, *lines]) + "\n", "utf-8")
        return path

    return write


@pytest.fixture
def keys(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


@pytest.fixture(scope="session")
def shenzhen_dir(shared_data: Path) -> Path:
    folder = shared_data / "shenzhen-smartcard"
    if not folder.is_dir():
        pytest.skip(f"Shenzhen smart-card taps not found at {folder} (set URBANPULSE_SHARED_DATA)")
    return folder
