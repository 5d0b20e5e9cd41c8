"""Credentials never written down: what a key, a session or a JWT looks like, blanked
wherever a request's address is kept (the audit log, the server's access log).

The API takes credentials in headers only, but a client can still put one in an address
(``?api_key=up_...``), and an address is kept in places a key must never reach: the
audit store, log files and whatever collects them. A key's id stays (the audit needs to
know which key leaked, to revoke it); its secret does not.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

REDACTED = "***"
# Names under which clients commonly send a credential in a query string.
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "api-key",
        "auth",
        "authorization",
        "id_token",
        "key",
        "password",
        "secret",
        "session",
        "token",
        "x-api-key",
    }
)
_API_KEY = re.compile(r"\bup_([A-Za-z0-9]{1,32})_[A-Za-z0-9_\-]+")
_SESSION = re.compile(r"\bups_[A-Za-z0-9_\-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")


def redact_credentials(text: str) -> str:
    """``text`` with every API key's secret, session token and JWT blanked."""
    text = _SESSION.sub(f"ups_{REDACTED}", text)
    text = _API_KEY.sub(rf"up_\1_{REDACTED}", text)
    return _JWT.sub(f"jwt:{REDACTED}", text)


def redact_query(query: str) -> str:
    """A raw query string with the values of credential-named parameters blanked, and
    any credential-shaped value under another name."""
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            value = REDACTED
        parts.append(redact_credentials(f"{name}{equals}{value}"))
    return "&".join(parts)


def redact_target(target: str) -> str:
    """A request target (path and query) with its query redacted."""
    path, question, query = target.partition("?")
    return (
        f"{redact_credentials(path)}{question}{redact_query(query)}"
        if question
        else redact_credentials(path)
    )
