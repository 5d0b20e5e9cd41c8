"""/api/audit: the hash-chained audit log, queried, exported and verified by admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from urbanpulse.access import AccessService, AuditEntry
from urbanpulse.access.audit import verify_audit, write_audit_csv, write_audit_json
from urbanpulse.api.deps import get_aware
from urbanpulse.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=ERROR_RESPONSES)


class AuditEntryPublic(BaseModel):
    """One logged call: who, when, what, with which scope and how it ended."""

    seq: int
    at: datetime
    actor: str
    scope: str
    method: str
    path: str
    status: int
    detail: str
    prev_hash: str
    hash: str


class AuditPublic(BaseModel):
    count: int
    items: list[AuditEntryPublic]


class AuditVerificationPublic(BaseModel):
    ok: bool
    entries: int
    broken_seq: int | None
    message: str


class AuditFilters:
    """The query parameters every audit route takes."""

    def __init__(
        self,
        actor: Annotated[str | None, Query(description="Exactly, e.g. 'key:1a2b3c4d5e6f'.")] = None,
        scope: Annotated[str | None, Query(description="public, business, government or admin.")] = None,
        path: Annotated[str | None, Query(description="Substring of the request path.")] = None,
        status: Annotated[int | None, Query(ge=100, le=599, description="HTTP status.")] = None,
        start: Annotated[datetime | None, Query(description="From (inclusive; local time without offset).")] = None,
        end: Annotated[datetime | None, Query(description="Until (exclusive).")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000, description="Newest entries to return.")] = 1000,
    ) -> None:  # fmt: skip
        self.actor, self.scope, self.path, self.status = actor, scope, path, status
        self.start, self.end, self.limit = start, end, limit

    def read(self, request: Request) -> list[AuditEntry]:
        access: AccessService = request.app.state.access
        settings = request.app.state.settings
        return access.store.read_audit(
            actor=self.actor,
            scope=self.scope,
            path=self.path,
            status=self.status,
            start=_utc(get_aware(self.start, settings, name="start")),
            end=_utc(get_aware(self.end, settings, name="end")),
            limit=self.limit,
        )


@router.get("", response_model=AuditPublic, summary="Query the audit log (admin)")
def list_audit(request: Request, filters: Annotated[AuditFilters, Depends()]) -> AuditPublic:
    """Entries in log order (oldest first), the newest ``limit`` that match."""
    items = [AuditEntryPublic(**vars(entry)) for entry in filters.read(request)]
    return AuditPublic(count=len(items), items=items)


@router.get("/export", summary="Export the audit log as CSV or JSON (admin)")
def export_audit(
    request: Request,
    filters: Annotated[AuditFilters, Depends()],
    format: Annotated[Literal["csv", "json"], Query(description="csv or json.")] = "csv",
) -> Response:
    """The matching entries as a file (columns: seq, at, actor, scope, method, path,
    status, detail, prev_hash, hash)."""
    entries = filters.read(request)
    if format == "json":
        body, media = write_audit_json(entries), "application/json"
    else:
        body, media = write_audit_csv(entries), "text/csv; charset=utf-8"
    disposition = f'attachment; filename="audit.{format}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.get(
    "/verify", response_model=AuditVerificationPublic, summary="Check the hash chain (admin)"
)
def get_verification(request: Request) -> AuditVerificationPublic:
    """Whether every entry still hashes to what was written, and the first that does not."""
    access: AccessService = request.app.state.access
    return AuditVerificationPublic(**vars(verify_audit(access.store)))


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)
