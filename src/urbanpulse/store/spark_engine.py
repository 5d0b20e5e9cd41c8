"""Apache Spark over the lake: the same questions as DuckDB, for lakes past one machine.

Spark reads exactly the Parquet files the lake's commit log has published
(:meth:`Lake.get_paths`), never a folder listing, so a half-written or superseded file
is never seen. It runs locally (``local[*]``), against a cluster master
(``spark://host:7077``) or through Spark Connect (``sc://host:15002``). Needs the extra:
``pip install "urbanpulse[spark]"`` and a Java runtime.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from urbanpulse.errors import ConfigurationError, MissingExtraError
from urbanpulse.store.engine import SCHEMAS
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
from urbanpulse.store.queries import get_months, get_months_holding

_SPARK_TYPES = {
    "VARCHAR": "STRING",
    "DOUBLE": "DOUBLE",
    "BIGINT": "BIGINT",
    "INTEGER": "INT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMPTZ": "TIMESTAMP",
}


CONNECT_SCHEME = "sc://"


def build_session(*, master: str = "local[*]", remote: str | None = None) -> Any:
    """A SparkSession in UTC with Arrow transfers, classic (``master``) or Spark Connect.

    Raises
    ------
    MissingExtraError
        When pyspark is missing, or (for a local session) no Java runtime is found.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MissingExtraError("pyspark", "spark") from None
    builder = SparkSession.builder.appName("urbanpulse")
    if remote:
        builder = builder.remote(remote)
    else:
        if master.startswith("local") and not has_java():
            raise ConfigurationError(
                "the Spark engine needs a Java runtime (17 or later): none on PATH or JAVA_HOME"
            )
        builder = builder.master(master).config("spark.ui.enabled", "false")
        builder = builder.config("spark.sql.shuffle.partitions", "8")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    session = builder.getOrCreate()
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


def has_java() -> bool:
    """Whether a Java runtime is found, as Spark looks for it (JAVA_HOME, then PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return True
    return shutil.which("java") is not None


class SparkEngine:
    """Questions answered by Spark SQL; the session is started on first use."""

    name = "spark"

    def __init__(self, *, master: str = "local[*]", remote: str | None = None) -> None:
        # A Spark Connect URL given as the master is meant as one: a classic session
        # would refuse it as an unknown master.
        if remote is None and master.startswith(CONNECT_SCHEME):
            master, remote = "local[*]", master
        self.master, self.remote = master, remote
        self._session: Any = None

    @property
    def session(self) -> Any:
        """The SparkSession (started, and kept, on first use)."""
        if self._session is None:
            self._session = build_session(master=self.master, remote=self.remote)
        return self._session

    def read_observations(
        self,
        lake: Lake,
        metric: str,
        *,
        site_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pa.Table:
        o = self._observations(lake, metric, site_ids, start, end)
        sql = "SELECT site_id, metric, ts, value, unit FROM {o} ORDER BY site_id, ts"
        return self._fetch(sql, OBSERVATIONS_SCHEMA, o=o)

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
        o = self._observations(lake, metric, site_ids, start, end)
        d = self.session.createDataFrame(days.to_pandas())
        p = int(period_minutes)
        # percentile() is exact with linear interpolation, as DuckDB's quantile_cont and
        # numpy's default quantile; percentile_approx would not give the same rows.
        sql = f"""
            WITH w AS (
                SELECT site_id, value, from_utc_timestamp(ts, {{tz}}) AS wall FROM {{o}}
                WHERE value IS NOT NULL AND NOT isnan(value))
            SELECT w.site_id, d.day_type,
                CAST(div(hour(w.wall) * 60 + minute(w.wall), {p}) * {p} AS INT) AS period_start,
                avg(w.value) AS mean, percentile(w.value, 0.5) AS p50,
                percentile(w.value, 0.9) AS p90, count(*) AS n
            FROM w JOIN {{d}} d ON d.date = to_date(w.wall)
            GROUP BY w.site_id, d.day_type, d.day_rank, 3
            ORDER BY w.site_id, d.day_rank, period_start"""
        return self._fetch(sql, PROFILES_SCHEMA, o=o, d=d, tz=tz)

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
        o = self._observations(lake, metric, site_ids, start, end)
        step = int(period_minutes) * 60_000_000
        sql = f"""
            WITH w AS (
                SELECT site_id, ts, value,
                    unix_micros(from_utc_timestamp(ts, {{tz}})) AS wall_us FROM {{o}}
                WHERE value IS NOT NULL AND NOT isnan(value))
            SELECT site_id,
                timestamp_micros(unix_micros(ts) - pmod(wall_us, {step})) AS period_start,
                count(*) AS n, avg(value) AS mean, min(value) AS min, max(value) AS max,
                sum(value) AS sum
            FROM w GROUP BY site_id, 2 ORDER BY site_id, period_start"""
        return self._fetch(sql, PERIODS_SCHEMA, o=o, tz=tz)

    def read_indicators(
        self,
        lake: Lake,
        *,
        indicators: Sequence[str] | None = None,
        region_codes: Sequence[str] | None = None,
    ) -> pa.Table:
        frame = self._scan(lake, "indicators")
        if indicators is not None:
            frame = frame.where(frame.indicator.isin(list(indicators)))
        if region_codes is not None:
            frame = frame.where(frame.region_code.isin(list(region_codes)))
        sql = "SELECT * FROM {i} ORDER BY indicator, region_code, year"
        return self._fetch(sql, INDICATORS_SCHEMA, i=frame)

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
        table = get_grain_table(grain)
        check_window(start, end)
        partition: dict[str, str | list[str]] = {"metric": metric}
        if start is not None and end is not None:
            # A local day starting before a UTC month begins is partly in the month before.
            partition["month"] = get_months(start - timedelta(days=1), end + timedelta(days=1))
        frame = self._scan(lake, table, **partition)
        frame = _where(frame.where(frame.metric == metric), site_ids, start, end, "bucket_start")
        sql = (
            "SELECT site_id, metric, bucket_start, CAST(sum(count) AS BIGINT) AS count, "
            "sum(sum) AS sum, sum(sum) / nullif(sum(count), 0) AS mean, min(min) AS min, "
            "max(max) AS max, unit FROM {r} GROUP BY site_id, metric, unit, bucket_start "
            "ORDER BY site_id, bucket_start, unit"
        )
        return self._fetch(sql, ROLLUPS_SCHEMA, r=frame)

    def get_metric_unit(self, lake: Lake, site_id: str, metric: str) -> tuple[bool, str | None]:
        frame = self._scan(lake, "observations", metric=metric)
        rows = frame.where(frame.site_id == site_id).select("unit").dropna().limit(1).collect()
        if rows:
            return True, str(rows[0][0])
        return bool(frame.where(frame.site_id == site_id).limit(1).collect()), None

    def read_last_observation_time(self, lake: Lake, metrics: Sequence[str]) -> datetime | None:
        months = get_months_holding(lake, metrics)
        if not months:
            return None
        frame = self._scan(lake, "observations", metric=list(metrics), month=months[-1])
        result = self.session.sql("SELECT max(ts) AS ts FROM {o}", o=frame).toArrow()
        value = result.column("ts")[0].as_py()
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
        frame = _where(
            self._scan(lake, "observations", metric=list(metrics), month=months),
            site_ids, None, None, "ts",
        )  # fmt: skip
        seconds = lookback.total_seconds()
        sql = f"""
            WITH o AS (SELECT site_id, metric, value, ts FROM {{o}}
                WHERE value IS NOT NULL AND NOT isnan(value)),
            recent AS (SELECT * FROM o
                WHERE ts >= (SELECT max(ts) FROM o) - make_dt_interval(0, 0, 0, {seconds!r}))
            SELECT site_id, metric, max_by(value, ts) AS value, max(ts) AS ts
            FROM recent GROUP BY site_id, metric ORDER BY site_id, metric"""
        return self._fetch(sql, NEWEST_VALUES_SCHEMA, o=frame)

    def count_station_taps(self, lake: Lake, *, period_minutes: int, tz: str) -> pa.Table:
        check_period_minutes(period_minutes)
        p = int(period_minutes)
        sql = f"""
            WITH m AS ({_METRO_TAPS.format(step=p * 60_000_000)})
            SELECT site_id, min(station) AS station, period_start,
                CAST({p} AS INT) AS period_minutes, direction, count(*) AS taps
            FROM m GROUP BY site_id, period_start, direction
            ORDER BY period_start, site_id, direction"""
        return self._fetch(sql, TAP_COUNTS_SCHEMA, t=self._scan(lake, "taps"), tz=tz)

    def count_bounded_taps(
        self, lake: Lake, *, key_period: str, max_taps: int, period_minutes: int, tz: str
    ) -> pa.Table:
        check_period_minutes(period_minutes)
        p = int(period_minutes)
        sql = f"""
            WITH m AS ({_METRO_TAPS.format(step=p * 60_000_000)}),
            ranked AS (SELECT site_id, direction, period_start, row_number() OVER (
                PARTITION BY pseudonym ORDER BY ts, direction, site_id) AS n FROM m),
            kept AS (SELECT site_id, direction, period_start FROM ranked WHERE n <= {int(max_taps)}),
            span AS (SELECT min(period_start) AS first, max(period_start) AS last FROM m),
            grid AS (SELECT s.site_id, g.period_start, d.direction
                FROM (SELECT DISTINCT site_id FROM m) s
                CROSS JOIN (SELECT explode(sequence(first, last, INTERVAL {p} MINUTES))
                            AS period_start FROM span) g
                CROSS JOIN (SELECT explode(array('entry', 'exit')) AS direction) d)
            SELECT g.site_id, g.period_start, CAST({p} AS INT) AS period_minutes, g.direction,
                count(k.site_id) AS taps
            FROM grid g LEFT JOIN kept k ON k.site_id = g.site_id
                AND k.period_start = g.period_start AND k.direction = g.direction
            GROUP BY g.site_id, g.period_start, g.direction
            ORDER BY g.period_start, g.site_id, g.direction"""
        taps = self._scan(lake, "taps", key_period=key_period)
        return self._fetch(sql, BOUNDED_TAP_COUNTS_SCHEMA, t=taps, tz=tz)

    def _scan(self, lake: Lake, table: str, **partition: str | list[str]) -> Any:
        """A DataFrame of exactly the table's published files, typed as in SCHEMAS."""
        columns = SCHEMAS[table]
        ddl = ", ".join(f"`{c}` {_SPARK_TYPES[t]}" for c, t in columns.items())
        paths = lake.get_paths(table, **partition)
        if not paths:
            return self.session.createDataFrame([], ddl)
        return self.session.read.schema(ddl).parquet(*paths)

    def _observations(
        self,
        lake: Lake,
        metric: str,
        site_ids: Sequence[str] | None,
        start: datetime | None,
        end: datetime | None,
    ) -> Any:
        check_window(start, end)
        partition: dict[str, str | list[str]] = {"metric": metric}
        if start is not None and end is not None:
            partition["month"] = get_months(start, end)
        frame = self._scan(lake, "observations", **partition)
        return _where(frame.where(frame.metric == metric), site_ids, start, end, "ts")

    def _fetch(self, sql: str, schema: pa.Schema, **frames: Any) -> pa.Table:
        result = self.session.sql(sql, **frames).toArrow()
        return result.select(schema.names).cast(schema)


# Metro taps with the start of their period on the local clock (``{step}`` microseconds;
# ``{{t}}`` the taps, ``{{tz}}`` the zone, filled by session.sql).
_METRO_TAPS = """
    SELECT pseudonym, site_id, station, direction, ts,
        timestamp_micros(unix_micros(ts)
            - pmod(unix_micros(from_utc_timestamp(ts, {{tz}})), {step})) AS period_start
    FROM {{t}} WHERE mode = 'metro' AND site_id IS NOT NULL"""


def _where(
    frame: Any,
    site_ids: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
    column: str,
) -> Any:
    if site_ids is not None:
        frame = frame.where(frame.site_id.isin(list(site_ids)))
    if start is not None:
        frame = frame.where(frame[column] >= start)
    if end is not None:
        frame = frame.where(frame[column] < end)
    return frame
