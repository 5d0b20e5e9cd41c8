"""A live server for browser tests, the demo app and its keys, and a folder for their
screenshots."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from tests.web.page_walk import AXE, walk_pages

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def live_server(test_lake: Lake, app_server: Any) -> Iterator[str]:
    """The app over the shared test lake; yields its base URL."""
    with app_server(create_app(Settings(lake_path=test_lake.root))) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ at the repository root (gitignored): screenshots for people."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def sign_in() -> Callable[[Any, str, str, str], None]:
    """``sign_in(page, base_url, token, next_path)``: sign in through the form, as a
    person would, and land on ``next_path``."""

    def submit(page: Any, base: str, token: str, next_path: str) -> None:
        page.goto(f"{base}/sign-in?{urlencode({'next': next_path})}")
        page.fill("#key", token)
        with page.expect_navigation():
            page.click("form.sign-in button[type=submit]")
        # landed on the page asked for (which may then keep its own state in the query)
        path = next_path.split("?")[0]
        assert page.url.split("?")[0] == f"{base}{path}", page.url

    return submit


@pytest.fixture(scope="module")
def demo_server(demo_app: FastAPI, app_server: Any) -> Iterator[str]:
    """The module's ``demo_app`` served by uvicorn on a free loopback port."""
    with app_server(demo_app) as url:
        yield url


@pytest.fixture(scope="module")
def government_token(demo_app: FastAPI, grant: Callable[..., dict[str, str]]) -> str:
    """A government API key of the module's ``demo_app``, for the operator's pages."""
    return grant(demo_app, "government")["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def demo_app(demo_lake: Lake) -> FastAPI:
    """The app over the session's demo lake; every request gets a recommendation (a
    module may define its own)."""
    return create_app(Settings(lake_path=Path(demo_lake.root), advice_holdout_share=0.0))


@pytest.fixture(scope="module")
def admin_token(demo_app: FastAPI, grant: Callable[..., dict[str, str]]) -> str:
    """An admin key: it opens the operator and admin pages."""
    return grant(demo_app, "admin")["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def place_names(demo_server: str) -> dict[str, list[str]]:
    """Every place's Chinese and English names (cities, sites, lines, provinces), longest
    first, as the pages may show them next to each other."""
    get = lambda path: httpx.get(demo_server + path, timeout=60).json()  # noqa: E731
    rows: list[dict[str, Any]] = []
    rows += get("/api/cities")["items"]
    rows += get("/api/sites?limit=5000")["items"]
    lines = get("/api/lines")["items"]
    rows += lines + [s for line in lines for s in line["stations"]]
    provinces = get("/api/monitor/provinces")
    rows += provinces.get("areas", []) + provinces.get("ranking", {}).get("items", [])
    names: dict[str, set[str]] = {"zh": set(), "en": set()}
    for row in rows:
        for key in ("zh", "en"):
            for field in (f"name_{key}", f"city_name_{key}", f"road_{key}"):
                if row.get(field):
                    names[key].add(str(row[field]))
    return {k: sorted(v, key=len, reverse=True) for k, v in names.items()}


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"no {AXE}: scripts/ensure-test-tools.sh installs axe-core there")
    return AXE.read_text("utf-8")


@pytest.fixture(scope="module")
def site_id(demo_server: str) -> str:
    """A metro station of the demo lake."""
    sites = httpx.get(demo_server + "/api/sites?limit=5000", timeout=60).json()["items"]
    return next(s["site_id"] for s in sites if s["kind"] == "metro_station")


@pytest.fixture(scope="module")
def walk_every_page(
    browser: Any,
    demo_server: str,
    admin_token: str,
    place_names: dict[str, list[str]],
    site_id: str,
    artifacts: Path,
    axe_source: str,
) -> Callable[..., None]:
    """``walk_every_page(lang=, width=, viewport=)``: sign in as an admin and read every
    page of the demo (:func:`tests.web.page_walk.walk_pages`)."""
    return functools.partial(
        walk_pages,
        browser,
        demo_server,
        token=admin_token,
        place_names=place_names,
        site_id=site_id,
        artifacts=artifacts,
        axe_source=axe_source,
    )
