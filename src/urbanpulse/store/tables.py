"""Writing and reading the lake's tables through DuckDB.

Writers stage Parquet files, move them in place and return the :class:`LakeFile` list
for the caller to publish in one commit together with anything else of the same batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from urbanpulse.store.engine import SCHEMAS, quote_sql_text, scan_sql
from urbanpulse.store.lake import Lake, LakeFile, partition_of
from urbanpulse.store.queries import get_month_range

OBSERVATION_COLUMNS = "site_id, metric, ts, value, unit"


def write_new_observations(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    batch_id: str,
    conflicts: list[dict[str, Any]] | None = None,
) -> tuple[list[LakeFile], int, int]:
    """Stage the observations of relation ``source`` that the lake does not hold yet.

    The key is (site_id, metric, ts): a key already in the lake is skipped, so writing
    the same data twice stores nothing new. Only the partitions (metric, month) that
    the new rows fall in are read for that check. With ``conflicts``, the skipped rows
    whose value differs from the stored one (a correction, which is not applied) are
    appended to it, each with every column of ``source`` and ``stored_value``, so the
    caller can keep them in quarantine instead of losing them without trace.

    Returns
    -------
    tuple
        (files staged and placed, rows written, rows skipped as already stored).
    """
    # The month of the UTC clock (the connection's time zone is UTC): through a plain
    # TIMESTAMP, which spares the time-zone library a call per row and cut the Beijing
    # ingest's write by a seventh (bench/ingest.py).
    month = "strftime(ts::TIMESTAMP, '%Y-%m')"
    # Bounds rather than a grouping: the months between them are a cheap superset of
    # the partitions to check for keys already stored.
    first, last, candidates, metrics, earliest, latest = con.execute(
        f"SELECT strftime(min(ts), '%Y-%m'), strftime(max(ts), '%Y-%m'), count(*), "
        f"list(DISTINCT metric), min(ts), max(ts) FROM {source}"
    ).fetchall()[0]
    if not candidates:
        return [], 0, 0
    months = get_month_range(first, last)
    new = source
    # Keys retention removed count as stored: their values live on in the archived
    # rollups, and storing them again would count them twice there.
    stored_in = [
        t
        for t in ("observations", "retired_keys")
        if lake.get_files(t, metric=metrics, month=months)
    ]
    if stored_in:
        existing = " UNION ALL ".join(
            f"SELECT site_id, metric, ts FROM ({scan_sql(lake, t, metric=metrics, month=months)})"
            for t in stored_in
        )
        # Only stored keys inside the batch's time span can match: a live micro-batch
        # of seconds then joins against a handful of keys, not the month's millions,
        # and files whose time statistics lie outside the span are skipped.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _new AS
            SELECT s.* FROM {source} s ANTI JOIN
                (SELECT site_id, metric, ts FROM ({existing}) WHERE ts BETWEEN ? AND ?) e
            ON s.site_id = e.site_id AND s.metric = e.metric AND s.ts = e.ts""",
            [earliest, latest],
        )
        new = "_new"
        if conflicts is not None and "observations" in stored_in:
            conflicts += _read_conflicts(lake, con, source, metrics, months, earliest, latest)
    new_rows = _count(con, new) if new != source else candidates
    if new_rows == 0:
        return [], 0, candidates
    staging = lake.staging_dir(batch_id) / "observations"
    # No ORDER BY and no insertion order: writing 1 million rows took 0.20 s sorted by
    # site_id, ts against 0.13 s unsorted (bench/lake.py), and for a live micro-batch
    # a sorted file gains nothing (it is one row group). Compaction sorts instead
    # (urbanpulse.store.compaction), which is where reads gain.
    con.execute("SET preserve_insertion_order = false")
    # RETURN_STATS gives each file's rows, so no file's footer is read back.
    written = con.execute(
        f"""COPY (SELECT {OBSERVATION_COLUMNS}, {quote_sql_text(batch_id)} AS batch_id, {month} AS "month"
                  FROM {new})
        TO {quote_sql_text(str(staging))} (FORMAT parquet, PARTITION_BY (metric, "month"),
            WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN {quote_sql_text(batch_id + "_{i}")},
            COMPRESSION zstd, RETURN_STATS true)"""
    ).fetchall()
    con.execute("RESET preserve_insertion_order")
    rows = {Path(name): int(count) for name, count, *_ in written}
    return _place_staged(lake, staging, "observations", rows), new_rows, candidates - new_rows


def _read_conflicts(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    source: str,
    metrics: list[str],
    months: list[str],
    earliest: Any,
    latest: Any,
) -> list[dict[str, Any]]:
    """Rows of ``source`` whose key is stored with another value (NaN equals NaN)."""
    stored = scan_sql(lake, "observations", metric=metrics, month=months)
    found = con.execute(
        f"""SELECT s.*, e.value AS stored_value FROM {source} s JOIN
            (SELECT site_id, metric, ts, value FROM ({stored}) WHERE ts BETWEEN ? AND ?) e
        ON s.site_id = e.site_id AND s.metric = e.metric AND s.ts = e.ts
        WHERE s.value IS DISTINCT FROM e.value
          AND NOT (isnan(s.value) AND isnan(e.value))""",
        [earliest, latest],
    )
    names = [d[0] for d in found.description]
    return [dict(zip(names, row, strict=True)) for row in found.fetchall()]


def write_table_file(lake: Lake, table: str, data: pa.Table, *, batch_id: str) -> LakeFile:
    """Stage one unpartitioned Parquet file of ``table`` (quarantine, sites, indicators)."""
    staging = lake.staging_dir(batch_id) / table
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{batch_id}.parquet"
    pq.write_table(data, path, compression="zstd")
    return _place_staged(lake, staging, table)[0]


def _place_staged(
    lake: Lake, staging: Path, table: str, rows: Mapping[Path, int] | None = None
) -> list[LakeFile]:
    """Move the files staged under ``staging`` into ``table``'s place in the lake.

    ``rows`` gives each staged file's row count where the writer knows it (else its
    footer is read). A partition the lake has no folder for yet moves as one folder: a
    year of hourly readings makes hundreds of new partitions, and a folder made and a
    rename per file cost a seventh of the Beijing ingest (bench/ingest.py)."""
    staged = sorted(staging.rglob("*.parquet"))
    placed: list[LakeFile] = []
    for path in staged:
        relative = f"{table}/{path.relative_to(staging).as_posix()}"
        count = (rows or {}).get(path)
        if count is None:  # the writer did not say: the file's footer does
            count = pq.read_metadata(path).num_rows
        placed.append(LakeFile(table, relative, count, partition_of(relative)))
    moved = {
        folder
        for folder in sorted({path.parent for path in staged} - {staging})
        if lake.place_folder(folder, f"{table}/{folder.relative_to(staging).as_posix()}")
    }
    for path, lake_file in zip(staged, placed, strict=True):
        if path.parent not in moved:
            lake.place_file(path, lake_file.path)
    return placed


def read_table(lake: Lake, table: str, con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """Read a whole (small) table such as sites or quarantine as Arrow.

    Returns
    -------
    pyarrow.Table
        The columns of ``SCHEMAS[table]``.
    """
    from urbanpulse.store.engine import connect

    con = con or connect()
    return con.sql(scan_sql(lake, table)).to_arrow_table()


def empty_table(table: str) -> pa.Table:
    """A typed, empty Arrow table of one of the lake's tables."""
    from urbanpulse.store.engine import connect

    return (
        connect()
        .execute(
            "SELECT "
            + ", ".join(f"NULL::{t} AS {c}" for c, t in SCHEMAS[table].items())
            + " WHERE false"
        )
        .to_arrow_table()
    )


def _count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
