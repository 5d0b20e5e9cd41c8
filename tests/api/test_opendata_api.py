"""The open data API: catalogue (JSON and JSON-LD), formats, paging, export, ETag, gzip."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from urbanpulse.store import Lake, read_observations


@pytest.fixture(scope="module")
def business(client_for) -> TestClient:
    """A client with a business key."""
    scoped: TestClient = client_for("business")
    return scoped


@pytest.fixture(scope="module")
def government(client_for) -> TestClient:
    """A client with a government key: raw observations are for government and up."""
    scoped: TestClient = client_for("government")
    return scoped


def test_a_business_key_reads_sites_but_not_raw_observations(business: TestClient) -> None:
    assert business.get("/api/datasets/sites?limit=5").status_code == 200
    for url in (
        "/api/datasets/observations-pm25?limit=5",
        "/api/datasets/observations-pm25/export?format=csv",
        "/api/datasets/observations-passengers?format=parquet",
    ):
        refused = business.get(url)
        assert refused.status_code == 403, url
        assert (
            refused.json()["error"]["code"] and "government" in refused.json()["error"]["message"]
        )


def test_catalogue_lists_datasets_with_links(client: TestClient) -> None:
    response = client.get("/api/catalog")
    assert response.status_code == 200
    body = response.json()
    items = {d["dataset_id"]: d for d in body["items"]}
    assert {"observations-pm25", "sites", "indicators"} <= set(items)
    sites = items["sites"]
    assert sites["scope"] == "business" and "geojson" in sites["formats"]
    assert sites["links"]["geojson"].endswith("/api/datasets/sites?format=geojson")
    assert items["observations-pm25"]["coverage"]["rows"] > 0


def test_catalogue_as_json_ld_by_path_and_by_accept(client: TestClient) -> None:
    by_path = client.get("/api/catalog.jsonld")
    by_accept = client.get("/api/catalog", headers={"Accept": "application/ld+json"})
    for response in (by_path, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/ld+json")
        doc = response.json()
        assert doc["@type"] == "dcat:Catalog"
        node = doc["dcat:dataset"][0]
        assert {"dct:license", "dct:temporal", "dct:spatial", "dcat:distribution"} <= set(node)
        assert node["dcat:distribution"][0]["@type"] == "dcat:Distribution"


def test_etag_gives_304_until_the_query_changes(client: TestClient) -> None:
    first = client.get("/api/catalog")
    etag = first.headers["etag"]
    again = client.get("/api/catalog", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
    assert client.get("/api/catalog.jsonld", headers={"If-None-Match": etag}).status_code == 200


def test_large_json_is_gzipped_when_accepted(government: TestClient) -> None:
    url = "/api/datasets/observations-pm25?limit=500"
    raw = government.get(url, headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    plain = government.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert raw.json() == plain.json()


def test_pages_through_the_api_visit_every_row_once(
    government: TestClient, test_lake: Lake
) -> None:
    url: str | None = "/api/datasets/observations-passengers?limit=300"
    seen = []
    while url:
        page = government.get(url)
        assert page.status_code == 200
        seen += [(r["site_id"], r["ts"]) for r in page.json()["items"]]
        url = page.json()["next"]
        if url:
            assert page.headers["link"] == f'<{url}>; rel="next"'
    direct = read_observations(test_lake, "passengers")
    assert len(seen) == len(set(seen)) == len(direct)


def test_formats_by_parameter_and_by_accept(government: TestClient) -> None:
    url = "/api/datasets/observations-pm25?limit=20"
    rows = government.get(url).json()["items"]
    parquet = government.get(url + "&format=parquet")
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(parquet.content))
    assert [r["value"] for r in rows] == table.column("value").to_pylist()
    csv = government.get(url, headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.splitlines()) == 21
    ndjson = government.get(url + "&format=ndjson").text.splitlines()
    assert [json.loads(line) for line in ndjson] == rows
    geo = government.get("/api/datasets/sites?format=geojson").json()
    assert geo["type"] == "FeatureCollection" and geo["features"][0]["geometry"]["type"] == "Point"
    refused = government.get("/api/datasets/indicators?format=geojson")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_query"


def test_export_of_a_range_streams_what_a_direct_read_gives(
    government: TestClient, test_lake: Lake
) -> None:
    window = "start=2026-03-03T00:00:00%2B08:00&end=2026-03-05T00:00:00%2B08:00"
    response = government.get(f"/api/datasets/observations-pm25/export?format=csv&{window}")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    direct = read_observations(
        test_lake,
        "pm25",
        start=datetime.fromisoformat("2026-03-03T00:00:00+08:00"),
        end=datetime.fromisoformat("2026-03-05T00:00:00+08:00"),
    )
    assert len(lines) == len(direct) + 1
    exported = government.get(f"/api/datasets/observations-pm25/export?format=json&{window}").json()
    assert [r["value"] for r in exported["items"]] == direct["value"].tolist()
    zipped = government.get(
        f"/api/datasets/observations-pm25/export?format=ndjson&{window}",
        headers={"Accept-Encoding": "gzip"},
    )
    assert zipped.headers["content-encoding"] == "gzip"
    assert len(zipped.text.splitlines()) == len(direct)


def test_bad_cursor_and_unknown_dataset_have_the_one_error_shape(business: TestClient) -> None:
    bad = business.get("/api/datasets/sites?cursor=garbage")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_query"
    missing = business.get("/api/datasets/taps")
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    not_public = business.get("/api/aggregates/sites")
    assert not_public.status_code == 404
