"""GET /api/stations and /api/networks over a lake holding the Beijing subway."""

from __future__ import annotations

from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.transit import LoadSummary


def test_stations_api_finds_by_pinyin_and_lists_networks(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    lake, _ = beijing_lake
    with TestClient(create_app(Settings(lake_path=lake.root))) as client:
        found = client.get("/api/stations", params={"q": "Xi Zhi Men", "limit": 3})
        assert found.status_code == 200
        body = found.json()
        assert body["items"][0]["name_zh"] == "西直门"
        assert body["items"][0]["lines"] == ["2号线", "4号线", "13号线"]
        assert len(body["items"][0]["site_ids"]) == 3
        networks = client.get("/api/networks").json()
        assert [n["network_id"] for n in networks["items"]] == ["beijing-subway-2017"]
        assert networks["items"][0]["missing"] == ["coordinates", "calendar", "timetable"]
        refused = client.get("/api/stations", params={"q": "--"})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_query"
