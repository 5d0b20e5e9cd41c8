"""Mapping text cells to observations in DuckDB: times, sites, unpivot, validation.

Everything here is set-based SQL so that validation costs little next to reading and
writing. The output is one table of *cells*: every value the source holds, with the
problem that stops it from being stored (NULL when it is good).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import duckdb

from urbanpulse.catalog.metrics import get_plausible_range
from urbanpulse.ingest.mapping import Mapping, MetricSpec
from urbanpulse.ingest.readers import FILE, LINE, ROW, SITE, TS
from urbanpulse.store.writes import EARLIEST, LATEST

MISSING = "missing"  # a cell the source marks as missing: counted, never stored or invented


def ident(name: str) -> str:
    """Quote a column name for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + text.replace("'", "''") + "'"


def build_time_sql(mapping: Mapping) -> str:
    """SQL expression giving each raw row its UTC timestamp (NULL when unparseable)."""
    spec = mapping.time
    zone = lit(spec.timezone)
    if spec.parts:
        parts = spec.parts
        hour = f"coalesce(trim({ident(parts['hour'])}), '0')" if "hour" in parts else "'0'"
        minute = f"coalesce(trim({ident(parts['minute'])}), '0')" if "minute" in parts else "'0'"
        clock = f"concat_ws(':', {hour}, {minute})"
        # A clock column ('06:10' or '06:10:00') stands for hour and minute together.
        clock_formats = ["%H:%M"]
        if "time" in parts:
            clock, clock_formats = f"trim({ident(parts['time'])})", ["%H:%M", "%H:%M:%S"]
        if "date" in parts:
            text = f"concat_ws(' ', trim({ident(parts['date'])}), {clock})"
            day_format = spec.date_format
        else:
            text = (
                f"concat_ws(' ', concat_ws('-', trim({ident(parts['year'])}), "
                f"trim({ident(parts['month'])}), trim({ident(parts['day'])})), {clock})"
            )
            day_format = "%Y-%m-%d"
        formats = "[" + ", ".join(lit(f"{day_format} {c}") for c in clock_formats) + "]"
        return f"timezone({zone}, try_strptime({text}, {formats}))"
    if spec.column:
        column = f"trim({ident(spec.column)})"
        if spec.format and ("%z" in spec.format or "%Z" in spec.format):
            return f"TRY_CAST(try_strptime({column}, {lit(spec.format)}) AS TIMESTAMPTZ)"
        if spec.format:
            return f"timezone({zone}, try_strptime({column}, {lit(spec.format)}))"
        return build_text_time_sql(column, zone)
    assert spec.start is not None  # guaranteed by TimeSpec validation
    start = spec.start if spec.start.tzinfo else spec.start.replace(tzinfo=ZoneInfo(spec.timezone))
    epoch = start.astimezone(UTC).timestamp()
    return f"to_timestamp({epoch} + {ROW} * {spec.step_seconds()})"


def build_text_time_sql(column: str, zone: str) -> str:
    """SQL giving the UTC time of ISO 8601 text ``column``: with an offset (or Z) as
    written, without one in time zone ``zone`` (a quoted literal); NULL if unparseable.
    Live streams read their times with it too (urbanpulse.stream)."""
    # An offset only counts after a time of day: '2024-03-01' ends in '-01', a day.
    return (
        f"CASE WHEN regexp_matches({column}, '[T ][0-9:.]+ ?(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') "
        f"THEN TRY_CAST({column} AS TIMESTAMPTZ) "
        f"ELSE timezone({zone}, TRY_CAST({column} AS TIMESTAMP)) END"
    )


def build_site_sql(mapping: Mapping) -> str:
    """SQL expression giving each raw row its site id (NULL when the cell is empty)."""
    column = mapping.site.column
    assert column is not None
    return f"nullif({lit(mapping.site.id_prefix)} || trim({ident(column)}), {lit(mapping.site.id_prefix)})"


def compute_cells(
    con: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    *,
    raw_name: str,
    columns: list[str],
    known_sites: str | None,
    out_name: str,
) -> bool:
    """Create table ``out_name`` with one row per source cell and its problem; return
    whether two of its cells may share a key (site, metric, time).

    ``raw_name`` holds the text cells of one or more files with the same columns, each
    row tagged with its file's index in ``_file``: mapping a batch in one query lets
    DuckDB use every core, where a query per file spent most of its time starting up.

    Columns of ``out_name``: file_index, line, column_name, site_id, metric, ts, raw,
    value, unit, problem (NULL for a good value, ``'missing'`` for a missing one, else
    the reason).
    Repeated keys are left to the caller, which sees every file of a batch at once;
    the answer tells it when it need not look. ``known_sites`` names a relation of
    allowed site ids when new sites are forbidden.
    """
    is_missing = _missing_sql(mapping.source.missing)
    problem = build_problem_sql(
        ts="ts",
        site_missing="site_id IS NULL",  # a blank cell's site is NULL already (build_site_sql)
        unknown_site=(
            f"site_id NOT IN (SELECT site_id FROM {known_sites} WHERE site_id IS NOT NULL)"
            if known_sites
            else None
        ),
        metric_unknown="metric_code IS NULL",
        value="number",
        value_problems=[(is_missing, MISSING), ("number IS NULL", "non-numeric value")],
    )
    rows_sql = _rows_sql(mapping, raw_name)
    cells = _cells_sql(mapping, columns)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {out_name} AS
        WITH rows AS MATERIALIZED ({rows_sql}),
        typed AS (
            SELECT *, TRY_CAST(trim(raw) AS DOUBLE) AS number FROM ({cells})
        ),
        judged AS (
            SELECT *, {problem} AS problem
            FROM typed
        )
        SELECT file_index, line, column_name, site_id, coalesce(metric_code, label) AS metric, ts,
               -- the raw text is only needed to show a rejected cell; dropping it for
               -- good cells keeps the batch small in memory
               CASE WHEN problem IS NOT NULL THEN raw END AS raw,
               CASE WHEN problem IS NULL THEN number END AS value, unit, problem
        FROM judged
        """
    )
    return _may_repeat(con, mapping, rows_sql)


def _may_repeat(con: duckdb.DuckDBPyConnection, mapping: Mapping, rows_sql: str) -> bool:
    """Whether two cells may share a key. A wide row's cells have one key each (one
    metric a column, or one site a column), so keys can only repeat where two rows
    share their site and time (wide_metrics) or their time (wide_sites): a check over
    the rows, an eleventh of the cells for eleven metrics. A long row is one cell."""
    if mapping.layout == "long":
        return True
    shared = [TS] if mapping.layout == "wide_sites" else [SITE, TS]
    found = con.execute(
        f"SELECT 1 FROM ({rows_sql}) GROUP BY {', '.join(shared)} HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    return bool(found)


def _missing_sql(tokens: list[str]) -> str:
    """SQL telling a missing cell. Trimming every cell is costly, so padded text is only
    trimmed when it is not a number, unless a token is itself a number (e.g. -999)."""
    listed = ", ".join(lit(t) for t in tokens) or "NULL"
    if any(_is_number(t) for t in tokens):
        return f"raw IS NULL OR trim(raw) IN ({listed})"
    return f"raw IS NULL OR raw IN ({listed}) OR (number IS NULL AND trim(raw) IN ({listed}))"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rows_sql(mapping: Mapping, raw_name: str) -> str:
    """Each source row once, with its line, site and UTC time worked out."""
    site = "NULL::VARCHAR" if mapping.layout == "wide_sites" else build_site_sql(mapping)
    return f"SELECT *, {site} AS {SITE}, {build_time_sql(mapping)} AS {TS} FROM {raw_name}"


def _cells_sql(mapping: Mapping, columns: list[str]) -> str:
    """One row per cell: line, column_name, site_id, label, metric_code, unit, lo, hi, ts, raw.

    Wide layouts become one SELECT per column with the metric's rules as constants,
    which is much cheaper than an UNPIVOT followed by a join on the column label.
    """
    if mapping.layout == "long":
        return _long_cells_sql(mapping)
    branches = []
    for label, code, spec in _wide_columns(mapping, columns):
        site = lit(mapping.site.id_prefix + label) if mapping.layout == "wide_sites" else SITE
        low, high = _get_bounds(code, spec)
        branches.append(
            f"SELECT {FILE} AS file_index, {LINE} AS line, {lit(label)} AS column_name, {site} AS site_id, "
            f"{lit(label)} AS label, {lit(code)} AS metric_code, {lit(spec.unit)} AS unit, "
            f"{low} AS lo, {high} AS hi, {TS} AS ts, "
            f"{ident(label)}::VARCHAR AS raw FROM rows"
        )
    return " UNION ALL ".join(branches)


def _long_cells_sql(mapping: Mapping) -> str:
    assert mapping.value_column is not None
    if mapping.metric_column:
        # Qualified: a source column named like a rules column (metric, unit) must not
        # be mistaken for it.
        label = f"trim(rows.{ident(mapping.metric_column)})"
    else:
        (code,) = mapping.metrics
        label = lit(mapping.metrics[code].column or code)
    return (
        f"SELECT rows.{FILE} AS file_index, rows.{LINE} AS line, "
        f"{lit(mapping.value_column)} AS column_name, "
        f"rows.{SITE} AS site_id, {label} AS label, r.metric AS metric_code, r.unit, r.lo, "
        f"r.hi, rows.{TS} AS ts, rows.{ident(mapping.value_column)} AS raw "
        f"FROM rows LEFT JOIN ({_rules_sql(mapping)}) r ON {label} = r.source_label"
    )


def build_problem_sql(
    *,
    ts: str,
    site_missing: str,
    unknown_site: str | None,
    metric_unknown: str,
    value: str,
    value_problems: Sequence[tuple[str, str]],
    low: str = "lo",
    high: str = "hi",
) -> str:
    """The one judgement every writer passes an observation through, as a SQL CASE:
    NULL for a good one, else why it is not stored, checked in this order: its time,
    its site (``site_missing`` and, where new sites are refused, ``unknown_site``:
    conditions), its metric,
    the writer's own ``value_problems`` ((condition, reason): how its source says
    missing or not a number), then a finite value inside the range ``low``..``high``
    (columns or expressions; NULL: unbounded)."""
    checks = [
        (f"{ts} IS NULL", lit("unparseable time")),
        (f"{ts} < TIMESTAMPTZ '{EARLIEST}' OR {ts} >= TIMESTAMPTZ '{LATEST}'",
         lit("time out of range")),
        (site_missing, lit("missing site")),
        *([(unknown_site, lit("unknown site"))] if unknown_site else []),
        (metric_unknown, lit("unknown metric")),
        *((condition, lit(reason)) for condition, reason in value_problems),
        (f"NOT isfinite({value})", lit("non-finite value")),
        (f"{low} IS NOT NULL AND {value} < {low}", f"'below minimum ' || {low}"),
        (f"{high} IS NOT NULL AND {value} > {high}", f"'above maximum ' || {high}"),
    ]  # fmt: skip
    return "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in checks) + " END"


def build_bound_sql(value: float | None) -> str:
    """A bound of a value range as a SQL DOUBLE (NULL: unbounded)."""
    return "NULL::DOUBLE" if value is None else f"{float(value)!r}::DOUBLE"


def _get_bounds(code: str, spec: MetricSpec) -> tuple[str, str]:
    """The mapping's bounds for the metric, else the product's plausible range, as SQL."""
    low, high = get_plausible_range(code, low=spec.min, high=spec.max)
    return build_bound_sql(low), build_bound_sql(high)


def _rules_sql(mapping: Mapping) -> str:
    """A VALUES relation: source_label -> metric code, unit, lower and upper bound."""
    rows = []
    for code, spec in mapping.metrics.items():
        label = spec.column if (spec.column and mapping.layout != "wide_sites") else code
        low, high = _get_bounds(code, spec)
        rows.append(f"({lit(label)}, {lit(code)}, {lit(spec.unit)}, {low}, {high})")
    return f"SELECT * FROM (VALUES {', '.join(rows)}) v(source_label, metric, unit, lo, hi)"


def _wide_columns(mapping: Mapping, columns: list[str]) -> list[tuple[str, str, MetricSpec]]:
    """(column label, metric code, metric spec) for every value column of a wide source."""
    if mapping.layout == "wide_metrics":
        return [(spec.column or code, code, spec) for code, spec in mapping.metrics.items()]
    (code,) = mapping.metrics
    # Time columns (one, or date parts) are not sites.
    excluded = {*mapping.site.exclude_columns, *mapping.required_columns(), LINE, ROW, FILE}
    return [(column, code, mapping.metrics[code]) for column in columns if column not in excluded]
