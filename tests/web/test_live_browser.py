"""Crowding now in headless Chromium: a line section changes colour as live data
arrives, without a reload, on the commuter page (desktop and phone) and the operator
page; a silent feed says since when; without EventSource the page polls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.conftest import write_loads

from urbanpulse.advise.live import CROWDING_LEVELS
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, upsert_sites
from urbanpulse.twin import build_network

pytestmark = pytest.mark.browser
LINE_4 = [f"bj-m4-s{k:02d}" for k in range(1, 24)]
FIRST = f'#live .live-section[data-from="{LINE_4[0]}"][data-to="{LINE_4[1]}"]'
COLOURS = {level.level: level.colour for level in CROWDING_LEVELS}
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _lake(root: Path, load: float, ts: datetime) -> Lake:
    lake = Lake(root)
    upsert_sites(lake, build_network(2026).sites)
    write_loads(lake, dict.fromkeys(LINE_4, load), ts)
    return lake


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _colour(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor"))


def _watch_a_section_change(page: Any, lake: Lake, shots: Path, name: str) -> None:
    page.wait_for_selector(f'{FIRST}[data-level="comfortable"]')
    assert _colour(page, FIRST) == _rgb(COLOURS["comfortable"])
    assert page.get_attribute("#live", "data-stale") == "false"
    status = page.locator("#live-status").inner_text()
    # the age beside the time: fresh data says how fresh
    assert re.match(r"Last reading \d\d:\d\d \((just now|\d+ min ago)\) · ", status), status
    assert page.locator("#live-legend li").count() == 4
    page.locator(FIRST).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"live-{name}-before.png"), full_page=True)
    page.evaluate("window.__notReloaded = true")

    write_loads(lake, {LINE_4[0]: 1.25, LINE_4[1]: 1.25}, datetime.now(UTC))
    page.wait_for_selector(f'{FIRST}[data-level="very_crowded"]', timeout=15_000)
    assert _colour(page, FIRST) == _rgb(COLOURS["very_crowded"])
    assert page.evaluate("window.__notReloaded") is True  # changed in place, no reload
    assert page.get_attribute("#live", "data-mode") == "stream"
    title = page.get_attribute(FIRST, "title")
    assert title is not None and "very crowded (125 %" in title
    page.screenshot(path=str(shots / f"live-{name}-after.png"), full_page=True)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_commuter_page_watches_a_section_turn_very_crowded(
    browser: Any, app_server: Any, tmp_path: Path, artifacts: Path, viewport: str
) -> None:
    lake = _lake(tmp_path / "lake", 0.3, datetime.now(UTC))
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with app_server(create_app(Settings(lake_path=lake.root))) as url:
        page.goto(f"{url}/commute")
        _watch_a_section_change(page, lake, artifacts, f"commuter-{viewport}")
        # Readable at phone width: no line's strip runs off the screen.
        width = page.evaluate("document.documentElement.clientWidth")
        right = page.evaluate(
            "Math.max(...[...document.querySelectorAll('#live .live-strip')]"
            ".map(el => el.getBoundingClientRect().right))"
        )
        assert right <= width
    context.close()
    assert not errors


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_operator_page_watches_a_section_turn_very_crowded(
    browser: Any,
    app_server: Any,
    tmp_path: Path,
    artifacts: Path,
    grant: Any,
    sign_in: Any,
    viewport: str,
) -> None:
    lake = _lake(tmp_path / "lake", 0.3, datetime.now(UTC))
    app = create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))
    token = grant(app, "government")["Authorization"].removeprefix("Bearer ")
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    with app_server(app) as url:
        sign_in(page, url, token, "/operator")
        _watch_a_section_change(page, lake, artifacts, f"operator-{viewport}")
    context.close()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_a_silent_feed_says_since_when(
    browser: Any, app_server: Any, tmp_path: Path, artifacts: Path, viewport: str
) -> None:
    last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    lake = _lake(tmp_path / "lake", 0.9, last)
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    with app_server(create_app(Settings(lake_path=lake.root))) as url:
        page.goto(f"{url}/commute")
        page.wait_for_selector('#live[data-stale="true"]')
        status = page.locator("#live-status")
        local = pd.Timestamp(last).tz_convert("Asia/Shanghai")
        today = pd.Timestamp.now(tz="Asia/Shanghai").date()
        since = local.strftime("%H:%M" if local.date() == today else "%Y-%m-%d %H:%M")
        assert status.inner_text().startswith(f"Feed stale since {since}: ")
        assert "live-status is-stale" in (status.get_attribute("class") or "")
        # synthetic: said so, in words for riders (no shell command on a public page)
        assert "demo's synthetic data" in status.inner_text()
        assert "urbanpulse" not in status.inner_text()
        # The last known level stays visible, marked stale.
        assert page.get_attribute(FIRST, "data-level") == "crowded"
        assert "stale" in (page.get_attribute(FIRST, "class") or "")
        status.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"live-stale-{viewport}.png"), full_page=True)
    context.close()


def test_without_event_source_the_page_polls_the_snapshot(
    browser: Any, app_server: Any, tmp_path: Path
) -> None:
    lake = _lake(tmp_path / "lake", 0.6, datetime.now(UTC))
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    context.add_init_script("delete window.EventSource")
    page = context.new_page()
    with app_server(create_app(Settings(lake_path=lake.root))) as url:
        page.goto(f"{url}/commute")
        page.wait_for_selector(f'{FIRST}[data-level="normal"]')
        assert page.get_attribute("#live", "data-mode") == "poll"
        assert "checked every 15 s" in page.locator("#live-status").inner_text()
    context.close()


def test_the_riders_legs_are_outlined_in_their_direction_of_travel(
    browser: Any, app_server: Any, tmp_path: Path
) -> None:
    """A leg of Line 4 from its 3rd to its 8th station: the five sections between them
    are outlined, in that direction only where the view has directions; others not."""
    lake = _lake(tmp_path / "lake", 0.3, datetime.now(UTC))
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    with app_server(create_app(Settings(lake_path=lake.root))) as url:
        page.goto(f"{url}/commute")
        page.wait_for_selector(FIRST)
        leg = {"line_id": "bj-m4", "from_site_id": LINE_4[2], "to_site_id": LINE_4[7]}
        page.evaluate(
            "leg => document.dispatchEvent(new CustomEvent('urbanpulse:trip', {detail: [leg]}))",
            leg,
        )
        outlined = page.eval_on_selector_all(
            "#live .live-line[data-line='bj-m4'] .live-section.on-trip",
            "els => els.map(e => [e.dataset.from, e.dataset.to])",
        )
        assert outlined == [[LINE_4[k], LINE_4[k + 1]] for k in range(2, 7)]
        assert page.locator("#live .live-section.on-trip").count() == 5  # no other line
        assert "on your trip" in page.get_attribute(
            f'#live .live-section[data-from="{LINE_4[2]}"]', "title"
        )
        # back the other way: the same stretch, read from the 8th to the 3rd
        page.evaluate(
            "leg => document.dispatchEvent(new CustomEvent('urbanpulse:trip', {detail: [leg]}))",
            {**leg, "from_site_id": LINE_4[7], "to_site_id": LINE_4[2]},
        )
        back = page.locator("#live .live-line[data-line='bj-m4'] .live-section.on-trip").count()
        assert back == 5  # Line 4's readings serve both directions here
    context.close()
