"""The commuter and operator pages in headless Chromium over a one-week demo lake:
stations found by typing or on the map, a journey with a change of line, charts drawn,
the recommended slot highlighted, nothing fetched from outside, no console errors, no
sideways scrolling at phone width. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
GREEN = "rgb(26, 127, 55)"


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


def choose_station(page: Any, field: str, typed: str, expected: str, *, keyboard: bool) -> None:
    """Type into a station box and pick ``expected`` from the suggestions."""
    page.fill(f"#{field}-search", typed)
    option = page.locator(f"#{field}-list [role=option]", has_text=expected).first
    option.wait_for()
    if keyboard:
        index = page.locator(f"#{field}-list [role=option]").all_inner_texts()
        steps = next(i for i, text in enumerate(index) if expected in text) + 1
        for _ in range(steps):
            page.keyboard.press("ArrowDown")
        assert option.get_attribute("aria-selected") == "true"
        page.keyboard.press("Enter")
    else:
        option.click()
    assert page.locator(f"#{field}-list").is_hidden()
    assert expected in page.locator(f"#{field}-search").input_value()


def wait_for_advice(page: Any, destination: str) -> None:
    page.wait_for_function(
        "(name) => document.querySelector('#advice-trip').textContent.includes(name) && "
        "document.querySelector('#advice-chart').dataset.rendered === 'true'",
        arg=destination,
    )


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_commuter_finds_stations_by_name_and_gets_a_journey_with_a_change(
    demo_server: str, open_page: Any, artifacts: Path, name: str, viewport: dict[str, int]
) -> None:
    page, requests, errors = open_page(demo_server + "/commute", viewport)
    assert page.locator("#clock-note").inner_text().startswith("The data ends on 2026-10-31")
    assert page.locator("#day").input_value() == "2026-11-02"
    choose_station(page, "origin", "西直门", "西直门 Xizhimen", keyboard=False)
    assert page.locator("#origin").input_value() in ("bj-m2-s01", "bj-m4-s12")
    choose_station(page, "destination", "国贸", "国贸 Guomao", keyboard=True)
    assert page.locator("#destination").input_value() == "bj-m1-s20"
    page.click("#advise")
    wait_for_advice(page, "国贸 Guomao")

    legs = page.locator("#legs li")
    assert legs.count() == 2  # Line 2 or 4, then Line 1
    first, second = legs.nth(0).inner_text(), legs.nth(1).inner_text()
    assert "西直门 Xizhimen →" in first and "号线" in first and "Line" in first
    assert "→ 国贸 Guomao" in second and "北京地铁1号线 Beijing Subway Line 1" in second
    assert "leaves" in first and "arrives" in first
    # each leg says how crowded its own train is, and where
    assert re.search(r"most crowded \d+ % of capacity \(\d+–\d+ %\) leaving \S", first), first
    # The interchange platforms stand 90 m apart: the walk takes the 2-minute minimum.
    assert "walk 2 min to change" in second
    assert page.locator("#advice-changes").inner_text().startswith("1 change at ")

    label = page.locator("#advice-chart").get_attribute("data-recommended")
    assert label and page.locator("#advice-headline").inner_text() == f"Leave at {label}"
    # The reason gives the crowding: of the preferred time kept, or of the time advised.
    reason = page.locator("#advice-reason").inner_text()
    assert re.search(r"\d+ % (full|less crowded|more crowded)", reason), reason
    colours = get_bar_colours(page)
    assert len(colours) == 11 and colours.count(GREEN) == 1  # 07:00..09:30, one recommended
    axis = page.locator("#advice-chart .ytitle").text_content()
    assert axis == "most crowded train, % of capacity"
    assert "15 min" in page.locator("#advice-chart .xtitle").text_content()
    assert page.locator("#synthetic-banner").is_visible()
    page.screenshot(path=artifacts / f"commuter-journey-{name}.png", full_page=True)
    assert_fits(page)

    # Another route re-asks with route=1 and shows its own change.
    routes = page.locator("#routes button")
    assert routes.count() >= 2
    assert routes.nth(0).get_attribute("aria-pressed") == "true"
    other_via = routes.nth(1).inner_text().split(" via ")[1].split(" · ")[0]
    routes.nth(1).click()
    page.wait_for_function(
        "(via) => document.querySelector('#advice-changes').textContent.includes(via)",
        arg=other_via,
    )
    page.wait_for_selector("#routes button[data-route='1'][aria-pressed='true']")
    assert page.locator("#legs li").count() == 2
    assert_clean(demo_server, requests, errors)


def click_map_station(page: Any, site_id: str) -> None:
    """Click a station's point on the station map, as a person would.

    The centre of a city is dense: at phone width neighbouring stations are a few pixels
    apart, so a person first drags the station to the middle and zooms in with the map's
    own buttons, then clicks it.
    """
    bring_into_reach(page, site_id)
    where = station_point(page, site_id)
    page.wait_for_timeout(400)  # two clicks within 300 ms are a double click to plotly.js
    page.mouse.move(where[0], where[1])
    # plotly.js clicks the point it hovers: wait for its label first.
    page.wait_for_function(
        "(site) => ((document.getElementById('station-map')._hoverdata || [])[0] || {})"
        ".customdata?.[0] === site",
        arg=site_id,
    )
    page.mouse.click(where[0], where[1])


def bring_into_reach(page: Any, site_id: str) -> None:
    """Reset the map, drag the station to the middle of the plot and zoom in twice."""
    page.locator("#station-map").scroll_into_view_if_needed()
    page.click("#station-map .modebar-btn[data-title='Reset axes']")
    where = station_point(page, site_id)
    middle = page.evaluate(
        """() => {
          const gd = document.getElementById('station-map');
          const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          const box = gd.getBoundingClientRect();
          return [box.left + xa._offset + xa._length / 2, box.top + ya._offset + ya._length / 2];
        }"""
    )
    page.mouse.move(where[0], where[1])
    page.mouse.down()
    page.mouse.move(middle[0], middle[1], steps=8)
    page.mouse.up()
    page.mouse.move(0, 0)
    for _ in range(2):
        page.click("#station-map .modebar-btn[data-title='Zoom in']")


def station_point(page: Any, site_id: str) -> list[float]:
    """Where a station's point is on the screen."""
    where = page.evaluate(
        """(site) => {
          const gd = document.getElementById('station-map');
          const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
          const box = gd.getBoundingClientRect();
          for (const t of gd._fullData) {
            if (t.visible !== true) continue;
            const i = (t.customdata || []).findIndex(c => c[0] === site);
            if (i >= 0) return [box.left + xa._offset + xa.l2p(t.x[i]),
                                box.top + ya._offset + ya.l2p(t.y[i])];
          }
          return null;
        }""",
        site_id,
    )
    assert where, f"{site_id} is not shown on the map"
    return list(where)


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_commuter_chooses_stations_on_the_map(
    demo_server: str, open_page: Any, artifacts: Path, name: str, viewport: dict[str, int]
) -> None:
    page, requests, errors = open_page(demo_server + "/commute", viewport)
    page.wait_for_selector("#station-map[data-rendered='true']")
    choose_station(page, "origin", "xizhi", "西直门 Xizhimen", keyboard=False)  # Beijing's map
    page.check("input[name=map-target][value=destination]")
    click_map_station(page, "bj-m1-s20")
    page.wait_for_function("() => document.querySelector('#destination').value === 'bj-m1-s20'")
    assert page.locator("#destination-search").input_value() == "国贸 Guomao"
    click_map_station(page, "bj-m1-s05")  # the next click sets To again: it stays chosen
    page.wait_for_function("() => document.querySelector('#destination').value === 'bj-m1-s05'")
    page.check("input[name=map-target][value=origin]")
    click_map_station(page, "bj-m1-s20")
    page.wait_for_function("() => document.querySelector('#origin').value === 'bj-m1-s20'")
    assert page.locator("input[name=map-target][value=destination]").is_checked()
    chosen = page.evaluate(
        "() => { const d = document.getElementById('station-map').data; return d[d.length - 1].text; }"
    )
    assert chosen == ["From", "To"]
    page.click("#advise")
    wait_for_advice(page, "Guomao →")
    assert page.locator("#legs li").count() == 1
    assert page.locator("#advice-changes").inner_text() == "none, one line all the way"
    page.screenshot(path=artifacts / f"commuter-map-{name}.png", full_page=True)
    assert_fits(page)
    assert_clean(demo_server, requests, errors)


def test_commuter_asks_to_arrive_by_a_time(demo_server: str, open_page: Any) -> None:
    page, requests, errors = open_page(demo_server + "/commute", DESKTOP)
    choose_station(page, "origin", "Xizhimen", "西直门 Xizhimen", keyboard=True)
    choose_station(page, "destination", "guomao", "国贸 Guomao", keyboard=False)
    page.check("#arrive-by")
    assert page.locator(".time-label").all_inner_texts() == ["Arrive from", "Arrive by"]
    page.fill("#start", "08:00")
    page.fill("#end", "09:00")
    page.fill("#preferred", "08:30")
    page.click("#advise")
    wait_for_advice(page, "国贸 Guomao")
    arrive = page.locator("#advice-arrival").inner_text()
    assert "08:00" <= arrive <= "09:00", arrive
    assert page.locator("#legs li").count() == 2
    assert_clean(demo_server, requests, errors)


def test_only_asking_counts_not_opening_the_page(demo_server: str, browser: Any) -> None:
    """Opening /commute shows the default trip's advice without counting it (GET); the
    person's own request counts once (POST), and switching routes counts nothing."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        asked: list[str] = []
        page.on(
            "request",
            lambda r: asked.append(r.method) if "/api/advice" in r.url else None,
        )
        page.goto(demo_server + "/commute", wait_until="networkidle")
        page.wait_for_selector("#advice-chart[data-rendered='true']")
        assert "POST" not in asked  # the default trip was only read
        # Once its answer has been read, the page comes with it: no request at all.
        asked.clear()
        page.reload(wait_until="networkidle")
        page.wait_for_selector("#advice-chart[data-rendered='true']")
        assert asked == []
        assert page.locator("#advice-headline").inner_text()
        with page.expect_response(lambda r: "/api/advice" in r.url):
            page.click("#advise")
        assert asked == ["POST"]
    finally:
        context.close()


def test_commuter_says_when_no_station_matches(demo_server: str, open_page: Any) -> None:
    page, _, _ = open_page(demo_server + "/commute", DESKTOP)
    page.fill("#origin-search", "zzzz")
    page.wait_for_selector("#origin-list li.none")
    assert "No station matches" in page.locator("#origin-list").inner_text()
    page.click("#advise")
    page.wait_for_selector("#advice-error:not([hidden])")
    assert "No station matches" in page.locator("#advice-error").inner_text()


def test_commuter_page_says_why_it_cannot_advise(demo_server: str, open_page: Any) -> None:
    page, _, _ = open_page(demo_server + "/commute", DESKTOP)
    page.wait_for_selector("#advice-chart[data-rendered='true']")
    page.fill("#day", "2026-10-30")
    page.click("#advise")
    page.wait_for_selector("#advice-error:not([hidden])")
    assert "in the past" in page.locator("#advice-error").inner_text()


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_operator_page_overlays_observed_and_predicted(
    demo_server: str,
    open_page: Any,
    artifacts: Path,
    name: str,
    viewport: dict[str, int],
    government_token: str,
    sign_in: Callable[..., None],
) -> None:
    # The operator page is for government: signed out, it asks for a key first.
    page, requests, errors = open_page(demo_server + "/operator", viewport)
    assert page.locator("form.sign-in").count() == 1
    errors.clear()  # the browser logs the page's 401 before the form is filled
    sign_in(page, demo_server, government_token, "/operator")
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


@pytest.mark.parametrize(("language", "viewport"), [("en", PHONE), ("zh_CN", DESKTOP)])
def test_the_answer_comes_into_view_and_the_trip_stays_in_the_address(
    demo_server: str, open_page: Any, language: str, viewport: dict[str, int]
) -> None:
    page, requests, errors = open_page(f"{demo_server}/commute?lang={language}", viewport)
    choose_station(page, "origin", "西直门", "西直门 Xizhimen", keyboard=False)
    choose_station(page, "destination", "国贸", "国贸 Guomao", keyboard=False)
    page.click("#advise")
    wait_for_advice(page, "国贸 Guomao")
    # focus on the answer's headline, its top on screen (below the form on a phone)
    page.wait_for_function("() => document.activeElement.id === 'advice-headline'")
    page.wait_for_function(
        "() => { const r = document.querySelector('#advice-headline').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }"
    )
    # crowding now outlines the sections of the rider's own legs, and says how many
    page.wait_for_function(
        "() => document.querySelectorAll('#live .live-section.on-trip').length > 0"
    )
    assert page.locator("#live .live-line.has-trip .live-trip-note").first.inner_text()
    address = page.url
    assert (
        "origin=" in address and "destination=bj-m1-s20" in address and "day=2026-11-02" in address
    )
    # the address alone brings the same trip back (a bookmark, a shared link): a read
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.method) if "/api/advice" in r.url else None)
    page.goto(address, wait_until="networkidle")
    wait_for_advice(page, "国贸 Guomao")
    assert page.locator("#destination").input_value() == "bj-m1-s20"
    assert "国贸" in page.locator("#destination-search").input_value()
    assert asked == []  # the page came with the answer to the trip in its address
    assert_clean(demo_server, requests, errors)


def test_a_skip_link_leads_the_keyboard_past_the_menus(demo_server: str, open_page: Any) -> None:
    page, requests, errors = open_page(demo_server + "/commute", DESKTOP)
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert skip.evaluate("node => node === document.activeElement") and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    assert_clean(demo_server, requests, errors)


def test_the_installed_app_opens_offline_with_its_last_answer_marked_as_kept(
    demo_server: str, open_page: Any
) -> None:
    manifest = open_page(demo_server + "/manifest.webmanifest", PHONE)[0]
    body = manifest.evaluate("() => JSON.parse(document.body.innerText)")
    assert body["display"] == "standalone" and body["start_url"].endswith("/commute")
    page, requests, errors = open_page(demo_server + "/commute", PHONE)
    assert page.locator("link[rel=manifest]").count() == 1
    choose_station(page, "origin", "西直门", "西直门 Xizhimen", keyboard=False)
    choose_station(page, "destination", "国贸", "国贸 Guomao", keyboard=False)
    page.click("#advise")
    wait_for_advice(page, "国贸 Guomao")
    headline = page.locator("#advice-headline").inner_text()
    # The worker controls the page once it is active; a reload puts the page in its cache.
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload(wait_until="networkidle")
    wait_for_advice(page, "国贸 Guomao")
    assert page.evaluate("() => Boolean(navigator.serviceWorker.controller)")
    page.context.set_offline(True)
    try:
        page.reload(wait_until="load")
        page.wait_for_function("() => !document.querySelector('#offline-note').hidden")
        assert page.locator("#advice-headline").inner_text() == headline
        assert (
            page.locator("#offline-note")
            .inner_text()
            .startswith("Offline: this is the answer kept at")
        )
    finally:
        page.context.set_offline(False)
    offline = ("net::ERR_INTERNET_DISCONNECTED", "Failed to fetch")
    assert_clean(demo_server, requests, [e for e in errors if not any(o in e for o in offline)])


def test_the_recommended_departure_goes_into_a_calendar_with_a_reminder(
    demo_server: str, open_page: Any
) -> None:
    page, requests, errors = open_page(demo_server + "/commute", DESKTOP)
    choose_station(page, "origin", "西直门", "西直门 Xizhimen", keyboard=False)
    choose_station(page, "destination", "国贸", "国贸 Guomao", keyboard=False)
    page.click("#advise")
    wait_for_advice(page, "国贸 Guomao")
    label = page.locator("#advice-headline").inner_text().removeprefix("Leave at ")
    with page.expect_download() as download:
        page.click("#advice-calendar")
    event = Path(download.value.path()).read_bytes().decode("utf-8")  # CRLF kept
    lines = event.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and "END:VCALENDAR" in lines
    start = next(line for line in lines if line.startswith("DTSTART:"))
    # The slot's local time (Beijing, UTC+8) in UTC, as iCalendar's Z form.
    hour, minute = (int(x) for x in label.split(":"))
    assert start == f"DTSTART:20261102T{(hour - 8) % 24:02d}{minute:02d}00Z"
    assert "TRIGGER:-PT10M" in lines and any(line.startswith("SUMMARY:Leave at") for line in lines)
    assert_clean(demo_server, requests, errors)


def test_a_saved_trip_is_one_tap_away_and_can_be_removed(demo_server: str, open_page: Any) -> None:
    page, requests, errors = open_page(demo_server + "/commute", PHONE)
    assert page.locator("#my-trips").is_hidden()
    choose_station(page, "origin", "西直门", "西直门 Xizhimen", keyboard=False)
    choose_station(page, "destination", "国贸", "国贸 Guomao", keyboard=False)
    page.click("#advise")
    wait_for_advice(page, "国贸 Guomao")
    page.click("#save-trip")
    page.goto(demo_server + "/commute", wait_until="networkidle")  # another day: the form
    trip = page.locator("#my-trips-list a")
    assert trip.count() == 1 and "国贸 Guomao" in trip.inner_text()
    trip.click()
    wait_for_advice(page, "国贸 Guomao")  # the saved address asks again
    page.click("#my-trips-list .remove-trip")
    assert page.locator("#my-trips").is_hidden()
    assert_clean(demo_server, requests, errors)
    assert_fits(page)


def test_the_app_opens_from_its_worker_and_asks_the_advice_afresh(
    demo_server: str, open_page: Any
) -> None:
    page, requests, errors = open_page(demo_server + "/commute", PHONE)
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function(
        "() => caches.open('urbanpulse-pages-v2').then(c => c.keys()).then(k => k.length > 0)"
    )  # the worker keeps the page that installed it
    asked = len([u for u in requests if "/api/advice" in u])
    # The page's own address now names the trip; the app opens at its start address.
    opened = page.goto(demo_server + "/commute", wait_until="networkidle")
    assert opened is not None and opened.from_service_worker
    page.wait_for_function(
        "() => document.querySelector('#advice-chart').dataset.rendered === 'true'"
    )
    # The server's copy would come with the answer (its inputs are cached now); the kept
    # copy has none, so the advice is asked again, not replayed.
    assert page.locator("#first-answer").count() == 0
    # It asks for that answer as it is read (a preload), and the script takes it: one read.
    preload = page.locator("link[rel=preload][as=fetch]")
    assert preload.count() == 1 and "/api/advice?" in (preload.get_attribute("href") or "")
    assert len([u for u in requests if "/api/advice" in u]) == asked + 1
    # Another language is never answered from a copy kept in the first one.
    page.goto(demo_server + "/commute?lang=zh_CN", wait_until="networkidle")
    page.goto(demo_server + "/commute", wait_until="networkidle")
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    assert_clean(demo_server, requests, errors)
