"""The access store's one interface, the same tests on SQLite and on PostgreSQL:
keys kept hashed, the audit log append-only and hash-chained."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from urbanpulse.access import AccessStore, AuditEvent, issue_key, verify_audit
from urbanpulse.access.records import GENESIS_HASH
from urbanpulse.errors import NotFoundError

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def event(n: int, **changes: object) -> AuditEvent:
    base = AuditEvent(T0 + timedelta(minutes=n), f"key:{n:012d}", "government", "GET",
                      f"/api/sites/s{n}/observations", 200, "metric=pm25")  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_keys_round_trip_and_update(store: AccessStore) -> None:
    key, _ = issue_key(store, scope="business", name="Acme")
    assert store.get_key(key.key_id) == key
    revoked = replace(key, revoked_at=T0)
    store.update_key(revoked)
    assert store.get_key(key.key_id) == revoked and not revoked.active
    assert [k.key_id for k in store.list_keys()] == [key.key_id]
    with pytest.raises(NotFoundError):
        store.get_key("nope")


def test_audit_entries_chain_from_genesis(store: AccessStore) -> None:
    entries = [store.append_audit(event(n)) for n in range(3)]
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert store.read_audit() == entries
    assert verify_audit(store).ok and verify_audit(store).entries == 3


def test_audit_filters(store: AccessStore) -> None:
    for n in range(5):
        store.append_audit(event(n, status=403 if n % 2 else 200))
    assert [e.seq for e in store.read_audit(status=403)] == [2, 4]
    assert [e.seq for e in store.read_audit(actor="key:000000000003")] == [4]
    assert [e.seq for e in store.read_audit(path="/s1/")] == [2]
    # Bounds in another time zone mean the same instants.
    shanghai = timezone(timedelta(hours=8))
    start, end = (T0 + timedelta(minutes=1)).astimezone(shanghai), T0 + timedelta(minutes=3)
    assert [e.seq for e in store.read_audit(start=start, end=end)] == [2, 3]
    assert [e.seq for e in store.read_audit(limit=2)] == [4, 5]


def test_times_in_other_zones_are_stored_in_utc_and_still_verify(store: AccessStore) -> None:
    store.append_audit(event(0, at=T0.astimezone(timezone(timedelta(hours=8)))))
    (entry,) = store.read_audit()
    assert entry.at == T0 and entry.at.utcoffset() == timedelta(0)
    assert verify_audit(store).ok


def test_the_log_refuses_update_and_delete(store: AccessStore) -> None:
    store.append_audit(event(0))
    for sql in ("UPDATE audit_log SET status = 200", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), store._connect() as conn:
            conn.execute(sql)
    assert len(store.read_audit()) == 1


def test_a_changed_entry_breaks_the_chain_there(
    store: AccessStore, tamper: Callable[[AccessStore, str], None]
) -> None:
    for n in range(4):
        store.append_audit(event(n, status=403))
    tamper(store, "UPDATE audit_log SET status = 200 WHERE seq = 2")
    result = verify_audit(store)
    assert not result.ok and result.broken_seq == 2
    assert "entry 2 was changed" in result.message


def test_a_removed_entry_breaks_the_chain(
    store: AccessStore, tamper: Callable[[AccessStore, str], None]
) -> None:
    for n in range(4):
        store.append_audit(event(n))
    tamper(store, "DELETE FROM audit_log WHERE seq = 3")
    result = verify_audit(store)
    assert not result.ok and result.broken_seq == 4 and "entry 3 is missing" in result.message


def test_concurrent_appends_keep_one_chain(store: AccessStore) -> None:
    def append(worker: int) -> None:
        for n in range(10):
            store.append_audit(event(n, actor=f"worker:{worker}"))

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [e.seq for e in store.read_audit()] == list(range(1, 41))
    assert verify_audit(store).ok


def test_key_lookups_do_not_wait_for_a_writer(tmp_path) -> None:
    """A request's key lookup only reads: while another connection holds the SQLite
    write lock (an audit append, a key rotation), lookups still answer."""
    import sqlite3

    from urbanpulse.access.store import SqliteAccessStore

    store = SqliteAccessStore(tmp_path / "access.sqlite3")
    key, _ = issue_key(store, scope="business", name="reader")
    writer = sqlite3.connect(store.path, isolation_level=None, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as an append does
    try:
        assert store.get_key(key.key_id).name == "reader"
        assert [k.key_id for k in store.list_keys()] == [key.key_id]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
