"""The pages in real headless Chromium: charts drawn, nothing fetched from outside,
no console errors, usable at phone width. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class Visit:
    """A browser page plus what it requested and complained about."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self, base_url: str) -> None:
        outside = [u for u in self.requests if not u.startswith((base_url + "/", "data:", "blob:"))]
        assert outside == [], f"requests left {base_url}: {outside}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def visit(browser: Any) -> Iterator[Any]:
    """Open pages in a fresh context with a given viewport, recording requests and errors."""
    contexts = []

    def open_page(url: str, viewport: dict[str, int] = DESKTOP) -> Visit:
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        seen = Visit(page)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.goto(url, wait_until="networkidle")
        return seen

    yield open_page
    for context in contexts:
        context.close()


def assert_no_horizontal_overflow(page: Any) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px viewport"


def test_home_draws_the_map(live_server: str, visit: Any, artifacts: Path) -> None:
    seen = visit(live_server + "/")
    page = seen.page
    page.wait_for_selector("#map[data-rendered='true'] .main-svg")
    # 13 cities plus 3 sites, each a point of a scatter trace.
    assert page.locator("#map .scatterlayer .point").count() == 16
    assert page.locator("#map .scatterlayer text").filter(has_text="北京 Beijing").count() == 1
    assert page.locator("#synthetic-banner").is_visible()
    assert page.locator("table.cities tbody tr").count() == 13
    page.screenshot(path=artifacts / "home-desktop.png", full_page=True)
    seen.assert_clean(live_server)


def test_site_page_draws_profile_and_recent_charts(
    live_server: str, visit: Any, artifacts: Path
) -> None:
    seen = visit(live_server + "/sites/bj-metro-1")
    page = seen.page
    page.wait_for_selector("#profile-chart[data-rendered='true'] .main-svg")
    page.wait_for_selector("#recent-chart[data-rendered='true'] .main-svg")
    # Band low edge, band high edge (filled) and mean line of weekdays only: to an
    # anonymous reader the test lake's weekend cells (four readings) are below the data
    # policy's minimum, and the page says so.
    assert page.locator("#profile-chart .scatterlayer .trace").count() == 3
    assert page.locator("#published-note").is_visible()
    assert page.locator("#profile-chart .legendtext").filter(has_text="weekday").count() == 1
    assert page.locator("#recent-chart .scatterlayer .js-line").count() == 1
    assert page.locator("#synthetic-banner").is_visible()
    page.screenshot(path=artifacts / "site-desktop.png", full_page=True)
    seen.assert_clean(live_server)


def test_choosing_a_metric_reloads_the_charts(live_server: str, visit: Any) -> None:
    seen = visit(live_server + "/sites/bj-metro-1")
    page = seen.page
    with page.expect_navigation():
        page.select_option("select[name=metric]", "pm25")
    page.wait_for_selector("#profile-chart[data-rendered='true'] .main-svg")
    assert "metric=pm25" in page.url
    assert (page.locator("#profile-chart .ytitle").text_content() or "").startswith("pm25")
    seen.assert_clean(live_server)


@pytest.mark.parametrize(("path", "name"), [("/", "home"), ("/sites/bj-metro-1", "site")])
def test_pages_fit_a_phone(
    live_server: str, visit: Any, artifacts: Path, path: str, name: str
) -> None:
    seen = visit(live_server + path, PHONE)
    page = seen.page
    page.wait_for_selector(".chart[data-rendered='true'] .main-svg")
    assert_no_horizontal_overflow(page)
    for box in (
        page.locator(".chart").nth(i).bounding_box() for i in range(2 if name == "site" else 1)
    ):
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=artifacts / f"{name}-phone.png", full_page=True)
    seen.assert_clean(live_server)


def test_api_docs_work_offline(live_server: str, visit: Any, artifacts: Path) -> None:
    seen = visit(live_server + "/docs")
    page = seen.page
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() >= 8
    page.screenshot(path=artifacts / "docs-desktop.png")
    seen.assert_clean(live_server)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("path", ["/sign-in", "/developers", "/commute", "/monitor", "/"])
def test_every_page_fits_a_phone_in_both_languages(
    live_server: str, visit: Any, path: str, language: str
) -> None:
    seen = visit(f"{live_server}{path}?lang={language}", PHONE)
    # the page itself, not an error page
    assert seen.page.request.get(f"{live_server}{path}?lang={language}").status == 200
    assert_no_horizontal_overflow(seen.page)
