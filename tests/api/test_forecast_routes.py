"""GET /api/sites/{site_id}/forecast."""

from __future__ import annotations

import pandas as pd
from fastapi.testclient import TestClient

SIMPLE_MODELS = (
    "persistence",
    "rolling_mean",
    "seasonal_profile",
    "weekly_naive",
    "recent_days",
)


def test_forecast_continues_after_the_last_observation_with_a_band(
    government_client: TestClient,
) -> None:
    client = government_client
    response = client.get(
        "/api/sites/bj-metro-1/forecast", params={"metric": "passengers", "horizon": 120}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period_minutes"] == 15 and body["synthetic"] is True
    assert body["count"] == 8 == len(body["items"])
    stamps = pd.to_datetime([item["ts"] for item in body["items"]])
    assert (stamps.to_series().diff().dropna() == pd.Timedelta(minutes=15)).all()
    for item in body["items"]:
        assert item["p10"] <= item["yhat"] <= item["p90"]
        # one simple model, or the mean of two (joined by '+')
        assert set(item["model"].split("+")) <= set(SIMPLE_MODELS)

    last = client.get(
        "/api/sites/bj-metro-1/observations", params={"metric": "passengers", "limit": 1}
    ).json()["items"][-1]["ts"]
    assert stamps[0] == pd.Timestamp(last) + pd.Timedelta(minutes=15)


def test_forecast_rejects_horizons_beyond_a_day_and_unknown_metrics(
    government_client: TestClient,
) -> None:
    client = government_client
    too_far = client.get(
        "/api/sites/bj-metro-1/forecast", params={"metric": "passengers", "horizon": 2000}
    )
    assert too_far.status_code == 422
    assert too_far.json()["error"]["code"]
    unknown = client.get("/api/sites/bj-metro-1/forecast", params={"metric": "nothing"})
    assert unknown.status_code == 404
    assert "passengers" in unknown.json()["error"]["message"]
