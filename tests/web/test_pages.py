"""Pages rendered on the server: content, fallbacks and no external references."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

WEB = Path(__file__).resolve().parents[2] / "src" / "urbanpulse" / "web"
PAGES = ("/", "/sites/bj-metro-1", "/sites/tj-air-1?metric=pm25&period=60", "/docs")


@pytest.fixture(scope="module")
def client(test_lake: Lake) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(lake_path=test_lake.root))) as test_client:
        yield test_client


def get_figure(html: str, figure_id: str) -> dict:
    match = re.search(
        rf'<script type="application/json" data-figure-for="{figure_id}">(.*?)</script>', html, re.S
    )
    assert match, f"no figure {figure_id}"
    return json.loads(match.group(1))


def test_home_lists_cities_with_both_names_and_population(client: TestClient) -> None:
    html = client.get("/").text
    for text in ("北京", "Beijing", "21,893,095", "衡水", "Hengshui", "4,212,933"):
        assert text in html
    assert 'href="/sites/bj-metro-1"' in html
    # Sites are listed under their city, one collapsible group per city with sites.
    assert html.count('<details class="site-group"') == 3
    assert re.search(r"Beijing\s*<span class=\"count\">1 site</span>", html)
    assert "Synthetic demo data" in html


def test_home_map_has_cities_sized_by_population_and_sites_by_kind(client: TestClient) -> None:
    figure = get_figure(client.get("/").text, "map")
    traces = {t["name"]: t for t in figure["data"]}
    assert {"metro station", "air monitor", "road sensor", "city (size: population)"} <= set(traces)
    cities = traces["city (size: population)"]
    assert cities["text"][0] == "北京 Beijing" and len(cities["text"]) == 13
    sizes = cities["marker"]["size"]
    assert sizes[0] == max(sizes)  # Beijing, the most populous
    assert traces["metro station"]["customdata"] == ["/sites/bj-metro-1"]
    assert figure["layout"]["yaxis"]["scaleanchor"] == "x"


def test_site_page_shows_details_profile_and_recent_charts(client: TestClient) -> None:
    html = client.get("/sites/bj-metro-1").text
    for text in (
        "Xizhimen",
        "西直门",
        '<span lang="zh">北京</span> Beijing',
        "metro station",
        "2, 4, 13",
    ):
        assert text in html
    profile = get_figure(html, "profile-chart")
    names = [t.get("name") for t in profile["data"]]
    # Anonymous: weekend cells hold four readings, below the data policy's minimum.
    assert "weekday" in names and "weekend" not in names and 'id="published-note"' in html
    assert any(t.get("fill") == "tonexty" for t in profile["data"])
    recent = get_figure(html, "recent-chart")
    assert recent["layout"]["xaxis"]["title"]["text"] == "Time (Asia/Shanghai)"
    assert 'option value="passengers" selected' in html  # first metric by default


def test_site_page_metric_and_period_are_selectable(client: TestClient) -> None:
    html = client.get("/sites/bj-metro-1", params={"metric": "pm25", "period": 60}).text
    assert 'option value="pm25" selected' in html and 'option value="60" selected' in html
    weekday = next(
        t for t in get_figure(html, "profile-chart")["data"] if t.get("name") == "weekday"
    )
    assert len(weekday["x"]) == 24
    # A profile holds single readings' statistics per period, not the period's total.
    profile = get_figure(html, "profile-chart")
    assert profile["layout"]["yaxis"]["title"]["text"].endswith("mean reading per 60-min period")
    assert "mean reading" in weekday["hovertemplate"]


def test_site_page_falls_back_on_unknown_choices(client: TestClient) -> None:
    response = client.get("/sites/bj-metro-1", params={"metric": "nope", "period": 7})
    assert response.status_code == 200
    assert 'option value="15" selected' in response.text


def test_unknown_site_page_is_a_404_page(client: TestClient) -> None:
    response = client.get("/sites/nowhere", headers={"accept": "text/html"})
    assert response.status_code == 404 and "nowhere" in response.text


def test_site_without_observations_says_so(tmp_path) -> None:
    from urbanpulse.catalog import Site, build_sites_table
    from urbanpulse.store import upsert_sites

    lake = Lake(tmp_path / "bare")
    upsert_sites(lake, build_sites_table([Site(site_id="lonely", kind="counter")]))
    html = TestClient(create_app(Settings(lake_path=lake.root))).get("/sites/lonely").text
    assert "no observations yet" in html and "plotly.min.js" not in html
    assert "Synthetic demo data" not in html


@pytest.mark.parametrize("url", PAGES)
def test_pages_reference_no_external_scripts_or_styles(client: TestClient, url: str) -> None:
    html = client.get(url).text
    references = re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="([^"]*)"', html)
    assert references
    external = [r for r in references if re.match(r"^(?:[a-z]+:)?//", r, re.I)]
    assert external == []


def test_templates_and_static_files_mention_no_external_url() -> None:
    offenders = []
    # static/vendor holds third-party bundles (plotly.js names its cloud and logo links,
    # which the charts' configuration turns off: tests/web/test_charts_browser.py).
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("static/*.*")]:
        text = path.read_text("utf-8")
        # The SVG namespace is an identifier, not a request.
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        if re.search(r"https?://|//cdn|\bcdn\.", text, re.I):
            offenders.append(path.name)
    assert offenders == []


def test_local_assets_are_served(client: TestClient) -> None:
    for url, kind in (
        ("/vendor/plotly.min.js", "javascript"),
        ("/static/style.css", "css"),
        ("/static/figures.js", "javascript"),
    ):
        response = client.get(url)
        assert response.status_code == 200 and kind in response.headers["content-type"], url
    assert len(client.get("/vendor/plotly.min.js").content) > 1_000_000


@pytest.mark.parametrize(
    "name", ["</script><script>alert(1)</script>", "<!--<script>", "a & b > c", "西单 </SCRIPT"]
)
def test_data_in_a_script_element_cannot_end_or_hold_it_open(name: str) -> None:
    from urbanpulse.web.rendering import get_figure_json

    text = get_figure_json({"name": name})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"name": name}
