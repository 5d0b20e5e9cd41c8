"""One access store per test, on each engine: SQLite in a temporary folder, and
PostgreSQL over a real connection in a schema of its own (dropped afterwards).

PostgreSQL is the local server (URBANPULSE_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test); scripts/ensure-test-tools.sh starts it when
it is installed. Without it those tests skip with the reason, except under CI, where
they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from urbanpulse.access import AccessStore, PostgresAccessStore, SqliteAccessStore

POSTGRES_URL = os.environ.get(
    "URBANPULSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RUN_ID = secrets.token_hex(4)


def connect_postgres() -> object:
    """A psycopg connection to the test server, or skip (fail on CI) saying why."""
    import psycopg

    try:
        return psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} ({str(exc).strip().splitlines()[0]})")


@pytest.fixture
def postgres_schema() -> Iterator[Callable[[], str]]:
    """Factory: a fresh schema's connection URL (search_path set); all dropped after."""
    conn = connect_postgres()
    made: list[str] = []

    def make() -> str:
        schema = f"up_test_{RUN_ID}_{len(made)}_{secrets.token_hex(2)}"
        conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[attr-defined]
        made.append(schema)
        return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

    yield make
    for schema in made:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> AccessStore:
    """An empty store on the engine under test."""
    if engine == "sqlite":
        return SqliteAccessStore(tmp_path / "access.sqlite3")
    make_schema = request.getfixturevalue("postgres_schema")
    return PostgresAccessStore(make_schema())


@pytest.fixture
def tamper() -> Callable[[AccessStore, str], None]:
    """``tamper(store, sql)``: change the log behind the store's back, as someone with
    the database would: first drop the append-only triggers, then run ``sql``."""
    return run_behind_the_store


def run_behind_the_store(store: AccessStore, sql: str) -> None:
    if isinstance(store, SqliteAccessStore):
        import sqlite3

        with sqlite3.connect(store.path) as conn:
            conn.execute("DROP TRIGGER audit_log_no_update")
            conn.execute("DROP TRIGGER audit_log_no_delete")
            conn.execute(sql)
        return
    import psycopg

    assert isinstance(store, PostgresAccessStore)
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        conn.execute(sql)
