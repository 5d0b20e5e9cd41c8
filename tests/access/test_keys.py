"""API keys: the token is shown once and never stored; rotation and revocation bite at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from urbanpulse.access import (
    SqliteAccessStore,
    authenticate_key,
    issue_key,
    revoke_key,
    rotate_key,
)
from urbanpulse.errors import AuthenticationError, InvalidQueryError, NotFoundError


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SqliteAccessStore:
    return SqliteAccessStore(tmp_path / "access.sqlite3")


def test_issued_token_authenticates_and_is_not_stored(sqlite_store: SqliteAccessStore) -> None:
    key, token = issue_key(sqlite_store, scope="government", name="Traffic office")
    assert token.startswith(f"up_{key.key_id}_") and len(token) > 50
    assert authenticate_key(sqlite_store, token) == key
    secret = token.removeprefix(f"up_{key.key_id}_")
    for path in sqlite_store.path.parent.iterdir():
        assert secret.encode() not in path.read_bytes(), path


def test_rotation_replaces_the_token(sqlite_store: SqliteAccessStore) -> None:
    key, old = issue_key(sqlite_store, scope="business", name="Acme")
    rotated, new = rotate_key(sqlite_store, key.key_id)
    assert new != old and rotated.rotated_at is not None
    assert authenticate_key(sqlite_store, new).key_id == key.key_id
    with pytest.raises(AuthenticationError):
        authenticate_key(sqlite_store, old)


def test_revocation_is_final(sqlite_store: SqliteAccessStore) -> None:
    key, token = issue_key(sqlite_store, scope="admin", name="Ops")
    revoke_key(sqlite_store, key.key_id)
    with pytest.raises(AuthenticationError):
        authenticate_key(sqlite_store, token)
    with pytest.raises(InvalidQueryError, match="revoked"):
        rotate_key(sqlite_store, key.key_id)
    with pytest.raises(InvalidQueryError, match="revoked"):
        revoke_key(sqlite_store, key.key_id)


@pytest.mark.parametrize(
    "token", ["", "up_", "up_abc", "nope_abc_def", "up_000000000000_secret", "up_x_y_z"]
)
def test_malformed_or_unknown_tokens_get_one_message(
    sqlite_store: SqliteAccessStore, token: str
) -> None:
    with pytest.raises(AuthenticationError, match=r"^invalid or revoked API key$"):
        authenticate_key(sqlite_store, token)


def test_bad_scopes_names_and_ids(sqlite_store: SqliteAccessStore) -> None:
    with pytest.raises(InvalidQueryError, match="business, government, admin"):
        issue_key(sqlite_store, scope="public", name="x")
    with pytest.raises(InvalidQueryError, match="name"):
        issue_key(sqlite_store, scope="business", name="  ")
    with pytest.raises(NotFoundError):
        rotate_key(sqlite_store, "nope")


def test_the_store_lies_beside_the_lake_not_in_it(tmp_path: Path) -> None:
    from urbanpulse.access.service import get_access_db_path
    from urbanpulse.settings import Settings

    path = get_access_db_path(Settings(lake_path=tmp_path / "lake"))
    assert path == tmp_path / "access.sqlite3"
