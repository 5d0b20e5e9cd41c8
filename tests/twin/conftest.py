"""Fixtures for the demo city cluster: small spans so the suite stays fast."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from urbanpulse.store import Lake
from urbanpulse.twin import DemoSummary, Network, build_demo, build_network, build_observations

# Two weeks that hold the Mid-Autumn Festival, a swapped working day and Golden Week.
SPAN_END = date(2026, 10, 7)


@pytest.fixture(scope="session")
def network() -> Network:
    return build_network(7)


@pytest.fixture(scope="session")
def observations(network: Network) -> pd.DataFrame:
    table = build_observations(network, seed=7, weeks=2, end=SPAN_END)
    frame = table.to_pandas()
    local = frame["ts"].dt.tz_convert("Asia/Shanghai")
    return frame.assign(day=local.dt.date, hour=local.dt.hour + local.dt.minute / 60)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, DemoSummary, list[str]]:
    """A lake with a one-week demo, and the progress steps reported while building it."""
    root = tmp_path_factory.mktemp("demo") / "lake"
    lake = Lake(root)
    steps: list[str] = []
    summary = build_demo(
        lake, seed=11, weeks=1, end=SPAN_END, progress=lambda s, d, t: steps.append(s)
    )
    return lake, summary, steps
