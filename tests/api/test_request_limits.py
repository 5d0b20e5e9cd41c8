"""HEAD is answered like GET without a body; oversized credentials and headers get 431
in the one error shape before anything looks them up."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_head_answers_as_get_without_a_body(client: TestClient) -> None:
    got = client.get("/api/cities")
    head = client.head("/api/cities")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert client.head("/").status_code == 200
    # HEAD follows GET through the access matrix too: a closed route stays closed.
    assert client.head("/api/quarantine").status_code == 401


def test_a_megabyte_token_is_refused_before_it_is_read(client: TestClient) -> None:
    for header in ("Authorization", "X-API-Key"):
        value = ("Bearer " if header == "Authorization" else "") + "x" * 1_000_000
        refused = client.get("/api/health", headers={header: value})
        assert refused.status_code == 431
        assert refused.json()["error"]["code"] == "request_header_fields_too_large"
        assert header.lower() in refused.json()["error"]["message"]


def test_many_large_headers_are_refused(client: TestClient) -> None:
    headers = {f"x-padding-{k}": "y" * 4000 for k in range(10)}
    assert client.get("/api/health", headers=headers).status_code == 431
    assert client.get("/api/health", headers={"x-padding": "y" * 4000}).status_code == 200
