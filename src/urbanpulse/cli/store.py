"""``urbanpulse profiles`` and ``urbanpulse periods``: the batch questions over every site.

Both run inside the store's engine (``--engine spark`` or URBANPULSE_ENGINE) and write
Parquet or CSV, since at city scale their answers are tables to keep, not to read.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer

from urbanpulse.cli.common import LAKE_OPTION, build_group, err_console, get_context
from urbanpulse.store.interface import compute_profiles

store_app = build_group(help="Batch questions over every site.", no_args_is_help=True)
OUT = typer.Option(
    None, "--out", help="Write Parquet (.parquet) or CSV (other names) here; default CSV on stdout."
)


@store_app.command("profiles")
def profiles(
    metric: str = typer.Option(..., "--metric", help="Metric code, e.g. boardings or pm25."),
    period: int = typer.Option(60, "--period", help="Period length in minutes (15, 60 ...)."),
    sites: str | None = typer.Option(
        None, "--sites", help="Comma-separated site ids (default: all)."
    ),
    lake: Path | None = LAKE_OPTION,
    out: Path | None = OUT,
) -> None:
    """Profiles of every site: mean, p50, p90 and count by day type and local period.

    Columns: site_id, day_type, period_start (minutes after local midnight), mean, p50,
    p90, n. Day types follow URBANPULSE_HOLIDAY_COUNTRY in URBANPULSE_LOCAL_TIMEZONE.
    """
    context = get_context(lake)
    table = compute_profiles(
        context.lake,
        metric,
        period_minutes=period,
        tz=context.calendar.tz,
        country=context.calendar.country,
        site_ids=_split(sites),
        engine=context.engine,
    )
    _write(table, out)


@store_app.command("periods")
def periods(
    metric: str = typer.Option(..., "--metric", help="Metric code, e.g. boardings or pm25."),
    period: int = typer.Option(
        1440, "--period", help="Period in minutes: 1440 a local day (daily rollup), 15 a panel."
    ),
    sites: str | None = typer.Option(
        None, "--sites", help="Comma-separated site ids (default: all)."
    ),
    lake: Path | None = LAKE_OPTION,
    out: Path | None = OUT,
) -> None:
    """Count, mean, min, max and sum of every site per period of the local clock.

    Columns: site_id, period_start (UTC instant of the local period's start), n, mean,
    min, max, sum.
    """
    context = get_context(lake)
    table = context.engine.compute_periods(
        context.lake,
        metric,
        period_minutes=period,
        tz=context.calendar.tz,
        site_ids=_split(sites),
    )
    _write(table, out)


def _split(text: str | None) -> list[str] | None:
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _write(table: pa.Table, out: Path | None) -> None:
    if out is None:
        buffer = pa.BufferOutputStream()
        pacsv.write_csv(table, buffer)
        typer.echo(buffer.getvalue().to_pybytes().decode(), nl=False)
    elif out.suffix == ".parquet":
        pq.write_table(table, out, compression="zstd")
        err_console.print(f"wrote {table.num_rows:,} rows to {out}")
    else:
        pacsv.write_csv(table, out)
        err_console.print(f"wrote {table.num_rows:,} rows to {out}")
