"""The quarantine: what a writer could not store, kept with reason, source and position.

Every writer (the batch ingest, streams, GTFS-Realtime, smart-card taps, indicators,
networks) describes a rejected row, cell or file with :func:`build_reject` and stages
its rejects with :func:`stage_rejects` in the same commit as what it stored, so a
reject is neither lost nor kept apart from the batch that met it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from urbanpulse.store.engine import SCHEMAS
from urbanpulse.store.lake import Lake, LakeFile
from urbanpulse.store.tables import write_table_file
from urbanpulse.store.writes import _ARROW

QUARANTINE_SCHEMA = pa.schema([(c, _ARROW[t]) for c, t in SCHEMAS["quarantine"].items()])


def build_reject(
    source: str | Path, line: int | None, column: str | None, reason: str, raw: str | None
) -> dict[str, object]:
    """One rejected row or cell: where it came from (source, line, column), why it was
    not stored, and its text as it came."""
    return {
        "source": str(source),
        "line": line,
        "column_name": column,
        "reason": reason,
        "raw": raw,
    }


def stamp_rejects(rejects: Sequence[dict[str, Any]] | pa.Table, batch_id: str) -> pa.Table:
    """Rejects as quarantine rows: the batch that met them and the time, columns the
    writer did not fill left empty."""
    stamp = datetime.now(UTC)
    if not isinstance(rejects, pa.Table):
        rows = [{**r, "batch_id": batch_id, "quarantined_at": stamp} for r in rejects]
        return pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    count = rejects.num_rows
    filled = {"batch_id": pa.array([batch_id] * count), "quarantined_at": [stamp] * count}
    columns = [
        pa.array(filled[f.name], f.type)
        if f.name in filled
        else rejects.column(f.name).cast(f.type)
        if f.name in rejects.column_names
        else pa.nulls(count, f.type)
        for f in QUARANTINE_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=QUARANTINE_SCHEMA)


def stage_rejects(
    lake: Lake, rejects: Sequence[dict[str, Any]] | pa.Table, batch_id: str
) -> LakeFile:
    """Stage a batch's rejects as one quarantine file, for the batch's own commit."""
    return write_table_file(lake, "quarantine", stamp_rejects(rejects, batch_id), batch_id=batch_id)
