"""Operator API: a past day forecast from the days before it, and what advice moved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.twin import build_demo, is_demo_built


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, grant: Callable[..., dict[str, str]]
) -> Iterator[TestClient]:
    # The same session-wide demo lake as test_advice_api.py (built once per session).
    root = tmp_path_factory.getbasetemp() / "advice-demo"
    lake = Lake(root / "lake")
    if not is_demo_built(lake):
        build_demo(lake, weeks=1, drop_dir=root / "drop")
    app = create_app(Settings(lake_path=Path(lake.root), advice_holdout_share=0.0))
    # The operator's figures are for government (access/matrix.toml).
    with TestClient(app, headers=grant(app, "government")) as test_client:
        yield test_client


def test_accuracy_overlays_a_forecast_day_on_observations(client: TestClient) -> None:
    response = client.get("/api/operator/accuracy", params={"site_id": "bj-m1-s05", "days": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["day"] == "2026-10-31" and body["metric"] == "load"
    assert len(body["items"]) == 96
    assert set(body["items"][0]) == {"ts", "observed", "yhat", "p10", "p90"}
    assert all(r["observed"] is not None and r["yhat"] is not None for r in body["items"])
    assert [d["day"] for d in body["days"]] == ["2026-10-29", "2026-10-30", "2026-10-31"]
    for day in body["days"]:
        assert day["n"] == 96 and 0 <= day["wape"] < 100 and 0 <= day["coverage"] <= 1


def test_accuracy_skips_days_without_enough_history(client: TestClient) -> None:
    body = client.get(
        "/api/operator/accuracy", params={"site_id": "bj-m1-s05", "day": "2026-10-25"}
    ).json()
    assert body["items"] == [] and body["days"] == []


@pytest.mark.parametrize(
    ("params", "status"),
    [({"site_id": "nope"}, 404), ({"site_id": "bj-m1-s05", "days": 99}, 422),
     ({"site_id": "bj-m1-s05", "day": "31/10/2026"}, 422), ({}, 422)],
)  # fmt: skip
def test_accuracy_errors(client: TestClient, params: dict[str, object], status: int) -> None:
    response = client.get("/api/operator/accuracy", params=params)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "detail"}


def test_effect_is_empty_before_any_request(client: TestClient) -> None:
    # A day nobody asks about in this session (counts persist with the lake).
    body = client.get(
        "/api/operator/effect", params={"line_id": "tj-m3", "day": "2026-11-20"}
    ).json()
    assert (body["advised"], body["holdout"], body["moved"]) == (0, 0, 0)
    assert body["peak"] is None and body["items"] == []
    assert body["peak_share_cut"] is None and body["peak_share_cut_low"] is None
    assert "restart" in body["source"]


def _effect(client: TestClient, line_id: str, day: str) -> dict:
    return client.get("/api/operator/effect", params={"line_id": line_id, "day": day}).json()


def test_effect_counts_advised_requests_and_moves(
    client: TestClient, grant: Callable[..., dict[str, str]]
) -> None:
    query = {"origin": "tj-m3-s04", "destination": "tj-m3-s06", "start": "2026-11-02T07:00",
             "end": "2026-11-02T09:30", "preferred": "2026-11-02T08:00"}  # fmt: skip
    before = _effect(client, "tj-m3", "2026-11-02")
    riders = [grant(client.app, "business") for _ in range(5)]  # five clients, one request each
    answers = [client.post("/api/advice", json=query, headers=h).json() for h in riders]
    assert not any(a["holdout"] for a in answers)
    moved = sum(a["recommended"]["label"] != "08:00" for a in answers)
    body = _effect(client, "tj-m3", "2026-11-02")
    assert body["advised"] - before["advised"] == 5 and body["holdout"] == before["holdout"]
    assert body["moved"] - before["moved"] == moved
    if before["advised"] == 0:
        assert body["peak"] == "08:00" and body["moved_share"] == pytest.approx(moved / 5)
        peak = next(row for row in body["items"] if row["label"] == "08:00")
        assert peak["advised"] == 5 and peak["moved_out"] == moved
        assert sum(row["moved_in"] for row in body["items"]) == moved


def test_accuracy_sums_counts_per_period_and_says_so(client: TestClient) -> None:
    # Boardings are 5-minute counts: a 15-minute period shows their total, three readings.
    bus = client.get("/api/operator/accuracy", params={"site_id": "bd-b1-s02", "days": 1}).json()
    assert bus["aggregation"] == "sum" and bus["value_label"].startswith("boardings per 15 min")
    raw = client.get(
        "/api/sites/bd-b1-s02/observations",
        params={"metric": "boardings", "start": bus["items"][0]["ts"],
                "end": bus["items"][1]["ts"]},
    ).json()  # fmt: skip
    readings = [row["value"] for row in raw["items"]]
    assert len(readings) == 3
    assert bus["items"][0]["observed"] == pytest.approx(sum(readings))
    metro = client.get("/api/operator/accuracy", params={"site_id": "bj-m1-s05", "days": 1}).json()
    assert metro["aggregation"] == "mean" and "mean over 15 min" in metro["value_label"]
