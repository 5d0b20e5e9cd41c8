"""Credentials never written down: a key, session or JWT sent in an address is blanked
in the audit log and the server's access log, with the key's id kept (to revoke it)."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.access import issue_key
from urbanpulse.access.redaction import redact_credentials, redact_query, redact_target
from urbanpulse.api import create_app
from urbanpulse.api.connections import RedactedAccessLog, build_log_config
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


@pytest.fixture
def app(test_lake: Lake, tmp_path: Path) -> FastAPI:
    return create_app(Settings(lake_path=test_lake.root, access_db=tmp_path / "access.sqlite3"))


KEY = "up_a1b2c3d4e5f6_" + "Zx-9_" * 8
SESSION = "ups_" + "Qw_3-" * 8
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_keys_sessions_and_jwts_lose_their_secrets() -> None:
    text = f"a {KEY} b {SESSION} c {JWT} d"
    assert redact_credentials(text) == "a up_a1b2c3d4e5f6_*** b ups_*** c jwt:*** d"


def test_credential_named_parameters_are_blanked_whatever_their_value() -> None:
    query = f"limit=5&api_key=whatever&Token=abc&x=1&access%5Ftoken=zz&q={KEY}"
    assert redact_query(query) == (
        "limit=5&api_key=***&Token=***&x=1&access%5Ftoken=***&q=up_a1b2c3d4e5f6_***"
    )
    assert redact_target(f"/api/x?key={KEY}") == "/api/x?key=***"
    assert redact_target("/api/sites/a_b") == "/api/sites/a_b"  # no query, no change


@given(
    key_id=st.text("0123456789abcdef", min_size=1, max_size=12),
    name=st.sampled_from(["q", "api_key", "k"]),
)
def test_no_issued_key_survives_in_a_redacted_query(key_id: str, name: str) -> None:
    secret = secrets.token_urlsafe(32)
    query = f"a=1&{name}={quote(f'up_{key_id}_{secret}')}&b=2"
    assert secret not in redact_query(query)


def test_a_key_in_the_address_is_audited_by_its_id_only(app: FastAPI) -> None:
    key, token = issue_key(app.state.access.store, scope="admin", name="leaky client")
    client = TestClient(app)
    # Sent in the address (not accepted there): refused, and the audit keeps no secret.
    assert client.get(f"/api/quarantine?api_key={token}&limit=2").status_code == 401
    assert client.get(f"/api/quarantine?limit=2&q={token}").status_code == 401
    details = [e.detail for e in app.state.access.store.read_audit(path="/api/quarantine")]
    assert details == ["api_key=***&limit=2", f"limit=2&q=up_{key.key_id}_***"]
    assert not any(token.split("_", 2)[2] in d for d in details)


def test_the_access_log_line_carries_no_secret() -> None:
    config = build_log_config()
    (name,) = config["handlers"]["access"]["filters"]
    assert config["filters"][name]["()"] is RedactedAccessLog
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/api/keys?api_key={KEY}&x={SESSION}", "1.1", 401),
        None,
    )
    assert RedactedAccessLog().filter(record)
    message = record.getMessage()
    assert message == '127.0.0.1:5 - "GET /api/keys?api_key=***&x=ups_*** HTTP/1.1" 401'
