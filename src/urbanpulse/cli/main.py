"""The ``urbanpulse`` command: thin commands over the domains.

Each command reads settings (``URBANPULSE_*`` environment variables or options), calls
one domain function and shows the result with Rich. Errors of the product end the
command with exit code 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from urbanpulse.cli.common import (
    ENGINE_OPTION,
    LAKE_OPTION,
    build_group,
    console,
    err_console,
    get_cli_locale,
    get_context,
    get_settings,
    print_error,
    product_errors,
    progress_bar,
)
from urbanpulse.i18n import get_local_names, use_locale
from urbanpulse.i18n import gettext as _
from urbanpulse.ingest.quarantine import translate_reason
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

app = build_group(
    help="UrbanPulse: a city cluster's data, turned into tools for the public, businesses and government.",
    no_args_is_help=True,
)
lake_app = build_group(help="Inspect and maintain the Parquet lake.", no_args_is_help=True)
app.add_typer(lake_app, name="lake")


@app.callback()
def _main(
    ctx: typer.Context,
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="Engine of the heavy queries (profiles, periods, rollups, the backtest panel): "
        "duckdb or spark \\[default: URBANPULSE_ENGINE or duckdb].",
    ),
    lang: str | None = typer.Option(
        None,
        "--lang",
        help="Language of advice, reasons and errors: zh_CN or en \\[default: from LANG].",
    ),
) -> None:
    if engine is not None and engine not in ("duckdb", "spark"):
        print_error(f"unknown engine {engine!r}; use duckdb or spark")
        raise typer.Exit(code=2)
    # The option is the setting: every command's get_settings() reads it, and only
    # while this command runs.
    token = ENGINE_OPTION.set(engine)
    ctx.call_on_close(lambda: ENGINE_OPTION.reset(token))
    # Advice, its reasons and product errors speak the shell's language (the words of
    # tables and summaries printed here stay English).
    ctx.with_resource(use_locale(get_cli_locale(lang, dict(os.environ))))


def _settings(lake: Path | None = None) -> Settings:
    return get_settings(lake)


def _open_lake(lake: Path | None) -> Lake:
    return get_context(lake).lake


_product_errors = product_errors
_progress_bar = progress_bar


# -- ingest and quarantine -----------------------------------------------------------------


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given, and the CSV, Parquet and Excel files inside given folders."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            kinds = ("*.csv", "*.parquet", "*.xlsx", "*.xls")
            found += sorted(p for kind in kinds for p in path.rglob(kind))
        else:
            found.append(path)
    return found


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(
        ..., help="Files or folders (CSV, Parquet, Excel) to ingest."
    ),
    mapping: Path = typer.Option(..., "--mapping", "-m", help="Mapping file (TOML or YAML)."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Ingest files into the lake through a mapping; bad rows go to quarantine.

    Re-running the same files stores nothing new. The summary counts rows read,
    observations stored, duplicates skipped, missing cells and quarantined rows by
    reason.
    """
    from urbanpulse.ingest import ingest_files, read_mapping

    with _product_errors():
        spec = read_mapping(mapping)
        files = _expand(paths)
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            raise typer.BadParameter(f"no such file: {', '.join(missing)}", param_hint="PATHS")
        if not files:
            raise typer.BadParameter("no CSV, Parquet or Excel files found", param_hint="PATHS")
        with _progress_bar("ingest") as report:
            summary = ingest_files(_open_lake(lake), files, spec, progress=report)
    if as_json:
        console.print_json(json.dumps(summary.to_dict()))
    else:
        console.print(_summary_table(summary))
    if summary.files_rejected:
        # A whole file refused is a mistake of the mapping or the source, not bad rows:
        # scripts and schedulers must see it (the rest of the files were ingested).
        print_error(
            f"{summary.files_rejected} of {summary.files} files were rejected whole "
            "(see 'urbanpulse quarantine'); fix the mapping or the files and ingest again"
        )
        raise typer.Exit(1)


def _summary_table(summary) -> Table:
    table = Table(title=_("Ingest summary"), show_header=False)
    table.add_column(_("what"))
    table.add_column(_("count"), justify="right")
    table.add_row(_("files"), f"{summary.files:,}")
    if summary.files_already_ingested:
        table.add_row("  " + _("of which ingested before"), f"{summary.files_already_ingested:,}")
    table.add_row(_("rows read"), f"{summary.rows_read:,}")
    table.add_row(_("observations stored"), f"{summary.observations_stored:,}")
    table.add_row(_("duplicates skipped"), f"{summary.duplicates_skipped:,}")
    table.add_row(_("missing cells (kept as missing)"), f"{summary.missing_cells:,}")
    table.add_row(_("blank lines"), f"{summary.blank_lines:,}")
    table.add_row(_("new sites"), f"{summary.new_sites:,}")
    if summary.files_rejected:
        table.add_row(_("files rejected whole"), f"{summary.files_rejected:,}")
    table.add_row(_("quarantined"), f"{summary.quarantined_total:,}")
    for reason, count in sorted(summary.quarantined.items()):
        table.add_row(f"  {translate_reason(reason)}", f"{count:,}")
    return table


@app.command()
def quarantine(
    reason: str | None = typer.Option(None, help="Only reasons containing this text."),
    source: str | None = typer.Option(None, help="Only sources whose path contains this text."),
    limit: int = typer.Option(50, min=1, help="Rows to show (export writes all matching rows)."),
    export: Path | None = typer.Option(
        None, help="Write matching rows to a .csv or .parquet file."
    ),
    lake: Path | None = LAKE_OPTION,
) -> None:
    """List quarantined rows with reason, source and line, or export them."""
    import pandas as pd

    from urbanpulse.store import read_quarantine

    with _product_errors():
        rows = read_quarantine(
            _open_lake(lake), reason=reason, source=source, limit=None if export else limit
        )
    if export:
        if export.suffix.lower() == ".parquet":
            rows.to_parquet(export, index=False)
        else:
            rows.to_csv(export, index=False)
        console.print(
            _("wrote {count} quarantined rows to {path}").format(
                count=f"{len(rows):,}", path=export
            )
        )
        return
    if rows.empty:
        console.print(
            _("quarantine is empty for that filter")
            if reason or source
            else _("quarantine is empty")
        )
        return
    table = Table(title=_("Quarantined rows (showing {count})").format(count=f"{len(rows):,}"))
    for column in (_("source"), _("line number"), _("column"), _("reason"), _("raw text")):
        table.add_column(column, overflow="fold")
    for row in rows.itertuples():
        # A file-level row (a file that could not be read at all) has no line, column or
        # raw text: missing values, which pandas may hold as pd.NA.
        line = "" if pd.isna(row.line) else str(int(row.line))
        table.add_row(
            Path(str(row.source)).name,
            line,
            "" if pd.isna(row.column_name) else str(row.column_name),
            translate_reason(str(row.reason)),
            "" if pd.isna(row.raw) else str(row.raw)[:80],
        )
    console.print(table)


# -- catalogue, sites, profiles ---------------------------------------------------------------


@app.command()
def cities() -> None:
    """List the region's cities with Chinese and English names and 2020 population."""
    from urbanpulse.catalog import get_cities

    table = Table(title=_("Beijing-Tianjin-Hebei city cluster"))
    for column in (_("code"), _("name"), _("other name"), _("area")):
        table.add_column(column)
    table.add_column(_("population 2020"), justify="right")
    for city in get_cities(_settings().region):
        names = get_local_names(city.name_zh, city.name_en)
        table.add_row(city.code, *names, city.area, f"{city.population_2020:,}")
    console.print(table)


@app.command()
def sites(
    kind: str | None = typer.Option(None, help="Only this kind, e.g. metro_station, air_monitor."),
    city: str | None = typer.Option(None, help="Only this city (code, English or Chinese name)."),
    lake: Path | None = LAKE_OPTION,
) -> None:
    """List the sites in the lake."""
    from urbanpulse.catalog import get_city
    from urbanpulse.store import read_sites

    with _product_errors():
        code = get_city(city).code if city else None
        found = read_sites(_open_lake(lake), kind=kind, city_code=code)
    table = Table(title=_("Sites ({count})").format(count=f"{len(found):,}"))
    for column in (_("site id"), _("kind"), _("name"), _("other name"), _("city"), _("capacity")):
        table.add_column(column)
    for row in found.itertuples():
        capacity = (
            "" if row.capacity != row.capacity or row.capacity is None else f"{row.capacity:,.0f}"
        )
        table.add_row(
            row.site_id,
            row.kind,
            *get_local_names(row.name_zh, row.name_en),
            row.city_code or "",
            capacity,
        )
    console.print(table)


@app.command()
def profile(
    site_id: str = typer.Argument(..., help="Site id, e.g. bjaq-Dongsi."),
    metric: str = typer.Option(..., "--metric", help="Metric code, e.g. pm25 or boardings."),
    period: int = typer.Option(15, "--period", help="Period length in minutes (5, 15, 60...)."),
    day_type: str | None = typer.Option(None, "--day-type", help="weekday, weekend or holiday."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
    lake: Path | None = LAKE_OPTION,
) -> None:
    """Show a site's period profile: mean, p50 and p90 by day type and period of day."""
    from urbanpulse.forecast.profiles import compute_profile

    context = get_context(lake)
    with _product_errors():
        table = compute_profile(
            context.lake,
            site_id,
            metric,
            period_minutes=period,
            tz=context.calendar.tz,
            country=context.calendar.country,
            engine=context.engine,
        )
    if day_type:
        table = table[table["day_type"] == day_type]
    if as_csv:
        typer.echo(table.to_csv(index=False), nl=False)
        return
    shown = Table(title=f"{site_id} {metric}: profile by {period}-minute period (local time)")
    for column in ("day_type", "period_label", "mean", "p50", "p90", "n"):
        shown.add_column(
            column, justify="left" if column in ("day_type", "period_label") else "right"
        )
    for row in table.itertuples():
        shown.add_row(
            row.day_type,
            row.period_label,
            f"{row.mean:.2f}",
            f"{row.p50:.2f}",
            f"{row.p90:.2f}",
            str(row.n),
        )
    console.print(shown)


# -- lake maintenance -----------------------------------------------------------------------


@lake_app.command("info")
def lake_info(lake: Path | None = LAKE_OPTION) -> None:
    """Show the lake's version and the size of each table."""
    from urbanpulse.store.lake import TABLES

    opened = _open_lake(lake)
    table = Table(
        title=f"Lake {opened.root} (version {opened.version}, "
        f"opened from checkpoint {opened.checkpoint_version or 'none'})"
    )
    for column in ("table", "files", "rows"):
        table.add_column(column, justify="right" if column != "table" else "left")
    for name in TABLES:
        files = opened.get_files(name)
        table.add_row(name, f"{len(files):,}", f"{sum(f.rows for f in files):,}")
    console.print(table)


@lake_app.command("history")
def lake_history(
    limit: int = typer.Option(20, help="Commits to show, newest first."),
    lake: Path | None = LAKE_OPTION,
) -> None:
    """Show the commit log: what each write added, newest first."""
    entries = _open_lake(lake).get_history()[::-1][:limit]
    table = Table(title=_("Commits"))
    for column in (
        _("committed at"),
        _("operation"),
        _("files added"),
        _("rows added"),
        _("files removed"),
    ):
        table.add_column(column)
    for entry in entries:
        rows = sum(item["rows"] for item in entry["added"])
        table.add_row(
            entry["committed_at"][:19],
            entry["operation"],
            str(len(entry["added"])),
            f"{rows:,}",
            str(len(entry["removed"])),
        )
    console.print(table)


@lake_app.command("vacuum")
def lake_vacuum(lake: Path | None = LAKE_OPTION) -> None:
    """Delete files that no commit made visible (left by an interrupted write) and files
    replaced longer ago than URBANPULSE_VACUUM_GRACE_MINUTES (readers may hold newer ones)."""
    from datetime import timedelta

    minutes = _settings(lake).vacuum_grace_minutes
    with _product_errors():
        removed = _open_lake(lake).vacuum(grace=timedelta(minutes=minutes))
    console.print(
        f"removed {len(removed):,} unpublished or replaced files "
        f"(files replaced less than {minutes:g} minutes ago are kept)"
    )


@lake_app.command("compact")
def lake_compact(
    min_files: int | None = typer.Option(
        None,
        "--min-files",
        help="Compact a partition once it has this many small files \\[default: URBANPULSE_LAKE_COMPACT_MIN_FILES or 8].",
    ),
    sort_all: bool = typer.Option(
        False, "--all", help="Also rewrite partitions of few files that are not sorted yet."
    ),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Rewrite partitions of many small observation files as few sorted ones.

    Each partition (metric, month) is rewritten sorted by site and time, so one site's
    range reads few row groups. Runs beside writers: files appended meanwhile are kept
    for the next run."""
    from dataclasses import asdict

    from urbanpulse.store.compaction import compact_observations

    settings = _settings(lake)
    with _product_errors():
        opened = _open_lake(lake)
        with _progress_bar("compacting partitions") as report:
            summary = compact_observations(
                opened,
                min_files=min_files or settings.lake_compact_min_files,
                sort_all=sort_all,
                progress=report,
            )
    if as_json:
        console.print_json(json.dumps(asdict(summary)))
        return
    console.print(
        f"compacted {summary.partitions:,} partitions: {summary.files_removed:,} files into "
        f"{summary.files_added:,}, {summary.rows:,} rows sorted by site and time "
        f"({summary.seconds:.1f} s); {summary.partitions_changed_meanwhile:,} changed "
        "meanwhile and were left for the next run"
    )


@lake_app.command("retain")
def lake_retain(
    days: float | None = typer.Option(
        None,
        "--days",
        help="Days of raw observations to keep \\[default: URBANPULSE_LAKE_RAW_RETENTION_DAYS or 400].",
    ),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Roll up observations by hour and day, then remove raw months past the retention.

    Age counts back from each metric's newest observation; a month leaves only in the
    commit that keeps its committed hourly and daily rollups."""
    from dataclasses import asdict

    from urbanpulse.store.retention import compute_rollups, retain_observations

    settings = _settings(lake)
    if not settings.lake_retention and days is None:
        err_console.print(
            "retention is off (URBANPULSE_LAKE_RETENTION=false); pass --days to run it once"
        )
        raise typer.Exit(code=2)
    with _product_errors():
        opened = _open_lake(lake)
        rolled = compute_rollups(opened, timezone=settings.local_timezone)
        summary = retain_observations(
            opened,
            raw_days=days or settings.lake_raw_retention_days,
            timezone=settings.local_timezone,
        )
    if as_json:
        console.print_json(json.dumps({**asdict(summary), "partitions_rolled_up": rolled}))
        return
    removed = ", ".join(summary.partitions_removed) or "none"
    console.print(
        f"rolled up {rolled + summary.partitions_rolled_up:,} partitions; removed "
        f"{summary.rows_removed:,} raw observations of months past the retention ({removed}); "
        "their hourly and daily rollups stay"
    )


@lake_app.command("checkpoint")
def lake_checkpoint(lake: Path | None = LAKE_OPTION) -> None:
    """Write a checkpoint of the live files now, so opening the lake starts from it."""
    with _product_errors():
        opened = _open_lake(lake)
        with opened.write_lock():
            version = opened.write_checkpoint()
    console.print(f"checkpoint written at version {version:,}" if version else "the lake is empty")


# -- demo and web app ---------------------------------------------------------------------------


@app.command()
def demo(
    lake: Path | None = LAKE_OPTION,
    host: str | None = typer.Option(None, help="Address to listen on \\[default: 127.0.0.1]."),
    port: int | None = typer.Option(None, help="Port to listen on \\[default: 8000]."),
    weeks: int | None = typer.Option(
        None, help="Weeks of 5-minute data to generate \\[default: 8]."
    ),
    seed: int | None = typer.Option(
        None, help="Seed of the synthetic city cluster \\[default: 2026]."
    ),
    serve_app: bool = typer.Option(
        True, "--serve/--no-serve", help="Serve the web app after building."
    ),
    scale: int | None = typer.Option(
        None,
        "--scale",
        min=1,
        help="Build N times the demo's sites instead (10: ~62 million observations at 8 "
        "weeks, 100: ~620 million), in bounded memory, into its own lake "
        "\\[default: <lake>-xN beside the demo's], for benchmarks and sizing; not served.",
    ),
    live: bool = typer.Option(
        False,
        "--live",
        help="Replay the demo's observations with fresh timestamps while serving, through "
        "the MQTT broker (URBANPULSE_MQTT_HOST/PORT), or straight into the lake when none "
        "answers, so the live crowding view moves.",
    ),
    speed: float = typer.Option(
        60.0, "--speed", min=0.001, help="With --live: demo minutes replayed per real minute."
    ),
    steps: int | None = typer.Option(
        None, "--steps", min=1, help="With --live: stop after this many 5-minute steps."
    ),
) -> None:
    """Build the synthetic demo city cluster (first run only) and serve the web app.

    Everything the demo generates is labelled synthetic, in the data and on every page.
    With --live its observations are replayed as if they happened now.
    """
    from urbanpulse.indices.extract import write_province_extract
    from urbanpulse.twin import build_demo, is_demo_built

    settings = _settings(lake)
    updates = {
        k: v
        for k, v in {"host": host, "port": port, "demo_weeks": weeks, "demo_seed": seed}.items()
        if v is not None
    }
    settings = settings.model_copy(update=updates)
    if scale is not None:
        # Built for benchmarks and sizing, not served: it holds observations, sites and
        # indicators only (no transit network for the commuter pages).
        _build_scaled(settings, scale, own_lake=lake is not None)
        console.print(
            f"query it with --lake {settings.lake_path}, or serve it: urbanpulse serve --lake {settings.lake_path}"
        )
        return
    if serve_app:
        check_port_free(settings.host, settings.port)  # before the build, not after it
    opened = _open_lake(settings.lake_path)
    with _product_errors():
        if is_demo_built(opened):
            console.print(f"demo city cluster already in {opened.root}")
            # A demo built before the package shipped real statistics gets them now.
            added = write_province_extract(opened)
            if added:
                console.print(f"added {added:,} real provincial statistics (NBS, census)")
        else:
            with _progress_bar("building demo city cluster") as report:
                summary = build_demo(
                    opened, seed=settings.demo_seed, weeks=settings.demo_weeks, progress=report
                )
            console.print(
                f"built the synthetic demo city cluster in {opened.root}: {summary.sites:,} sites, "
                f"{summary.observations_stored:,} observations from {summary.first_day} to "
                f"{summary.last_day}, {summary.indicators:,} yearly indicator values, "
                f"{sum(summary.quarantined.values()):,} bad rows in quarantine "
                f"({summary.seconds:.0f} s). All of it is synthetic, except "
                f"{summary.real_province_values:,} real provincial statistics (NBS via "
                "techme, census; MIT), shown apart on /monitor."
            )
    if live:
        _replay_live(settings, speed=speed, steps=steps, serve_app=serve_app)
    elif serve_app:
        _serve(settings)


def _replay_live(settings: Settings, *, speed: float, steps: int | None, serve_app: bool) -> None:
    """Replay the demo in a thread while the app is served (or until it ends)."""
    from urbanpulse.twin.replay import start_live_replay

    with _product_errors():
        replay, how = start_live_replay(
            _open_lake(settings.lake_path),
            settings=settings,
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            speed=speed,
            max_steps=steps,
        )
    console.print(how, soft_wrap=True)
    try:
        if serve_app:
            _serve(settings)
            summary = replay.stop()
        else:
            summary = replay.join()
    except KeyboardInterrupt:
        summary = replay.stop()
    if summary is not None:
        console.print(
            f"replayed {summary.steps:,} steps ({summary.observations:,} observations, "
            f"{summary.messages:,} messages) from the demo's {summary.source_start:%Y-%m-%d %H:%M} UTC",
            soft_wrap=True,
        )


def _build_scaled(settings: Settings, scale: int, *, own_lake: bool) -> None:
    """Write the scaled demo into its own lake; ``settings`` then points at it."""
    from urbanpulse.twin.scale import build_scaled_demo

    root = settings.lake_path
    if not own_lake:
        root = root.with_name(f"{root.name}-x{scale}")
    settings.lake_path = root
    opened = _open_lake(root)
    with _product_errors(), _progress_bar(f"building the demo at {scale}x") as report:
        summary = build_scaled_demo(
            opened, scale=scale, seed=settings.demo_seed, weeks=settings.demo_weeks, progress=report
        )
    console.print(
        f"scaled demo ({scale}x) in {opened.root}: {summary.sites:,} sites, "
        f"{summary.observations:,} observations written from {summary.first_day} to "
        f"{summary.last_day} ({summary.chunks_skipped} chunks already there, "
        f"{summary.seconds:.0f} s). All of it is synthetic."
    )


@app.command()
def serve(
    lake: Path | None = LAKE_OPTION,
    host: str | None = typer.Option(None, help="Address to listen on \\[default: 127.0.0.1]."),
    port: int | None = typer.Option(None, help="Port to listen on \\[default: 8000]."),
) -> None:
    """Serve the web app and HTTP API over the lake."""
    settings = _settings(lake)
    updates = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    _serve(settings.model_copy(update=updates))


def _serve(settings: Settings) -> None:
    import uvicorn

    from urbanpulse.api import create_app

    check_port_free(settings.host, settings.port)

    console.print(f"UrbanPulse on http://{settings.host}:{settings.port} (API docs at /docs)")
    console.print(
        "The operator page and closed API routes need a key: "
        "urbanpulse keys issue --scope government --name NAME, then sign in at /sign-in"
    )
    uvicorn.run(create_app(settings), **get_server_options(settings))


def check_port_free(host: str, port: int) -> None:
    """Refuse in one line, with what to do, when another program holds the port (uvicorn
    would log an OSError and exit with no hint)."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            print_error(
                f"port {port} on {host} is in use by another program; choose another with "
                f"--port (or URBANPULSE_PORT), e.g. --port {port + 1}"
            )
            raise typer.Exit(2) from None


def get_server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options from the settings: where to listen, which proxies to believe
    (none by default: uvicorn alone would believe X-Forwarded-For from localhost), how
    many connections to hold, how long an idle one stays and how long a request head may
    take to arrive."""
    from urbanpulse.api.connections import build_log_config, build_timed_protocol

    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        # A key sent in an address is blanked in the access log (access/redaction.py).
        "log_config": build_log_config(),
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or "",
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_seconds,
        # A request head must arrive within header_timeout_seconds (api/connections.py).
        "http": build_timed_protocol(settings.header_timeout_seconds),
        # Live event streams stay open for minutes: on Ctrl-C they get 5 s, then close.
        "timeout_graceful_shutdown": 5,
    }


def _mount_domain_commands() -> None:
    """Commands that live with their domains, mounted here so the CLI stays one tool."""
    from urbanpulse.cli.access import audit_app, keys_app
    from urbanpulse.cli.advise import advise_app, simulate_app
    from urbanpulse.cli.forecast import forecast_app
    from urbanpulse.cli.indices import indices_app
    from urbanpulse.cli.privacy import privacy_app
    from urbanpulse.cli.store import store_app
    from urbanpulse.cli.stream import stream_app
    from urbanpulse.cli.transit import transit_app

    app.add_typer(indices_app, name="indices")
    app.add_typer(forecast_app)  # no name: its `backtest` command sits at the top level
    app.add_typer(simulate_app, name="simulate")
    app.add_typer(advise_app)  # no name: `advise` sits at the top level
    app.add_typer(transit_app, name="transit")
    app.add_typer(privacy_app, name="privacy")
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(stream_app, name="stream")
    app.add_typer(store_app)  # no name: `profiles` and `periods` sit at the top level


_mount_domain_commands()
