"""The commuter and operator pages in headless Chromium over a one-week demo lake:
charts drawn, the recommended slot highlighted, nothing fetched from outside, no
console errors, no sideways scrolling at phone width. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.twin import build_demo, is_demo_built

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
GREEN = "rgb(26, 127, 55)"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory, app_server: Any) -> Iterator[str]:
    """The app over the session's demo lake, served by uvicorn on a free loopback port."""
    root = tmp_path_factory.getbasetemp() / "advice-demo"
    lake = Lake(root / "lake")
    if not is_demo_built(lake):
        build_demo(lake, weeks=1, drop_dir=root / "drop")
    app = create_app(Settings(lake_path=Path(lake.root), advice_holdout_share=0.0))
    with app_server(app) as url:
        yield url


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Open a page at a viewport; returns (page, requests seen, console errors)."""
    contexts = []

    def open_at(url: str, viewport: dict[str, int]) -> tuple[Any, list[str], list[str]]:
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url, wait_until="networkidle")
        return page, requests, errors

    yield open_at
    for context in contexts:
        context.close()


def assert_clean(base: str, requests: list[str], errors: list[str]) -> None:
    outside = [u for u in requests if not u.startswith((base + "/", "data:", "blob:"))]
    assert outside == [], f"requests left {base}: {outside}"
    assert errors == [], f"console errors: {errors}"


def assert_fits(page: Any) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px viewport"


def get_bar_colours(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#advice-chart .bars .point path", "nodes => nodes.map(n => getComputedStyle(n).fill)"
    )


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_commuter_page_recommends_a_slot(
    demo_server: str, open_page: Any, artifacts: Path, name: str, viewport: dict[str, int]
) -> None:
    page, requests, errors = open_page(demo_server + "/commute", viewport)
    assert page.locator("#clock-note").inner_text().startswith("The data ends on 2026-10-31")
    assert page.locator("#day").input_value() == "2026-11-02"
    page.select_option("#city", "110000")
    page.select_option("#line", "bj-m1")
    page.select_option("#origin", "bj-m1-s04")
    page.select_option("#destination", "bj-m1-s09")
    page.click("#advise")
    # The page shows advice for its default trip on load; wait for the chosen trip's.
    page.wait_for_function(
        "() => document.querySelector('#advice-trip').textContent.includes('Babaoshan') && "
        "document.querySelector('#advice-chart').dataset.rendered === 'true'"
    )
    assert "Military Museum" in page.locator("#advice-trip").inner_text()
    chart = page.locator("#advice-chart")
    label = chart.get_attribute("data-recommended")
    assert label and page.locator("#advice-headline").inner_text() == f"Leave at {label}"
    assert "crowded" in page.locator("#advice-reason").inner_text()
    assert page.locator("#advice-travel").inner_text().endswith(" min")
    colours = get_bar_colours(page)
    assert len(colours) == 10 and colours.count(GREEN) == 1  # only the recommended slot
    assert page.locator("#advice-chart .errorbar").count() == 10  # p10-p90 whiskers
    assert page.locator("#synthetic-banner").is_visible()
    page.screenshot(path=artifacts / f"commuter-{name}.png", full_page=True)
    assert_fits(page)
    assert_clean(demo_server, requests, errors)


def test_commuter_page_says_why_it_cannot_advise(demo_server: str, open_page: Any) -> None:
    page, _, _ = open_page(demo_server + "/commute", DESKTOP)
    page.wait_for_selector("#advice-chart[data-rendered='true']")
    page.fill("#day", "2026-10-30")
    page.click("#advise")
    page.wait_for_selector("#advice-error:not([hidden])")
    assert "in the past" in page.locator("#advice-error").inner_text()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_operator_page_overlays_observed_and_predicted(
    demo_server: str, open_page: Any, artifacts: Path, name: str, viewport: dict[str, int]
) -> None:
    page, requests, errors = open_page(demo_server + "/operator", viewport)
    page.wait_for_selector("#accuracy-chart[data-rendered='true'] .main-svg")
    page.wait_for_selector("#error-chart[data-rendered='true'] .main-svg")
    # band low edge, band high edge, predicted, observed
    assert page.locator("#accuracy-chart .scatterlayer .trace").count() == 4
    assert page.locator("#error-rows tr").count() >= 1
    page.wait_for_function("() => document.querySelector('#effect-summary').textContent || "
                           "!document.querySelector('#effect-empty').hidden")  # fmt: skip
    page.screenshot(path=artifacts / f"operator-{name}.png", full_page=True)
    assert_fits(page)
    assert_clean(demo_server, requests, errors)
