"""Direct writes to the lake for producers that already hold clean tables.

The demo generator, statistical loaders and connectors use these; files go through
:mod:`urbanpulse.ingest`. Each call is one atomic commit.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from urbanpulse.catalog.sites import SITES_SCHEMA
from urbanpulse.store.engine import SCHEMAS, connect, scan_sql
from urbanpulse.store.lake import Commit, Lake, LakeFile, new_batch_id
from urbanpulse.store.tables import write_new_observations, write_table_file


def stage_new_observations(lake: Lake, data: pa.Table, *, batch_id: str) -> list[LakeFile]:
    """Stage the observations of ``data`` (site_id, metric, ts, value, unit) that the lake
    does not hold yet, for the caller to commit with the rest of its batch (see
    :func:`~urbanpulse.store.tables.write_new_observations`)."""
    con = _open_typed(data)
    return write_new_observations(lake, con, "_typed", batch_id=batch_id)[0]


def _open_typed(data: pa.Table) -> Any:
    """A connection holding ``data`` as the view ``_typed``, in the observations' types."""
    con = connect()
    con.register("_incoming", data)
    con.execute(
        "CREATE TEMP VIEW _typed AS SELECT site_id, metric, ts::TIMESTAMPTZ AS ts, "
        "value::DOUBLE AS value, unit FROM _incoming"
    )
    return con


def append_observations(
    lake: Lake, data: pa.Table, *, operation: str = "append", info: dict[str, Any] | None = None
) -> tuple[int, int]:
    """Store observations not yet in the lake, in one commit.

    ``data`` needs columns site_id, metric, ts (timezone-aware), value, unit.
    Rows whose key (site_id, metric, ts) is already stored are skipped.

    Returns
    -------
    tuple
        (rows stored, rows skipped as already stored).
    """
    _check_columns(data, ("site_id", "metric", "ts", "value", "unit"))
    _check_keys(data, ("site_id", "metric", "ts"))
    _check_metric_codes(data)
    with lake.write_lock():
        batch_id = new_batch_id()
        con = _open_typed(data)
        _check_time_range(con, "_typed")
        once = "_typed" if not _has_repeats(con, "_typed") else _first_of_each_key(con, "_typed")
        files, stored, skipped = write_new_observations(lake, con, once, batch_id=batch_id)
        details = {**(info or {}), "stored": stored, "duplicates_skipped": skipped}
        lake.commit(Commit(operation, batch_id, files, [], details))
        return stored, skipped + data.num_rows - _count(con, once)


def _check_time_range(con: Any, relation: str) -> None:
    """Refuse times no observation can have (the same bounds ingest quarantines by)."""
    outside = con.execute(
        f"SELECT count(*) FROM {relation} WHERE ts < TIMESTAMPTZ '{EARLIEST}' "
        f"OR ts >= TIMESTAMPTZ '{LATEST}'"
    ).fetchall()[0][0]
    if outside:
        raise ValueError(f"{outside} observations have times before {EARLIEST} or from {LATEST} on")


def _has_repeats(con: Any, relation: str) -> bool:
    """Whether any key repeats, checked on one 64-bit hash per key (cheap, rarely true)."""
    found = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {relation} "
        "GROUP BY hash(site_id, metric, ts) HAVING count(*) > 1)"
    ).fetchall()[0][0]
    return bool(found)


def _first_of_each_key(con: Any, relation: str) -> str:
    con.execute(
        f"CREATE TEMP TABLE _once AS SELECT * FROM {relation} "
        "QUALIFY row_number() OVER (PARTITION BY site_id, metric, ts) = 1"
    )
    return "_once"


def upsert_sites(lake: Lake, sites: pa.Table) -> int:
    """Add or replace sites by site_id; return the number of sites now stored."""
    _check_columns(sites, ("site_id", "kind"))
    _check_keys(sites, ("site_id",))
    if len(set(sites.column("site_id").to_pylist())) != sites.num_rows:
        raise ValueError("site_id repeats within the sites to upsert")
    incoming = _conform(sites, SITES_SCHEMA)
    with lake.write_lock():
        con = connect()
        con.register("_incoming", incoming)
        merged = con.sql(
            f"SELECT s.* FROM ({scan_sql(lake, 'sites')}) s ANTI JOIN _incoming i "
            "ON s.site_id = i.site_id UNION ALL SELECT * FROM _incoming ORDER BY site_id"
        ).to_arrow_table()
        merged = merged.cast(SITES_SCHEMA)
        batch_id = new_batch_id()
        added = write_table_file(lake, "sites", merged, batch_id=batch_id)
        removed = lake.get_paths_relative("sites")
        lake.commit(Commit("upsert_sites", batch_id, [added], removed, {"sites": merged.num_rows}))
        return merged.num_rows


def upsert_indicators(lake: Lake, data: pa.Table, *, info: dict[str, Any] | None = None) -> int:
    """Add or replace yearly indicator values keyed by region, year, indicator and vintage.

    Returns the number of indicator rows now stored.
    """
    _check_columns(data, ("region_code", "year", "indicator", "value"))
    _check_keys(data, ("region_code", "year", "indicator"))
    schema = pa.schema([(c, _ARROW[t]) for c, t in SCHEMAS["indicators"].items()])
    incoming = _conform(data, schema)
    key = "(region_code, year, indicator, coalesce(vintage, ''))"
    with lake.write_lock():
        con = connect()
        con.register("_incoming", incoming)
        merged = (
            con.sql(
                f"SELECT * FROM ({scan_sql(lake, 'indicators')}) WHERE {key} NOT IN "
                f"(SELECT {key} FROM _incoming) UNION ALL SELECT * FROM _incoming "
                "ORDER BY indicator, region_code, year"
            )
            .to_arrow_table()
            .cast(schema)
        )
        batch_id = new_batch_id()
        added = write_table_file(lake, "indicators", merged, batch_id=batch_id)
        removed = lake.get_paths_relative("indicators")
        details = {**(info or {}), "indicators": merged.num_rows}
        lake.commit(Commit("upsert_indicators", batch_id, [added], removed, details))
        return merged.num_rows


# Bounds of plausible observation times (sentinels like 9999-12-31 fall outside).
EARLIEST, LATEST = "1900-01-01 00:00:00+00", "2200-01-01 00:00:00+00"
METRIC_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ARROW = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
}


def _conform(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """Order and type columns as the table's schema says; absent optional columns are null."""
    columns = [
        data.column(f.name).cast(f.type)
        if f.name in data.column_names
        else pa.nulls(data.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _check_keys(data: pa.Table, keys: tuple[str, ...]) -> None:
    """Key columns must be filled: a missing key cannot be deduplicated or found again."""
    empty = [k for k in keys if data.column(k).null_count]
    if empty:
        raise ValueError(f"key columns {empty} have missing values")


def _check_metric_codes(data: pa.Table) -> None:
    """Metric codes name partition folders: lowercase letters, digits and _ only."""
    bad = [m for m in pc.unique(data.column("metric")).to_pylist() if not METRIC_CODE.match(m)]
    if bad:
        raise ValueError(
            f"metric codes {bad[:5]} must be lowercase letters, digits and _ (e.g. pm25)"
        )


def _check_columns(data: pa.Table, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in data.column_names]
    if missing:
        raise ValueError(f"table lacks columns {missing}; it has {data.column_names}")


def _count(con: Any, name: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
