"""DuckDB over the lake: one in-process connection with a view per table.

Views list the live files from the commit log, so a query sees exactly the committed
state of the lake at the moment the view was built.
"""

from __future__ import annotations

import duckdb

from urbanpulse.store.lake import Lake

ROLLUP_COLUMNS = {
    "site_id": "VARCHAR",
    "metric": "VARCHAR",
    "bucket_start": "TIMESTAMPTZ",
    "count": "BIGINT",
    "sum": "DOUBLE",
    "mean": "DOUBLE",
    "min": "DOUBLE",
    "max": "DOUBLE",
    "unit": "VARCHAR",
    "month": "VARCHAR",
}
# Column types of each table; an empty table is a typed view with no rows.
SCHEMAS: dict[str, dict[str, str]] = {
    "observations": {
        "site_id": "VARCHAR",
        "metric": "VARCHAR",
        "ts": "TIMESTAMPTZ",
        "value": "DOUBLE",
        "unit": "VARCHAR",
        "batch_id": "VARCHAR",
        "month": "VARCHAR",
    },
    "quarantine": {
        "batch_id": "VARCHAR",
        "source": "VARCHAR",
        "line": "BIGINT",
        "column_name": "VARCHAR",
        "reason": "VARCHAR",
        "raw": "VARCHAR",
        "quarantined_at": "TIMESTAMPTZ",
    },
    "sites": {
        "site_id": "VARCHAR",
        "kind": "VARCHAR",
        "name_zh": "VARCHAR",
        "name_en": "VARCHAR",
        "city_code": "VARCHAR",
        "lat": "DOUBLE",
        "lon": "DOUBLE",
        "capacity": "DOUBLE",
        "attributes": "VARCHAR",
        "synthetic": "BOOLEAN",
    },
    "indicators": {
        "region_code": "VARCHAR",
        "year": "INTEGER",
        "indicator": "VARCHAR",
        "value": "DOUBLE",
        "unit": "VARCHAR",
        "source": "VARCHAR",
        "vintage": "VARCHAR",
        "synthetic": "BOOLEAN",
    },
    # Transit networks: see urbanpulse.store.networks for what each column means.
    "networks": {
        "network_id": "VARCHAR",
        "name": "VARCHAR",
        "kind": "VARCHAR",
        "source": "VARCHAR",
        "feed_hash": "VARCHAR",
        "timezone": "VARCHAR",
        "start_date": "DATE",
        "end_date": "DATE",
        "missing": "VARCHAR",
        "licence": "VARCHAR",
        "synthetic": "BOOLEAN",
        "loaded_at": "TIMESTAMPTZ",
    },
    "lines": {
        "network_id": "VARCHAR",
        "line_id": "VARCHAR",
        "direction": "VARCHAR",
        "route_id": "VARCHAR",
        "name_zh": "VARCHAR",
        "name_en": "VARCHAR",
        "headsign": "VARCHAR",
        "mode": "VARCHAR",
        "route_type": "INTEGER",
        "color": "VARCHAR",
        "vehicle_capacity": "DOUBLE",
        "loop": "BOOLEAN",
        "first_departure": "VARCHAR",
        "last_departure": "VARCHAR",
        "synthetic": "BOOLEAN",
    },
    "line_stops": {
        "network_id": "VARCHAR",
        "line_id": "VARCHAR",
        "direction": "VARCHAR",
        "sequence": "INTEGER",
        "site_id": "VARCHAR",
        "minutes_to_next": "DOUBLE",
        "metres_to_next": "DOUBLE",
        "first_departure": "VARCHAR",
        "last_departure": "VARCHAR",
    },
    "line_service": {
        "network_id": "VARCHAR",
        "line_id": "VARCHAR",
        "direction": "VARCHAR",
        "day_type": "VARCHAR",
        "period_start": "INTEGER",
        "period_minutes": "INTEGER",
        "departures": "INTEGER",
        "headway_minutes": "DOUBLE",
        "capacity": "DOUBLE",
        "run_minutes": "DOUBLE",
    },
    "transfers": {
        "network_id": "VARCHAR",
        "from_site_id": "VARCHAR",
        "to_site_id": "VARCHAR",
        "walk_minutes": "DOUBLE",
        "kind": "VARCHAR",
    },
    "service_days": {
        "network_id": "VARCHAR",
        "line_id": "VARCHAR",
        "date": "DATE",
        "departures": "INTEGER",
    },
    "trips": {
        "network_id": "VARCHAR",
        "trip_id": "VARCHAR",
        "line_id": "VARCHAR",
        "direction": "VARCHAR",
        "route_id": "VARCHAR",
        "service_id": "VARCHAR",
    },
    "trip_stops": {
        "network_id": "VARCHAR",
        "trip_id": "VARCHAR",
        "stop_sequence": "INTEGER",
        "site_id": "VARCHAR",
        "arrival_s": "DOUBLE",
        "departure_s": "DOUBLE",
    },
    # frequencies.txt: a trip that leaves every headway_s from start_s to end_s (its
    # trip_stops are the first departure's times, shifted for each later one).
    "trip_frequencies": {
        "network_id": "VARCHAR",
        "trip_id": "VARCHAR",
        "start_s": "DOUBLE",
        "end_s": "DOUBLE",
        "headway_s": "DOUBLE",
    },
    "service_dates": {
        "network_id": "VARCHAR",
        "service_id": "VARCHAR",
        "date": "DATE",
    },
    # GTFS-Realtime: see urbanpulse.transit.realtime for what each column means.
    "realtime_snapshots": {
        "snapshot_id": "VARCHAR",
        "network_id": "VARCHAR",
        "source": "VARCHAR",
        "feed_ts": "TIMESTAMPTZ",
        "trip_updates": "INTEGER",
        "stop_time_updates": "INTEGER",
        "vehicle_positions": "INTEGER",
        "alerts": "INTEGER",
        "stored": "INTEGER",
        "quarantined": "INTEGER",
        "read_at": "TIMESTAMPTZ",
    },
    "realtime_alerts": {
        "snapshot_id": "VARCHAR",
        "network_id": "VARCHAR",
        "alert_id": "VARCHAR",
        "feed_ts": "TIMESTAMPTZ",
        "cause": "VARCHAR",
        "effect": "VARCHAR",
        "header": "VARCHAR",
        "description": "VARCHAR",
        "url": "VARCHAR",
        "active_start": "TIMESTAMPTZ",
        "active_end": "TIMESTAMPTZ",
        "line_ids": "VARCHAR",
        "site_ids": "VARCHAR",
        "agency_ids": "VARCHAR",
    },
    "realtime_vehicles": {
        "snapshot_id": "VARCHAR",
        "network_id": "VARCHAR",
        "entity_id": "VARCHAR",
        "vehicle_id": "VARCHAR",
        "trip_id": "VARCHAR",
        "line_id": "VARCHAR",
        "site_id": "VARCHAR",
        "ts": "TIMESTAMPTZ",
        "lat": "DOUBLE",
        "lon": "DOUBLE",
        "bearing": "DOUBLE",
        "speed": "DOUBLE",
        "occupancy_status": "VARCHAR",
        "occupancy_percentage": "DOUBLE",
    },
    # Every trip's predictions, one row per version (urbanpulse.transit.realtime): a
    # (trip, stop, scheduled time, event) is stored again only when its delay changes.
    "realtime_predictions": {
        "snapshot_id": "VARCHAR",
        "network_id": "VARCHAR",
        "trip_id": "VARCHAR",
        "site_id": "VARCHAR",
        "event": "VARCHAR",
        "scheduled_ts": "TIMESTAMPTZ",
        "delay_s": "DOUBLE",
        "feed_ts": "TIMESTAMPTZ",
    },
    # Smart-card taps: see urbanpulse.privacy.taps; card ids are pseudonyms, never raw.
    "taps": {
        "pseudonym": "VARCHAR",
        "ts": "TIMESTAMPTZ",
        "mode": "VARCHAR",
        "direction": "VARCHAR",
        "station": "VARCHAR",
        "site_id": "VARCHAR",
        "line": "VARCHAR",
        "source": "VARCHAR",
        "batch_id": "VARCHAR",
        "key_period": "VARCHAR",
    },
    "tap_counts": {
        "site_id": "VARCHAR",
        "station": "VARCHAR",
        "period_start": "TIMESTAMPTZ",
        "period_minutes": "INTEGER",
        "direction": "VARCHAR",
        "taps": "BIGINT",
        "suppressed": "BOOLEAN",
    },
    "tap_flows": {
        "origin_site_id": "VARCHAR",
        "destination_site_id": "VARCHAR",
        "date": "DATE",
        "trips": "BIGINT",
        "suppressed": "BOOLEAN",
    },
    # Aggregates of observations per site, metric and hour (UTC) or local day, by the
    # observations partition (metric, month) they summarise: urbanpulse.store.maintenance.
    "rollups_hourly": ROLLUP_COLUMNS,
    "rollups_daily": ROLLUP_COLUMNS,
    # The keys of raw observations that retention removed, by partition (metric, month):
    # a value sent again after its month left is known as stored (urbanpulse.store.retention).
    # NGSI-LD entities of types UrbanPulse does not model (urbanpulse.ngsi.documents):
    # each write appends the entity's whole new version; the newest is in force.
    "context_entities": {
        "entity_id": "VARCHAR",
        "entity_type": "VARCHAR",
        "document": "VARCHAR",
        "deleted": "BOOLEAN",
        "created_at": "TIMESTAMPTZ",
        "modified_at": "TIMESTAMPTZ",
    },
    # Their temporal representation (urbanpulse.ngsi.history): a version per change or
    # deletion of an attribute instance; the newest of each instance is in force.
    "context_instances": {
        "entity_id": "VARCHAR",
        "entity_type": "VARCHAR",
        "attribute": "VARCHAR",
        "instance_id": "VARCHAR",
        "dataset_id": "VARCHAR",
        "observed_at": "TIMESTAMPTZ",
        "instance": "VARCHAR",
        "jsonld_context": "VARCHAR",
        "deleted": "BOOLEAN",
        "modified_at": "TIMESTAMPTZ",
    },
    "retired_keys": {
        "site_id": "VARCHAR",
        "metric": "VARCHAR",
        "ts": "TIMESTAMPTZ",
        "month": "VARCHAR",
    },
}


def connect(lake: Lake | None = None, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection with views over the lake's tables.

    Timestamps are handled in UTC inside the engine; callers convert for display.
    """
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if lake is not None:
        refresh_views(con, lake)
    return con


def refresh_views(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """(Re)build one view per table over the lake's currently live files."""
    for table in SCHEMAS:
        con.execute(f"CREATE OR REPLACE VIEW {table} AS {scan_sql(lake, table)}")


def scan_sql(lake: Lake, table: str, **partition: str | list[str] | set[str]) -> str:
    """SQL that reads a table (optionally only some partitions) with its full schema."""
    paths = lake.get_paths(table, **partition)
    columns = SCHEMAS[table]
    if not paths:
        typed_nulls = ", ".join(f"NULL::{t} AS {c}" for c, t in columns.items())
        return f"SELECT {typed_nulls} WHERE false"
    listed = ", ".join(quote_sql_text(p) for p in paths)
    select = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns.items())
    return f"SELECT {select} FROM read_parquet([{listed}], hive_partitioning = false)"


def quote_sql_text(text: str) -> str:
    """``text`` as a SQL string literal (quotes doubled), for values DuckDB cannot take
    as parameters: file paths, time zones and intervals inside a query's text."""
    return "'" + text.replace("'", "''") + "'"
