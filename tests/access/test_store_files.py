"""What the product writes for access and data is its owner's alone, whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest

from urbanpulse.access import authenticate_key, issue_key
from urbanpulse.access.store import SqliteAccessStore
from urbanpulse.errors import StoreUnavailableError
from urbanpulse.store import Lake
from urbanpulse.store.writes import append_observations


def test_the_lake_and_the_access_store_are_private_under_a_permissive_umask(
    tmp_path: Path,
) -> None:
    before = os.umask(0o000)  # the loosest: every file world-writable unless set
    try:
        lake = Lake(tmp_path / "lake")
        row = {"site_id": "s", "metric": "m", "ts": pa.scalar(0, pa.timestamp("s", "UTC")),
               "value": 1.0, "unit": "u"}  # fmt: skip
        append_observations(lake, pa.Table.from_pylist([row]))
        store = SqliteAccessStore(tmp_path / "access.sqlite3")
        issue_key(store, scope="admin", name="ops")
    finally:
        os.umask(before)
    assert stat.S_IMODE(lake.root.stat().st_mode) == 0o700
    for path in (tmp_path / "access.sqlite3", *tmp_path.glob("access.sqlite3-*")):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    # an existing lake folder left open is closed on the next write
    os.chmod(lake.root, 0o755)
    append_observations(lake, pa.Table.from_pylist([{**row, "value": 2.0, "site_id": "t"}]))
    assert stat.S_IMODE(lake.root.stat().st_mode) == 0o700


def test_a_thread_keeps_one_connection_and_a_replaced_file_gets_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Opening a connection per transaction checkpointed the WAL on every close, which
    # cost more than the request an audit entry was written for.
    opened = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda *a, **k: opened.append(a) or real_connect(*a, **k)
    )
    path = tmp_path / "access.sqlite3"
    store = SqliteAccessStore(path)
    _, kept = issue_key(store, scope="admin", name="ops")
    for _ in range(5):
        authenticate_key(store, kept)
    assert len(opened) == 1
    # a file removed under the store is not read through the old inode any more
    for file in tmp_path.glob("access.sqlite3*"):
        file.unlink()
    with pytest.raises(StoreUnavailableError):
        authenticate_key(store, kept)
    assert len(opened) == 2


def test_each_thread_has_its_own_connection(tmp_path: Path) -> None:
    store = SqliteAccessStore(tmp_path / "access.sqlite3")
    _, token = issue_key(store, scope="admin", name="ops")
    with ThreadPoolExecutor(4) as pool:
        subjects = list(pool.map(lambda _: authenticate_key(store, token).key_id, range(40)))
    assert set(subjects) == {authenticate_key(store, token).key_id}
