"""The lake (Parquet files under an atomic commit log) and its engines.

Its public face is questions (reads and writes by name); DuckDB connections and SQL
(``urbanpulse.store.engine``) stay inside, so that every engine can answer.
"""

from __future__ import annotations

from urbanpulse.store.compaction import compact_observations
from urbanpulse.store.engine import SCHEMAS
from urbanpulse.store.engines import build_engine, get_engine
from urbanpulse.store.interface import Engine, compute_profiles
from urbanpulse.store.lake import Commit, Lake, LakeFile, new_batch_id
from urbanpulse.store.queries import (
    get_metrics,
    get_months,
    get_observation_coverage,
    get_site,
    get_site_metrics,
    read_indicators,
    read_observation_batches,
    read_observation_page,
    read_observations,
    read_quarantine,
    read_site_metrics,
    read_sites,
)
from urbanpulse.store.retention import compute_rollups, read_rollups, retain_observations
from urbanpulse.store.tables import read_table, write_new_observations, write_table_file
from urbanpulse.store.writes import append_observations, upsert_indicators, upsert_sites

__all__ = [
    "SCHEMAS",
    "Commit",
    "Engine",
    "Lake",
    "LakeFile",
    "append_observations",
    "build_engine",
    "compact_observations",
    "compute_profiles",
    "compute_rollups",
    "get_engine",
    "get_metrics",
    "get_months",
    "get_observation_coverage",
    "get_site",
    "get_site_metrics",
    "new_batch_id",
    "read_indicators",
    "read_observation_batches",
    "read_observation_page",
    "read_observations",
    "read_quarantine",
    "read_rollups",
    "read_site_metrics",
    "read_sites",
    "read_table",
    "retain_observations",
    "upsert_indicators",
    "upsert_sites",
    "write_new_observations",
    "write_table_file",
]
