"""Sign-in sessions: what a browser's cookie holds instead of the credential itself.

Signing in on a page used to put the API key into the cookie for a week: anything that
read the cookie held the key, and signing out left it valid. Now signing in starts a
session: a random token (``ups_...``, 256 bits) goes into the cookie, the store keeps its
SHA-256 with the subject and scope of the credential that signed in, and the session
ends when the browser signs out, after ``SESSION_HOURS``, or as soon as that key is
revoked or rotated. The key itself never leaves the sign-in form.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from urbanpulse.access.records import Session
from urbanpulse.access.store import AccessStore
from urbanpulse.errors import AccessDeniedError, AuthenticationError, NotFoundError
from urbanpulse.i18n import N_

SESSION_PREFIX = "ups_"
SESSION_HOURS = 12


def start_session(store: AccessStore, *, subject: str, scope: str) -> tuple[Session, str]:
    """A new session for a verified credential; returns it and the token for the cookie."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session = Session(
        session_hash=hash_session_token(token),
        subject=subject,
        scope=scope,  # type: ignore[arg-type]
        created_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )
    store.add_session(session)
    return session, token


def hash_session_token(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_session(store: AccessStore, token: str, *, now: datetime | None = None) -> Session:
    """The live session a token stands for.

    Raises
    ------
    AuthenticationError
        No such session, or it was ended, has expired, or its key is revoked or was
        rotated after it began.
    """
    session = store.get_session(hash_session_token(token))
    now = now or datetime.now(UTC)
    if session is None or session.ended_at is not None or session.expires_at <= now:
        raise AuthenticationError(N_("the sign-in has ended; sign in again"))
    if session.subject.startswith("key:"):
        try:
            key = store.get_key(session.subject.removeprefix("key:"))
        except NotFoundError:
            raise AuthenticationError(N_("the sign-in has ended; sign in again")) from None
        rotated = key.rotated_at is not None and key.rotated_at > session.created_at
        if not key.active or rotated:
            raise AuthenticationError(N_("the sign-in has ended; sign in again"))
    return session


def end_session(store: AccessStore, token: str) -> None:
    """Sign out: the session never authenticates again (unknown tokens are ignored)."""
    store.end_session(hash_session_token(token), datetime.now(UTC))


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_origin(method: str, claimed: str, here: str) -> None:
    """Refuse a state-changing request that rides on the sign-in cookie unless the
    browser says it comes from this site: ``claimed`` is its Origin (else Referer)
    header, ``here`` this site's scheme://host[:port]. A page of another site, or of
    this site's neighbours (another port or subdomain, which SameSite alone lets
    through), cannot make a signed-in browser issue or revoke keys. Programs send
    their key in a header and are not concerned.

    Raises
    ------
    AccessDeniedError
        An unsafe method with no header naming this site.
    """
    if method in SAFE_METHODS:
        return
    parts = urlsplit(claimed)
    if f"{parts.scheme}://{parts.netloc}" != here:
        raise AccessDeniedError(
            N_("a signed-in change must come from this site's own pages (Origin)")
        )
