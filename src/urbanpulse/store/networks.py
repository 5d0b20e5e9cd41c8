"""Transit networks in the lake: one partition per network, replaced as a whole.

A network (a GTFS feed, the Beijing subway file, the demo's lines) is stored as nine
tables, each partitioned by ``network_id``; loading a network again replaces its
partition and upserts its stations into the sites table, all in one commit, so a reader
never sees half of two versions of a network.

Tables and columns (types in ``urbanpulse.store.engine.SCHEMAS``):

networks
    network_id, name, kind ('gtfs', 'subway_json', 'demo'), source (file or folder
    name, never a full path), feed_hash (what was loaded; the same hash is not loaded
    twice), timezone (IANA), start_date and end_date of service, missing (JSON list of
    what the source lacks, e.g. ["stop_times.txt"]), licence, synthetic, loaded_at.
lines
    One row per line and direction (a GTFS route's main stop pattern per direction_id):
    network_id, line_id (unique in the lake, starts with the network id), direction
    (free text unique within the line: '0', '1', 'up', 'down'), route_id, name_zh,
    name_en, headsign, mode ('metro', 'bus', 'rail', 'tram', 'ferry', ...), route_type
    (GTFS), color, vehicle_capacity (passengers per vehicle), loop, first_departure and
    last_departure at the first stop ('HH:MM:SS', may pass 24:00), synthetic.
line_stops
    The ordered stops of each line and direction: network_id, line_id, direction,
    sequence (0, 1, ...), site_id, minutes_to_next and metres_to_next (null at the last
    stop, except on a loop line, where they lead back to the first stop),
    first_departure and last_departure at that stop ('HH:MM:SS' or null).
line_service
    Scheduled service per period of a representative day: network_id, line_id,
    direction, day_type ('weekday', 'saturday', 'sunday'), period_start (minutes after
    midnight, may pass 1440), period_minutes, departures (from the first stop),
    headway_minutes, capacity (departures x vehicle capacity), run_minutes (median
    first-to-last-stop time of the period's trips).
transfers
    Walks between stations: network_id, from_site_id, to_site_id, walk_minutes, kind
    ('gtfs', 'same_station', 'same_name', 'nearby').
service_days
    network_id, line_id, date, departures: the days each line runs (from calendars).
trips
    A GTFS feed's trips: network_id, trip_id, line_id, direction, route_id, service_id
    (what GTFS-Realtime trip ids resolve to; empty for networks without trips).
trip_stops
    Each trip's scheduled stops: network_id, trip_id, stop_sequence (GTFS), site_id,
    arrival_s and departure_s (seconds after midnight of the service day, may pass
    86,400; NaN for a stop without a time).
service_dates
    network_id, service_id, date: the days each GTFS service runs (calendar.txt with
    calendar_dates.txt applied), so a trip's running days are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from urbanpulse.catalog.sites import SITES_SCHEMA
from urbanpulse.errors import InvalidQueryError
from urbanpulse.store.engine import SCHEMAS, connect, scan_sql
from urbanpulse.store.lake import NETWORK_TABLES, Commit, Lake, LakeFile, new_batch_id
from urbanpulse.store.quarantine import stage_rejects
from urbanpulse.store.tables import write_table_file

__all__ = [
    "NETWORK_TABLES",
    "get_network_hash",
    "get_network_schema",
    "read_network_table",
    "read_networks",
    "replace_network",
]


def get_network_schema(table: str) -> pa.Schema:
    """The Arrow schema of one network table (``NETWORK_TABLES``)."""
    from urbanpulse.store.writes import _ARROW

    return pa.schema([(c, _ARROW[t]) for c, t in SCHEMAS[table].items()])


def replace_network(
    lake: Lake,
    network_id: str,
    tables: Mapping[str, pa.Table],
    *,
    sites: pa.Table,
    info: dict[str, Any] | None = None,
    quarantine: pa.Table | None = None,
) -> int:
    """Store a network in one commit, replacing what the lake held under its id.

    ``tables`` maps each name of ``NETWORK_TABLES`` to its rows (a missing name stores
    an empty table); ``network_id`` is filled in. ``sites`` (``SITES_SCHEMA``) are
    upserted by site_id in the same commit, and so are the source's rejected rows
    (``quarantine``: source, line, column_name, reason, raw; batch_id and
    quarantined_at are filled in), which are added to the quarantine table.

    Returns
    -------
    int
        The lake version of the commit.
    """
    _check_network_id(network_id)
    with lake.write_lock():
        batch_id = new_batch_id()
        added: list[LakeFile] = []
        removed: list[str] = []
        for table in NETWORK_TABLES:
            data = _conform_network(tables.get(table), table, network_id)
            added.append(_write_partition(lake, table, network_id, data, batch_id))
            removed += [f.path for f in lake.get_files(table, network_id=network_id)]
        sites_file, old_sites, site_rows = _merge_sites(lake, sites, batch_id)
        added.append(sites_file)
        removed += old_sites
        counts = {t: f.rows for t, f in zip(NETWORK_TABLES, added, strict=False)}
        details = {**(info or {}), "network_id": network_id, **counts, "sites": site_rows}
        if quarantine is not None and quarantine.num_rows:
            added.append(stage_rejects(lake, quarantine, batch_id))
            details["quarantine"] = quarantine.num_rows
        return lake.commit(Commit("replace_network", batch_id, added, removed, details))


def read_network_table(lake: Lake, table: str, *, network_id: str | None = None) -> pa.Table:
    """One network table as Arrow, for one network or all of them.

    Returns
    -------
    pyarrow.Table
        The columns of ``SCHEMAS[table]`` (see the module docstring).
    """
    if table not in NETWORK_TABLES:
        raise InvalidQueryError(f"{table!r} is not a network table; use one of {NETWORK_TABLES}")
    partition = {} if network_id is None else {"network_id": network_id}
    return connect().sql(scan_sql(lake, table, **partition)).to_arrow_table()


def read_networks(lake: Lake) -> pd.DataFrame:
    """The networks stored in the lake.

    Returns
    -------
    pandas.DataFrame
        Columns of the ``networks`` table (see the module docstring), by network_id.
    """
    frame = read_network_table(lake, "networks").to_pandas()
    return frame.sort_values("network_id").reset_index(drop=True)


def read_line_summaries(lake: Lake) -> pd.DataFrame:
    """Every line and direction with its number of stations, its path and its network's
    licence, by network_id, line_id, direction.

    Returns
    -------
    pandas.DataFrame
        Columns: network_id, line_id, direction, name_zh, name_en, headsign, mode, color,
        stations, synthetic, path (the [lon, lat] of its stations in running order,
        stations without coordinates left out), licence.
    """
    sql = f"""
        WITH stops AS (
            SELECT ls.network_id, ls.line_id, ls.direction, count(*) AS stations,
                   list([s.lon, s.lat] ORDER BY ls.sequence)
                       FILTER (WHERE s.lon IS NOT NULL AND s.lat IS NOT NULL) AS path
            FROM ({scan_sql(lake, "line_stops")}) ls
            LEFT JOIN ({scan_sql(lake, "sites")}) s USING (site_id)
            GROUP BY ALL)
        SELECT l.network_id, l.line_id, l.direction, l.name_zh, l.name_en, l.headsign,
               l.mode, l.color, coalesce(st.stations, 0) AS stations,
               coalesce(l.synthetic, false) AS synthetic, st.path, n.licence
        FROM ({scan_sql(lake, "lines")}) l
        LEFT JOIN stops st USING (network_id, line_id, direction)
        LEFT JOIN ({scan_sql(lake, "networks")}) n USING (network_id)
        ORDER BY l.network_id, l.line_id, l.direction"""
    return connect().execute(sql).df()


def read_station_summaries(lake: Lake) -> pd.DataFrame:
    """Every site a line stops at, with the number of lines through it, by site_id.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, name_zh, name_en, city_code, lat, lon, lines, synthetic.
    """
    sql = f"""
        SELECT s.site_id, s.name_zh, s.name_en, s.city_code, s.lat, s.lon,
               count(DISTINCT (ls.network_id, ls.line_id)) AS lines,
               coalesce(any_value(s.synthetic), false) AS synthetic
        FROM ({scan_sql(lake, "line_stops")}) ls
        JOIN ({scan_sql(lake, "sites")}) s USING (site_id)
        GROUP BY s.site_id, s.name_zh, s.name_en, s.city_code, s.lat, s.lon
        ORDER BY s.site_id"""
    return connect().execute(sql).df()


def read_station_lines(lake: Lake) -> pd.DataFrame:
    """Each (site, line) a line stops at, with the line's name (Chinese, else English,
    else its id), by line_id.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, line_id, line.
    """
    return (
        connect()
        .sql(
            f"SELECT DISTINCT s.site_id, s.line_id, coalesce(l.name_zh, l.name_en, s.line_id) AS line "
            f"FROM ({scan_sql(lake, 'line_stops')}) s "
            f"LEFT JOIN (SELECT DISTINCT line_id, name_zh, name_en FROM "
            f"({scan_sql(lake, 'lines')})) l USING (line_id) ORDER BY s.line_id"
        )
        .df()
    )


def get_network_hash(lake: Lake, network_id: str) -> str | None:
    """The feed hash the lake holds for a network, or None when it has none."""
    rows = read_network_table(lake, "networks", network_id=network_id).column("feed_hash")
    values = [v for v in rows.to_pylist() if v]
    return values[0] if values else None


def _check_network_id(network_id: str) -> None:
    # The id names a partition folder and prefixes line and site ids.
    if not network_id or not all(c.isalnum() or c in "-_." for c in network_id):
        raise InvalidQueryError(
            f"network id {network_id!r} must be letters, digits, '-', '_' or '.' only"
        )


def _conform_network(data: pa.Table | None, table: str, network_id: str) -> pa.Table:
    schema = get_network_schema(table)
    if data is None:
        return schema.empty_table()
    columns = [
        pa.array([network_id] * data.num_rows, pa.string())
        if f.name == "network_id"
        else data.column(f.name).cast(f.type)
        if f.name in data.column_names
        else pa.nulls(data.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _write_partition(
    lake: Lake, table: str, network_id: str, data: pa.Table, batch_id: str
) -> LakeFile:
    import pyarrow.parquet as pq

    from urbanpulse.store.lake import partition_of

    relative = f"{table}/network_id={network_id}/{batch_id}.parquet"
    staged = lake.staging_dir(batch_id) / relative
    staged.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, staged, compression="zstd")
    lake.place_file(staged, relative)
    return LakeFile(table, relative, data.num_rows, partition_of(relative))


def _merge_sites(lake: Lake, sites: pa.Table, batch_id: str) -> tuple[LakeFile, list[str], int]:
    """Stage the sites table with ``sites`` upserted; (file, files it replaces, rows)."""
    from urbanpulse.store.writes import _conform

    incoming = _conform(sites, SITES_SCHEMA)
    con = connect()
    con.register("_incoming", incoming)
    merged = (
        con.sql(
            f"SELECT s.* FROM ({scan_sql(lake, 'sites')}) s ANTI JOIN _incoming i "
            "ON s.site_id = i.site_id UNION ALL SELECT * FROM _incoming ORDER BY site_id"
        )
        .to_arrow_table()
        .cast(SITES_SCHEMA)
    )
    added = write_table_file(lake, "sites", merged, batch_id=batch_id)
    return added, lake.get_paths_relative("sites"), merged.num_rows
