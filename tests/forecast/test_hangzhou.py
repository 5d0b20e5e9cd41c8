"""Real metro ridership (Hangzhou, 80 stations): auto beats the weekly naive a day ahead.

Train on the first 18 days, forecast each of the last 7 at its local midnight; the
data's README gives the weekly naive WAPE 14.7 % on this split. Skipped without
../shared/data. Takes about two minutes on two shared cores.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from urbanpulse.forecast import CalendarSpec, compute_day_ahead, compute_panel

HANGZHOU = CalendarSpec(tz="Asia/Shanghai", country="CN")


@pytest.fixture(scope="module")
def hangzhou_panel(shared_data: Path) -> pd.DataFrame:
    source = shared_data / "hangzhou-metro" / "entries_10min.csv"
    if not source.is_file():
        pytest.skip(f"Hangzhou metro entries not found at {source}")
    raw = pd.read_csv(source)
    local = pd.to_datetime(raw["date"] + " " + raw["time"], format="%Y-%m-%d %H:%M")
    observations = pd.DataFrame(
        {
            "site_id": "hz-" + raw["station"].astype(str),
            "ts": local.dt.tz_localize(HANGZHOU.tz),
            "value": raw["entries"].astype(float),
        }
    )
    return compute_panel(observations, period_minutes=10, tz=HANGZHOU.tz)


def test_auto_beats_the_weekly_naive_a_day_ahead(hangzhou_panel: pd.DataFrame) -> None:
    result = compute_day_ahead(
        hangzhou_panel,
        test_start=date(2019, 1, 19),
        models=["seasonal_profile", "auto"],
        calendar=HANGZHOU,
    )
    assert result.test_days == [date(2019, 1, d) for d in range(19, 26)]
    scores = result.scores.set_index("model")
    assert scores.loc["weekly_naive", "wape"] == pytest.approx(14.7, abs=0.05)  # the README's
    assert scores.loc["auto", "n"] == 7 * 108 * 80
    assert scores.loc["auto", "wape_vs_weekly_naive"] <= 0.85
    assert scores.loc["auto", "wape"] < scores.loc["seasonal_profile", "wape"]
