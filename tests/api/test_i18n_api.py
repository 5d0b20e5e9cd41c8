"""The API speaks the caller's language: Accept-Language (or the pages' cookie or
?lang=) chooses Chinese or English for error messages and advice words; codes and the
error shape stay the same in both."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from urbanpulse.api import create_app
from urbanpulse.i18n import negotiate
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


def _has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("zh", "zh_CN"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, zh;q=0.8", "zh_CN"),
        ("de-DE, zh;q=0.3, en;q=0.2", "zh_CN"),
        ("fr-FR", "zh_CN"),  # neither: the region's language
        ("", "en"),  # no preference (programs): as the messages are written
        (None, "en"),
    ],
)
def test_accept_language_is_negotiated_by_quality(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_not_found_in_chinese_and_english(client: TestClient) -> None:
    zh = client.get("/api/sites/no-such-site", headers=ZH)
    en = client.get("/api/sites/no-such-site", headers=EN)
    assert zh.status_code == en.status_code == 404
    assert zh.json()["error"]["code"] == en.json()["error"]["code"] == "not_found"
    assert zh.json()["error"]["message"] == "数据湖中没有站点 'no-such-site'"
    assert en.json()["error"]["message"] == "no site 'no-such-site' in the lake"
    assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"


def test_credentials_errors_in_the_callers_language(client: TestClient) -> None:
    zh = client.get("/api/audit", headers=ZH)
    en = client.get("/api/audit", headers=EN)
    assert zh.status_code == en.status_code == 401
    assert _has_han(zh.json()["error"]["message"]), zh.json()
    assert "needs an API key or a bearer token" in en.json()["error"]["message"]
    assert not _has_han(en.json()["error"]["message"])


def test_validation_and_unknown_routes_in_chinese(client: TestClient) -> None:
    invalid = client.post("/api/advice", json={"origin": "x", "start": "soon"}, headers=ZH)
    assert invalid.status_code == 422
    assert invalid.json()["error"]["message"].startswith("请求无效：")
    missing = client.get("/api/no-such-route", headers=ZH).json()["error"]
    assert missing["code"] == "not_found" and missing["message"] == "未找到"


def test_the_pages_cookie_and_lang_parameter_choose_the_language(client: TestClient) -> None:
    chosen = client.get("/api/sites/no-such-site?lang=zh_CN", headers=EN)
    assert _has_han(chosen.json()["error"]["message"])
    assert "urbanpulse_lang=zh_CN" in chosen.headers["set-cookie"]
    client.cookies.set("urbanpulse_lang", "zh_CN")
    remembered = client.get("/api/sites/no-such-site", headers=EN)
    assert _has_han(remembered.json()["error"]["message"])
    client.cookies.clear()


def test_without_a_preference_messages_stay_english(client: TestClient) -> None:
    client.cookies.clear()
    body = client.get("/api/sites/no-such-site").json()
    assert body["error"]["message"] == "no site 'no-such-site' in the lake"


def test_advice_reasons_and_message_follow_accept_language(demo_lake: Lake) -> None:
    trip = {"origin": "bj-m1-s05", "destination": "bj-m1-s07"}
    window = {
        "start": "2026-11-02T07:00",
        "end": "2026-11-02T09:30",
        "preferred": "2026-11-02T08:00",
    }
    settings = Settings(lake_path=Path(demo_lake.root), advice_holdout_share=0.0)
    with TestClient(create_app(settings)) as own:
        zh = own.post("/api/advice", json={**trip, **window}, headers=ZH).json()
        en = own.post("/api/advice", json={**trip, **window}, headers=EN).json()
    assert [s["label"] for s in zh["slots"]] and zh["recommended"] and en["recommended"]
    assert _has_han(zh["message"]) and zh["message"].startswith(("建议", "按原计划"))
    assert all(_has_han(s["reason"]) for s in zh["slots"])
    assert not _has_han(en["message"]) and en["message"].startswith("Leave at")
    assert not any(_has_han(s["reason"]) for s in en["slots"])
    assert _has_han(zh["clock"]["note"]) and en["clock"]["note"].startswith("The data ends on")
