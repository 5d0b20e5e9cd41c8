"""Fixtures for the forecasting tests: synthetic panels and lakes, and Los-loop when present."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from urbanpulse.store import Lake, append_observations

LOS_LOOP_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "los-loop.toml"


def build_daily_panel(
    *, days: int = 14, period_minutes: int = 60, sites: int = 3, noise: float = 1.0, seed: int = 0
) -> pd.DataFrame:
    """Sites with a daily cycle (different amplitude each) plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(
        "2024-03-04",
        periods=days * 1440 // period_minutes,
        freq=f"{period_minutes}min",
        tz="UTC",
        name="ts",
    )
    hours = (index.hour + index.minute / 60).to_numpy()
    cycle = np.sin(2 * np.pi * hours / 24)
    columns = {
        f"s{i}": 50 + (5 + 5 * i) * cycle + rng.normal(0, noise, len(index)) for i in range(sites)
    }
    return pd.DataFrame(columns, index=index)


@pytest.fixture
def daily_panel() -> Callable[..., pd.DataFrame]:
    """Factory for synthetic panels (see :func:`build_daily_panel`)."""
    return build_daily_panel


@pytest.fixture
def synthetic_lake(tmp_path: Path) -> Lake:
    """A lake holding three weeks of hourly 'flow' at three sites."""
    panel = build_daily_panel(days=21, period_minutes=60)
    long = panel.reset_index().melt(id_vars="ts", var_name="site_id", value_name="value")
    long["metric"], long["unit"] = "flow", "veh/h"
    lake = Lake(tmp_path / "lake")
    append_observations(
        lake,
        pa.Table.from_pandas(
            long[["site_id", "metric", "ts", "value", "unit"]], preserve_index=False
        ),
    )
    return lake


@pytest.fixture(scope="session")
def los_loop_lake(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Los-loop ingested once per session into a temporary lake."""
    from urbanpulse.ingest import ingest_files, read_mapping

    source = shared_data / "los-loop" / "los_speed.csv"
    if not source.is_file():
        pytest.skip(f"Los-loop speeds not found at {source}")
    lake = Lake(tmp_path_factory.mktemp("los-loop") / "lake")
    ingest_files(lake, [source], read_mapping(LOS_LOOP_MAPPING))
    return lake
