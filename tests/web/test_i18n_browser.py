"""Every page in headless Chromium under 中文, at desktop and phone width: no English UI
word is left (place names, codes, units and numbers aside) and axe-core finds no WCAG
2.2 A or AA violation (tests/web/page_walk.py); the browser's language chooses on the
first visit, and the 中文 / English switch is remembered from page to page.
English is walked in test_i18n_browser_en.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.web.page_walk import DESKTOP, PHONE

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_every_page_speaks_chinese(
    walk_every_page: Callable[..., None], width: str, viewport: dict[str, int]
) -> None:
    walk_every_page(lang="zh_CN", width=width, viewport=viewport)


def test_the_chosen_language_is_remembered_across_pages(browser: Any, demo_server: str) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(demo_server + "/", wait_until="domcontentloaded")
        assert page.get_attribute("html", "lang") == "zh-CN"  # from the browser's language
        assert page.locator("header nav").first.inner_text().startswith("城市与站点")
        page.click(".lang-switch a[data-lang='en']")
        page.wait_for_load_state("domcontentloaded")
        assert page.get_attribute("html", "lang") == "en"
        for path in ("/commute", "/monitor", "/developers"):
            page.goto(demo_server + path, wait_until="domcontentloaded")
            assert page.get_attribute("html", "lang") == "en", path
            current = page.locator(".lang-switch a[aria-current='true']").inner_text()
            assert current == "English"
        page.click(".lang-switch a[data-lang='zh_CN']")
        page.wait_for_load_state("domcontentloaded")
        page.goto(demo_server + "/commute", wait_until="domcontentloaded")
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert page.locator("h1").inner_text().startswith("何时出发")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert cookies["urbanpulse_lang"] == "zh_CN"
    finally:
        context.close()
