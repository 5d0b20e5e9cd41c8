"""The smart-card taps' questions in DuckDB SQL: counts and flows over the pseudonymised
taps (``taps``), for urbanpulse.privacy, which decides what may be shown.

The ingest asks them of the taps it is committing (on its own connection); the stored
taps are asked through the chosen engine (``Engine.count_station_taps`` and
``count_bounded_taps``, whose DuckDB answers use the SQL here). The rules stay with the
privacy room (which taps make a trip, how many taps of one card a release counts); the
store only knows how to ask.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from urbanpulse.store.engine import quote_sql_text

COUNT_COLUMNS = ["site_id", "station", "period_start", "period_minutes", "direction", "taps"]
FLOW_COLUMNS = ["origin_site_id", "destination_site_id", "date", "trips"]
GRID_COLUMNS = ["site_id", "period_start", "period_minutes", "direction", "taps"]


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
    sql = get_station_counts_sql(taps, period_minutes=period_minutes, timezone=timezone)
    return con.execute(sql).df()[COUNT_COLUMNS]


def get_station_counts_sql(taps: str, *, period_minutes: int, timezone: str) -> str:
    """DuckDB SQL of :func:`compute_station_counts` over the relation ``taps``."""
    tz, step = quote_sql_text(timezone), int(period_minutes)
    local = f"timezone({tz}, ts)"
    # min(station): one name per site, and the same answer on every engine.
    return f"""SELECT site_id, min(station) AS station,
               timezone({tz}, time_bucket(INTERVAL '{step} minutes', {local})) AS period_start,
               {step}::INTEGER AS period_minutes, direction, count(*)::BIGINT AS taps
        FROM {taps} WHERE mode = 'metro' AND site_id IS NOT NULL
        GROUP BY ALL ORDER BY period_start, site_id, direction"""


def compute_od_flows(
    con: duckdb.DuckDBPyConnection, taps: str, *, timezone: str, max_trip_minutes: int
) -> pd.DataFrame:
    """Metro trips per origin, destination and local date, unsuppressed: each metro
    entry matched to the same pseudonym's next metro tap when that tap is an exit within
    ``max_trip_minutes``.

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
          AND next_ts - ts <= INTERVAL '{int(max_trip_minutes)} minutes'
        GROUP BY ALL ORDER BY date, origin_site_id, destination_site_id"""
    ).df()[FLOW_COLUMNS]


def get_bounded_counts_sql(taps: str, *, max_taps: int, period_minutes: int, timezone: str) -> str:
    """DuckDB SQL of station counts over the relation ``taps`` with each card counted at
    most ``max_taps`` times (its first taps; ties in time by direction, then station),
    over every station x period x direction of the grid the taps span, zeros included
    (``GRID_COLUMNS``)."""
    tz, step = quote_sql_text(timezone), int(period_minutes)
    bucket = f"timezone({tz}, time_bucket(INTERVAL '{step} minutes', timezone({tz}, ts)))"
    return f"""WITH metro AS (SELECT * FROM {taps} WHERE mode = 'metro' AND site_id IS NOT NULL),
        kept AS (SELECT site_id, direction, {bucket} AS period_start FROM metro
                 QUALIFY row_number() OVER (PARTITION BY pseudonym
                                            ORDER BY ts, direction, site_id) <= {int(max_taps)}),
        span AS (SELECT min({bucket}) AS first, max({bucket}) AS last FROM metro),
        grid AS (SELECT s.site_id, p.period_start, d.direction
                 FROM (SELECT DISTINCT site_id FROM metro) s,
                      (SELECT unnest(generate_series(first, last, INTERVAL '{step} minutes'))
                              AS period_start FROM span) p,
                      (VALUES ('entry'), ('exit')) d(direction))
        SELECT g.site_id, g.period_start, {step}::INTEGER AS period_minutes, g.direction,
               count(k.site_id)::BIGINT AS taps
        FROM grid g LEFT JOIN kept k USING (site_id, period_start, direction)
        GROUP BY ALL ORDER BY g.period_start, g.site_id, g.direction"""
