"""API keys: issued, rotated and revoked by admins; the token is shown once.

A token reads ``up_<key_id>_<secret>``: the id finds the stored key, and only the
SHA-256 of the secret (256 random bits, so no salt or slow hash is needed) is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import UTC, datetime

from urbanpulse.access.matrix import KEY_SCOPES, Scope
from urbanpulse.access.records import ApiKey
from urbanpulse.access.store import AccessStore
from urbanpulse.errors import AuthenticationError, InvalidQueryError, NotFoundError
from urbanpulse.i18n import N_

TOKEN_PREFIX = "up"


def build_token(key_id: str, secret: str) -> str:
    """The token a caller presents."""
    return f"{TOKEN_PREFIX}_{key_id}_{secret}"


def compute_secret_hash(secret: str) -> str:
    """What the store keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(store: AccessStore, *, scope: str, name: str) -> tuple[ApiKey, str]:
    """A new key of ``scope`` named ``name``; returns it and its token (shown once).

    Raises
    ------
    InvalidQueryError
        The scope is not one a key may carry, or the name is empty.
    """
    if scope not in KEY_SCOPES:
        raise InvalidQueryError(
            f"unknown key scope {scope!r}: choose one of {', '.join(KEY_SCOPES)}"
        )
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidQueryError(N_("a key needs a name of 1 to 200 characters"))
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=key_id,
        name=name,
        scope=_as_scope(scope),
        secret_hash=compute_secret_hash(secret),
        created_at=datetime.now(UTC),
    )
    store.add_key(key)
    return key, build_token(key_id, secret)


def rotate_key(store: AccessStore, key_id: str) -> tuple[ApiKey, str]:
    """A new secret for an active key; the old token stops working at once."""
    key = _get_active_key(store, key_id)
    secret = secrets.token_urlsafe(32)
    key = replace(key, secret_hash=compute_secret_hash(secret), rotated_at=datetime.now(UTC))
    store.update_key(key)
    return key, build_token(key_id, secret)


def revoke_key(store: AccessStore, key_id: str) -> ApiKey:
    """Revoke a key for good (kept in the list, marked revoked)."""
    key = _get_active_key(store, key_id)
    key = replace(key, revoked_at=datetime.now(UTC))
    store.update_key(key)
    return key


def authenticate_key(store: AccessStore, token: str) -> ApiKey:
    """The active key a token belongs to.

    Raises
    ------
    AuthenticationError
        The token is malformed, unknown, rotated away or revoked (one message for all,
        so a caller learns nothing about which).
    """
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    refused = AuthenticationError(N_("invalid or revoked API key"))
    if prefix != TOKEN_PREFIX or not key_id or not secret:
        raise refused
    try:
        key = store.get_key(key_id)
    except NotFoundError:
        raise refused from None
    if not key.active or not hmac.compare_digest(key.secret_hash, compute_secret_hash(secret)):
        raise refused
    return key


def _get_active_key(store: AccessStore, key_id: str) -> ApiKey:
    key = store.get_key(key_id)
    if not key.active:
        raise InvalidQueryError(f"API key {key_id!r} is revoked")
    return key


def _as_scope(scope: str) -> Scope:
    for known in KEY_SCOPES:
        if known == scope:
            return known
    raise InvalidQueryError(f"unknown key scope {scope!r}")
