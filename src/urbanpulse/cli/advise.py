"""`urbanpulse advise FROM TO` and `urbanpulse simulate ...`: the advice service from the
command line (mounted by the main CLI)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from babel.dates import format_date
from rich.console import Console
from rich.table import Table

from urbanpulse.advise.simulation import (
    COMPLIANCE_RATES,
    POLICIES,
    Scenario,
    check_targets,
    simulate_spreading,
)
from urbanpulse.cli.common import LAKE_OPTION, build_group, get_context, print_error
from urbanpulse.i18n import get_local_names, get_locale, ngettext
from urbanpulse.i18n import gettext as _
from urbanpulse.twin.scenario import build_demo_scenario

simulate_app = build_group(
    help="Simulate the advice service on the demo city cluster.", no_args_is_help=True
)


@simulate_app.command("spreading")
def spreading(
    rates: str = typer.Option(
        ",".join(f"{r:g}" for r in COMPLIANCE_RATES),
        help="Compliance rates to run: shares of commuters who ask and follow the advice.",
    ),
    seed: int = typer.Option(2026, help="Seed of the demo city and of every random draw."),
    weeks: int = typer.Option(2, help="Weeks of demo observations the load profile is built from."),
    group_size: int = typer.Option(40, help="Riders each simulated commuter stands for."),
    demand: float = typer.Option(
        1.0,
        help="Scale the usual morning load, e.g. 1.4 for a day whose peak overfills the trains.",
    ),
    lake: Path | None = typer.Option(
        None, help="Read the station load profiles from this lake instead of generating them."
    ),
    chart: Path = typer.Option(
        Path("spreading.html"), help="Standalone HTML chart to write (plotly.js inlined)."
    ),
) -> None:
    """Does advice ease the morning peak or move it? No advice, naive advice and
    UrbanPulse's spreading advice at several compliance rates, on the busiest
    station of Beijing Subway Line 1. Prints a table, writes a chart and ends with one
    JSON line of figures and targets (30 % compliance: peak cut >= 15 %, no slot newly
    over capacity)."""

    console = Console(stderr=True)
    values = tuple(float(r) for r in rates.split(",") if r.strip())
    with console.status("Building the demo morning and running the policies..."):
        context = get_context(lake) if lake is not None else None
        scenario = build_demo_scenario(
            seed=seed,
            weeks=weeks,
            lake=context.lake if context else None,
            demand=demand,
            engine=context.engine if context else None,
        )
        table, loads = simulate_spreading(scenario, rates=values, group_size=group_size, seed=seed)
    Console().print(build_rich_table(table, scenario))
    write_chart(chart, table, loads, scenario)
    console.print(f"Chart written to {chart}")
    target_rate = 0.3 if any(np.isclose(values, 0.3)) else values[-1]
    summary = {
        "site_id": scenario.site_id,
        "station": scenario.name_en,
        "capacity_per_15min": scenario.capacity,
        "seed": seed,
        "demand": demand,
        "results": table.round(4).to_dict(orient="records"),
        "targets": check_targets(table, rate=target_rate),
        "chart": str(chart),
    }
    print(json.dumps(summary, ensure_ascii=False))


def build_rich_table(table: pd.DataFrame, scenario: Scenario) -> Table:
    """The results as a Rich table, one row per compliance rate and policy."""
    out = Table(
        title=f"Morning peak at {scenario.name_en} ({scenario.site_id}), eastbound, "
        f"capacity {scenario.capacity:,.0f} riders per 15 min",
        caption="peak: highest load against capacity; >cap: slots over capacity; new>cap: "
        "of those, slots under capacity without advice; cut: peak cut against no advice; "
        "shift: mean minutes moved from the preferred time; asked: simulated requests",
    )
    for name in ("comply", "policy", "peak", "at", "peak/mean", ">cap", "new>cap", "cut",
                 "shift", "asked"):  # fmt: skip
        out.add_column(name, justify="left" if name == "policy" else "right", no_wrap=True)
    for row in table.itertuples():
        out.add_row(
            f"{row.compliance:.0%}",
            str(row.policy),
            f"{row.peak_load:.0%}",
            str(row.peak_slot),
            f"{row.peak_to_mean:.2f}",
            str(row.slots_over_capacity),
            str(row.new_slots_over_capacity),
            f"{row.peak_cut:+.1%}",
            f"{row.mean_shift_min:.1f}m",
            str(row.requests),
            end_section=row.policy == POLICIES[-1],
        )
    return out


def write_chart(
    path: Path,
    table: pd.DataFrame,
    loads: dict[tuple[str, float], np.ndarray],
    scenario: Scenario,
) -> None:
    """Two panels: load by slot at 30 % compliance, and peak load against compliance."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rates = sorted(table["compliance"].unique())
    shown = 0.3 if any(np.isclose(rates, 0.3)) else rates[-1]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"Load by departure slot at {shown:.0%} compliance", "Peak load"),
    )
    labels = list(scenario.slots.strftime("%H:%M"))
    for policy in POLICIES:
        fig.add_trace(
            go.Scatter(x=labels, y=loads[(policy, shown)], name=policy, legendgroup=policy),
            row=1,
            col=1,
        )
        rows = table[table["policy"] == policy]
        fig.add_trace(
            go.Scatter(
                x=rows["compliance"], y=rows["peak_load"], name=policy, legendgroup=policy,
                showlegend=False, mode="lines+markers",
            ),
            row=1,
            col=2,
        )  # fmt: skip
    for col in (1, 2):
        fig.add_hline(y=1.0, line_dash="dot", annotation_text="capacity", row=1, col=col)
    fig.update_yaxes(title_text="load against capacity", tickformat=".0%")
    fig.update_xaxes(title_text="compliance", tickformat=".0%", row=1, col=2)
    fig.update_layout(
        title=f"Spreading advice: {scenario.name_en} ({scenario.site_id}), weekday morning",
        template="plotly_white",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # As on the pages (web/static/charts.js): no send-to-cloud button, no cloud URL, no logo link.
    offline = {
        "displaylogo": False,
        "showSendToCloud": False,
        "plotlyServerURL": "",
        "responsive": True,
    }
    fig.write_html(path, include_plotlyjs=True, full_html=True, config=offline)


# -- `urbanpulse advise FROM TO`: the commuter's question from the command line --------

advise_app = build_group()


@advise_app.command("advise")
def advise_command(
    origin: str = typer.Argument(
        help="Where the trip starts: a station id or a Chinese, English or pinyin name."
    ),
    destination: str = typer.Argument(help="Where it ends, on any line of the same network."),
    day: str | None = typer.Option(
        None, "--day", help="Local day, YYYY-MM-DD \\[default: the service's planning day]."
    ),
    window: str = typer.Option(
        "07:00-09:30",
        "--window",
        help="When you may leave (or arrive, with --arrive-by): HH:MM-HH:MM local.",
    ),
    preferred: str | None = typer.Option(
        None, "--preferred", help="When you would rather go, HH:MM \\[default: the window's start]."
    ),
    arrive_by: bool = typer.Option(
        False, "--arrive-by", help="The window is when you want to arrive."
    ),
    route: int = typer.Option(
        0, "--route", min=0, help="Which route: 0 the fastest, 1 and 2 the alternatives."
    ),
    network: str | None = typer.Option(
        None, "--network", help="Look names up on this network only."
    ),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = typer.Option(
        False, "--json", help="Print the advice as JSON (legs, routes, ranked slots)."
    ),
) -> None:
    """When to leave: the journey's legs (changes of line included) and its departure
    slots ranked by predicted crowding, with the recommended time and why. A read: it
    counts neither in load spreading nor in the operator's measured effect."""
    from urbanpulse.advise.routes import resolve_station_pair
    from urbanpulse.advise.service import TripRequest, build_advice_service

    context = get_context(lake)
    service = build_advice_service(context.settings, context.lake)
    try:
        start, end, prefer = parse_window(
            window, preferred, day or service.get_clock().planning_day.isoformat()
        )
    except ValueError as exc:
        print_error(exc)
        raise typer.Exit(code=2) from None
    source, target = resolve_station_pair(context.lake, origin, destination, network_id=network)
    trip = TripRequest(source, target, start, end, prefer, arrive_by=arrive_by, route=route)
    body = service.advise(trip, record=False)
    if as_json:
        print(json.dumps(body, ensure_ascii=False, default=str))
        return
    console = Console()
    # the day planned, in words: a default day (the service's planning day) is a guess
    # the rider must be able to check
    planned = datetime.fromisoformat(str(body["start"]))
    # The weekday in words and the date in figures, which every reader checks alike.
    when = f"{format_date(planned, format='EEEE', locale=get_locale())} {planned:%Y-%m-%d}"
    if day:
        console.print(_("Planned for {day} (as asked)").format(day=when))
    else:
        console.print(
            _("Planned for {day} (the next working day with a morning to plan)").format(day=when)
        )
    console.print(build_legs_table(body))
    console.print(build_slots_table(body))
    console.print(body["message"])


def parse_window(
    window: str, preferred: str | None, day: str
) -> tuple[datetime, datetime, datetime | None]:
    """Naive local datetimes of an 'HH:MM-HH:MM' window on ``day`` (the service reads
    them in the settings' time zone); an end at or before the start is the next day.

    Raises
    ------
    InvalidQueryError
        A malformed window, time or day.
    """
    from urbanpulse.errors import InvalidQueryError

    try:
        first, _, last = window.partition("-")
        base = date.fromisoformat(day)
        start = datetime.combine(base, time.fromisoformat(first.strip()))
        end = datetime.combine(base, time.fromisoformat(last.strip()))
        prefer = (
            None if preferred is None else datetime.combine(base, time.fromisoformat(preferred))
        )
    except ValueError:
        raise InvalidQueryError(
            f"--window takes HH:MM-HH:MM and --day YYYY-MM-DD, not {window!r} on {day!r}"
        ) from None
    if end <= start:
        end += timedelta(days=1)
    return start, end, prefer


def build_legs_table(body: dict[str, object]) -> Table:
    """The journey's legs as a Rich table."""
    changes = int(body["transfers"])  # type: ignore[call-overload]
    words = ngettext("{n} change", "{n} changes", changes).format(n=changes)
    legs = body["legs"]
    # The asked stations by their legs' names, which the data gives in both languages.
    ends = (
        (get_name(legs[0], "from_name"), get_name(legs[-1], "to_name"))  # type: ignore[index]
        if legs
        else (get_name(body, "origin_name"), get_name(body, "destination_name"))
    )
    table = Table(title=f"{ends[0]} → {ends[1]}: {words}")
    for name in (_("line"), _("from"), _("to"), _("leaves"), _("arrives"), _("walk + wait")):
        table.add_column(name)
    for leg in body["legs"]:  # type: ignore[attr-defined]
        table.add_row(
            get_name(leg, "line_name"),
            get_name(leg, "from_name"),
            get_name(leg, "to_name"),
            leg["departure"][11:16],
            leg["arrival"][11:16],
            _("{walk} + {wait} min").format(
                walk=f"{leg['walk_minutes']:g}", wait=f"{leg['wait_minutes']:g}"
            ),
        )
    return table


def get_name(record: dict[str, object], field: str) -> str:
    """A place's or line's name in the command's language (``field``_zh, ``field``_en
    or plain ``field``), else whichever the data has."""
    english = record.get(f"{field}_en") or record.get(field)
    return get_local_names(record.get(f"{field}_zh"), english)[0]


def build_slots_table(body: dict[str, object]) -> Table:
    """The ranked departure slots as a Rich table."""
    table = Table(title=_("Departure slots, best first (crowding = load against capacity)"))
    for name in (_("leave"), _("arrive"), _("minutes"), _("crowding"), "p10-p90", _("why")):
        table.add_column(name)
    for slot in body["slots"]:  # type: ignore[attr-defined]
        crowding = slot["crowding"]
        shown = _("no forecast") if crowding is None else f"{crowding:.0%}"
        band = "" if crowding is None else f"{slot['crowding_p10']:.0%}-{slot['crowding_p90']:.0%}"
        # A slot the journey does not run at has no arrival and no travel time.
        runs = slot["arrival"] is not None
        table.add_row(
            slot["label"],
            slot["arrival"][11:16] if runs else _("no service"),
            f"{slot['travel_minutes']}" if runs else "",
            shown,
            band,
            slot["reason"],
        )
    return table
