"""The time zone and holiday country reach every forecasting path; half-hour zones work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from urbanpulse.cli.forecast import forecast_app
from urbanpulse.forecast import CalendarSpec, compute_panel, forecast_site
from urbanpulse.forecast.protocol import compute_slots
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, append_observations, upsert_sites

KOLKATA = CalendarSpec(tz="Asia/Kolkata", country="IN")


def build_kolkata_lake(root: Path) -> Lake:
    """Three weeks of 15-minute readings at one site, busy 08:00-09:00 Kolkata time."""
    ts = pd.date_range("2024-03-04", periods=21 * 96, freq="15min", tz="Asia/Kolkata")
    busy = np.asarray(ts.hour == 8)
    frame = pd.DataFrame(
        {
            "site_id": "in-1",
            "metric": "flow",
            "ts": ts.tz_convert("UTC"),
            "value": np.where(busy, 100.0, 10.0),
            "unit": "veh",
        }
    )
    lake = Lake(root / "lake")
    append_observations(lake, pa.Table.from_pandas(frame, preserve_index=False))
    upsert_sites(lake, pa.table({"site_id": ["in-1"], "kind": ["other"]}))
    return lake


def test_half_hour_zone_periods_start_on_the_local_hour() -> None:
    ts = pd.date_range("2024-03-04 08:00", periods=8, freq="15min", tz="Asia/Kolkata")
    observations = pd.DataFrame({"site_id": "a", "ts": ts, "value": np.arange(8.0)})
    panel = compute_panel(observations, period_minutes=60, tz=KOLKATA.tz)
    local = pd.DatetimeIndex(panel.index).tz_convert(KOLKATA.tz)
    assert [t.strftime("%H:%M") for t in local] == ["08:00", "09:00"]
    assert list(panel["a"]) == [1.5, 5.5]  # each local hour's own four readings
    slot, _ = compute_slots(pd.DatetimeIndex(panel.index), KOLKATA)
    assert list(slot) == [8, 9]


def test_forecast_in_a_half_hour_zone_puts_the_peak_at_local_eight(tmp_path: Path) -> None:
    lake = build_kolkata_lake(tmp_path)
    start = pd.Timestamp("2024-03-25 00:00", tz="Asia/Kolkata")
    forecast = forecast_site(
        lake,
        "in-1",
        "flow",
        start=start,
        horizon=24,
        period_minutes=60,
        model="seasonal_profile",
        calendar=KOLKATA,
    )
    local = pd.DatetimeIndex(forecast["ts"]).tz_convert(KOLKATA.tz)
    assert local[0] == start and (local.minute == 0).all()
    peak = local[int(np.argmax(forecast["yhat"].to_numpy()))]
    assert peak.hour == 8 and np.isclose(forecast["yhat"].max(), 100.0)


def test_backtest_command_takes_the_zone_and_country(tmp_path: Path) -> None:
    lake = build_kolkata_lake(tmp_path)
    out = tmp_path / "scores.json"
    args = ["--lake", str(lake.root), "--metric", "flow", "--period", "60", "--horizons", "1"]
    args += ["--models", "weekly_naive", "--out", str(out)]
    result = CliRunner().invoke(
        forecast_app, [*args, "--timezone", "Asia/Kolkata", "--holiday-country", "IN"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["spec"]["calendar"] == {
        "tz": "Asia/Kolkata",
        "country": "IN",
    }


def test_backtest_command_defaults_to_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = build_kolkata_lake(tmp_path)
    monkeypatch.setenv("URBANPULSE_LOCAL_TIMEZONE", "Asia/Kolkata")
    monkeypatch.setenv("URBANPULSE_HOLIDAY_COUNTRY", "IN")
    out = tmp_path / "scores.json"
    args = ["--lake", str(lake.root), "--metric", "flow", "--period", "60", "--horizons", "1"]
    result = CliRunner().invoke(
        forecast_app, [*args, "--models", "weekly_naive", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["spec"]["calendar"]["tz"] == "Asia/Kolkata"


def test_forecast_api_passes_the_settings_calendar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grant: Callable[..., dict[str, str]]
) -> None:
    from urbanpulse.api import create_app
    from urbanpulse.api.routers import forecasts

    lake = build_kolkata_lake(tmp_path)
    seen: list[CalendarSpec] = []

    def spy(*args: object, **kwargs: object) -> pd.DataFrame:
        seen.append(kwargs["calendar"])  # type: ignore[arg-type]
        return forecast_site(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(forecasts, "forecast_site", spy)
    settings = Settings(lake_path=lake.root, local_timezone="Asia/Kolkata", holiday_country="IN")
    app = create_app(settings)
    with TestClient(app) as client:
        # Single-site forecasts are operational detail: a government key reads them.
        response = client.get(
            "/api/sites/in-1/forecast",
            params={"metric": "flow", "period": 60, "horizon": 180, "model": "seasonal_profile"},
            headers=grant(app, "government"),
        )
    assert response.status_code == 200, response.text
    assert seen == [KOLKATA]
    stamps = pd.to_datetime([row["ts"] for row in response.json()["items"]], utc=True)
    assert (stamps.tz_convert("Asia/Kolkata").minute == 0).all()
