"""Counts and flows derived from taps, and their public (k-suppressed) versions.

Two derived tables, both computed inside DuckDB over the pseudonymised taps:

station counts
    Metro entries and exits per station and period (``period_minutes``, in local time).
origin-destination flows
    Trips per origin and destination station and local date: each metro entry matched
    to the same pseudonym's next metro tap when that tap is an exit within
    ``MAX_TRIP_MINUTES``. Pseudonyms link only within a key period (a month), so a
    trip across midnight at a month's end is not matched; that is the privacy design.

The unsuppressed versions (``compute_*``) are for operational users with access to
detail; the lake stores and publishes only the suppressed ones (``read_public_*``).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd

from urbanpulse.privacy.suppression import suppress_small_cells
from urbanpulse.store import Lake
from urbanpulse.store.engine import connect, quote_sql_text, scan_sql
from urbanpulse.store.queries import read_rows

# A metro tap-out more than three hours after a tap-in is a missed tap, not a trip.
MAX_TRIP_MINUTES = 180
COUNT_COLUMNS = ["site_id", "station", "period_start", "period_minutes", "direction", "taps"]
FLOW_COLUMNS = ["origin_site_id", "destination_site_id", "date", "trips"]


def compute_station_counts(
    con: duckdb.DuckDBPyConnection, taps: str, *, period_minutes: int, timezone: str
) -> pd.DataFrame:
    """Metro entries and exits per station and period, unsuppressed.

    Parameters
    ----------
    con, taps
        A connection and the name of a relation with the taps table's columns.
    period_minutes
        Length of a period; periods start on multiples of it in local time.
    timezone
        IANA zone in which periods are laid out.

    Returns
    -------
    pandas.DataFrame
        Columns site_id, station, period_start (UTC), period_minutes, direction
        ('entry' or 'exit'), taps; only cells with at least one tap.
    """
    tz, step = quote_sql_text(timezone), int(period_minutes)
    local = f"timezone({tz}, ts)"
    return con.execute(
        f"""SELECT site_id, any_value(station) AS station,
               timezone({tz}, time_bucket(INTERVAL '{step} minutes', {local})) AS period_start,
               {step}::INTEGER AS period_minutes, direction, count(*)::BIGINT AS taps
        FROM {taps} WHERE mode = 'metro' AND site_id IS NOT NULL
        GROUP BY ALL ORDER BY period_start, site_id, direction"""
    ).df()[COUNT_COLUMNS]


def compute_od_flows(con: duckdb.DuckDBPyConnection, taps: str, *, timezone: str) -> pd.DataFrame:
    """Metro trips per origin, destination and local date, unsuppressed.

    Returns
    -------
    pandas.DataFrame
        Columns origin_site_id, destination_site_id, date (local date of the entry),
        trips; only pairs with at least one trip.
    """
    return con.execute(
        f"""WITH ordered AS (
            SELECT site_id, ts, direction,
                   lead(site_id) OVER w AS next_site, lead(ts) OVER w AS next_ts,
                   lead(direction) OVER w AS next_direction
            FROM {taps} WHERE mode = 'metro' AND site_id IS NOT NULL
            WINDOW w AS (PARTITION BY key_period, pseudonym ORDER BY ts, direction))
        SELECT site_id AS origin_site_id, next_site AS destination_site_id,
               timezone({quote_sql_text(timezone)}, ts)::DATE AS date, count(*)::BIGINT AS trips
        FROM ordered
        WHERE direction = 'entry' AND next_direction = 'exit'
          AND next_ts - ts <= INTERVAL '{MAX_TRIP_MINUTES} minutes'
        GROUP BY ALL ORDER BY date, origin_site_id, destination_site_id"""
    ).df()[FLOW_COLUMNS]


def compute_public_counts(counts: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """Station counts with cells below ``k`` suppressed.

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`compute_station_counts` plus ``suppressed``; ``taps`` is null
        where suppressed.
    """
    return suppress_small_cells(counts, "taps", k=k)


def compute_public_flows(flows: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """Flows with cells below ``k`` suppressed.

    Returns
    -------
    pandas.DataFrame
        Columns origin_site_id, destination_site_id, date, trips (null where
        suppressed), suppressed.
    """
    return suppress_small_cells(flows, "trips", k=k)


def read_public_counts(
    lake: Lake,
    *,
    site_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The published station counts (suppressed below k when they were computed).

    Returns
    -------
    pandas.DataFrame
        Columns site_id, station, period_start, period_minutes, direction, taps (null
        where suppressed), suppressed.
    """
    return read_rows(
        lake,
        "tap_counts",
        ("site_id", "=", site_id),
        ("period_start", ">=", start),
        ("period_start", "<", end),
    )


def read_public_flows(lake: Lake, *, on: date | None = None) -> pd.DataFrame:
    """The published origin-destination flows (suppressed below k).

    Returns
    -------
    pandas.DataFrame
        Columns origin_site_id, destination_site_id, date, trips (null where
        suppressed), suppressed.
    """
    return read_rows(lake, "tap_flows", ("date", "=", on))


def compute_tap_counts(lake: Lake, *, period_minutes: int, timezone: str) -> pd.DataFrame:
    """Unsuppressed station counts straight from the stored taps (operational detail).

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`compute_station_counts`.
    """
    con = connect()
    con.execute(f"CREATE VIEW _taps AS {scan_sql(lake, 'taps')}")
    return compute_station_counts(con, "_taps", period_minutes=period_minutes, timezone=timezone)
