"""The monitor API: JSON shapes, what-if, traces that reproduce numbers, exports."""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_indicators
from urbanpulse.twin.indicators import build_indicators

CONCEPTS = ["innovation", "coordination", "green", "openness", "sharing"]


@pytest.fixture(scope="module")
def monitor_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    lake = Lake(tmp_path_factory.mktemp("monitor") / "lake")
    upsert_indicators(lake, pa.Table.from_pandas(build_indicators(2026), preserve_index=False))
    with TestClient(create_app(Settings(lake_path=lake.root))) as client:
        yield client


def test_monitor_summary_has_every_table(monitor_client: TestClient) -> None:
    body = monitor_client.get("/api/monitor").json()
    assert body["synthetic"] is True
    assert body["years"] == list(range(2014, 2025))
    assert body["base_year"] == 2014
    assert [c["code"] for c in body["concepts"]] == CONCEPTS
    assert len(body["cities"]) == 13
    score = body["series"]["score"]
    assert set(score) == {*CONCEPTS, "index"}
    assert all(len(v) == 11 for v in score["index"].values())
    assert set(body["series"]["base_year"]["index"]["130400"]) and all(
        v == pytest.approx(100.0) for v in [body["series"]["base_year"]["index"]["130400"][0]]
    )
    assert {"median_rank", "rank_p05", "rank_p95"} <= set(body["ranks"][0])
    assert {"theil_t", "theil_t_between", "gini_weighted", "cv"} <= set(body["disparity"][0])
    assert body["area_ratios"][0]["ratio_text"].endswith(": 1")


def test_ranking_has_intervals_around_the_rank(monitor_client: TestClient) -> None:
    body = monitor_client.get("/api/monitor/ranking", params={"year": 2024}).json()
    assert body["year"] == 2024 and body["count"] == 13
    ranks = [row["rank"] for row in body["items"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    for row in body["items"]:
        assert row["rank_p05"] <= row["median_rank"] <= row["rank_p95"]
        assert row["name_en"] and row["name_zh"]


def test_unknown_year_is_a_404_in_the_one_error_shape(monitor_client: TestClient) -> None:
    response = monitor_client.get("/api/monitor/ranking", params={"year": 1990})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_what_if_with_default_weights_equals_the_base_result(monitor_client: TestClient) -> None:
    body = monitor_client.get("/api/monitor/what-if", params={"year": 2024}).json()
    assert body["concept_weights"] == {c: pytest.approx(0.2) for c in CONCEPTS}
    for row in body["items"]:
        assert row["rank_shift"] == 0
        assert row["score"] == pytest.approx(row["base_score"])
    ranking = monitor_client.get("/api/monitor/ranking", params={"year": 2024}).json()
    assert [r["region_code"] for r in body["items"]] == [r["region_code"] for r in ranking["items"]]


def test_what_if_moves_ranks_when_weights_change(monitor_client: TestClient) -> None:
    params = {"year": 2024, "green": 10, "innovation": 0}
    body = monitor_client.get("/api/monitor/what-if", params=params).json()
    assert body["concept_weights"]["green"] == pytest.approx(10 / 13)
    assert any(row["rank_shift"] != 0 for row in body["items"])
    assert sorted(row["rank"] for row in body["items"]) == list(range(1, 14))


def test_what_if_refuses_all_zero_weights(monitor_client: TestClient) -> None:
    params = dict.fromkeys(CONCEPTS, 0)
    response = monitor_client.get("/api/monitor/what-if", params=params)
    assert response.status_code == 400
    assert "all zero" in response.json()["error"]["message"]


def test_trace_of_a_concept_reproduces_its_score(monitor_client: TestClient) -> None:
    summary = monitor_client.get("/api/monitor").json()
    params = {"region": "130400", "year": 2024, "code": "coordination"}
    trace = monitor_client.get("/api/monitor/trace", params=params).json()["trace"]
    shown = summary["series"]["score"]["coordination"]["130400"][-1]
    assert trace["value"] == pytest.approx(shown, abs=1e-3)
    rebuilt = sum(c["value"] * c["weight"] for c in trace["children"]) / sum(
        c["weight"] for c in trace["children"]
    )
    assert rebuilt == pytest.approx(trace["value"])


def test_trace_of_an_indicator_reproduces_its_normalised_value(monitor_client: TestClient) -> None:
    params = {"region": "130400", "year": 2024, "code": "coo_gdp"}
    trace = monitor_client.get("/api/monitor/trace", params=params).json()["trace"]
    stages = {s["stage"]: s["value"] for s in trace["stages"]}
    fw = trace["framework"]
    # Raw GDP (100 million yuan) over population, times the scale: yuan per resident.
    assert stages["denominated"] == pytest.approx(
        stages["raw"] * fw["scale"] / fw["denominator_value"]
    )
    norm = trace["normalisation"]
    rebuilt = 100 * (stages["treated"] - norm["min"]) / (norm["max"] - norm["min"])
    assert rebuilt == pytest.approx(stages["normalised"]) == trace["value"]


def test_base_year_trace_of_the_growth_gap_uses_the_shift(monitor_client: TestClient) -> None:
    params = {"region": "130400", "year": 2024, "code": "coo_gdp_growth_gap", "kind": "base_year"}
    trace = monitor_client.get("/api/monitor/trace", params=params).json()["trace"]
    norm = trace["normalisation"]
    raw = trace["stages"][-2]["value"]
    expected = 100 * (raw + norm["shift"]) / (norm["base_value"] + norm["shift"])
    assert trace["value"] == pytest.approx(expected)
    assert 90 < trace["value"] < 110


def test_coupling_between_cities_and_between_concepts(monitor_client: TestClient) -> None:
    cities = monitor_client.get(
        "/api/monitor/coupling", params={"cities": "110000,120000,130600"}
    ).json()
    assert cities["count"] == 11
    row = cities["items"][-1]
    assert set(row) == {"year", "coupling", "development", "coordination", "band"}
    assert 0 <= row["coordination"] <= 1 and row["band"]
    concepts = monitor_client.get(
        "/api/monitor/coupling", params={"city": "130400", "concepts": "green,innovation"}
    ).json()
    assert concepts["count"] == 11
    bad = monitor_client.get("/api/monitor/coupling", params={"cities": "110000"})
    assert bad.status_code == 400


def test_csv_export_opens_with_pandas(monitor_client: TestClient) -> None:
    response = monitor_client.get("/api/monitor/export.csv", params={"table": "ranks"})
    assert response.status_code == 200
    table = pd.read_csv(io.StringIO(response.content.decode("utf-8-sig")))
    assert list(table.columns) == [
        "region_code",
        "name_en",
        "name_zh",
        "year",
        "rank",
        "median_rank",
        "rank_p05",
        "rank_p95",
    ]
    assert len(table) == 13 * 11


def test_excel_export_has_one_sheet_per_table(monitor_client: TestClient) -> None:
    response = monitor_client.get("/api/monitor/export.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    names = monitor_client.get("/api/monitor").json()["tables"]
    published = ["Ranking 2024", "Total score by year", "Base-year index by year",
                 "Coordination 2024"]  # fmt: skip
    assert book.sheetnames == published + names[4:]
    assert names[:4] == ["ranking", "score_by_year", "index_by_year", "coordination"]
    scores = pd.read_excel(io.BytesIO(response.content), sheet_name="scores")
    assert len(scores) == 13 * 11 * 6


def test_published_tables_are_wide_rounded_and_in_the_readers_language(
    monitor_client: TestClient,
) -> None:
    """As a statistics bureau prints them: a row per city, a column per year or concept,
    one decimal (three for coupling), headers and names in the request's language."""
    chinese = {"Accept-Language": "zh-CN"}
    response = monitor_client.get("/api/monitor/export.xlsx", headers=chinese)
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames[:4] == ["2024 年排名", "历年总得分", "历年基期指数", "2024 年耦合协调"]
    ranking = pd.read_excel(io.BytesIO(response.content), sheet_name="2024 年排名")
    assert list(ranking.columns[:5]) == ["排名", "城市", "得分", "指数（2014=100）", "排名区间"]
    assert ranking["排名"].tolist() == list(range(1, 14)) and ranking["城市"].iloc[0] == "北京"
    assert (ranking["得分"] == ranking["得分"].round(1)).all()
    by_year = pd.read_csv(io.StringIO(monitor_client.get(
        "/api/monitor/export.csv", params={"table": "score_by_year"}
    ).content.decode("utf-8-sig")))  # fmt: skip
    assert list(by_year.columns) == ["City", *(str(y) for y in range(2014, 2025))]
    assert len(by_year) == 13 and by_year["City"].iloc[0] == "Beijing"
    # the same figures as the long table, rounded to one decimal
    long = monitor_client.get("/api/monitor/export.csv", params={"table": "scores"})
    scores = pd.read_csv(io.StringIO(long.content.decode("utf-8-sig")))
    beijing = scores[(scores["name_en"] == "Beijing") & (scores["code"] == "index")]
    assert by_year.iloc[0]["2024"] == round(
        float(beijing[beijing["year"] == 2024]["value"].iloc[0]), 1
    )


def test_monitor_without_indicators_says_how_to_get_them(client: TestClient) -> None:
    response = client.get("/api/monitor")
    assert response.status_code == 404
    assert "urbanpulse indices load" in response.json()["error"]["message"]


@pytest.mark.parametrize("weight", ["inf", "-inf", "nan"])
def test_what_if_refuses_weights_that_are_not_numbers(
    monitor_client: TestClient, weight: str
) -> None:
    """inf passed "zero or more" and answered 200 with every score null."""
    response = monitor_client.get(
        "/api/monitor/what-if", params={"year": 2024, "innovation": weight}
    )
    assert response.status_code in (400, 422), response.text[:200]
    trace = monitor_client.get(
        "/api/monitor/trace", params={"region": "130400", "year": 2024, "code": "innovation"}
    ).json()["trace"]
    indicator = trace["children"][0]["code"]
    while trace["children"] and trace["children"][0].get("children"):
        trace = trace["children"][0]
        indicator = trace["children"][0]["code"] if trace["children"] else indicator
    by_indicator = monitor_client.get(
        "/api/monitor/what-if", params={"year": 2024, "indicator_weights": f"{indicator}:{weight}"}
    )
    assert by_indicator.status_code == 400, by_indicator.text[:200]
    assert "finite" in by_indicator.json()["error"]["message"]
