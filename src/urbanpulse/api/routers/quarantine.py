"""GET /api/quarantine: rows ingest rejected, each with its reason, source and line."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from urbanpulse.api.deps import LakeDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import QuarantinePublic, QuarantineRowPublic
from urbanpulse.api.tables import get_records
from urbanpulse.store import read_quarantine

router = APIRouter(prefix="/api/quarantine", tags=["quarantine"], responses=ERROR_RESPONSES)


@router.get("", response_model=QuarantinePublic, summary="Quarantined input rows")
def list_quarantine(
    lake: LakeDep,
    reason: Annotated[str | None, Query(description="Substring of the reason.")] = None,
    source: Annotated[str | None, Query(description="Substring of the source name.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most rows to return.")] = 500,
) -> QuarantinePublic:
    """Quarantined rows, newest batch first."""
    table = read_quarantine(lake, reason=reason, source=source, limit=limit)
    items = [QuarantineRowPublic(**record) for record in get_records(table)]
    return QuarantinePublic(count=len(items), limit=limit, items=items)
