"""``urbanpulse privacy ...``: ingest smart-card taps, noised releases, budget, utility.

Thin commands over :mod:`urbanpulse.privacy`. No output ever holds a card number: the
domain functions return pseudonyms and aggregates only.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from urbanpulse.access.audit import record_event
from urbanpulse.access.service import build_access_store
from urbanpulse.cli.common import (
    JSON_OPTION,
    LAKE_OPTION,
    build_group,
    console,
    err_console,
    get_settings,
    product_errors,
)
from urbanpulse.errors import ConfigurationError
from urbanpulse.privacy.budget import read_budget
from urbanpulse.privacy.ingest import ingest_taps, purge_expired_taps
from urbanpulse.privacy.keys import KeyRing, check_key_dir
from urbanpulse.privacy.release import (
    compute_bounded_counts,
    compute_utility_report,
    release_noisy_counts,
)
from urbanpulse.privacy.taps import SHENZHEN_TAPS, read_tap_mapping
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.engines import get_engine
from urbanpulse.store.maintenance import open_lake

privacy_app = build_group(
    help="Personal mobility data: pseudonymised smart-card taps, suppressed and noised counts.",
    no_args_is_help=True,
)
_console, _err, _product_errors = console, err_console, product_errors
PERIOD_OPTION = typer.Option(
    None, "--period", help="Key period (month, e.g. 2018-09) [default: the latest stored]."
)


def _settings(lake: Path | None) -> Settings:
    return get_settings(lake)


@privacy_app.command("ingest-taps")
def ingest_taps_command(
    paths: list[Path] = typer.Argument(
        ..., help="Tap CSV files (Shenzhen Tong layout by default)."
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", "-m", help="Tap mapping (TOML) for other layouts."
    ),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Pseudonymise and store smart-card taps; rebuild public counts and flows.

    Card ids are replaced by keyed pseudonyms (monthly keys in URBANPULSE_PRIVACY_KEY_DIR)
    before anything is stored; bad rows go to quarantine with the card column masked.
    """
    with _product_errors():
        settings = _settings(lake)
        check_key_dir(settings.privacy_key_dir, settings.lake_path)
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ConfigurationError(f"no such file: {', '.join(missing)}")
        summary = ingest_taps(
            open_lake(settings),
            paths,
            read_tap_mapping(mapping) if mapping else SHENZHEN_TAPS,
            KeyRing(settings.privacy_key_dir),
            k=settings.privacy_k,
            period_minutes=settings.privacy_period_minutes,
            timezone=settings.local_timezone,
            tap_minutes=settings.privacy_tap_minutes,
            station_counts=settings.privacy_station_counts,
            retention_days=settings.privacy_tap_retention_days,
        )
    if as_json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    table = Table(title="Tap ingest", show_header=False)
    for name, value in summary.to_dict().items():
        table.add_row(name.replace("_", " "), _show(value))
    _console.print(table)


@privacy_app.command("purge")
def purge_command(lake: Path | None = LAKE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Delete the trip-level taps of months past their retention (published counts stay).

    A month's taps are kept URBANPULSE_PRIVACY_TAP_RETENTION_DAYS after it ends, counted
    to the newest stored tap, or to URBANPULSE_CLOCK when it is later.
    """
    with _product_errors():
        settings = _settings(lake)
        today = settings.clock.date() if settings.clock else None
        deleted = purge_expired_taps(
            open_lake(settings), retention_days=settings.privacy_tap_retention_days, today=today
        )
        if deleted:
            record_event(
                build_access_store(settings), actor=f"cli:{getpass.getuser()}", scope="admin",
                method="CLI", path="privacy purge", status=0, detail=" ".join(deleted),
            )  # fmt: skip
    if as_json:
        print(json.dumps({"key_periods_deleted": deleted}))
        return
    _console.print(
        f"deleted the taps of {', '.join(deleted)}" if deleted else "no month is past its retention"
    )


@privacy_app.command("release")
def release_command(
    epsilon: float = typer.Option(..., "--epsilon", help="Privacy loss this release spends."),
    period: str | None = PERIOD_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Write the noised counts as CSV."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Release noised station counts of one key period, charged to its epsilon budget."""
    with _product_errors():
        settings = _settings(lake)
        store = open_lake(settings)
        key_period = period or _get_latest_period(store)
        counts = release_noisy_counts(
            store,
            engine=get_engine(settings),
            key_period=key_period,
            epsilon=epsilon,
            budget=settings.privacy_epsilon_budget,
            k=settings.privacy_k,
            max_taps=settings.privacy_max_taps_per_card,
            period_minutes=settings.privacy_period_minutes,
            timezone=settings.local_timezone,
        )
        # The spend is in the lake's history already; the audit chain holds it too, so
        # rewinding the lake to reset a budget leaves a sealed trace elsewhere.
        record_event(
            build_access_store(settings), actor=f"cli:{getpass.getuser()}", scope="admin",
            method="CLI", path=f"privacy release {key_period}", status=0,
            detail=f"epsilon={epsilon:g} dataset=tap_counts",
        )  # fmt: skip
    if out is not None:
        counts.to_csv(out, index=False)
    shown = int((~counts.suppressed).sum())
    result = {"period": key_period, "epsilon": epsilon, "cells": len(counts), "shown": shown}
    if as_json:
        print(json.dumps(result))
        return
    _console.print(
        f"released {len(counts):,} cells of {key_period} at epsilon {epsilon:g}: "
        f"{shown:,} shown, {len(counts) - shown:,} suppressed below k",
        soft_wrap=True,
    )


@privacy_app.command("report")
def report_command(
    period: str | None = PERIOD_OPTION,
    epsilons: str = typer.Option("0.1,0.5,1,2,5", "--epsilons", help="Epsilons to compare."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Noise draws per epsilon."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Utility report: error of noised station counts against epsilon (spends no budget).

    The figures come from true counts; they are for the data steward, not for release.
    """
    with _product_errors():
        settings = _settings(lake)
        store = open_lake(settings)
        key_period = period or _get_latest_period(store)
        counts = compute_bounded_counts(
            store,
            engine=get_engine(settings),
            key_period=key_period,
            max_taps=settings.privacy_max_taps_per_card,
            period_minutes=settings.privacy_period_minutes,
            timezone=settings.local_timezone,
        )
        report = compute_utility_report(
            counts,
            epsilons=_parse_epsilons(epsilons),
            max_taps=settings.privacy_max_taps_per_card,
            k=settings.privacy_k,
            repeats=repeats,
        )
    if as_json:
        print(json.dumps({"period": key_period, "rows": report.to_dict("records")}))
        return
    title = f"Utility of noised station counts, {key_period} (k={settings.privacy_k})"
    _console.print(_build_table(report, title))


@privacy_app.command("budget")
def budget_command(lake: Path | None = LAKE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Epsilon spent per dataset and key period, and what is left of the budget."""
    with _product_errors():
        settings = _settings(lake)
        spent = read_budget(open_lake(settings), budget=settings.privacy_epsilon_budget)
    if as_json:
        print(json.dumps(spent.to_dict("records")))
        return
    if spent.empty:
        _console.print("no noised release yet: no epsilon spent")
        return
    _console.print(_build_table(spent, "Privacy budget (epsilon)"))


def _get_latest_period(lake: Lake) -> str:
    periods = sorted({f.partition.get("key_period", "") for f in lake.get_files("taps")} - {""})
    if not periods:
        raise ConfigurationError(f"no taps in {lake.root}; run 'urbanpulse privacy ingest-taps'")
    return periods[-1]


def _parse_epsilons(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigurationError(f"--epsilons takes numbers like 0.1,1,5, not {text!r}") from None
    if not values or min(values) <= 0:
        raise ConfigurationError("--epsilons must list positive numbers")
    return values


def _build_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column.replace("_", " "), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(_show(v) for v in row))
    return table


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v:,}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    return str(value)
