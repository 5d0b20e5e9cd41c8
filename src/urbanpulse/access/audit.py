"""The audit log: every access to non-public data and every admin action, hash-chained.

Entries are appended by the store, which chains each one to the one before; this
module checks the chain and writes the log out as CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from urbanpulse.access.records import GENESIS_HASH, AuditEntry, AuditEvent, compute_entry_hash
from urbanpulse.access.seal import AuditSeal
from urbanpulse.access.store import AccessStore
from urbanpulse.errors import ConfigurationError

EXPORT_COLUMNS = ("seq", "at", "actor", "scope", "method", "path", "status", "detail",
                  "prev_hash", "hash")  # fmt: skip


@dataclass(frozen=True)
class AuditVerification:
    """Outcome of :func:`verify_audit`: ``broken_seq`` is the first entry that fails."""

    ok: bool
    entries: int
    broken_seq: int | None = None
    message: str = "the audit log's hash chain is intact"


def record_event(
    store: AccessStore,
    *,
    actor: str,
    scope: str,
    method: str,
    path: str,
    status: int,
    detail: str = "",
) -> AuditEntry:
    """Append one event, stamped now (UTC)."""
    event = AuditEvent(datetime.now(UTC), actor, scope, method, path, status, detail)
    return store.append_audit(event)


def verify_audit(store: AccessStore) -> AuditVerification:
    """Recompute every hash in log order; the first entry whose link or hash does not
    match (changed, inserted or removed before it) breaks the chain. With the store's
    seal the hashes are keyed, and the log must reach its signed head: entries cut from
    the end, a rewritten tail or a missing head fail too."""
    entries = store.read_audit()
    sign = store.seal.sign if store.seal is not None else None
    prev_hash, expected_seq = GENESIS_HASH, 1
    for entry in entries:
        event = AuditEvent(**{k: getattr(entry, k) for k in AuditEvent.__dataclass_fields__})
        problem = None
        if entry.seq != expected_seq:
            problem = f"entry {expected_seq} is missing"
        elif entry.prev_hash != prev_hash:
            problem = f"entry {entry.seq} does not link to the entry before it"
        elif entry.hash != compute_entry_hash(prev_hash, entry.seq, event, sign=sign):
            problem = f"entry {entry.seq} was changed after it was written"
        if problem:
            return AuditVerification(False, len(entries), entry.seq, f"chain broken: {problem}")
        prev_hash, expected_seq = entry.hash, entry.seq + 1
    if store.seal is not None:
        problem = _check_head(store.seal, entries)
        if problem:
            return AuditVerification(False, len(entries), expected_seq, f"chain broken: {problem}")
    return AuditVerification(True, len(entries))


def _check_head(seal: AuditSeal, entries: Sequence[AuditEntry]) -> str | None:
    """What is wrong between the log and its signed head, if anything."""
    try:
        head = seal.read_head()
    except ConfigurationError as exc:
        return str(exc)
    if head is None:
        return "the signed head is missing" if entries else None
    seq, head_hash = head
    if len(entries) < seq:
        return f"entries {len(entries) + 1} to {seq} were removed from the end"
    if entries[seq - 1].hash != head_hash:
        return f"entry {seq} is not the one the signed head names"
    return None


def write_audit_csv(entries: Sequence[AuditEntry]) -> str:
    """The entries as CSV with the columns of :data:`EXPORT_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(get_entry_record(entry))
    return buffer.getvalue()


def write_audit_json(entries: Sequence[AuditEntry]) -> str:
    """The entries as a JSON array of objects with the :data:`EXPORT_COLUMNS` keys."""
    return json.dumps([get_entry_record(e) for e in entries], ensure_ascii=False, indent=1)


def get_entry_record(entry: AuditEntry) -> dict[str, object]:
    """One entry as a plain record (``at`` as ISO 8601)."""
    record = asdict(entry)
    record["at"] = entry.at.isoformat()
    return {column: record[column] for column in EXPORT_COLUMNS}
