"""A live server for browser tests and a folder for their screenshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI

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
