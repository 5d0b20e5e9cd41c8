"""The embedded engine: DuckDB in the process, over the lake's published Parquet files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from urbanpulse.store.engine import scan_sql
from urbanpulse.store.interface import (
    BOUNDED_TAP_COUNTS_SCHEMA,
    INDICATORS_SCHEMA,
    NEWEST_VALUES_SCHEMA,
    OBSERVATIONS_SCHEMA,
    PERIODS_SCHEMA,
    PROFILES_SCHEMA,
    ROLLUPS_SCHEMA,
    TAP_COUNTS_SCHEMA,
    check_period_minutes,
    check_window,
    get_grain_table,
)
from urbanpulse.store.lake import Lake
from urbanpulse.store.queries import (
    _observation_filters,
    get_months_holding,
    get_reader,
)
from urbanpulse.store.retention import read_rollups
from urbanpulse.store.taps import get_bounded_counts_sql, get_station_counts_sql


class DuckDBEngine:
    """Questions answered by DuckDB through the process's shared reader (one cursor per
    thread, Parquet footers cached), so small reads cost no new connection."""

    name = "duckdb"

    def read_observations(
        self,
        lake: Lake,
        metric: str,
        *,
        site_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pa.Table:
        scan, where, params = _filters(lake, metric, site_ids, start, end)
        sql = (
            f"SELECT site_id, metric, ts, value, unit FROM ({scan}) "
            f"WHERE {' AND '.join(where)} ORDER BY site_id, ts"
        )
        return _fetch(sql, params, OBSERVATIONS_SCHEMA)

    def compute_profiles(
        self,
        lake: Lake,
        metric: str,
        *,
        days: pa.Table,
        period_minutes: int,
        tz: str,
        site_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pa.Table:
        check_period_minutes(period_minutes)
        scan, where, params = _filters(lake, metric, site_ids, start, end)
        p = int(period_minutes)
        sql = f"""
            WITH o AS (
                SELECT site_id, value, timezone(?, ts) AS wall FROM ({scan})
                WHERE {" AND ".join(where)} AND value IS NOT NULL AND NOT isnan(value))
            SELECT o.site_id, d.day_type,
                (hour(o.wall) * 60 + minute(o.wall)) // {p} * {p} AS period_start,
                avg(o.value) AS mean, quantile_cont(o.value, 0.5) AS p50,
                quantile_cont(o.value, 0.9) AS p90, count(*) AS n
            FROM o JOIN _days d ON d.date = o.wall::DATE
            GROUP BY o.site_id, d.day_type, d.day_rank, period_start
            ORDER BY o.site_id, d.day_rank, period_start"""
        cursor = get_reader()
        cursor.register("_days", days)
        try:
            return _fetch(sql, [tz, *params], PROFILES_SCHEMA, cursor)
        finally:
            cursor.unregister("_days")

    def compute_periods(
        self,
        lake: Lake,
        metric: str,
        *,
        period_minutes: int,
        tz: str,
        site_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pa.Table:
        check_period_minutes(period_minutes)
        scan, where, params = _filters(lake, metric, site_ids, start, end)
        step = int(period_minutes) * 60_000_000
        # Each instant is floored on its own local clock (its own UTC offset), so a
        # period starts at local HH:00 in any zone and DST needs no special case.
        sql = f"""
            WITH o AS (
                SELECT site_id, ts, value, epoch_us(timezone(?, ts)) AS wall_us FROM ({scan})
                WHERE {" AND ".join(where)} AND value IS NOT NULL AND NOT isnan(value))
            SELECT site_id,
                ts - to_microseconds(((wall_us % {step}) + {step}) % {step}) AS period_start,
                count(*) AS n, avg(value) AS mean, min(value) AS min, max(value) AS max,
                sum(value) AS sum
            FROM o GROUP BY site_id, period_start ORDER BY site_id, period_start"""
        return _fetch(sql, [tz, *params], PERIODS_SCHEMA)

    def read_indicators(
        self,
        lake: Lake,
        *,
        indicators: Sequence[str] | None = None,
        region_codes: Sequence[str] | None = None,
    ) -> pa.Table:
        where: list[str] = ["true"]
        params: list[object] = []
        if indicators is not None:
            where.append("list_contains(?::VARCHAR[], indicator)")
            params.append(list(indicators))
        if region_codes is not None:
            where.append("list_contains(?::VARCHAR[], region_code)")
            params.append(list(region_codes))
        sql = (
            f"SELECT * FROM ({scan_sql(lake, 'indicators')}) WHERE {' AND '.join(where)} "
            "ORDER BY indicator, region_code, year"
        )
        return _fetch(sql, params, INDICATORS_SCHEMA)

    def read_rollups(
        self,
        lake: Lake,
        metric: str,
        *,
        grain: str,
        site_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pa.Table:
        get_grain_table(grain)
        check_window(start, end)
        found = read_rollups(lake, metric, grain=grain, site_ids=site_ids, start=start, end=end)
        return found.select(ROLLUPS_SCHEMA.names).cast(ROLLUPS_SCHEMA)

    def read_last_observation_time(self, lake: Lake, metrics: Sequence[str]) -> datetime | None:
        months = get_months_holding(lake, metrics)
        if not months:
            return None
        scan = scan_sql(lake, "observations", metric=list(metrics), month=months[-1])
        # fetchall, not fetchone: an unfinished result would block the shared cursor.
        ((value,),) = get_reader().execute(f"SELECT max(ts) FROM ({scan})").fetchall()
        return None if value is None else value.astimezone(UTC)

    def read_newest_values(
        self,
        lake: Lake,
        metrics: Sequence[str],
        *,
        lookback: timedelta,
        site_ids: Sequence[str] | None = None,
    ) -> pa.Table:
        months = get_months_holding(lake, metrics)[-2:]
        if not months:
            return NEWEST_VALUES_SCHEMA.empty_table()
        scan = scan_sql(lake, "observations", metric=list(metrics), month=months)
        where, params = "true", []
        if site_ids is not None:
            where, params = "site_id IN (SELECT unnest(?::VARCHAR[]))", [list(site_ids)]
        sql = (
            f"WITH o AS (SELECT site_id, metric, value, ts FROM ({scan}) WHERE {where} "
            "AND value IS NOT NULL AND NOT isnan(value)), "
            "recent AS (SELECT * FROM o WHERE ts >= (SELECT max(ts) FROM o) - ?::INTERVAL) "
            "SELECT site_id, metric, arg_max(value, ts) AS value, max(ts) AS ts "
            "FROM recent GROUP BY site_id, metric ORDER BY site_id, metric"
        )
        return _fetch(sql, [*params, lookback], NEWEST_VALUES_SCHEMA)

    def count_station_taps(self, lake: Lake, *, period_minutes: int, tz: str) -> pa.Table:
        check_period_minutes(period_minutes)
        taps = f"({scan_sql(lake, 'taps')})"
        sql = get_station_counts_sql(taps, period_minutes=period_minutes, timezone=tz)
        return _fetch(sql, [], TAP_COUNTS_SCHEMA)

    def count_bounded_taps(
        self, lake: Lake, *, key_period: str, max_taps: int, period_minutes: int, tz: str
    ) -> pa.Table:
        check_period_minutes(period_minutes)
        taps = f"({scan_sql(lake, 'taps', key_period=key_period)})"
        sql = get_bounded_counts_sql(
            taps, max_taps=max_taps, period_minutes=period_minutes, timezone=tz
        )
        return _fetch(sql, [], BOUNDED_TAP_COUNTS_SCHEMA)

    def get_metric_unit(self, lake: Lake, site_id: str, metric: str) -> tuple[bool, str | None]:
        if not lake.get_files("observations", metric=metric):
            return False, None
        scan = scan_sql(lake, "observations", metric=metric)
        # LIMIT without ORDER BY lets DuckDB stop at the first matching row.
        sql = f"SELECT unit FROM ({scan}) WHERE site_id = ? AND unit IS NOT NULL LIMIT 1"
        # fetchall, not fetchone: an unfinished result would block the shared cursor.
        rows = get_reader().execute(sql, [site_id]).fetchall()
        if rows:
            return True, str(rows[0][0])
        sql = f"SELECT 1 FROM ({scan}) WHERE site_id = ? LIMIT 1"
        return bool(get_reader().execute(sql, [site_id]).fetchall()), None


def _filters(
    lake: Lake,
    metric: str,
    site_ids: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[str, list[str], list[object]]:
    check_window(start, end)
    scan, where, params = _observation_filters(lake, metric, start, end, site_ids)
    if site_ids is not None and len(site_ids) == 1:
        # An equality lets the Parquet reader skip row groups by site_id statistics.
        where[where.index("site_id IN (SELECT unnest(?::VARCHAR[]))")] = "site_id = ?"
        params[0] = site_ids[0]
    return scan, where, params


def _fetch(
    sql: str,
    params: Sequence[object],
    schema: pa.Schema,
    cursor: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    result = (cursor or get_reader()).sql(sql, params=params).to_arrow_table()
    return result.select(schema.names).cast(schema)
