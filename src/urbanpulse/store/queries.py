"""Reading the lake: the few queries every other part of UrbanPulse builds on."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.i18n import N_
from urbanpulse.store.compaction import get_observation_partitions
from urbanpulse.store.engine import SCHEMAS, connect, scan_sql
from urbanpulse.store.lake import Lake


def get_month_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last`` inclusive (plain arithmetic, so any
    year DuckDB can hold works)."""
    (y1, m1), (y2, m2) = (map(int, month.split("-")) for month in (first, last))
    return [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(y1 * 12 + m1 - 1, y2 * 12 + m2)]


def get_months(start: datetime, end: datetime) -> list[str]:
    """The ``YYYY-MM`` partitions (in UTC) that a time window [start, end) touches."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidQueryError("start and end must be timezone-aware")
    if end <= start:
        raise InvalidQueryError(f"empty window: end {end} is not after start {start}")
    first = pd.Timestamp(start).tz_convert("UTC").tz_localize(None).to_period("M")
    last = (
        pd.Timestamp(end).tz_convert("UTC").tz_localize(None) - pd.Timedelta(microseconds=1)
    ).to_period("M")
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def read_observations(
    lake: Lake,
    metric: str,
    *,
    site_ids: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Observations of one metric, optionally for some sites and a window [start, end).

    Only the files of that metric (and of the months the window touches) are read, and
    within them, in files sorted by site and time (compacted ones), only the row groups
    whose statistics admit the sites and window.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, metric, ts (UTC), value, unit; sorted by site_id, ts.
    """
    scan, where, params = _observation_filters(lake, metric, start, end, site_ids)
    if site_ids is not None and len(site_ids) == 1:
        # An equality (not IN over a list) lets the Parquet reader skip row groups by
        # their site_id statistics: the common one-site read touches one or two.
        where[where.index("site_id IN (SELECT unnest(?::VARCHAR[]))")] = "site_id = ?"
        params[0] = site_ids[0]
    sql = (
        f"SELECT site_id, metric, ts, value, unit FROM ({scan}) "
        f"WHERE {' AND '.join(where)} ORDER BY site_id, ts"
    )
    return get_reader().execute(sql, params).df()


def get_months_holding(lake: Lake, metrics: Sequence[str]) -> list[str]:
    """The months (sorted) whose partitions hold any of ``metrics``."""
    return sorted({month for _, month in get_observation_partitions(lake, metrics=metrics)})


def read_newest_versions(
    lake: Lake, table: str, *, key: str, newest_by: str, first_as: str | None = None
) -> pa.Table:
    """The newest row of each ``key`` in a table that keeps every version of a thing
    (the newest by ``newest_by``); with ``first_as``, a column of that name holding the
    first version's ``newest_by`` (when the thing was created); empty without files."""
    if not lake.get_files(table):
        return pa.table({})
    first = f", min({newest_by}) OVER (PARTITION BY {key}) AS {first_as}" if first_as else ""
    sql = (
        f"SELECT *{first} FROM ({scan_sql(lake, table)}) "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {newest_by} DESC) = 1"
    )
    return get_reader().sql(sql).to_arrow_table()


CONDITION_OPERATORS = ("=", ">=", "<")


def read_rows(lake: Lake, table: str, *conditions: tuple[str, str, object]) -> pd.DataFrame:
    """The rows of a small table that meet every ``(column, operator, value)``
    condition (a None value sets no condition), sorted by every column.

    Raises
    ------
    InvalidQueryError
        A column the table lacks, or an operator other than ``=``, ``>=`` and ``<``.
    """
    columns = set(SCHEMAS[table])
    parts, params = ["true"], []
    for column, operator, value in conditions:
        if column not in columns or operator not in CONDITION_OPERATORS:
            raise InvalidQueryError(f"no condition {column} {operator} on table {table!r}")
        if value is not None:
            parts.append(f"{column} {operator} ?")
            params.append(value)
    sql = f"SELECT * FROM ({scan_sql(lake, table)}) WHERE {' AND '.join(parts)} ORDER BY ALL"
    return get_reader().execute(sql, params).df()


def read_observation_keys(
    lake: Lake, metrics: Sequence[str], first: datetime, last: datetime
) -> set[tuple[str, str, datetime]]:
    """The (site_id, metric, ts in UTC) keys stored for ``metrics`` between ``first``
    and ``last`` inclusive: what a writer checks its rows against."""
    months = get_month_range(f"{first:%Y-%m}", f"{last:%Y-%m}")
    if not lake.get_files("observations", metric=list(metrics), month=months):
        return set()
    scan = scan_sql(lake, "observations", metric=list(metrics), month=months)
    found = get_reader().execute(
        f"SELECT site_id, metric, ts FROM ({scan}) WHERE ts BETWEEN ? AND ?", [first, last]
    )
    return {(s, m, ts.astimezone(UTC)) for s, m, ts in found.fetchall()}


def read_file_rows(paths: Sequence[str], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """``columns`` of every row of these lake files (Parquet), in file order: for indexes
    that read each file of a table once, as it is committed."""
    sql = f"SELECT {', '.join(columns)} FROM read_parquet(?)"
    return get_reader().execute(sql, [list(paths)]).fetchall()


_readers = threading.local()
_reader_parent: tuple[int, duckdb.DuckDBPyConnection] | None = None
_reader_lock = threading.Lock()


def get_reader() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on one DuckDB database shared by the process's reads.

    Opening a DuckDB connection costs about 12 ms, several times a one-site read, so
    reads share one in-memory database (and its cache of Parquet footers: lake files
    never change once written) through a cursor per thread, since a DuckDB connection
    must not be used by two threads at once. A forked worker opens its own.
    """
    global _reader_parent
    pid = os.getpid()
    cursor = getattr(_readers, "cursor", None)
    if cursor is not None and _readers.pid == pid:
        return cursor  # type: ignore[no-any-return]
    with _reader_lock:
        if _reader_parent is None or _reader_parent[0] != pid:
            _reader_parent = (pid, connect())
        cursor = _reader_parent[1].cursor()
    # Settings are per connection: a cursor starts from the defaults.
    cursor.execute("SET TimeZone = 'UTC'")
    cursor.execute("SET enable_progress_bar = false")
    cursor.execute("SET parquet_metadata_cache = true")
    _readers.cursor, _readers.pid = cursor, pid
    return cursor


def read_sites(
    lake: Lake, *, kind: str | None = None, city_code: str | None = None
) -> pd.DataFrame:
    """The sites table, optionally filtered.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, kind, name_zh, name_en, city_code, lat, lon, capacity,
        attributes (JSON text), synthetic.
    """
    where, params = ["true"], []
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if city_code:
        where.append("city_code = ?")
        params.append(city_code)
    sql = f"SELECT * FROM ({scan_sql(lake, 'sites')}) WHERE {' AND '.join(where)} ORDER BY site_id"
    return connect().execute(sql, params).df()


def get_site(lake: Lake, site_id: str) -> dict[str, object]:
    """One site as a dict: attributes parsed from JSON, missing values as None.

    Raises
    ------
    NotFoundError
        When the lake has no such site.
    """
    sql = f"SELECT * FROM ({scan_sql(lake, 'sites')}) WHERE site_id = ?"
    found = connect().execute(sql, [site_id]).df()
    if found.empty:
        raise NotFoundError(N_("no site {site_id!r} in the lake", site_id=site_id))
    row = found.astype(object).where(found.notna(), None).iloc[0].to_dict()
    row["attributes"] = json.loads(row.get("attributes") or "{}")
    row["synthetic"] = bool(row.get("synthetic"))
    return row


def read_indicators(lake: Lake, *, indicator: str | None = None) -> pd.DataFrame:
    """Yearly indicators.

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, indicator, value, unit, source, vintage, synthetic.
    """
    where, params = "true", []
    if indicator:
        where, params = "indicator = ?", [indicator]
    sql = f"SELECT * FROM ({scan_sql(lake, 'indicators')}) WHERE {where} ORDER BY indicator, region_code, year"
    return connect().execute(sql, params).df()


def read_quarantine(
    lake: Lake, *, reason: str | None = None, source: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Quarantined rows, newest batch first; ``reason`` and ``source`` match substrings.

    Returns
    -------
    pandas.DataFrame
        Columns: batch_id, source, line, column_name, reason, raw, quarantined_at.
    """
    where, params = ["true"], []
    if reason:
        where.append("reason ILIKE ?")
        params.append(f"%{reason}%")
    if source:
        where.append("source ILIKE ?")
        params.append(f"%{source}%")
    sql = (
        f"SELECT * FROM ({scan_sql(lake, 'quarantine')}) WHERE {' AND '.join(where)} "
        "ORDER BY quarantined_at DESC, source, line, column_name"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return connect().execute(sql, params).df()


def get_metrics(lake: Lake) -> list[str]:
    """Metrics with at least one stored observation."""
    return sorted({f.partition["metric"] for f in lake.get_files("observations")})


def get_site_metrics(lake: Lake, site_id: str) -> pd.DataFrame:
    """Which metrics a site reports, with counts and time span.

    Returns
    -------
    pandas.DataFrame
        Columns: metric, unit, observations, first_ts, last_ts.
    """
    return read_site_metrics(lake, [site_id]).drop(columns="site_id")


def read_site_metrics(
    lake: Lake, site_ids: Sequence[str] | None, *, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """What several sites (None: every site) report, in one read: only the partitions
    of ``metrics`` when given (a forecast asks for crowding metrics, not every delay a
    GTFS-Realtime feed stored).

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, metric, unit, observations, first_ts, last_ts.
    """
    partition = {"metric": list(metrics)} if metrics is not None else {}
    sql = (
        "SELECT site_id, metric, any_value(unit) AS unit, count(*) AS observations, "
        f"min(ts) AS first_ts, max(ts) AS last_ts FROM ({scan_sql(lake, 'observations', **partition)}) "
        f"WHERE {'true' if site_ids is None else 'site_id IN (SELECT unnest(?::VARCHAR[]))'} "
        "GROUP BY site_id, metric ORDER BY site_id, metric"
    )
    return connect().execute(sql, [] if site_ids is None else [list(site_ids)]).df()


def _observation_filters(
    lake: Lake,
    metric: str,
    start: datetime | None,
    end: datetime | None,
    site_ids: Sequence[str] | None = None,
) -> tuple[str, list[str], list[object]]:
    """(scan SQL of the metric's files, WHERE terms, parameters) for a window."""
    partition: dict[str, str | list[str]] = {"metric": metric}
    if start is not None and end is not None:
        partition["month"] = get_months(start, end)
    where: list[str] = ["true"]
    params: list[object] = []
    if site_ids is not None:
        where.append("site_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(site_ids))
    if start is not None:
        where.append("ts >= ?")
        params.append(start)
    if end is not None:
        where.append("ts < ?")
        params.append(end)
    return scan_sql(lake, "observations", **partition), where, params


def read_observation_page(
    lake: Lake,
    metric: str,
    *,
    after: tuple[str, datetime] | None = None,
    limit: int,
    start: datetime | None = None,
    end: datetime | None = None,
    site_ids: Sequence[str] | None = None,
) -> pa.Table:
    """The next ``limit`` observations of a metric after the key ``(site_id, ts)``.

    Keyset paging: rows are ordered by their key, so a page never repeats or skips a
    row even when new observations are committed between two pages.

    Returns
    -------
    pyarrow.Table
        Columns: site_id, metric, ts (UTC), value, unit; sorted by site_id, ts.
    """
    scan, where, params = _observation_filters(lake, metric, start, end, site_ids)
    if after is not None:
        where.append("(site_id > ? OR (site_id = ? AND ts > ?))")
        params += [after[0], after[0], after[1]]
    sql = (
        f"SELECT site_id, metric, ts, value, unit FROM ({scan}) "
        f"WHERE {' AND '.join(where)} ORDER BY site_id, ts LIMIT {int(limit)}"
    )
    return connect().sql(sql, params=params).to_arrow_table()


def read_observation_batches(
    lake: Lake,
    metric: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    batch_rows: int = 65_536,
) -> Iterator[pa.RecordBatch]:
    """Observations of a metric in [start, end) as Arrow record batches, for exports
    that must not hold the whole range in memory.

    Returns
    -------
    Iterator[pyarrow.RecordBatch]
        Columns: site_id, metric, ts (UTC), value, unit; in site_id, ts order.
    """
    scan, where, params = _observation_filters(lake, metric, start, end)
    sql = (
        f"SELECT site_id, metric, ts, value, unit FROM ({scan}) "
        f"WHERE {' AND '.join(where)} ORDER BY site_id, ts"
    )
    con = connect()  # kept alive by this generator until the last batch is read
    yield from con.sql(sql, params=params).to_arrow_reader(batch_rows)


def get_observation_coverage(lake: Lake, metric: str) -> dict[str, Any]:
    """Where and when a metric was observed, computed from the stored rows.

    Returns
    -------
    dict
        Keys: rows, sites, first_ts, last_ts (UTC, None when empty) and west, south,
        east, north (the bounding box of its sites, None when no site has coordinates).
    """
    sql = (
        "WITH o AS (SELECT site_id, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts "
        f"FROM ({scan_sql(lake, 'observations', metric=metric)}) GROUP BY site_id) "
        "SELECT sum(o.n), count(*), min(o.first_ts), max(o.last_ts), "
        "min(s.lon), min(s.lat), max(s.lon), max(s.lat) "
        f"FROM o LEFT JOIN ({scan_sql(lake, 'sites')}) s USING (site_id)"
    )
    row = connect().execute(sql).fetchone()
    assert row is not None  # an aggregate always returns one row
    keys = ("rows", "sites", "first_ts", "last_ts", "west", "south", "east", "north")
    coverage = dict(zip(keys, row, strict=True))
    coverage["rows"] = int(coverage["rows"] or 0)
    return coverage
