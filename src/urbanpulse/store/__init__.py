"""The lake (Parquet files under an atomic commit log) and its engines."""

from __future__ import annotations

from urbanpulse.store.engine import SCHEMAS, connect, refresh_views, scan_sql
from urbanpulse.store.lake import Commit, Lake, LakeFile, new_batch_id
from urbanpulse.store.tables import read_table, write_new_observations, write_table_file

__all__ = [
    "SCHEMAS",
    "Commit",
    "Lake",
    "LakeFile",
    "connect",
    "new_batch_id",
    "read_table",
    "refresh_views",
    "scan_sql",
    "write_new_observations",
    "write_table_file",
]
