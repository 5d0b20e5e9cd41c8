"""Rate limits and quotas count each caller by its verified key and scope: made-up keys
count against the client's address, so they cannot open fresh quotas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


def asgi_scope(headers: dict[str, str], client: str = "203.0.113.9") -> dict:
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/cities",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (client, 5000),
    }


def build_app(lake: Lake, tmp_path: Path) -> FastAPI:
    return create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))


def test_made_up_keys_count_as_the_address(test_lake: Lake, tmp_path: Path) -> None:
    identify = build_app(test_lake, tmp_path).state.rate_limiter.identify
    anonymous = identify(asgi_scope({}))
    for made_up in ("up_aaaaaaaaaaaa_x", "up_bbbbbbbbbbbb_y", "garbage"):
        caller = identify(asgi_scope({"Authorization": f"Bearer {made_up}"}))
        assert caller == anonymous and caller.scope == "public"
    assert identify(asgi_scope({"X-API-Key": "up_c_d"})) == anonymous


def test_a_verified_key_counts_in_its_own_scope(
    test_lake: Lake, tmp_path: Path, grant: Callable[..., dict[str, str]]
) -> None:
    app = build_app(test_lake, tmp_path)
    headers = grant(app, "government")
    caller = app.state.rate_limiter.identify(asgi_scope(headers))
    assert caller.scope == "government" and caller.id.startswith("key:")
    # The same key from another address is the same caller.
    assert app.state.rate_limiter.identify(asgi_scope(headers, client="198.51.100.1")) == caller
