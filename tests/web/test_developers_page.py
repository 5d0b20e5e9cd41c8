"""The developer page: datasets with who may read them, limits, examples, own usage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.opendata import get_catalog
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

WEB = Path(__file__).resolve().parents[2] / "src" / "urbanpulse" / "web"


@pytest.fixture(scope="module")
def client(test_lake: Lake) -> Iterator[TestClient]:
    settings = Settings(lake_path=test_lake.root, quota_per_day={"public": 1234})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_page_lists_every_published_dataset_and_who_may_read_it(
    client: TestClient, test_lake: Lake
) -> None:
    response = client.get("/developers")
    assert response.status_code == 200
    html = response.text
    datasets = get_catalog(test_lake)
    assert datasets
    for dataset in datasets:
        assert f"<code>{dataset.dataset_id}</code>" in html
    assert "business key" in html and "urbanpulse keys issue" in html
    # The limits the server enforces, from its own settings.
    assert "1,234" in html and "no quota" in html
    assert 'href="/developers"' in html  # in the menu


def test_examples_use_this_server_and_a_dataset_that_needs_a_key(client: TestClient) -> None:
    html = client.get("/developers").text
    example = re.search(r"/api/datasets/([\w.-]+)\?format=csv", html)
    assert example and "http://testserver/api/catalog" in html
    answer = client.get(f"/api/datasets/{example.group(1)}", params={"format": "csv"})
    assert answer.status_code == 401  # anonymous: the key the page explains is needed


def test_anyone_sees_their_own_usage(client: TestClient) -> None:
    first = client.get("/api/usage").json()
    client.get("/api/cities")
    second = client.get("/api/usage").json()
    assert first["scope"] == second["scope"] == "public" and first["caller"] == "ip"
    assert second["windows"]["day"]["limit"] == 1234
    assert second["windows"]["day"]["used"] > first["windows"]["day"]["used"]


def test_the_page_and_its_script_load_and_link_nothing_from_another_host(
    client: TestClient,
) -> None:
    html = client.get("/developers").text
    linked = re.findall(r'(?:href|src)="(https?://[^"]+)"', html)
    assert all(url.startswith("http://testserver/") for url in linked), linked
    script = (WEB / "static" / "developers.js").read_text()
    assert not re.findall(r"https?://", script)  # a licence may be named, never fetched
