"""One store interface over several engines: questions in, Arrow tables out.

Every question the product asks of the lake at scale is a method of :class:`Engine`,
answered with a ``pyarrow.Table`` of a schema defined once here. Engines differ only in
how they run it: DuckDB embedded in the process (the default) or Apache Spark, locally
or on a cluster, for lakes one machine cannot hold (``URBANPULSE_ENGINE=spark``).
Both read exactly the files the lake's commit log has published, and both aggregate
inside the engine: no raw rows travel to pandas to be grouped.

Which engine answers is a setting (``engine``, ``spark_master``, ``spark_remote``), so
the CLI, the API and the models agree; :func:`urbanpulse.store.engines.get_engine`
builds it once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal, Protocol, runtime_checkable

import pyarrow as pa

from urbanpulse.catalog.calendar import DAY_TYPES, build_calendar
from urbanpulse.errors import InvalidQueryError
from urbanpulse.store.engine import SCHEMAS
from urbanpulse.store.lake import Lake

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}


def get_arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of one of the lake's tables, from :data:`SCHEMAS`."""
    return pa.schema([(c, _ARROW_TYPES[t]) for c, t in SCHEMAS[table].items()])


_TS = pa.timestamp("us", tz="UTC")
# Results of the derived questions; each engine casts its answer to these exactly.
OBSERVATIONS_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("metric", pa.string()),
        ("ts", _TS),
        ("value", pa.float64()),
        ("unit", pa.string()),
    ]
)
PROFILES_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("day_type", pa.string()),
        ("period_start", pa.int32()),
        ("mean", pa.float64()),
        ("p50", pa.float64()),
        ("p90", pa.float64()),
        ("n", pa.int64()),
    ]
)
PERIODS_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("period_start", _TS),
        ("n", pa.int64()),
        ("mean", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("sum", pa.float64()),
    ]
)
INDICATORS_SCHEMA = get_arrow_schema("indicators")
ROLLUPS_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("metric", pa.string()),
        ("bucket_start", _TS),
        ("count", pa.int64()),
        ("sum", pa.float64()),
        ("mean", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("unit", pa.string()),
    ]
)
DAYS_SCHEMA = pa.schema(
    [("date", pa.date32()), ("day_type", pa.string()), ("day_rank", pa.int32())]
)
ROLLUP_GRAINS: dict[str, str] = {"hourly": "rollups_hourly", "daily": "rollups_daily"}
BOUNDED_TAP_COUNTS_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("period_start", _TS),
        ("period_minutes", pa.int32()),
        ("direction", pa.string()),
        ("taps", pa.int64()),
    ]
)
TAP_COUNTS_SCHEMA = BOUNDED_TAP_COUNTS_SCHEMA.insert(1, pa.field("station", pa.string()))
NEWEST_VALUES_SCHEMA = pa.schema(
    [("site_id", pa.string()), ("metric", pa.string()), ("value", pa.float64()), ("ts", _TS)]
)


@runtime_checkable
class Engine(Protocol):
    """What every engine answers; each method returns a table of the named schema.

    ``start``/``end`` bound a half-open window [start, end) of timezone-aware instants;
    ``site_ids`` None means every site. Rows come sorted as each method says.
    """

    name: str

    def read_observations(
        self,
        lake: Lake,
        metric: str,
        *,
        site_ids: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pa.Table:
        """Raw observations (:data:`OBSERVATIONS_SCHEMA`), by site_id, ts."""
        ...

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
        """Mean, median, 90th percentile and count by site, day type and period of the
        local day (:data:`PROFILES_SCHEMA`); ``days`` (:data:`DAYS_SCHEMA`) gives each
        local date's day type. Sorted by site_id, day type (weekday, weekend, holiday),
        period_start."""
        ...

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
        """Count, mean, min, max and sum per site and period, periods starting on the
        local clock of ``tz`` (:data:`PERIODS_SCHEMA`); by site_id, period_start."""
        ...

    def read_indicators(
        self,
        lake: Lake,
        *,
        indicators: Sequence[str] | None = None,
        region_codes: Sequence[str] | None = None,
    ) -> pa.Table:
        """Yearly indicators (:data:`INDICATORS_SCHEMA`), by indicator, region_code, year."""
        ...

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
        """Stored hourly or daily rollups (:data:`ROLLUPS_SCHEMA`), the parts of a bucket
        kept in two partitions added up (see ``store.retention``); by site_id,
        bucket_start."""
        ...

    def get_metric_unit(self, lake: Lake, site_id: str, metric: str) -> tuple[bool, str | None]:
        """(whether the site reports the metric, its unit or None)."""
        ...

    def read_last_observation_time(self, lake: Lake, metrics: Sequence[str]) -> datetime | None:
        """The newest observation time (UTC) of any of ``metrics``, read from the last
        month that holds them; None without any."""
        ...

    def read_newest_values(
        self,
        lake: Lake,
        metrics: Sequence[str],
        *,
        lookback: timedelta,
        site_ids: Sequence[str] | None = None,
    ) -> pa.Table:
        """Each site's newest value of each of ``metrics`` (NaN left out), among readings
        no more than ``lookback`` older than the newest of them all, from the last two
        months that hold the metrics: what stands "now" (:data:`NEWEST_VALUES_SCHEMA`);
        by site_id, metric."""
        ...

    def count_station_taps(self, lake: Lake, *, period_minutes: int, tz: str) -> pa.Table:
        """Metro entries and exits of every stored smart-card tap per station, period
        (starting on the local clock of ``tz``) and direction, unsuppressed: only cells
        with a tap (:data:`TAP_COUNTS_SCHEMA`); by period_start, site_id, direction."""
        ...

    def count_bounded_taps(
        self, lake: Lake, *, key_period: str, max_taps: int, period_minutes: int, tz: str
    ) -> pa.Table:
        """Station counts of one key period's taps with each card counted at most
        ``max_taps`` times (its first taps; ties in time by direction, then station), over
        every station x period x direction of the grid the taps span, zeros included
        (:data:`BOUNDED_TAP_COUNTS_SCHEMA`); by period_start, site_id, direction."""
        ...


def build_day_table(
    lake: Lake,
    metric: str,
    *,
    country: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pa.Table:
    """Day type of every local date the query can touch (:data:`DAYS_SCHEMA`).

    The calendar is the product's one calendar (``catalog.calendar``); it is small (a
    row per day) and joins the observations inside the engine.
    """
    months = sorted({f.partition["month"] for f in lake.get_files("observations", metric=metric)})
    if start is not None:
        first = start.date()
    elif months:
        first = date.fromisoformat(f"{months[0]}-01")
    else:
        first = date(2000, 1, 1)
    if end is not None:
        last = end.date()
    elif months:
        year, month = map(int, months[-1].split("-"))
        last = date(year + month // 12, month % 12 + 1, 1)
    else:
        last = first
    # A day either side: local dates run ahead of or behind UTC ones.
    return _build_days(first - timedelta(days=1), last + timedelta(days=1), country)


@lru_cache(maxsize=256)
def _build_days(first: date, last: date, country: str) -> pa.Table:
    """The calendar as an Arrow table (immutable, so one copy serves every caller)."""
    table = build_calendar(first, last, country=country)
    rank = {name: i for i, name in enumerate(DAY_TYPES)}
    return pa.table(
        {
            "date": pa.array(table["date"], type=pa.date32()),
            "day_type": pa.array(table["day_type"], type=pa.string()),
            "day_rank": pa.array(table["day_type"].map(rank), type=pa.int32()),
        },
        schema=DAYS_SCHEMA,
    )


def check_period_minutes(period_minutes: int) -> None:
    """Raise unless the period divides a day evenly (5, 15, 30, 60 ... 1440 minutes)."""
    if not 1 <= period_minutes <= 1440 or 1440 % period_minutes:
        raise InvalidQueryError(
            f"period_minutes must divide a day evenly (5, 15, 30, 60 ...), got {period_minutes}"
        )


def check_window(start: datetime | None, end: datetime | None) -> None:
    """Raise unless the window's bounds are timezone-aware and in order."""
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise InvalidQueryError("start and end must be timezone-aware")
    if start is not None and end is not None and end <= start:
        raise InvalidQueryError(f"empty window: end {end} is not after start {start}")


def get_grain_table(grain: str) -> str:
    """The rollup table of a grain ('hourly' or 'daily')."""
    if grain not in ROLLUP_GRAINS:
        raise InvalidQueryError(f"unknown rollup grain {grain!r}; use hourly or daily")
    return ROLLUP_GRAINS[grain]


def compute_profiles(
    lake: Lake,
    metric: str,
    *,
    period_minutes: int,
    tz: str,
    country: str,
    site_ids: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    engine: Engine,
) -> pa.Table:
    """Profiles of a metric for some sites (None: every site), inside ``engine``.

    Day types follow the calendar of ``country`` on the local dates of ``tz`` (the
    settings' ``holiday_country`` and ``local_timezone``).

    Returns
    -------
    pyarrow.Table
        Columns: site_id, day_type, period_start (minutes after local midnight), mean,
        p50, p90, n; by site_id, day type (weekday, weekend, holiday), period_start.
    """
    days = build_day_table(lake, metric, country=country, start=start, end=end)
    return engine.compute_profiles(
        lake,
        metric,
        days=days,
        period_minutes=period_minutes,
        tz=tz,
        site_ids=site_ids,
        start=start,
        end=end,
    )
