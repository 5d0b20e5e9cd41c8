"""GET /api/quarantine: rows ingest rejected, each with its reason, source and line.

Sources are given by file name only: the folders they were read from are the server's
business. The rejected rows themselves (``raw``) may hold what a mapping never stores,
so the route is for admins only (access/matrix.toml), and columns a mapping marks
sensitive (a smart card's number, always) are masked before a row is quarantined.
"""

from __future__ import annotations

import re
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
    source: Annotated[str | None, Query(description="Substring of the source file name.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most rows to return.")] = 500,
) -> QuarantinePublic:
    """Quarantined rows, newest batch first (admins only)."""
    # The store matches the whole stored path; a name matching implies the path does,
    # so it narrows the rows, and matching the names here keeps folders unguessable.
    table = read_quarantine(lake, reason=reason, source=source, limit=None if source else limit)
    table["source"] = table["source"].map(get_source_name, na_action="ignore")
    if source:
        table = table[table["source"].str.contains(source, case=False, regex=False, na=False)]
    table = table.head(limit)
    items = [QuarantineRowPublic(**record) for record in get_records(table)]
    return QuarantinePublic(count=len(items), limit=limit, items=items)


def get_source_name(source: str) -> str:
    """The file (or feed) name at the end of a stored source path or address."""
    return re.split(r"[/\\]", source.rstrip("/\\"))[-1] or source
