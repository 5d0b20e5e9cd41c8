"""Every page in headless Chromium under English, at desktop and phone width: no Chinese
UI word is left (Chinese place names marked lang="zh" aside) and axe-core finds no WCAG
2.2 A or AA violation (tests/web/page_walk.py). 中文 is walked in test_i18n_browser.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.web.page_walk import DESKTOP, PHONE

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_every_page_speaks_english(
    walk_every_page: Callable[..., None], width: str, viewport: dict[str, int]
) -> None:
    walk_every_page(lang="en", width=width, viewport=viewport)
