"""Cities, sites and health."""

from __future__ import annotations

from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.lake import NETWORK_TABLES, REALTIME_TABLES, ROLLUP_TABLES, TAP_TABLES


def test_cities_lists_the_region_with_both_names(client: TestClient) -> None:
    body = client.get("/api/cities").json()
    assert body["synthetic"] is False
    assert body["count"] == 13 == len(body["items"])
    beijing = body["items"][0]
    assert beijing == {
        "code": "110000",
        "name_zh": "北京",
        "name_en": "Beijing",
        "area": "BJ",
        "lat": 39.9042,
        "lon": 116.4074,
        "population_2020": 21_893_095,
        "sites": 1,
    }
    assert sum(c["sites"] for c in body["items"]) == 3


def test_sites_lists_all_and_says_they_are_synthetic(client: TestClient) -> None:
    body = client.get("/api/sites").json()
    assert body["synthetic"] is True
    assert [s["site_id"] for s in body["items"]] == ["bd-road-1", "bj-metro-1", "tj-air-1"]
    assert all(s["synthetic"] is True for s in body["items"])


def test_sites_filter_by_kind_and_city(client: TestClient) -> None:
    by_kind = client.get("/api/sites", params={"kind": "air_monitor"}).json()
    assert [s["site_id"] for s in by_kind["items"]] == ["tj-air-1"]
    for city in ("110000", "Beijing", "北京"):
        by_city = client.get("/api/sites", params={"city": city}).json()
        assert [s["site_id"] for s in by_city["items"]] == ["bj-metro-1"], city
    none = client.get("/api/sites", params={"kind": "bus_stop", "city": "Tianjin"}).json()
    assert none == {"synthetic": False, "count": 0, "items": []}


def test_site_detail_has_city_attributes_and_metrics(client: TestClient) -> None:
    body = client.get("/api/sites/bj-metro-1").json()
    assert body["name_zh"] == "西直门" and body["city_name_en"] == "Beijing"
    assert body["attributes"] == {"lines": "2, 4, 13"}
    assert body["synthetic"] is True
    metrics = {m["metric"]: m for m in body["metrics"]}
    assert set(metrics) == {"passengers", "pm25"}
    assert metrics["passengers"]["observations"] == 14 * 96
    assert metrics["passengers"]["first_ts"].startswith("2026-03-01T16:00:00")


def test_health_reports_lake_version_and_rows(client: TestClient, test_lake: Lake) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["lake_version"] == 4  # sites, observations, indicators, quarantine
    assert body["rows"] == {
        "observations": 4 * 14 * 96,
        "quarantine": 3,
        "sites": 3,
        "indicators": 3,
        **dict.fromkeys(NETWORK_TABLES, 0),  # no transit network loaded
        **dict.fromkeys(TAP_TABLES, 0),  # no smart-card taps
        **dict.fromkeys(REALTIME_TABLES, 0),  # no GTFS-Realtime feed read
        **dict.fromkeys(ROLLUP_TABLES, 0),  # nothing rolled up yet
        "retired_keys": 0,  # nothing removed by retention
        "context_entities": 0,  # no NGSI-LD context entity written
        "context_instances": 0,  # nor a temporal representation of one
    }
    assert body["synthetic"] is True
    # Where the lake lies on the server is nobody else's business.
    assert set(body) == {
        "status", "version", "lake_version", "rows", "synthetic", "counters", "access_store"
    }  # fmt: skip
    assert body["counters"] == "memory"
    assert str(test_lake.root) not in client.get("/api/health").text


def test_health_of_an_empty_lake(tmp_path) -> None:
    client = TestClient(create_app(Settings(lake_path=tmp_path / "empty")))
    body = client.get("/api/health").json()
    assert (body["lake_version"], body["synthetic"]) == (0, False)
    assert set(body["rows"].values()) == {0}


def test_measured_data_is_not_flagged_synthetic(make_lake) -> None:
    lake = make_lake(days=1, synthetic=False)
    client = TestClient(create_app(Settings(lake_path=lake.root)))
    assert client.get("/api/sites").json()["synthetic"] is False
    assert client.get("/api/indicators").json()["synthetic"] is False
    assert client.get("/api/health").json()["synthetic"] is False
    page = client.get("/")
    assert page.status_code == 200 and "Synthetic demo data" not in page.text
