"""Charts in real headless Chromium: nothing on any page links off the machine (hrefs,
srcs, Plotly's modebar), charts fill their boxes after resizes and rotations with all 13
cities in the monitor map's view, a failed request clears stale results and says why,
and on a 4G profile the commuter's advice shows as text before the chart code arrives,
with every asset compressed. Screenshots go to test-artifacts/charts-*.png."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PHONE_ON_ITS_SIDE = {"width": 844, "height": 390}
# Chromium DevTools 4G profile used here and in bench/pageload.py: 9 Mbps down,
# 1.5 Mbps up, 170 ms round trip (the slow end of 60-170 ms).
FOUR_G = {
    "offline": False,
    "latency": 170,
    "downloadThroughput": 9_000_000 / 8,
    "uploadThroughput": 1_500_000 / 8,
}

# Every link or source on the page, and what each chart's modebar offers.
PAGE_LINKS = """() => [...document.querySelectorAll('[href], [src]')]
  .map(n => n.href || n.src).filter(u => typeof u === 'string' && u)"""
MODEBARS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  id: gd.id,
  titles: [...gd.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title') || ''),
  links: [...gd.querySelectorAll('.modebar a[href]')].map(a => a.href),
  logo: gd.querySelectorAll('.modebar-btn--logo').length,
  cloud: gd._context.showSendToCloud, server: gd._context.plotlyServerURL,
  displaylogo: gd._context.displaylogo}))"""
CHART_SIZES = """() => [...document.querySelectorAll('.chart')].filter(c => c._fullLayout)
  .map(c => ({id: c.id, box: [c.clientWidth, c.clientHeight],
              plot: [c._fullLayout.width, c._fullLayout.height]}))"""
CITIES_OUT_OF_VIEW = """(id) => {
  const gd = document.getElementById(id), fl = gd._fullLayout;
  const t = gd.data.find(d => d.text);  // the cities' markers, not the outlines under them
  const [x0, x1] = fl.xaxis.range, [y0, y1] = fl.yaxis.range;
  return {count: t.x.length, outside: t.x.map((x, i) => [x, t.y[i], t.text[i]])
    .filter(([x, y]) => x < x0 || x > x1 || y < y0 || y > y1).map(p => p[2])};
}"""

# Where a city's marker is on the screen, from the map's axes.
CITY_ON_SCREEN = """(name) => {
  const gd = document.getElementById('chart-map'), fl = gd._fullLayout;
  const t = gd.data.find(d => d.text);
  const i = t.text.findIndex(s => s.includes(name)), box = gd.getBoundingClientRect();
  return [box.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[i]),
          box.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[i])];
}"""


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()


def _wait_for_charts(page: Any) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart:not([hidden])')]"
        ".every(c => c.dataset.rendered === 'true' || c.offsetParent === null)"
    )


def _assert_local(page: Any, base: str) -> None:
    host = urlparse(base).netloc
    for url in page.evaluate(PAGE_LINKS):
        parsed = urlparse(url)
        assert parsed.scheme in ("http", "https", "data", "blob") and (
            parsed.scheme in ("data", "blob") or parsed.netloc == host
        ), f"{page.url} links off the machine: {url}"
    for bar in page.evaluate(MODEBARS):
        assert bar["cloud"] is False and bar["server"] == "" and bar["displaylogo"] is False, bar
        assert bar["logo"] == 0 and bar["links"] == [], bar
        offered = " ".join(bar["titles"]).lower()
        assert "cloud" not in offered and "chart studio" not in offered, bar


CHART_PAGES = ("/", "/commute", "/monitor", "/sites/bj-m1-s20", "/operator")
OTHER_PAGES = ("/monitor/report", "/developers", "/sign-in", "/docs")


@pytest.mark.parametrize("path", CHART_PAGES + OTHER_PAGES)
def test_no_page_or_chart_links_off_the_machine(
    demo_server: str, new_page: Callable[..., Any], sign_in: Any, government_token: str, path: str
) -> None:
    page = new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    if path == "/operator":
        sign_in(page, demo_server, government_token, path)
    else:
        page.goto(demo_server + path)
    page.wait_for_load_state("networkidle")
    _wait_for_charts(page)
    if path in CHART_PAGES:
        assert page.locator(".js-plotly-plot").count() >= 1
        page.hover(".js-plotly-plot")  # the modebar shows on hover
    _assert_local(page, demo_server)
    outside = [u for u in requests if not u.startswith((demo_server + "/", "data:", "blob:"))]
    assert outside == []


def _assert_charts_fill_their_boxes(page: Any, step: str) -> None:
    for chart in page.evaluate(CHART_SIZES):
        (box_w, box_h), (plot_w, plot_h) = chart["box"], chart["plot"]
        # Within the box's 1 px border and plotly's rounding.
        assert abs(box_w - plot_w) <= 4 and abs(box_h - plot_h) <= 4, (step, chart)
        # The failure this guards against: every chart fell to its box's 300 px minimum.
        assert plot_h > 300, (step, chart)


@pytest.mark.parametrize(("path", "map_id"), [("/monitor", "chart-map"), ("/", "map")])
def test_charts_survive_resizes_and_rotation_with_every_city_in_view(
    demo_server: str, new_page: Callable[..., Any], artifacts: Path, path: str, map_id: str
) -> None:
    page = new_page(DESKTOP)
    page.goto(demo_server + path, wait_until="networkidle")
    _wait_for_charts(page)
    for step, viewport in (
        ("desktop", DESKTOP),
        ("phone", PHONE),
        ("phone-rotated", PHONE_ON_ITS_SIDE),
        ("phone-back", PHONE),
        ("desktop-again", DESKTOP),
    ):
        page.set_viewport_size(viewport)
        width = viewport["width"]
        page.wait_for_function(
            "([id, w]) => { const gd = document.getElementById(id); return gd._fullLayout &&"
            " Math.abs(gd._fullLayout.width - gd.clientWidth) <= 2 && gd.clientWidth <= w; }",
            arg=[map_id, width],
        )
        page.wait_for_timeout(300)  # plotly's own resize runs 100 ms after the event
        view = page.evaluate(CITIES_OUT_OF_VIEW, map_id)
        assert view == {"count": 13, "outside": []}, step
        _assert_charts_fill_their_boxes(page, step)
        height = page.evaluate("(id) => document.getElementById(id).clientHeight", map_id)
        assert height <= max(viewport["height"], 320), step  # the map fits on screen
        shot = artifacts / f"charts-{map_id}-{step}.png"
        page.locator(f"#{map_id}").screenshot(path=str(shot))
    if path == "/monitor":  # after all that, a click on a city still opens its numbers
        x, y = page.evaluate(CITY_ON_SCREEN, "Baoding")
        page.mouse.click(x, y)
        page.wait_for_function("() => document.querySelector('#trace-body h3')")
        assert "Baoding" in page.locator("#trace-body h3").inner_text()


def test_operator_clears_the_old_station_when_a_request_fails(
    demo_server: str, new_page: Callable[..., Any], sign_in: Any, government_token: str
) -> None:
    page = new_page()
    sign_in(page, demo_server, government_token, "/operator")
    page.wait_for_selector("#error-rows tr")
    page.wait_for_selector("#accuracy-chart[data-rendered='true']")
    page.route(
        "**/api/operator/accuracy?*",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": {"code": "service_unavailable", "message": "the forecast '
            'store is busy", "detail": null}}',
        ),
    )
    page.route("**/api/operator/effect?*", lambda route: route.abort())
    page.select_option("#site", index=2)
    page.wait_for_selector("#accuracy-empty[role=alert]")
    assert page.locator("#error-rows tr").count() == 0
    assert page.locator("#accuracy-chart").is_hidden() and page.locator("#error-chart").is_hidden()
    message = page.locator("#accuracy-empty").inner_text()
    assert message == (
        "Forecast accuracy for this station could not be loaded: the forecast store is busy."
    )
    assert page.locator("#error-empty").inner_text() == message
    page.wait_for_selector("#effect-summary[role=alert]")
    assert page.locator("#effect-summary").inner_text() == (
        "The effect of advice on this line could not be loaded: the server could not be reached."
    )
    assert page.locator("#effect-chart").is_hidden()
    # The server answers again: the next station's results come back in full.
    page.unroute("**/api/operator/accuracy?*")
    page.unroute("**/api/operator/effect?*")
    page.select_option("#site", index=3)
    page.wait_for_selector("#error-rows tr")
    assert page.locator("#accuracy-empty").is_hidden() and page.locator("#error-empty").is_hidden()


def test_monitor_clears_what_if_ranks_and_coupling_when_requests_fail(
    demo_server: str, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    page.goto(demo_server + "/monitor", wait_until="networkidle")
    page.wait_for_selector("#ranking-table .shift")
    page.wait_for_selector("#chart-coupling[data-rendered='true']")
    page.route(
        "**/api/monitor/what-if?*",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>Bad</h1>"),
    )
    page.route("**/api/monitor/coupling?*", lambda route: route.abort())
    page.locator("input[type=range]").first.fill("3")
    page.wait_for_selector("#whatif-status[role=alert]")
    assert page.locator("#whatif-status").inner_text() == (
        "The what-if ranks could not be loaded: the server answered 502 Bad Gateway."
    )
    ranks = page.eval_on_selector_all("td.whatif-rank", "cells => cells.map(c => c.textContent)")
    assert ranks == ["–"] * 13
    page.select_option("#coupling-mode", "concepts")
    page.wait_for_selector("#coupling-band[role=alert]")
    assert page.locator("#coupling-band").inner_text() == (
        "The coupling coordination could not be loaded: the server could not be reached."
    )
    assert page.locator("#chart-coupling").is_hidden()


def test_on_4g_the_advice_shows_as_text_before_the_chart_code_and_assets_come_compressed(
    demo_server: str, new_page: Callable[..., Any], artifacts: Path
) -> None:
    page = new_page(PHONE)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", FOUR_G)
    held: list[Any] = []
    # Hold plotly.js back until the advice is on screen: the text must not wait for it.
    page.route("**/vendor/plotly-basic.min.js", lambda route: held.append(route))
    encodings: dict[str, str | None] = {}
    page.on(
        "response",
        lambda r: encodings.__setitem__(urlparse(r.url).path, r.headers.get("content-encoding")),
    )
    # Not until "load": an async script being held holds the load event too.
    page.goto(demo_server + "/commute", wait_until="domcontentloaded")
    page.wait_for_function(
        "() => document.getElementById('advice-headline').textContent.startsWith('Leave at')"
    )
    assert page.evaluate("() => typeof window.Plotly") == "undefined"
    assert page.locator("#slot-rows tr").count() > 1 and len(held) == 1
    held[0].continue_()
    page.wait_for_selector("#advice-chart[data-rendered='true']")
    page.wait_for_selector("#station-map[data-rendered='true']")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "charts-commuter-4g-phone.png"), full_page=True)
    compressed = {
        p: e for p, e in encodings.items() if p.startswith("/static/v/") or p == "/commute"
    }
    assert any(p.endswith("plotly-basic.min.js") for p in compressed)
    assert all(e == "gzip" for e in compressed.values()), compressed
