"""The data policy of matrix.toml held at every door that shows observations: raw rows
to government and admin only, to everyone else aggregates of at least its minimum count
(read from the policy itself, not restated here)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from urbanpulse.access.matrix import get_data_policy
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, append_observations, read_observations

POLICY = get_data_policy("observations")
ONE_DAY = {"start": "2026-03-03T00:00:00", "end": "2026-03-04T00:00:00"}


def _figure(html: str, element_id: str) -> dict:
    found = re.search(
        rf'<script type="application/json" data-figure-for="{element_id}">(.*?)</script>',
        html,
        re.S,
    )
    assert found, f"no figure {element_id} in the page"
    return json.loads(found.group(1))


@pytest.mark.parametrize("scope", ["public", "business"])
def test_profiles_below_raw_scopes_have_no_small_cells(client_for, scope: str) -> None:
    caller: TestClient = client_for(scope)
    params = {"metric": "pm25", "period": 5, **ONE_DAY}
    body = caller.get("/api/sites/tj-air-1/profile", params=params).json()
    # One day at 5 minutes would be cells of one reading (each equal to the raw value);
    # the window widens to the whole month, and every cell shown counts enough readings.
    assert body["items"], "the month's weekday cells are published"
    assert min(r["n"] for r in body["items"]) >= POLICY.min_count


def test_government_sees_the_day_it_asked_for(client_for) -> None:
    params = {"metric": "pm25", "period": 5, **ONE_DAY}
    body = client_for("government").get("/api/sites/tj-air-1/profile", params=params).json()
    assert {r["n"] for r in body["items"]} == {1}  # one reading per cell: raw, as allowed


def test_the_public_site_page_shows_no_raw_reading(client_for, test_lake: Lake) -> None:
    raw = read_observations(test_lake, "pm25", site_ids=["tj-air-1"])
    raw_values = set(raw["value"].round(9))
    public = client_for("public").get("/sites/tj-air-1?metric=pm25&period=5").text
    government = client_for("government").get("/sites/tj-air-1?metric=pm25&period=5").text
    shown_public = _numbers_of(public, "recent-chart")
    shown_government = _numbers_of(government, "recent-chart")
    assert shown_government and shown_government <= raw_values  # the raw week, as allowed
    assert shown_public and not (shown_public & raw_values)  # only means of enough readings


def _numbers_of(html: str, chart: str) -> set[float]:
    figure = _figure(html, chart)
    return {round(float(v), 9) for trace in figure["data"] for v in trace["y"] if v is not None}


def test_markup_in_stored_text_is_shown_as_text(tmp_path: Path, make_lake) -> None:
    lake: Lake = make_lake(days=2)
    attack = '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/">'
    first = read_observations(lake, "pm25", site_ids=["tj-air-1"])["ts"].max()
    rows = pa.table(
        {
            "site_id": ["tj-air-1"],
            "metric": ["no2"],
            "ts": pa.array([first + timedelta(minutes=1)], pa.timestamp("us", tz="UTC")),
            "value": [1.0],
            "unit": [attack],
        }
    )
    append_observations(lake, rows)
    app = create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))
    with TestClient(app) as client:
        for url in ("/sites/tj-air-1?metric=no2", "/sites/tj-air-1", "/"):
            html = client.get(url).text
            assert "<meta http-equiv" not in html, url
        assert "&lt;meta http-equiv" in client.get("/sites/tj-air-1?metric=no2").text


def test_the_newest_values_follow_the_policys_latest_scopes(
    client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The product's policy shows each site's newest value to everyone (a display
    # board); a deployment that closes it closes every door that shows one.
    declared = get_data_policy("observations")
    assert declared.shows_latest("public") and not declared.shows_raw("public")
    closed = dataclasses.replace(declared, latest=frozenset())
    for module in ("urbanpulse.api.routers.ngsi", "urbanpulse.api.routers.live"):
        monkeypatch.setattr(f"{module}.get_data_policy", lambda dataset: closed)
    entity = "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:tj-air-1"
    anonymous, government = client_for("public").get(entity), client_for("government").get(entity)
    assert anonymous.status_code == government.status_code == 200
    assert "pm25" in government.json() and "pm25" not in anonymous.json()
    assert anonymous.json()["name"] == government.json()["name"]  # the site itself stays
    listed = client_for("public").get("/ngsi-ld/v1/entities", params={"type": "AirQualityObserved"})
    assert listed.status_code == 200 and not any("pm25" in e for e in listed.json())
    assert client_for("public").get("/api/live/sections").status_code == 403
    assert client_for("government").get("/api/live/sections").status_code == 200
