"""What the product writes for access and data is its owner's alone, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa

from urbanpulse.access import issue_key
from urbanpulse.access.store import SqliteAccessStore
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
