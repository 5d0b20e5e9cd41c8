"""The store of API keys, sign-in sessions and the audit log: SQLite embedded,
PostgreSQL for deployments.

One interface, :class:`AccessStore`; the two engines differ only in how they connect,
their placeholders and how they serialise appends to the audit log. The audit table
refuses UPDATE and DELETE (a trigger), and each entry's hash covers the previous one.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from urbanpulse.access.records import (
    GENESIS_HASH,
    ApiKey,
    AuditEntry,
    AuditEvent,
    Session,
    compute_entry_hash,
)
from urbanpulse.access.seal import AuditSeal
from urbanpulse.errors import MissingExtraError, NotFoundError, StoreUnavailableError

KEY_COLUMNS = "key_id, name, scope, secret_hash, created_at, rotated_at, revoked_at"
AUDIT_COLUMNS = "seq, at, actor, scope, method, path, status, detail, prev_hash, hash"
TABLES = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT NULL,
        secret_hash TEXT NOT NULL, created_at TEXT NOT NULL,
        rotated_at TEXT, revoked_at TEXT)""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        seq BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
        scope TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
        status INTEGER NOT NULL, detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)",
    """CREATE TABLE IF NOT EXISTS sessions (
        session_hash TEXT PRIMARY KEY, subject TEXT NOT NULL, scope TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_at TEXT NOT NULL, ended_at TEXT)""",
)
SESSION_COLUMNS = "session_hash, subject, scope, created_at, expires_at, ended_at"


class AccessStore:
    """Keys and audit log over a SQL database; subclasses say how to connect."""

    placeholder = "?"
    append_only_sql: tuple[str, ...] = ()

    def __init__(self, *, seal: AuditSeal | None = None) -> None:
        self._ready = False
        self._lock = threading.Lock()
        self.unavailable_since: datetime | None = None
        # The product always seals its log (build_access_store); a bare store keeps a
        # plain hash chain, which shows edits but not cuts at the end or re-hashing.
        self.seal = seal

    # -- engine hooks ---------------------------------------------------------------
    def _transaction(self, *, write: bool = True) -> AbstractContextManager[Any]:
        """A connection in a transaction, committed on success; ``write=False`` for
        reads, which must not wait for (or hold) the write lock."""
        raise NotImplementedError

    def _lock_audit(self, conn: Any) -> None:
        """Serialise appends to the audit log until the transaction ends."""

    def describe(self) -> str:
        """Where the store is, for messages (never a password)."""
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    @contextmanager
    def _connect(self, *, write: bool = True) -> Iterator[Any]:
        try:
            if not self._ready:
                with self._lock:
                    if not self._ready:
                        with self._transaction() as conn:
                            for statement in (*TABLES, *self.append_only_sql):
                                conn.execute(statement)
                        self._ready = True
            with self._transaction(write=write) as conn:
                yield conn
        except StoreUnavailableError:
            self.unavailable_since = self.unavailable_since or datetime.now(UTC)
            raise
        self.unavailable_since = None

    @property
    def available(self) -> bool:
        """False since a call found the store not answering, until one succeeds again:
        what the health check reports, without a round trip of its own (a frozen
        database would hold the check for the whole connect timeout)."""
        return self.unavailable_since is None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # A key lookup on every request only reads: under load, taking the write lock
        # for it made requests wait and fail with "database is locked".
        with self._connect(write=False) as conn:
            return list(conn.execute(self._sql(sql), tuple(params)).fetchall())

    # -- keys -------------------------------------------------------------------------
    def add_key(self, key: ApiKey) -> None:
        """Store a new key."""
        with self._connect() as conn:
            conn.execute(
                self._sql(f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                _key_row(key),
            )

    def get_key(self, key_id: str) -> ApiKey:
        """The key with this id; NotFoundError if there is none."""
        rows = self._rows(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
        if not rows:
            raise NotFoundError(f"no API key {key_id!r}")
        return _read_key(rows[0])

    def list_keys(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        rows = self._rows(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id")
        return [_read_key(row) for row in rows]

    def update_key(self, key: ApiKey) -> None:
        """Write back a key's hash and dates (rotation, revocation)."""
        with self._connect() as conn:
            conn.execute(
                self._sql(
                    "UPDATE api_keys SET secret_hash = ?, rotated_at = ?, revoked_at = ? "
                    "WHERE key_id = ?"
                ),
                (key.secret_hash, _iso(key.rotated_at), _iso(key.revoked_at), key.key_id),
            )

    # -- sign-in sessions -------------------------------------------------------------
    def add_session(self, session: Session) -> None:
        """Store a new session (its hash only: the token stays with the browser)."""
        with self._connect() as conn:
            conn.execute(
                self._sql(f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"),
                (session.session_hash, session.subject, session.scope,
                 _iso(session.created_at), _iso(session.expires_at), _iso(session.ended_at)),
            )  # fmt: skip

    def get_session(self, session_hash: str) -> Session | None:
        """The session of this hash, ended or not; None if there is none."""
        rows = self._rows(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_hash = ?", (session_hash,)
        )
        if not rows:
            return None
        found, subject, scope, created, expires, ended = rows[0]
        return Session(found, subject, scope, _time(created), _time(expires), _time(ended))  # type: ignore[arg-type]

    def end_session(self, session_hash: str, at: datetime) -> None:
        """Mark a session ended (signed out); it never authenticates again."""
        with self._connect() as conn:
            conn.execute(
                self._sql(
                    "UPDATE sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL"
                ),
                (_iso(at), session_hash),
            )

    # -- audit ------------------------------------------------------------------------
    def append_audit(self, event: AuditEvent) -> AuditEntry:
        """Append an event to the log, chained to the entry before it."""
        # Hashed as stored: in UTC, so verifying what is read back gives the same hash.
        event = replace(event, at=datetime.fromisoformat(_utc_text(event.at)))
        with self._connect() as conn:
            self._lock_audit(conn)
            last = conn.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
            entry = AuditEntry(
                **_event_fields(event),
                seq=seq,
                prev_hash=prev_hash,
                hash=compute_entry_hash(
                    prev_hash, seq, event, sign=self.seal.sign if self.seal else None
                ),
            )
            conn.execute(
                self._sql(
                    f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (seq, _utc_text(entry.at), entry.actor, entry.scope, entry.method,
                 entry.path, entry.status, entry.detail, prev_hash, entry.hash),
            )  # fmt: skip
        if self.seal is not None:  # once committed: a head never names a missing entry
            self.seal.write_head(seq, entry.hash)
        return entry

    def read_audit(
        self,
        *,
        actor: str | None = None,
        scope: str | None = None,
        path: str | None = None,
        status: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries in log order (oldest first), filtered; ``path`` is a substring,
        ``start`` inclusive and ``end`` exclusive; ``limit`` keeps the newest."""
        where, params = ["1 = 1"], []
        for column, value in (("actor", actor), ("scope", scope), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if path:
            where.append("path LIKE ?")
            params.append(f"%{path}%")
        if start is not None:
            where.append("at >= ?")
            params.append(_utc_text(start))
        if end is not None:
            where.append("at < ?")
            params.append(_utc_text(end))
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {' AND '.join(where)} ORDER BY seq DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_read_entry(row) for row in reversed(self._rows(sql, params))]


class SqliteAccessStore(AccessStore):
    """The embedded store: one SQLite file, no server."""

    append_only_sql = tuple(
        f"""CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()}
            BEFORE {verb} ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        for verb in ("UPDATE", "DELETE")
    )

    def __init__(self, path: Path, *, seal: AuditSeal | None = None) -> None:
        super().__init__(seal=seal)
        self.path = Path(path)
        # One connection per thread, kept open: closing a WAL database's last connection
        # checkpoints it, and opening one per transaction cost more than the request the
        # audit entry was written for.
        self._local = threading.local()

    def describe(self) -> str:
        return str(self.path)

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            # IMMEDIATE takes the write lock at once, so two appends never read the same
            # last hash; a read under WAL needs no lock and sees the last commit.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # locked past the timeout, disk I/O
            _rollback(conn)
            self._forget()
            raise StoreUnavailableError(f"the access store {self.path} failed: {exc}") from None
        except BaseException:
            _rollback(conn)
            raise

    def _open(self) -> sqlite3.Connection:
        """This thread's connection to the file now at ``path`` (a file replaced or
        removed since gets a new one, never the old inode)."""
        try:
            status = self._stat_or_create()
            identity = (status.st_dev, status.st_ino)
            held = getattr(self._local, "held", None)
            if held is not None and held[1] == identity:
                return held[0]
            self._forget()
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError(
                f"cannot open the access store {self.path}: {exc}"
            ) from None
        self._local.held = (conn, identity)
        return conn

    def _stat_or_create(self) -> os.stat_result:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Key hashes, sessions and the audit log: the owner's alone (0600), whatever
            # the umask; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            status = self.path.stat()
        if status.st_mode & 0o077:
            os.chmod(self.path, 0o600)
        return status

    def _forget(self) -> None:
        held = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            with suppress(sqlite3.Error):
                held[0].close()


class PostgresAccessStore(AccessStore):
    """The deployment store: a PostgreSQL database reached with psycopg 3."""

    placeholder = "%s"
    append_only_sql = (
        """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql""",
        "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
        """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
           FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    )

    def __init__(self, url: str, *, seal: AuditSeal | None = None) -> None:
        super().__init__(seal=seal)
        try:
            import psycopg
        except ImportError:  # pragma: no cover - a dependency, but say what to do
            raise MissingExtraError("psycopg", "postgres") from None
        self._psycopg = psycopg
        self.url = url

    def describe(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(self.url)
        return (
            f"postgresql://{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        )

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[Any]:
        try:
            conn = self._psycopg.connect(self.url, connect_timeout=5)
        except self._psycopg.Error as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreUnavailableError(
                f"cannot connect to the access store {self.describe()}: {message}"
            ) from None
        try:
            with conn, conn.transaction():
                yield conn
        except self._psycopg.OperationalError as exc:  # the server went away mid-way
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreUnavailableError(
                f"the access store {self.describe()} failed: {message}"
            ) from None

    def _lock_audit(self, conn: Any) -> None:
        conn.execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")


def _rollback(conn: sqlite3.Connection) -> None:
    with suppress(sqlite3.Error):  # nothing to roll back when BEGIN itself failed
        conn.execute("ROLLBACK")


def _utc_text(moment: datetime) -> str:
    """A time as the log stores it (ISO 8601 in UTC), so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be aware")
    return moment.astimezone(UTC).isoformat()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _key_row(key: ApiKey) -> tuple[Any, ...]:
    return (key.key_id, key.name, key.scope, key.secret_hash, key.created_at.isoformat(),
            _iso(key.rotated_at), _iso(key.revoked_at))  # fmt: skip


def _read_key(row: Sequence[Any]) -> ApiKey:
    created = datetime.fromisoformat(row[4])
    return ApiKey(row[0], row[1], row[2], row[3], created, _time(row[5]), _time(row[6]))


def _event_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in AuditEvent.__dataclass_fields__}


def _read_entry(row: Sequence[Any]) -> AuditEntry:
    seq, at, actor, scope, method, path, status, detail, prev_hash, hash_ = row
    return AuditEntry(datetime.fromisoformat(at), actor, scope, method, path, int(status),
                      detail, seq=int(seq), prev_hash=prev_hash, hash=hash_)  # fmt: skip
