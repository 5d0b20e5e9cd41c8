"""Who may do what: scopes and the auth matrix, API keys, OpenID Connect sign-in and
the hash-chained audit log, over one store (SQLite embedded, PostgreSQL deployed)."""

from __future__ import annotations

from urbanpulse.access.audit import AuditVerification, record_event, verify_audit
from urbanpulse.access.keys import authenticate_key, issue_key, revoke_key, rotate_key
from urbanpulse.access.matrix import KEY_SCOPES, SCOPES, Scope, read_matrix
from urbanpulse.access.records import ApiKey, AuditEntry, AuditEvent
from urbanpulse.access.service import (
    ANONYMOUS,
    AccessService,
    Principal,
    build_access_service,
    build_access_store,
)
from urbanpulse.access.store import AccessStore, PostgresAccessStore, SqliteAccessStore

__all__ = [
    "ANONYMOUS",
    "KEY_SCOPES",
    "SCOPES",
    "AccessService",
    "AccessStore",
    "ApiKey",
    "AuditEntry",
    "AuditEvent",
    "AuditVerification",
    "PostgresAccessStore",
    "Principal",
    "Scope",
    "SqliteAccessStore",
    "authenticate_key",
    "build_access_service",
    "build_access_store",
    "issue_key",
    "read_matrix",
    "record_event",
    "revoke_key",
    "rotate_key",
    "verify_audit",
]
