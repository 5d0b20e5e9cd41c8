"""Direct writes to the lake for producers that already hold clean tables.

The demo generator, statistical loaders and connectors use these; files go through
:mod:`urbanpulse.ingest`. Each call is one atomic commit.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from urbanpulse.catalog.sites import SITES_SCHEMA
from urbanpulse.store.engine import SCHEMAS, connect, scan_sql
from urbanpulse.store.lake import Commit, Lake, new_batch_id
from urbanpulse.store.tables import write_new_observations, write_table_file


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
    with lake.write_lock():
        batch_id = new_batch_id()
        con = connect()
        con.register("_incoming", data)
        con.execute(
            "CREATE TEMP VIEW _typed AS SELECT site_id, metric, ts::TIMESTAMPTZ AS ts, "
            "value::DOUBLE AS value, unit FROM _incoming"
        )
        once = "_typed" if not _has_repeats(con, "_typed") else _first_of_each_key(con, "_typed")
        files, stored, skipped = write_new_observations(lake, con, once, batch_id=batch_id)
        details = {**(info or {}), "stored": stored, "duplicates_skipped": skipped}
        lake.commit(Commit(operation, batch_id, files, [], details))
        return stored, skipped + data.num_rows - _count(con, once)


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
    incoming = _conform(sites, SITES_SCHEMA)
    with lake.write_lock():
        con = connect()
        con.register("_incoming", incoming)
        merged = con.sql(
            f"SELECT * FROM ({scan_sql(lake, 'sites')}) WHERE site_id NOT IN "
            "(SELECT site_id FROM _incoming) UNION ALL SELECT * FROM _incoming ORDER BY site_id"
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


_ARROW = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
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


def _check_columns(data: pa.Table, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in data.column_names]
    if missing:
        raise ValueError(f"table lacks columns {missing}; it has {data.column_names}")


def _count(con: Any, name: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
