"""Admins manage keys and read the audit log over the API and on the admin page; every
call of a closed route, refusals included, is audited with who, what and the outcome."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from urbanpulse.access import issue_key
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake


@pytest.fixture
def app(test_lake: Lake, tmp_path: Path) -> FastAPI:
    return create_app(Settings(lake_path=test_lake.root, access_db=tmp_path / "access.sqlite3"))


@pytest.fixture
def admin(app: FastAPI) -> TestClient:
    _, token = issue_key(app.state.access.store, scope="admin", name="ops")
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issue_use_rotate_revoke_over_the_api(app: FastAPI, admin: TestClient) -> None:
    created = admin.post("/api/keys", json={"scope": "government", "name": "Traffic"})
    assert created.status_code == 201, created.text
    key_id, token = created.json()["key"]["key_id"], created.json()["token"]
    anonymous = TestClient(app)
    observations = "/api/sites/tj-air-1/observations?metric=pm25&limit=1"
    assert anonymous.get(observations).status_code == 401
    assert anonymous.get(observations, headers=bearer(token)).status_code == 200
    # X-API-Key works as well as Authorization: Bearer.
    assert anonymous.get(observations, headers={"X-API-Key": token}).status_code == 200

    listed = admin.get("/api/keys").json()["items"]
    assert key_id in {k["key_id"] for k in listed} and token not in str(listed)

    rotated = admin.post(f"/api/keys/{key_id}/rotate").json()["token"]
    assert anonymous.get(observations, headers=bearer(token)).status_code == 401
    assert anonymous.get(observations, headers=bearer(rotated)).status_code == 200
    assert admin.post(f"/api/keys/{key_id}/revoke").json()["active"] is False
    assert anonymous.get(observations, headers=bearer(rotated)).status_code == 401
    assert admin.post(f"/api/keys/{key_id}/revoke").status_code == 400
    assert admin.post("/api/keys/nope/rotate").status_code == 404
    bad = admin.post("/api/keys", json={"scope": "public", "name": "x"})
    assert bad.status_code == 422


def test_audit_records_who_what_scope_and_outcome(app: FastAPI, admin: TestClient) -> None:
    _, business = issue_key(app.state.access.store, scope="business", name="Acme")
    anonymous = TestClient(app)
    anonymous.get("/api/quarantine")  # 401
    anonymous.get("/api/quarantine", headers=bearer(business))  # 403
    admin.get("/api/quarantine?limit=5")  # 200
    anonymous.get("/api/cities")  # public: not audited
    entries = admin.get("/api/audit", params={"path": "/api/quarantine"}).json()["items"]
    assert [(e["actor"][:4], e["scope"], e["status"]) for e in entries] == [
        ("anon", "public", 401),
        ("key:", "business", 403),
        ("key:", "admin", 200),
    ]
    assert entries[2]["method"] == "GET" and entries[2]["detail"] == "limit=5"
    everything = admin.get("/api/audit").json()["items"]
    assert not any(e["path"] == "/api/cities" for e in everything)
    assert admin.get("/api/audit", params={"status": 403}).json()["count"] == 1

    verify = admin.get("/api/audit/verify").json()
    assert verify["ok"] is True and verify["entries"] >= 3


def test_audit_exports_as_csv_and_json(admin: TestClient) -> None:
    admin.get("/api/quarantine")
    response = admin.get("/api/audit/export")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["path"] == "/api/quarantine" and rows[0]["status"] == "200"
    as_json = admin.get("/api/audit/export", params={"format": "json"}).json()
    assert as_json[0]["hash"] == rows[0]["hash"]


def test_admin_page_issues_rotates_and_revokes(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    browser = TestClient(app)
    signed_out = browser.get("/admin", headers={"Accept": "text/html"})
    assert signed_out.status_code == 401 and 'action="/sign-in"' in signed_out.text
    token = grant(app, "admin")["Authorization"].removeprefix("Bearer ")
    signed_in = browser.post(
        "/sign-in", data={"key": token, "next": "/admin"}, follow_redirects=False
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    # the cookie holds a session, never the key
    assert token not in signed_in.headers["set-cookie"] and "urbanpulse_session=ups_" in cookie
    page = browser.get("/admin")
    assert page.status_code == 200 and "Issue a key" in page.text
    # a signed-in change must say it comes from this site, as browsers do (Origin)
    bare = browser.post("/admin/keys", data={"name": "No origin", "scope": "business"})
    assert bare.status_code == 403
    browser.headers["Origin"] = "http://testserver"
    issued = browser.post("/admin/keys", data={"name": "Bus company", "scope": "business"})
    assert issued.status_code == 200 and 'id="new-token"' in issued.text
    key = next(k for k in app.state.access.store.list_keys() if k.name == "Bus company")
    assert f"up_{key.key_id}_" in issued.text
    assert f"up_{key.key_id}_" not in browser.get("/admin").text  # shown once
    revoked = browser.post(f"/admin/keys/{key.key_id}/revoke")
    assert 'id="revoked"' in revoked.text
    assert not app.state.access.store.get_key(key.key_id).active
    # A form posted from another site is refused even with the cookie.
    foreign = browser.post(
        "/admin/keys",
        data={"name": "x", "scope": "admin"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403


def test_a_business_key_cannot_open_the_admin_page(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    assert TestClient(app).get("/admin", headers=grant(app, "business")).status_code == 403


def test_wrong_sign_in_key_says_so(app: FastAPI) -> None:
    response = TestClient(app).post("/sign-in", data={"key": "up_x_y", "next": "/admin"})
    assert response.status_code == 401 and "invalid or revoked API key" in response.text
    (entry,) = app.state.access.store.read_audit(path="/sign-in")
    assert (entry.actor, entry.status) == ("anonymous", 401)


def test_sign_in_goes_back_to_this_site_only(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    token = grant(app, "government")["Authorization"].removeprefix("Bearer ")
    response = TestClient(app).post(
        "/sign-in", data={"key": token, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"


def test_a_forged_or_revoked_key_is_audited_by_what_it_claimed(
    app: FastAPI, admin: TestClient
) -> None:
    key, token = issue_key(app.state.access.store, scope="government", name="gone")
    admin.post(f"/api/keys/{key.key_id}/revoke")
    anonymous = TestClient(app)
    assert anonymous.get("/api/quarantine", headers=bearer(token)).status_code == 401
    assert anonymous.get("/api/quarantine", headers=bearer("up_zz9_forged")).status_code == 401
    entries = admin.get("/api/audit", params={"path": "/api/quarantine"}).json()["items"]
    details = [e["detail"] for e in entries if e["status"] == 401]
    assert details == [f"tried key:{key.key_id}; ", "tried key:zz9; "]
    # never the secret: the whole of it (a url-safe secret may itself hold "_", and a
    # fragment after its last "_" can be a letter or two that any detail holds)
    secret = token.split("_", 2)[2]
    assert all(secret not in e["detail"] for e in entries)


def test_a_request_whose_audit_entry_cannot_be_written_is_refused(
    app: FastAPI, admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urbanpulse.api import access as api_access

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(api_access, "record_event", full_disk)
    refused = admin.get("/api/quarantine")
    assert refused.status_code == 503 and "audit" in refused.json()["error"]["message"]
    assert "raw" not in refused.text  # the quarantined rows were not sent
    assert TestClient(app).get("/api/cities").status_code == 200  # public: not audited


def test_rate_limit_refusals_are_audited(test_lake: Lake, tmp_path: Path) -> None:
    limits = {"public": 2, "business": 2, "government": 100, "admin": 100}
    app = create_app(
        Settings(
            lake_path=test_lake.root,
            access_db=tmp_path / "access.sqlite3",
            rate_limit_per_minute=limits,
        )
    )
    _, business = issue_key(app.state.access.store, scope="business", name="busy")
    caller = TestClient(app, headers=bearer(business))
    statuses = [caller.get("/api/cities").status_code for _ in range(4)]
    assert statuses[-1] == 429
    _, admin_token = issue_key(app.state.access.store, scope="admin", name="ops")
    audit = TestClient(app, headers=bearer(admin_token))
    limited = audit.get("/api/audit", params={"status": 429}).json()["items"]
    assert len(limited) == statuses.count(429)
    assert all(e["path"] == "/api/cities" and e["detail"].startswith("tried key:") for e in limited)


def _sign_in(app: FastAPI, token: str) -> tuple[TestClient, str]:
    browser = TestClient(app, headers={"Origin": "http://testserver"})
    signed_in = browser.post("/sign-in", data={"key": token, "next": "/"}, follow_redirects=False)
    assert signed_in.status_code == 303
    return browser, browser.cookies["urbanpulse_session"]


def test_signing_out_ends_the_session_wherever_its_cookie_is(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    token = grant(app, "admin")["Authorization"].removeprefix("Bearer ")
    browser, session = _sign_in(app, token)
    copy = TestClient(app, cookies={"urbanpulse_session": session})  # a stolen copy
    assert copy.get("/api/quarantine").status_code == 200
    assert browser.post("/sign-out", follow_redirects=False).status_code == 303
    ended = copy.get("/api/quarantine")
    assert ended.status_code == 401 and "sign in again" in ended.json()["error"]["message"]
    # the key itself still works in a header: signing out ends the session, not the key
    assert TestClient(app).get("/api/quarantine", headers=bearer(token)).status_code == 200


def test_revoking_or_rotating_the_key_ends_its_sessions(
    app: FastAPI, admin: TestClient, grant: Callable[..., dict[str, str]]
) -> None:
    for action in ("revoke", "rotate"):
        key, token = issue_key(app.state.access.store, scope="admin", name=action)
        _, session = _sign_in(app, token)
        signed_in = TestClient(app, cookies={"urbanpulse_session": session})
        assert signed_in.get("/api/quarantine").status_code == 200
        assert admin.post(f"/api/keys/{key.key_id}/{action}").status_code == 200
        assert signed_in.get("/api/quarantine").status_code == 401, action


def test_a_neighbouring_site_cannot_revoke_a_key_through_a_signed_in_browser(
    app: FastAPI, grant: Callable[..., dict[str, str]]
) -> None:
    victim, _ = issue_key(app.state.access.store, scope="business", name="victim")
    token = grant(app, "admin")["Authorization"].removeprefix("Bearer ")
    _, session = _sign_in(app, token)
    cookies = {"urbanpulse_session": session}
    path = f"/api/keys/{victim.key_id}/revoke"
    for origin in ({"Origin": "http://testserver:8080"}, {"Referer": "http://evil.example/"}, {}):
        forged = TestClient(app, cookies=cookies).post(path, headers=origin)
        assert forged.status_code == 403, origin
    assert app.state.access.store.get_key(victim.key_id).active
    own = TestClient(app, cookies=cookies).post(path, headers={"Origin": "http://testserver"})
    assert own.status_code == 200 and not app.state.access.store.get_key(victim.key_id).active


def test_a_closed_page_asks_a_browser_to_sign_in_and_comes_back_to_its_deep_link(
    app: FastAPI,
) -> None:
    page = TestClient(app).get(
        "/operator", params={"day": "2026-11-02", "line": "bj-m1"}, headers={"Accept": "text/html"}
    )
    assert page.status_code == 401 and 'action="/sign-in"' in page.text
    assert 'value="/operator?day=2026-11-02&amp;line=bj-m1"' in page.text
