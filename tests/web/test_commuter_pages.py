"""The commuter page as served (no browser): its station search boxes, its map of
stations to click, and no reference to any other host in its HTML, script or styles."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.web.pages.commuter import KEPT_PAGE_MINUTES, KEPT_UNTIL_HEADER

URL = re.compile(r"(?:https?:)?//[^\s\"'<>)]+", re.I)


@pytest.fixture(scope="module")
def client(demo_lake: Lake) -> Iterator[TestClient]:
    settings = Settings(lake_path=demo_lake.root, advice_holdout_share=0.0)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def get_station_map(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" data-figure-for="station-map">(.*?)</script>', html, re.S
    )
    assert match, "no station map"
    figure: dict = json.loads(match.group(1))
    return figure


def test_commuter_page_serves_no_url_of_another_host(client: TestClient) -> None:
    html = client.get("/commute").text
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    # this site's paths, and fragments of this page (the skip link)
    assert sources and all(s.startswith(("/", "#")) or s == "" for s in sources), sources
    assets = [s for s in sources if s.startswith("/static/")]
    names = {re.sub(r"^/static/v/[0-9a-f]{12}/", "", s) for s in assets}
    assert {"commuter.js", "commuter.css", "charts.js", "vendor/plotly-basic.min.js"} <= names
    # plotly.js's own bundle names plotly.com (its logo link, its cloud), which the
    # charts' configuration turns off; the browser tests check nothing is requested.
    for path in [s for s in assets if "/vendor/" not in s]:
        text = client.get(path).text
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert URL.findall(text) == [], path
    # The page's own text and embedded figure, SVG namespaces aside.
    assert [u for u in URL.findall(html) if "www.w3.org/2000/svg" not in u] == []


def test_commuter_page_has_station_search_boxes_with_a_listbox(client: TestClient) -> None:
    html = client.get("/commute").text
    for field in ("origin", "destination"):
        box = re.search(rf'<input type="text" id="{field}-search"[^>]*>', html, re.S)
        assert box, field
        assert 'role="combobox"' in box.group(0)
        assert f'aria-controls="{field}-list"' in box.group(0)
        assert f'<ul class="suggestions" id="{field}-list" role="listbox"' in html
        assert f'<input type="hidden" name="{field}" id="{field}" value="bj-m1-s' in html
    assert 'id="arrive-by"' in html


def test_commuter_map_has_every_beijing_station_to_click(client: TestClient) -> None:
    figure = get_station_map(client.get("/commute").text)
    traces = figure["data"]
    assert traces[-1]["name"] == "chosen" and traces[-1]["x"] == []
    shown = [t for t in traces[:-1] if t["visible"] is True]
    assert {t["meta"] for t in shown} == {"110000"}  # the default trip's city only
    points = {cd[0]: cd for t in shown for cd in t["customdata"]}
    assert points["bj-m1-s20"] == ["bj-m1-s20", "国贸", "Guomao"]
    assert {"bj-m2-s01", "bj-m4-s12"} <= set(points)  # Xizhimen on Lines 2 and 4
    names = {t["name"] for t in shown}
    assert "北京地铁1号线 Beijing Subway Line 1" in names
    # Opens on the city's metro, not on the intercity railway's whole length.
    lon0, lon1, lat0, lat1 = figure["layout"]["meta"]["extents"]["110000"]
    assert lon0 < 116.2 < 116.5 < lon1 < 116.7 and lat0 < 39.85 < 40.0 < lat1 < 40.2
    assert figure["layout"]["xaxis"]["range"] == [lon0, lon1]


def get_first_answer(html: str) -> dict | None:
    match = re.search(
        r'<script type="application/json" id="first-answer">(.*?)</script>', html, re.S
    )
    return json.loads(match.group(1)) if match else None


def _read_advice(client: TestClient, trip: dict) -> dict:
    params = {k: str(v).lower() if k == "arrive_by" else v for k, v in trip.items()}
    answer = client.get("/api/advice", params=params)
    assert answer.status_code == 200, answer.text
    body: dict = answer.json()
    return body


def get_script_trip(html: str, query: str) -> dict:
    """The trip static/commuter.js asks about as the page opens, read as it reads it:
    the form's values (hidden station ids, day, times), then the address's."""

    def value(field: str) -> str:
        found = re.search(rf'<input[^>]* id="{field}"[^>]* value="([^"]*)"', html)
        assert found, field
        return found.group(1)

    fields = {f: value(f) for f in ("origin", "destination", "day", "start", "end", "preferred")}
    asked = dict(p.split("=") for p in query.lstrip("?").split("&") if p)
    if asked.get("origin") and asked.get("destination"):
        fields.update({k: v for k, v in asked.items() if k in fields})
    day = fields["day"]
    return {
        "origin": fields["origin"],
        "destination": fields["destination"],
        **{k: f"{day}T{fields[k]}" for k in ("start", "end", "preferred")},
        "arrive_by": asked.get("arrive_by") == "1",
        "route": int(asked.get("route", 0)),
    }


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?origin=bj-m1-s03&destination=bj-m2-s05&start=07:30&end=09:00&preferred=08:00",
        "?origin=bj-m1-s03&destination=bj-m1-s12&start=17:00&end=19:00&preferred=18:00&arrive_by=1&route=0",
    ],
    ids=["default", "in-the-address", "arrive-by"],
)
def test_the_page_comes_with_the_answer_its_script_would_read_first(
    client: TestClient, query: str
) -> None:
    """The trip the script asks about as it opens (the address's, else the default)
    comes answered exactly as GET /api/advice answers it, so the rider waits one round
    trip less; nothing is counted (a GET, recorded: false)."""
    trip = get_script_trip(client.get("/commute" + query).text, query)
    read = _read_advice(client, trip)  # its inputs are now read, as after any visit
    first = get_first_answer(client.get("/commute" + query).text)
    assert first is not None
    assert first["trip"] == trip and list(first["trip"]) == list(trip)  # the script compares JSON
    assert first["advice"]["recorded"] is False
    volatile = {"generated_at", "clock"}
    assert {k: v for k, v in first["advice"].items() if k not in volatile} == {
        k: v for k, v in read.items() if k not in volatile
    }


def test_a_trip_not_asked_before_comes_named_without_an_answer(client: TestClient) -> None:
    """The answer's inputs are not at hand before the trip is first asked: the page
    names the trip only (the app's worker asks for its answer as a kept copy is read,
    static/sw.js), and its script asks."""
    query = "?origin=bj-m1-s04&destination=bj-m1-s09&start=06:10&end=07:40&preferred=07:00"
    first = get_first_answer(client.get("/commute" + query).text)
    assert first is not None and first["advice"] is None
    assert first["trip"] == get_script_trip(client.get("/commute" + query).text, query)


def test_a_trip_the_service_refuses_comes_without_an_answer(client: TestClient) -> None:
    for query in (
        "?origin=nope&destination=bj-m1-s12",
        "?origin=bj-m1-s03&destination=bj-m1-s12&day=3000-01-01",
    ):
        first = get_first_answer(client.get("/commute" + query).text)
        assert first is not None and first["advice"] is None, query


def test_the_app_keeps_the_page_no_longer_than_its_defaults_hold(client: TestClient) -> None:
    """The worker opens a kept copy of the page until UrbanPulse-Kept-Until: an hour at
    most, and never past the moment the planning day moves; browsers' own caches ask
    again every time."""
    before = datetime.now(UTC)
    response = client.get("/commute")
    until = datetime.fromisoformat(response.headers[KEPT_UNTIL_HEADER])
    assert before < until <= datetime.now(UTC) + timedelta(minutes=KEPT_PAGE_MINUTES)
    assert response.headers["cache-control"] == "no-cache"
