"""What the access store keeps: API keys and sign-in sessions (hashed), audit entries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from urbanpulse.access.matrix import Scope

# The hash of the entry before the first one.
GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: never the token itself, only a hash of its secret."""

    key_id: str
    name: str
    scope: Scope
    secret_hash: str
    created_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Session:
    """A browser's sign-in: whose credential it stands for, until when. The browser
    holds a random token; the store only its hash, so a leaked store signs no one in."""

    session_hash: str
    subject: str  # key:<id> or oidc:<sub>, as the credential that signed in
    scope: Scope
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened: who (actor and scope), when, what, and how it ended."""

    at: datetime
    actor: str
    scope: str
    method: str
    path: str
    status: int
    detail: str = ""


@dataclass(frozen=True)
class AuditEntry(AuditEvent):
    """An event as logged: its place in the log and its link in the hash chain."""

    seq: int = 0
    prev_hash: str = GENESIS_HASH
    hash: str = ""


def compute_entry_hash(
    prev_hash: str, seq: int, event: AuditEvent, *, sign: Callable[[str], str] | None = None
) -> str:
    """SHA-256 over the previous entry's hash, the sequence number and every field of
    the event, so changing, inserting or removing an entry breaks every hash after it;
    with ``sign`` (the seal's HMAC, urbanpulse.access.seal) no one without its key can
    compute the hash at all."""
    fields = {k: v for k, v in asdict(event).items() if k in AuditEvent.__dataclass_fields__}
    fields["at"] = event.at.isoformat()
    payload = json.dumps([prev_hash, seq, fields], sort_keys=True, ensure_ascii=False)
    if sign is not None:
        return sign(payload)
    return hashlib.sha256(payload.encode()).hexdigest()
