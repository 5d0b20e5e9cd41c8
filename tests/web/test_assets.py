"""Static assets: versioned URLs cached for good, gzipped, and the partial plotly.js."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import plotly
import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.web.assets import AssetStore

STATIC = Path(__file__).resolve().parents[2] / "src" / "urbanpulse" / "web" / "static"
VERSIONED = re.compile(r'(?:src|href)="(/static/v/[0-9a-f]{12}/[^"]+)"')


@pytest.fixture(scope="module")
def client(demo_lake: Lake) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(lake_path=demo_lake.root))) as test_client:
        yield test_client


def _raw(client: TestClient, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body as sent (not decoded by the client)."""
    with client.stream("GET", url, headers=headers) as response:
        return response.status_code, dict(response.headers), b"".join(response.iter_raw())


@pytest.mark.parametrize("page", ["/commute", "/monitor", "/"])
def test_pages_link_their_assets_by_content_digest(client: TestClient, page: str) -> None:
    links = VERSIONED.findall(client.get(page).text)
    assert any(link.endswith("style.css") for link in links), links
    for link in links:
        status, headers, body = _raw(client, link, **{"Accept-Encoding": "gzip"})
        assert status == 200, link
        assert headers["cache-control"] == "public, max-age=31536000, immutable", link
        name = link.split("/", 4)[4]
        assert gzip.decompress(body) == (STATIC / name).read_bytes(), link
        assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"


def test_chart_pages_load_the_basic_bundle_async_and_their_scripts_deferred(
    client: TestClient,
) -> None:
    html = client.get("/commute").text
    assert re.search(r'<script async id="plotly-js" src="/static/v/\w+/vendor/plotly-basic', html)
    assert "plotly.min.js" not in html
    scripts = re.findall(r"<script (?!type)[^>]*>", html)
    assert scripts and all(" async " in s or " defer " in s for s in scripts), scripts


def test_without_gzip_the_file_comes_plain_and_an_etag_gives_304(client: TestClient) -> None:
    link = next(u for u in VERSIONED.findall(client.get("/").text) if u.endswith(".js"))
    status, headers, body = _raw(client, link, **{"Accept-Encoding": "identity"})
    assert status == 200 and "content-encoding" not in headers
    assert body == (STATIC / link.split("/", 4)[4]).read_bytes()
    again = client.get(link, headers={"If-None-Match": headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_a_stale_digest_gets_the_current_file_but_is_not_cached_for_good(
    client: TestClient,
) -> None:
    status, headers, body = _raw(client, "/static/v/000000000000/charts.js")
    assert status == 200 and headers["cache-control"] == "no-cache"
    assert b"UrbanPulseCharts" in gzip.decompress(body)
    assert client.get("/static/v/000000000000/nothing.js").status_code == 404
    assert client.get("/static/v/000000000000/..%2Fapp.py").status_code == 404


def test_a_changed_file_gets_a_new_url(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("var a = 1;\n" * 100)
    store = AssetStore(tmp_path)
    before = store.get_url("app.js")
    (tmp_path / "app.js").write_text("var a = 2;\n" * 100)
    after = store.get_url("app.js")
    assert before != after and before.endswith("/app.js") and after.endswith("/app.js")


def test_pages_and_json_are_gzipped(client: TestClient) -> None:
    for url in ("/commute", "/api/cities"):
        status, headers, body = _raw(client, url, **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers["content-encoding"] == "gzip", url
        assert gzip.decompress(body)


@pytest.mark.parametrize("bundle", ["basic", "cartesian"])
def test_the_partial_bundles_match_the_plotly_package_and_keep_their_licence(bundle: str) -> None:
    head = (STATIC / "vendor" / f"plotly-{bundle}.min.js").read_text("utf-8")[:300]
    full = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").open().read(300)
    version = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", full)
    assert version, "no version in plotly.min.js"
    # Figures are built by the Python package for its plotly.js: the bundle must match.
    assert f"({bundle} - minified) v{version.group(1)}" in head
    assert "MIT License" in (STATIC / "vendor" / "plotly.js-LICENSE.txt").read_text()
