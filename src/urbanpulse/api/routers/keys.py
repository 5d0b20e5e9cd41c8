"""/api/keys: API keys issued, listed, rotated and revoked by admins.

A token is shown once, in the answer to issue or rotate; the store keeps its hash only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from urbanpulse.access import AccessService, ApiKey, issue_key, revoke_key, rotate_key
from urbanpulse.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/keys", tags=["keys"], responses=ERROR_RESPONSES)

ONCE = "Keep the token now: it is shown once and cannot be read again."


class KeyCreate(BaseModel):
    """A key to issue."""

    scope: Literal["business", "government", "admin"] = Field(description="What it may call.")
    name: str = Field(min_length=1, max_length=200, description="Whose key, for people.")


class KeyPublic(BaseModel):
    """A key as listed: never its token."""

    key_id: str
    name: str
    scope: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    active: bool


class KeyIssuedPublic(BaseModel):
    """A key and its token, right after issue or rotation."""

    key: KeyPublic
    token: str = Field(description="Send as 'Authorization: Bearer <token>' or 'X-API-Key'.")
    note: str = ONCE


class KeysPublic(BaseModel):
    count: int
    items: list[KeyPublic]


def get_access(request: Request) -> AccessService:
    access: AccessService = request.app.state.access
    return access


def build_key_public(key: ApiKey) -> KeyPublic:
    """The listed form of a key."""
    return KeyPublic(
        key_id=key.key_id,
        name=key.name,
        scope=key.scope,
        created_at=key.created_at,
        rotated_at=key.rotated_at,
        revoked_at=key.revoked_at,
        active=key.active,
    )


@router.get("", response_model=KeysPublic, summary="Every API key (admin)")
def list_keys(request: Request) -> KeysPublic:
    """Every key, revoked ones too, oldest first; never a token."""
    items = [build_key_public(key) for key in get_access(request).store.list_keys()]
    return KeysPublic(count=len(items), items=items)


@router.post("", response_model=KeyIssuedPublic, status_code=201, summary="Issue a key (admin)")
def post_key(request: Request, body: KeyCreate) -> KeyIssuedPublic:
    """A new key; its token is in this answer only."""
    key, token = issue_key(get_access(request).store, scope=body.scope, name=body.name)
    return KeyIssuedPublic(key=build_key_public(key), token=token)


@router.post("/{key_id}/rotate", response_model=KeyIssuedPublic, summary="Rotate a key (admin)")
def post_rotation(request: Request, key_id: str) -> KeyIssuedPublic:
    """A new token for the key; the old one stops working at once. 404 for an unknown
    key, 400 for a revoked one."""
    key, token = rotate_key(get_access(request).store, key_id)
    return KeyIssuedPublic(key=build_key_public(key), token=token)


@router.post("/{key_id}/revoke", response_model=KeyPublic, summary="Revoke a key (admin)")
def post_revocation(request: Request, key_id: str) -> KeyPublic:
    """Revoke the key for good. 404 for an unknown key, 400 for one already revoked."""
    return build_key_public(revoke_key(get_access(request).store, key_id))
