"""The sealed audit log, tried as an attacker who can write the access store but does
not hold the seal's folder: cutting the newest entries, editing one and re-hashing the
rest, forging an append, or removing or editing the signed head are all detected."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from urbanpulse.access import AuditEvent, verify_audit
from urbanpulse.access.records import compute_entry_hash
from urbanpulse.access.seal import HEAD_FILE, KEY_FILE, AuditSeal
from urbanpulse.access.store import SqliteAccessStore

ENTRIES = 120


@pytest.fixture
def sealed(tmp_path: Path) -> SqliteAccessStore:
    store = SqliteAccessStore(
        tmp_path / "store" / "access.sqlite3", seal=AuditSeal(tmp_path / "seal")
    )
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for k in range(ENTRIES):
        event = AuditEvent(start + timedelta(seconds=k), f"key-{k % 7}", "government",
                           "GET", f"/api/sites/s{k}/observations", 200)  # fmt: skip
        store.append_audit(event)
    assert verify_audit(store).ok
    return store


def _attacker(store: SqliteAccessStore) -> sqlite3.Connection:
    """Raw write access to the store file: the append-only triggers dropped first."""
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    return conn


def _rehash_from(conn: sqlite3.Connection, seq: int) -> None:
    """Recompute the plain SHA-256 chain from ``seq`` on, as the unkeyed log allowed."""
    rows = conn.execute(
        "SELECT seq, at, actor, scope, method, path, status, detail FROM audit_log "
        "WHERE seq >= ? ORDER BY seq",
        (seq,),
    ).fetchall()
    prev = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq - 1,)).fetchone()[0]
    for number, at, actor, scope, method, path, status, detail in rows:
        event = AuditEvent(datetime.fromisoformat(at), actor, scope, method, path, status, detail)
        digest = compute_entry_hash(prev, number, event)
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
                     (prev, digest, number))  # fmt: skip
        prev = digest


@pytest.mark.parametrize("cut", [1, 10, 100])
def test_entries_cut_from_the_end_are_detected(sealed: SqliteAccessStore, cut: int) -> None:
    _attacker(sealed).execute("DELETE FROM audit_log WHERE seq > ?", (ENTRIES - cut,))
    result = verify_audit(sealed)
    assert not result.ok and "removed from the end" in result.message


def test_an_edit_re_hashed_without_the_key_is_detected(sealed: SqliteAccessStore) -> None:
    conn = _attacker(sealed)
    conn.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 50")
    _rehash_from(conn, 50)
    result = verify_audit(sealed)
    assert not result.ok and result.broken_seq == 50


def test_a_forged_append_is_detected(sealed: SqliteAccessStore) -> None:
    conn = _attacker(sealed)
    last = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (ENTRIES,)).fetchone()[0]
    event = AuditEvent(datetime(2026, 12, 2, tzinfo=UTC), "ghost", "admin", "GET", "/api/keys", 200)
    conn.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ENTRIES + 1, event.at.isoformat(), "ghost", "admin", "GET", "/api/keys", 200, "",
         last, compute_entry_hash(last, ENTRIES + 1, event)),
    )  # fmt: skip
    result = verify_audit(sealed)
    assert not result.ok and result.broken_seq == ENTRIES + 1


def test_a_missing_or_edited_head_is_detected(sealed: SqliteAccessStore) -> None:
    head_path = sealed.seal.head_path  # type: ignore[union-attr]
    head = json.loads(head_path.read_text())
    # Pointing the head at an earlier entry (to hide a cut) needs the key to sign it.
    earlier = {**head, "seq": head["seq"] - 5, "hash": hashlib.sha256(b"x").hexdigest()}
    head_path.write_text(json.dumps(earlier))
    assert "not signed" in verify_audit(sealed).message
    head_path.unlink()
    assert "head is missing" in verify_audit(sealed).message


def test_the_seal_is_readable_by_its_owner_only(sealed: SqliteAccessStore, tmp_path: Path) -> None:
    folder = tmp_path / "seal"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (KEY_FILE, HEAD_FILE):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert len((folder / KEY_FILE).read_bytes()) == 32


def test_a_new_log_with_its_seal_verifies_and_appends_move_the_head(tmp_path: Path) -> None:
    store = SqliteAccessStore(tmp_path / "a.sqlite3", seal=AuditSeal(tmp_path / "seal"))
    assert verify_audit(store).ok and verify_audit(store).entries == 0
    entry = store.append_audit(
        AuditEvent(datetime.now(UTC), "k", "admin", "GET", "/api/audit", 200)
    )
    assert store.seal is not None and store.seal.read_head() == (1, entry.hash)
