"""Batch ingest: files + mapping -> observations in the lake, bad cells in quarantine.

One call is one commit per batch of files: the observations, the quarantined rows and
any newly seen sites of a batch become visible together or not at all. Re-running the
same files stores nothing new (keys already in the lake are skipped) and quarantines
nothing twice (a source already committed under the same mapping is recognised by its
content hash).
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from urbanpulse.catalog.sites import SITES_SCHEMA
from urbanpulse.errors import SourceError
from urbanpulse.ingest.mapping import Mapping
from urbanpulse.ingest.quarantine import (
    CORRECTION_REASON,
    get_cell_rejects,
    get_reason_group,
    get_row_rejects,
    mask_reject,
)
from urbanpulse.ingest.readers import FILE, RawSource, read_source
from urbanpulse.ingest.transform import MISSING, compute_cells
from urbanpulse.store import Commit, Lake, LakeFile, new_batch_id
from urbanpulse.store.engine import connect, scan_sql
from urbanpulse.store.quarantine import build_reject, stage_rejects
from urbanpulse.store.sources import describe_sources, fingerprint_file, read_fingerprints
from urbanpulse.store.tables import write_new_observations, write_table_file

Progress = Callable[[str, int, int], None]
UNREADABLE = (
    SourceError,
    pa.ArrowException,
    zipfile.BadZipFile,
    csv.Error,
    OSError,
    ValueError,
    KeyError,
)
BATCH_BYTES = 256 * 1024 * 1024  # files are grouped into commits of about this much input


@dataclass(slots=True)
class IngestSummary:
    """What an ingest did, for people (the CLI table) and for machines (JSON)."""

    files: int = 0
    rows_read: int = 0
    observations_stored: int = 0
    duplicates_skipped: int = 0
    missing_cells: int = 0
    blank_lines: int = 0
    new_sites: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    stored_by_metric: Counter[str] = field(default_factory=Counter)
    files_already_ingested: int = 0
    # Files kept whole in quarantine (unreadable, or a header the mapping does not
    # fit): a mistake to fix, not bad rows to look at later.
    files_rejected: int = 0
    versions: list[int] = field(default_factory=list)

    @property
    def quarantined_total(self) -> int:
        """All rows and cells put in quarantine."""
        return sum(self.quarantined.values())

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view of the summary."""
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "observations_stored": self.observations_stored,
            "duplicates_skipped": self.duplicates_skipped,
            "missing_cells": self.missing_cells,
            "blank_lines": self.blank_lines,
            "new_sites": self.new_sites,
            "quarantined": dict(self.quarantined),
            "quarantined_total": self.quarantined_total,
            "stored_by_metric": dict(self.stored_by_metric),
            "files_already_ingested": self.files_already_ingested,
            "files_rejected": self.files_rejected,
            "versions": self.versions,
        }


def ingest_files(
    lake: Lake,
    paths: Sequence[str | Path],
    mapping: Mapping,
    *,
    progress: Progress | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> IngestSummary:
    """Ingest files through a mapping into the lake.

    Parameters
    ----------
    lake
        The lake to write to (one writer at a time; this call waits for the lock).
    paths
        Source files (CSV, Parquet or Excel); folders are expanded by the CLI.
    mapping
        How the files' columns become sites, times, metrics and values.
    progress
        Called as ``progress(step, done, total)`` while work goes on.
    """
    summary = IngestSummary()
    files = list(dict.fromkeys(Path(p).resolve() for p in paths))  # each file once
    mapping_hash = hashlib.sha256(mapping.model_dump_json().encode()).hexdigest()[:16]
    done = 0
    for batch in _group_by_size(files, batch_bytes):
        with lake.write_lock():
            _ingest_batch(lake, batch, mapping, mapping_hash, summary, progress, done, len(files))
        done += len(batch)
    if progress:
        progress("done", len(files), len(files))
    return summary


def _group_by_size(files: list[Path], limit: int) -> list[list[Path]]:
    groups: list[list[Path]] = [[]]
    size = 0
    for path in files:
        length = path.stat().st_size if path.is_file() else 0
        if groups[-1] and size + length > limit:
            groups.append([])
            size = 0
        groups[-1].append(path)
        size += length
    return [g for g in groups if g]


def _ingest_batch(
    lake: Lake,
    files: list[Path],
    mapping: Mapping,
    mapping_hash: str,
    summary: IngestSummary,
    progress: Progress | None,
    done: int,
    total: int,
) -> None:
    batch_id = new_batch_id()
    con = connect()
    known = _register_known_sites(lake, con, mapping)
    already = read_fingerprints(lake)
    quarantine: list[dict[str, object]] = []
    fingerprints: list[dict[str, str]] = []
    raws: dict[int, RawSource] = {}
    seen: set[int] = set()
    for index, path in enumerate(files):
        if progress:
            progress(f"reading {path.name}", done + index, total)
        fingerprint = fingerprint_file(path, mapping_hash)
        fingerprints += describe_sources([(path, fingerprint)])
        summary.files += 1
        if fingerprint in already:
            summary.files_already_ingested += 1
            seen.add(index)
        already.add(fingerprint)  # the same content twice in one batch is quarantined once
        raw, rejected = _read_file(path, mapping, summary)
        if raw is not None:
            raws[index] = raw
        if index not in seen:
            quarantine += rejected
    if progress:
        progress("mapping", done + len(files), total)
    cells, may_repeat = _map_files(con, raws, mapping, known, seen, quarantine, summary)
    if progress:
        progress("writing", done + len(files), total)
    good = None
    paths = {i: raws[i].path for i in raws}
    columns_of = {i: list(raws[i].columns) for i in raws}
    if cells:
        good, repeats = _resolve_repeats(con, cells, paths, seen, summary, may_repeat=may_repeat)
        quarantine += repeats
    if mapping.sensitive:
        by_source = {str(raws[i].path): list(raws[i].columns) for i in raws}
        quarantine = [
            mask_reject(
                row,
                by_source.get(str(row["source"])),
                set(mapping.sensitive),
                mapping.source.delimiter,
            )
            for row in quarantine
        ]
    for row in quarantine:
        summary.quarantined[get_reason_group(str(row["reason"]))] += 1
    _write_batch(
        lake, con, batch_id, good, quarantine, fingerprints, mapping, summary,
        paths=paths, columns_of=columns_of,
    )  # fmt: skip


def _read_file(
    path: Path, mapping: Mapping, summary: IngestSummary
) -> tuple[RawSource | None, list[dict[str, object]]]:
    """Read one file; return it (None: unusable) and the records it rejected."""
    try:
        raw = read_source(path, mapping.source)
    except UNREADABLE as exc:
        # One unreadable file (a corrupt workbook, an old .xls, an unsupported Parquet
        # type) must not stop the other files of the batch.
        reason = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        summary.files_rejected += 1
        return None, [build_reject(path, None, None, "unreadable file", reason[:500])]
    missing_columns = [c for c in mapping.required_columns() if c not in raw.columns]
    if missing_columns:
        reason = f"header lacks mapped columns {missing_columns}"
        summary.files_rejected += 1
        return None, [build_reject(path, 1, None, reason, ",".join(raw.columns))]
    summary.rows_read += raw.table.num_rows + len(raw.rejects)
    summary.blank_lines += raw.blank_lines
    return raw, [build_reject(path, r.line, None, r.reason, r.raw) for r in raw.rejects]


def _map_files(
    con: duckdb.DuckDBPyConnection,
    raws: dict[int, RawSource],
    mapping: Mapping,
    known: str | None,
    seen: set[int],
    quarantine: list[dict[str, object]],
    summary: IngestSummary,
) -> tuple[list[str], bool]:
    """Map files with the same columns together, one query per group; return the
    names of the cell tables and whether two cells may share a key, and add the
    rejected cells and rows to ``quarantine``."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, raw in raws.items():
        groups.setdefault(tuple(raw.columns), []).append(index)
    tables = []
    # Groups of other columns may hold the same keys: only one group's own answer holds.
    may_repeat = len(groups) > 1
    for number, (columns, indices) in enumerate(groups.items()):
        raw_name, cells = f"raw_{number}", f"cells_{number}"
        tagged = [
            raws[i].table.append_column(FILE, pa.array([i] * raws[i].table.num_rows, pa.int64()))
            for i in indices
        ]
        con.register(raw_name, pa.concat_tables(tagged))
        may_repeat |= compute_cells(
            con,
            mapping,
            raw_name=raw_name,
            columns=list(columns),
            known_sites=known,
            out_name=cells,
        )
        problems = con.execute(
            f"SELECT file_index, problem, count(*) FROM {cells} WHERE problem IS NOT NULL GROUP BY ALL"
        ).fetchall()
        summary.missing_cells += sum(n for _, problem, n in problems if problem == MISSING)
        # Most files are clean: details are only looked up for files with problems.
        for i in sorted({i for i, problem, _ in problems if problem != MISSING} - seen):
            path = raws[i].path
            quarantine += get_cell_rejects(con, cells, path, i)
            quarantine += get_row_rejects(
                con, cells, raw_name, raws[i], path, i, mapping.source.delimiter
            )
        tables.append(cells)
    return tables, may_repeat


def _write_batch(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    good: str | None,
    quarantine: list[dict[str, object]],
    fingerprints: list[dict[str, str]],
    mapping: Mapping,
    summary: IngestSummary,
    *,
    paths: dict[int, Path],
    columns_of: dict[int, list[str]],
) -> None:
    """Stage observations, new sites and quarantine rows, then publish them in one commit.

    A row whose key is stored with another value (a corrected file sent again) is not
    applied, as over MQTT and HTTP, and is kept in quarantine with both values."""
    added: list[LakeFile] = []
    removed: list[str] = []
    stored = skipped = 0
    if good is not None:
        conflicts: list[dict[str, Any]] = []
        files, stored, skipped = write_new_observations(
            lake, con, good, batch_id=batch_id, conflicts=conflicts
        )
        skipped -= len(conflicts)
        for conflict in conflicts:
            reason = (
                f"{CORRECTION_REASON} ({conflict['stored_value']:g} stored, "
                f"{conflict['value']:g} sent)"
            )
            row = build_reject(
                paths[conflict["file_index"]], conflict["line"], conflict["column_name"],
                reason, conflict["raw"],
            )  # fmt: skip
            if mapping.sensitive:
                row = mask_reject(
                    row, columns_of.get(conflict["file_index"]), set(mapping.sensitive),
                    mapping.source.delimiter,
                )  # fmt: skip
            quarantine.append(row)
            summary.quarantined[get_reason_group(reason)] += 1
        added += files
        for lake_file in files:
            summary.stored_by_metric[lake_file.partition["metric"]] += lake_file.rows
        if mapping.site.allow_new:
            site_files, removed, new_sites = _register_new_sites(lake, con, good, mapping, batch_id)
            summary.new_sites += new_sites
            added += site_files
    if quarantine:
        added.append(stage_rejects(lake, quarantine, batch_id))
    summary.observations_stored += stored
    summary.duplicates_skipped += skipped
    info = {"sources": fingerprints, "stored": stored, "duplicates_skipped": skipped}
    summary.versions.append(lake.commit(Commit("ingest", batch_id, added, removed, info)))


def _resolve_repeats(
    con: duckdb.DuckDBPyConnection,
    cells: list[str],
    mapped: dict[int, Path],
    seen: set[int],
    summary: IngestSummary,
    *,
    may_repeat: bool,
) -> tuple[str, list[dict[str, object]]]:
    """Find keys given more than once in a batch.

    A repeat inside one file is a data error and goes to quarantine; the same key in
    a later file of the batch is a duplicate delivery and is skipped like a re-run.
    Repeats are rare, so one grouping pass looks for them before any ranking is done,
    and none at all when the mapping already showed that no key can repeat.

    Returns the relation of good cells to store and the quarantine rows for repeats.
    """
    parts = [f"SELECT * FROM {name} WHERE problem IS NULL" for name in cells]
    con.execute("CREATE OR REPLACE TEMP VIEW _good AS " + " UNION ALL ".join(parts))
    if not may_repeat:
        return "_good", []
    # A cheap first pass on one 64-bit hash per key; a hash seen twice may be a real
    # repeat or a collision, and the exact pass below tells which.
    if (
        _scalar(
            con,
            "SELECT count(*) FROM (SELECT 1 FROM _good GROUP BY hash(site_id, metric, ts) HAVING count(*) > 1)",
        )
        == 0
    ):
        return "_good", []
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _repeated AS SELECT site_id, metric, ts FROM _good "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    if _scalar(con, "SELECT count(*) FROM _repeated") == 0:
        return "_good", []
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ranked AS
        SELECT file_index, line, site_id, metric, ts, column_name, raw,
               row_number() OVER (PARTITION BY site_id, metric, ts, file_index ORDER BY line) AS n_in_file,
               row_number() OVER (PARTITION BY site_id, metric, ts ORDER BY file_index, line) AS n_in_batch
        FROM _good SEMI JOIN _repeated USING (site_id, metric, ts)"""
    )
    within = con.execute(
        "SELECT file_index, line, column_name, raw FROM _ranked WHERE n_in_file > 1 ORDER BY file_index, line"
    ).fetchall()
    summary.duplicates_skipped += _scalar(
        con, "SELECT count(*) FROM _ranked WHERE n_in_file = 1 AND n_in_batch > 1"
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _good_once AS
        SELECT g.* FROM _good g ANTI JOIN (SELECT * FROM _ranked WHERE n_in_batch > 1) r
        ON g.file_index = r.file_index AND g.line = r.line AND g.site_id = r.site_id
           AND g.metric = r.metric AND g.ts = r.ts"""
    )
    rows = [
        build_reject(mapped[i], line, column, "duplicate key within file", raw)
        for i, line, column, raw in within
        if i not in seen
    ]
    return "_good_once", rows


def _register_known_sites(
    lake: Lake, con: duckdb.DuckDBPyConnection, mapping: Mapping
) -> str | None:
    con.execute(f"CREATE OR REPLACE TEMP VIEW known_sites AS {scan_sql(lake, 'sites')}")
    return None if mapping.site.allow_new else "known_sites"


def _register_new_sites(
    lake: Lake, con: duckdb.DuckDBPyConnection, good: str, mapping: Mapping, batch_id: str
) -> tuple[list[LakeFile], list[str], int]:
    """Add sites first seen in this batch to the sites snapshot (same commit)."""
    new_ids = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT site_id FROM {good} "
            "WHERE site_id NOT IN (SELECT site_id FROM known_sites WHERE site_id IS NOT NULL) ORDER BY 1"
        ).fetchall()
    ]
    if not new_ids:
        return [], [], 0
    spec = mapping.site
    rows = []
    for site_id in new_ids:
        code = site_id.removeprefix(spec.id_prefix)
        names = spec.names.get(code)
        rows.append(
            {
                "site_id": site_id,
                "kind": spec.kind,
                "name_zh": names.zh if names else None,
                "name_en": names.en if names and names.en else code,
                "city_code": spec.city_code,
                "attributes": json.dumps({"source_code": code}, ensure_ascii=False),
                "synthetic": False,
            }
        )
    old = con.sql("SELECT * FROM known_sites").to_arrow_table().cast(SITES_SCHEMA)
    table = pa.concat_tables([old, pa.Table.from_pylist(rows, schema=SITES_SCHEMA)])
    new_file = write_table_file(lake, "sites", table, batch_id=batch_id)
    return [new_file], lake.get_paths_relative("sites"), len(new_ids)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])
