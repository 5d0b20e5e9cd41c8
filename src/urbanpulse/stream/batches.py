"""Micro-batches of live observations: judged together in SQL, committed to the lake at once.

A micro-batch (the messages an MQTT subscriber gathered, or one HTTP push) becomes one
commit: its good observations, the sites first seen in it (when new sites are allowed),
the sites a writer registers, replaces or retires (NGSI-LD provisioning), and its
quarantined items and messages are published together or not at all. Keys
already stored, e.g. a message the broker delivers again after a restart, are skipped
(the lake's key is site_id, metric, ts), so a redelivered batch stores nothing twice.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from urbanpulse.catalog.metrics import PLAUSIBLE_RANGES
from urbanpulse.catalog.sites import SITES_SCHEMA
from urbanpulse.ingest.quarantine import (
    CORRECTION_REASON,
    get_reason_group,
)
from urbanpulse.ingest.transform import (
    build_bound_sql,
    build_problem_sql,
    build_text_time_sql,
    lit,
)
from urbanpulse.store import Commit, Lake, LakeFile, new_batch_id
from urbanpulse.store.engine import connect
from urbanpulse.store.quarantine import stage_rejects
from urbanpulse.store.tables import read_table, write_new_observations, write_table_file
from urbanpulse.store.writes import METRIC_CODE
from urbanpulse.stream.payloads import Items, build_stream_reject

# The column each problem is about, for the quarantine row.
PROBLEM_COLUMNS = {
    "unparseable time": "ts",
    "time out of range": "ts",
    "missing site": "site_id",
    "unknown site": "site_id",
    "unknown metric": "metric",
    "missing value": "value",
    "non-numeric value": "value",
    "non-finite value": "value",
}


@dataclass
class BatchResult:
    """What one micro-batch did: observations stored, keys already stored, new sites,
    quarantined items and messages by reason, and the lake version it committed."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    new_sites: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    version: int | None = None
    # (item index, reason) of each item kept in quarantine, for a writer that answers
    # item by item (NGSI-LD provisioning).
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    def add(self, other: BatchResult) -> None:
        """Count another batch's result into this one."""
        self.received += other.received
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.new_sites += other.new_sites
        self.quarantined.update(other.quarantined)
        self.version = other.version if other.version is not None else self.version

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "new_sites": self.new_sites,
            "quarantined": dict(self.quarantined),
            "quarantined_total": self.quarantined_total,
            "version": self.version,
        }


@dataclass(frozen=True)
class SiteChanges:
    """Sites a write registers or replaces (whole rows of ``SITES_SCHEMA``) and the ids
    it retires, committed with its observations. A retired site leaves the sites table;
    its observations stay in the lake as history."""

    upserts: tuple[dict[str, Any], ...] = ()
    retired: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.upserts or self.retired)

    def apply(self, known: pa.Table) -> pa.Table:
        """``known`` with the retired and replaced rows left out and the upserts added."""
        replaced = self.retired | {row["site_id"] for row in self.upserts}
        replaced_ids = pa.array(sorted(replaced), pa.string())
        kept = known.filter(pc.invert(pc.is_in(known["site_id"], value_set=replaced_ids)))
        return pa.concat_tables(
            [kept, pa.Table.from_pylist(list(self.upserts), schema=SITES_SCHEMA)]
        )


class SiteBook:
    """The lake's site ids, read again only when the sites table changed."""

    def __init__(self) -> None:
        self._paths: list[str] | None = None
        self.table: pa.Table = pa.table({"site_id": pa.array([], pa.string())})

    def get(self, lake: Lake) -> pa.Table:
        """The sites table (all columns) as of the lake's current version."""
        paths = lake.get_paths_relative("sites")
        if paths != self._paths:
            self.table = read_table(lake, "sites").cast(SITES_SCHEMA)
            self._paths = paths
        return self.table


def commit_items(
    lake: Lake,
    items: Items,
    *,
    timezone: str,
    allow_new_sites: bool,
    operation: str,
    sites: SiteBook | None = None,
    site_changes: SiteChanges = SiteChanges(),
    extra_tables: dict[str, pa.Table] | None = None,
    info: dict[str, Any] | None = None,
) -> BatchResult:
    """Judge the items of a micro-batch and commit the good ones, new sites and the
    quarantine in one commit.

    Parameters
    ----------
    timezone
        Zone of times written without an offset (settings ``local_timezone``).
    allow_new_sites
        Register sites first seen here (kind from the NGSI-LD type, else 'other');
        if False their observations are quarantined as 'unknown site'.
    site_changes
        Sites registered, replaced or retired in the same commit; the registered ones
        are known when the items are judged.
    extra_tables
        Rows of other tables committed with them (NGSI-LD context entities).

    Returns
    -------
    BatchResult
        Counts of stored, duplicate and quarantined observations and the version.
    """
    result = BatchResult(received=len(items))
    extra = {name: rows for name, rows in (extra_tables or {}).items() if rows.num_rows}
    if not len(items) and not items.rejects and not site_changes and not extra:
        return result
    sites = sites or SiteBook()
    with lake.write_lock():
        batch_id = new_batch_id()
        con = connect()
        known = site_changes.apply(sites.get(lake)) if site_changes else sites.get(lake)
        con.register("_known", known)
        con.register("_items", _to_arrow(items))
        _judge(con, timezone=timezone, allow_new=allow_new_sites)
        result.rejected = con.execute(
            "SELECT i, problem FROM _judged WHERE problem IS NOT NULL ORDER BY i"
        ).fetchall()
        rejects = list(items.rejects) + _read_rejects(result.rejected, items)
        added: list[LakeFile] = []
        removed: list[str] = []
        conflicts: list[dict[str, Any]] = []
        files, result.stored, result.duplicates = write_new_observations(
            lake, con, "_good", batch_id=batch_id, conflicts=conflicts
        )
        result.duplicates += _count(con, "_judged WHERE problem IS NULL") - _count(con, "_good")
        # A correction (the same key, a new value) is not applied, but never dropped
        # without trace either: it is kept in quarantine with the value it would replace.
        result.duplicates -= len(conflicts)
        corrections = [
            (c["i"], f"{CORRECTION_REASON} ({c['stored_value']:g} stored, {c['value']:g} sent)")
            for c in conflicts
        ]
        result.rejected += corrections
        rejects += [
            build_stream_reject(items.source[i], items.line[i], "value", reason, items.raw[i])
            for i, reason in corrections
        ]
        added += files
        new_sites = _read_new_sites(con) if allow_new_sites else []
        result.new_sites = len(new_sites)
        if new_sites or site_changes:
            table = pa.concat_tables([known, pa.Table.from_pylist(new_sites, schema=SITES_SCHEMA)])
            added.append(write_table_file(lake, "sites", table, batch_id=batch_id))
            removed = lake.get_paths_relative("sites")
        for name, rows in extra.items():
            added.append(write_table_file(lake, name, rows, batch_id=batch_id))
        if rejects:
            added.append(stage_rejects(lake, rejects, batch_id))
        for reject in rejects:
            result.quarantined[get_reason_group(str(reject["reason"])).split(":")[0]] += 1
        details = {
            **(info or {}),
            "received": result.received,
            "stored": result.stored,
            "duplicates_skipped": result.duplicates,
            "quarantined": result.quarantined_total,
        }
        if added or removed:
            result.version = lake.commit(Commit(operation, batch_id, added, removed, details))
    return result


def _to_arrow(items: Items) -> pa.Table:
    return pa.table(
        {
            "i": pa.array(range(len(items)), pa.int64()),
            "site_id": pa.array(items.site_id, pa.string()),
            "metric": pa.array(items.metric, pa.string()),
            "ts_text": pa.array(items.ts_text, pa.string()),
            "ts_epoch": pa.array(items.ts_epoch, pa.float64()),
            "value": pa.array(items.value, pa.float64()),
            "bad_value": pa.array(items.bad_value, pa.bool_()),
            "unit": pa.array(items.unit, pa.string()),
            "kind": pa.array(items.kind, pa.string()),
        }
    )


def _judge(con: duckdb.DuckDBPyConnection, *, timezone: str, allow_new: bool) -> None:
    """Tables ``_judged`` (every item with its problem, NULL if good) and ``_good``
    (good items, each key once: a repeat inside a batch is a repeated delivery)."""
    ranges = ", ".join(
        f"({lit(m)}, {build_bound_sql(lo)}, {build_bound_sql(hi)})"
        for m, (lo, hi) in PLAUSIBLE_RANGES.items()
    )
    problem = build_problem_sql(
        ts="ts",
        site_missing="site_id IS NULL OR trim(site_id) = ''",
        unknown_site=None if allow_new else "site_id NOT IN (SELECT site_id FROM _known)",
        metric_unknown=f"metric IS NULL OR NOT regexp_full_match(metric, {lit(METRIC_CODE.pattern)})",
        value="value",
        value_problems=[
            ("value IS NULL AND bad_value", "non-numeric value"),
            ("value IS NULL", "missing value"),
        ],
        low="r.lo",
        high="r.hi",
    )
    ts = build_text_time_sql("ts_text", lit(timezone))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _judged AS
        WITH timed AS (
            SELECT *, CASE WHEN ts_epoch IS NOT NULL THEN to_timestamp(ts_epoch)
                           WHEN ts_text IS NOT NULL THEN {ts} END AS ts
            FROM _items
        )
        SELECT t.*, {problem} AS problem
        FROM timed t LEFT JOIN (VALUES {ranges}) r(metric, lo, hi) USING (metric)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _good AS
        SELECT site_id, metric, ts, value, unit, kind, i FROM _judged WHERE problem IS NULL
        QUALIFY row_number() OVER (PARTITION BY site_id, metric, ts ORDER BY i) = 1"""
    )


def _read_rejects(found: list[tuple[int, str]], items: Items) -> list[dict[str, object]]:
    return [
        build_stream_reject(
            items.source[i],
            items.line[i],
            PROBLEM_COLUMNS.get(problem, "value"),
            problem,
            items.raw[i],
        )
        for i, problem in found
    ]


def _read_new_sites(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Rows for the sites first seen in this batch, named by their id until described."""
    new = con.execute(
        "SELECT site_id, coalesce(min(kind), 'other') FROM _good "
        "WHERE site_id NOT IN (SELECT site_id FROM _known) GROUP BY site_id ORDER BY site_id"
    ).fetchall()
    return [
        {
            "site_id": site_id,
            "kind": kind,
            "name_en": site_id,
            "attributes": json.dumps({"source": "stream"}),
            "synthetic": False,
        }
        for site_id, kind in new
    ]


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0])
