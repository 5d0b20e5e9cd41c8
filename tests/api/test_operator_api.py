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
    ("route", "params", "status"),
    [("accuracy", {"site_id": "nope"}, 404), ("accuracy", {"site_id": "bj-m1-s05", "days": 99}, 422),
     ("accuracy", {"site_id": "bj-m1-s05", "day": "31/10/2026"}, 422), ("accuracy", {}, 422),
     ("line-day", {"line_id": "nope"}, 404), ("line-day", {"line_id": "bj-m1", "day": "2020-01-01"}, 404),
     ("line-day", {"line_id": "bj-m1", "day": "31/10/2026"}, 422), ("line-day", {}, 422),
     ("line-day.csv", {"line_id": "nope"}, 404)],
)  # fmt: skip
def test_operator_errors(
    client: TestClient, route: str, params: dict[str, object], status: int
) -> None:
    response = client.get(f"/api/operator/{route}", params=params)
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


def test_line_day_is_a_grid_of_stations_by_period_with_last_week(client: TestClient) -> None:
    response = client.get("/api/operator/line-day", params={"line_id": "bj-m1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["day"], body["compare_day"]) == ("2026-10-31", "2026-10-24")
    assert body["metric"] == "load" and body["aggregation"] == "mean"
    stations = body["stations"]
    assert [s["sequence"] for s in stations] == sorted(s["sequence"] for s in stations)
    assert len(body["periods"]) == 96 and body["periods"][0].startswith("2026-10-31T00:00:00+08:00")
    assert len(body["observed"]) == len(body["last_week"]) == len(stations)
    assert all(len(row) == 96 for row in body["observed"])
    # the demo holds 2026-10-25 onwards: a week before the last day has no readings
    assert all(v is None for row in body["last_week"] for v in row)
    # each cell is the period's mean load, as the accuracy chart of that station shows it
    accuracy = client.get(
        "/api/operator/accuracy", params={"site_id": stations[4]["site_id"], "days": 1}
    ).json()
    assert body["observed"][4] == pytest.approx(
        [r["observed"] for r in accuracy["items"]], abs=1e-4
    )
    for alert in body["alerts"]:
        assert alert["side"] in ("above", "below") and alert["start"] < alert["end"]
        assert (alert["observed"] - alert["band_edge"]) * (
            1 if alert["side"] == "above" else -1
        ) > 0
    excesses = [a["excess"] for a in body["alerts"]]
    assert excesses == sorted(excesses, reverse=True)


def test_line_day_of_a_bus_line_sums_boardings_per_period(client: TestClient) -> None:
    body = client.get("/api/operator/line-day", params={"line_id": "bd-b1"}).json()
    assert body["metric"] == "boardings" and body["aggregation"] == "sum"
    # a period's total, as the stop's accuracy chart gives it (boardings per 15 min)
    site_id = body["stations"][2]["site_id"]
    accuracy = client.get("/api/operator/accuracy", params={"site_id": site_id, "days": 1}).json()
    assert accuracy["aggregation"] == "sum"
    assert body["observed"][2] == pytest.approx(
        [r["observed"] for r in accuracy["items"]], abs=1e-4
    )
    assert max(v for v in body["observed"][2] if v is not None) > 10


def test_line_day_shows_any_measure_the_line_reports(client: TestClient) -> None:
    load = client.get("/api/operator/line-day", params={"line_id": "bj-m1"}).json()
    # the demo's metro stations report the trains' load (the busier direction's and
    # each direction's) and the riders boarding
    assert load["metrics"] == ["load", "load_up", "load_down", "boardings"]
    params = {"line_id": "bj-m1", "metric": "boardings"}
    boardings = client.get("/api/operator/line-day", params=params).json()
    assert boardings["metric"] == "boardings" and boardings["aggregation"] == "sum"
    assert boardings["metrics"] == load["metrics"] and boardings["day"] == load["day"]
    busiest = max(v for row in boardings["observed"] for v in row if v is not None)
    assert busiest > 10 and busiest != max(v for row in load["observed"] for v in row if v)
    export = client.get("/api/operator/line-day.csv", params=params)
    assert "bj-m1-boardings-" in export.headers["content-disposition"]
    first = export.text.lstrip("\ufeff").splitlines()[1].split(",")[3:]
    assert all(cell == "" or cell.isdigit() for cell in first)  # whole riders per period


@pytest.mark.parametrize(
    ("metric", "status", "said"),
    [
        ("exits", 400, "has no 'exits' readings; it has: load, load_up, load_down, boardings"),
        ("speed", 422, "metric"),
    ],
)
def test_a_measure_the_line_lacks_is_refused_with_what_it_has(
    client: TestClient, metric: str, status: int, said: str
) -> None:
    response = client.get("/api/operator/line-day", params={"line_id": "bj-m1", "metric": metric})
    assert response.status_code == status
    assert said in response.text


def test_line_day_exports_a_wide_table_in_the_request_language(client: TestClient) -> None:
    params = {"line_id": "bj-m1", "day": "2026-10-31"}
    english = client.get("/api/operator/line-day.csv", params=params)
    assert english.status_code == 200
    assert english.headers["content-type"].startswith("text/csv")
    assert "bj-m1-load-2026-10-31.csv" in english.headers["content-disposition"]
    rows = english.text.lstrip("\ufeff").splitlines()
    assert rows[0].startswith("Day,Station,Station id,00:00,00:15")
    assert len(rows) == 1 + 2 * len(
        client.get("/api/operator/line-day", params=params).json()["stations"]
    )
    assert rows[1].startswith("2026-10-31,Pingguoyuan,bj-m1-s01,")
    chinese = client.get(
        "/api/operator/line-day.csv", params=params, headers={"Accept-Language": "zh-CN"}
    )
    head, first = chinese.text.lstrip("\ufeff").splitlines()[:2]
    assert head.startswith("日期,") and first.startswith("2026-10-31,苹果园,bj-m1-s01,")
