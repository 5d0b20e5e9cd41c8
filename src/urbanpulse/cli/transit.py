"""``urbanpulse transit ...``: load transit networks, list them, find stations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from urbanpulse.cli.common import (
    JSON_OPTION,
    LAKE_OPTION,
    build_group,
    console,
    err_console,
    get_context,
    print_error,
)
from urbanpulse.errors import ConfigurationError, UrbanPulseError
from urbanpulse.i18n import N_, get_local_names, ngettext
from urbanpulse.i18n import gettext as _
from urbanpulse.store import Lake

transit_app = build_group(
    help="Transit networks: load GTFS feeds or the Beijing subway file, find stations.",
    no_args_is_help=True,
)
_console, _err = console, err_console
# How a station matched the query, as the stations table says it.
MATCH_WORDS = {
    "exact": N_("exact"),
    "initials": N_("initials"),
    "prefix": N_("start of the name"),
    "substring": N_("part of the name"),
    "fuzzy": N_("one typo away"),
}


def _open_lake(lake: Path | None) -> Lake:
    return get_context(lake).lake


def _fail(exc: UrbanPulseError) -> None:
    print_error(exc)
    raise typer.Exit(code=2)


def get_capacity_overrides(values: list[str]) -> dict[str, float]:
    """'bus=80' options as {mode: capacity}.

    Raises
    ------
    ConfigurationError
        When a value is not MODE=NUMBER.
    """
    overrides: dict[str, float] = {}
    for value in values:
        mode, _, number = value.partition("=")
        try:
            overrides[mode.strip()] = float(number)
        except ValueError:
            raise ConfigurationError(
                f"--capacity takes MODE=PASSENGERS, e.g. bus=80, not {value!r}"
            ) from None
    return overrides


@transit_app.command("load")
def load_command(
    path: Path = typer.Argument(
        ..., help="GTFS feed (zip or folder) or the Beijing subway folder / subway.json."
    ),
    network_id: str | None = typer.Option(
        None, "--network-id", help="Network id \\[default: from the file or folder name]."
    ),
    capacity: list[str] = typer.Option(
        [], "--capacity", help="Vehicle capacity per mode, e.g. --capacity bus=90 (repeatable)."
    ),
    walk_metres: float = typer.Option(
        250.0,
        "--walk-metres",
        min=10.0,
        max=2000.0,
        help="This network's walk radius between stops of other names (one name: twice it).",
    ),
    transfers: Path | None = typer.Option(
        None,
        "--transfers",
        help="CSV of changes to add, correct or forbid: from,to,walk_minutes (stop ids or "
        "names; minutes, empty to estimate, or none).",
    ),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Load a transit network into the lake; bad rows go to quarantine with file and line.

    Loading the same feed again with the same options stores nothing new.
    """
    from urbanpulse.transit.loading import load_network

    try:
        overrides = get_capacity_overrides(capacity)
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=_err, transient=True) as progress:
            task = progress.add_task(f"loading {path.name}", total=None)

            def report(step: str, done: int, total: int) -> None:
                progress.update(
                    task, description=f"{path.name}: {step}", completed=done, total=total
                )

            summary = load_network(
                _open_lake(lake), path, network_id=network_id, capacities=overrides,
                progress=report, walk_metres=walk_metres, transfers_file=transfers,
            )  # fmt: skip
    except UrbanPulseError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    _console.print(_summary_table(summary))
    if summary.missing:
        missing = ", ".join(summary.missing)
        _console.print(f"[yellow]{_('missing from the source:')}[/yellow] {missing}")
    for note in summary.notes:
        _console.print(_("note: {note}").format(note=note))


def _summary_table(summary) -> Table:  # type: ignore[no-untyped-def]
    title = f"{summary.network_id}: {summary.name or summary.source}"
    if summary.already_loaded:
        title += " " + _("(already loaded: nothing new stored)")
    table = Table(title=title, show_header=False)
    table.add_column(_("what"))
    table.add_column(_("rows"), justify="right")
    for name, rows in summary.stored.items():
        table.add_row(_("stored {table}").format(table=name), f"{rows:,}")
    table.add_row(_("quarantined"), f"{summary.quarantined_total:,}")
    for source, rows in sorted(summary.quarantined.items()):
        table.add_row(f"  {source}", f"{rows:,}")
    for reason, rows in sorted(summary.reasons.items()):
        table.add_row(f"  {reason}", f"{rows:,}")
    return table


@transit_app.command("networks")
def networks_command(lake: Path | None = LAKE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List the transit networks in the lake."""
    from urbanpulse.store.networks import read_networks

    try:
        frame = read_networks(_open_lake(lake))
    except UrbanPulseError as exc:
        _fail(exc)
        return
    columns = [
        "network_id",
        "name",
        "kind",
        "source",
        "timezone",
        "start_date",
        "end_date",
        "missing",
    ]
    rows = [
        {c: (None if r[c] is None or r[c] != r[c] else str(r[c])) for c in columns}
        for r in frame.to_dict("records")
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=_("Transit networks ({count})").format(count=len(rows)))
    headers = (_("network id"), _("name"), _("kind"), _("source"), _("time zone"),
               _("first day"), _("last day"), _("missing"))  # fmt: skip
    for header in headers:
        table.add_column(header)
    for row in rows:
        table.add_row(*[row[c] or "" for c in columns])
    _console.print(table)


@transit_app.command("stations")
def stations_command(
    query: str = typer.Argument(..., help="Part of a Chinese or English name or its pinyin."),
    network: str | None = typer.Option(None, "--network", help="Only this network id."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="Results to show."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Find stations by Chinese or English name or pinyin (partial, any case)."""
    from dataclasses import asdict

    from urbanpulse.transit.search import find_stations

    try:
        found = find_stations(_open_lake(lake), query, network_id=network, limit=limit)
    except UrbanPulseError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps([asdict(m) for m in found], ensure_ascii=False))
        return
    table = Table(
        title=_("Stations matching {query} ({count})").format(query=repr(query), count=len(found))
    )
    for column in (
        _("name"),
        _("other name"),
        _("city"),
        _("network"),
        _("lines"),
        _("sites"),
        _("match"),
    ):
        table.add_column(column)
    for m in found:
        table.add_row(
            *get_local_names(m.name_zh, m.name_en),
            get_local_names(m.city_zh, m.city_en)[0],
            m.network_id or "",
            ", ".join(m.lines),
            str(len(m.site_ids)),
            _(MATCH_WORDS.get(m.match, m.match)),
        )
    _console.print(table)


@transit_app.command("journey")
def journey_command(
    origin: str = typer.Argument(..., help="Where you start: a station id or name."),
    destination: str = typer.Argument(..., help="Where you are going: a station id or name."),
    day: str = typer.Option(..., "--day", help="Service day, YYYY-MM-DD."),
    at: str = typer.Option("08:00", "--at", help="When you are ready to leave, HH:MM local."),
    network: str | None = typer.Option(None, "--network", help="Only this network id."),
    lake: Path | None = LAKE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The earliest arrival on the timetable (RAPTOR over the trips of that day, on every
    network loaded from a GTFS feed with stop times, changing between them where they
    meet): each ride with its trip and times."""
    from datetime import date

    from urbanpulse.advise.routes import resolve_station_pair
    from urbanpulse.errors import InvalidQueryError
    from urbanpulse.transit.network import read_transit_network
    from urbanpulse.transit.raptor import plan_pareto, read_timetable, read_timetabled_networks

    store = _open_lake(lake)
    try:
        service_day = date.fromisoformat(day)
        hours, minutes = (int(part) for part in at.split(":"))
    except ValueError:
        raise InvalidQueryError(
            f"give --day as YYYY-MM-DD and --at as HH:MM, not {day!r} {at!r}"
        ) from None
    source, target = resolve_station_pair(store, origin, destination, network_id=network)
    transit = read_transit_network(store)
    ends = [transit.platforms.get(site, (site,)) for site in (source, target)]
    stations = transit.stations.set_index("site_id")
    # Every timetabled network at once (a journey may change between two feeds where
    # they meet), unless one is named.
    timetabled = {network} if network else read_timetabled_networks(store)
    frontier = plan_pareto(
        read_timetable(store, timetabled, service_day),
        ends[0],
        ends[1],
        hours * 3600 + minutes * 60,
    )
    if not frontier:
        raise InvalidQueryError(
            f"no journey leaves after {at} on {day} that reaches {destination!r}"
        )
    journey = frontier[-1]

    line_names = transit.lines.drop_duplicates("line_id").set_index("line_id")

    def name(site_id: str) -> str:
        return get_local_name(stations.loc[site_id], default=site_id)

    def line_name(line_id: str) -> str:
        if line_id not in line_names.index:
            return line_id
        return get_local_name(line_names.loc[line_id], default=line_id)

    def clock(seconds: float) -> str:
        return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"

    def describe(found) -> dict:  # type: ignore[no-untyped-def]
        rides = [{"trip_id": r.trip_id, "line_id": r.line_id, "from": r.board, "to": r.alight,
                  "departs": clock(r.departs_s), "arrives": clock(r.arrives_s)} for r in found.rides]  # fmt: skip
        return {
            "arrives": clock(found.arrives_s),
            "minutes": round(found.minutes, 1),
            "rides": rides,
        }

    if as_json:
        # fewer rides that arrive later: the Pareto set of (arrival, rides), fewest first
        fewer = [describe(found) for found in frontier[:-1]]
        print(json.dumps({**describe(journey), "fewer_rides": fewer}, ensure_ascii=False))
        return
    rides = len(journey.rides)
    table = Table(
        title=_("{origin} → {destination}: arrive {arrives} ({minutes} min, {rides})").format(
            origin=name(ends[0][0]), destination=name(journey.destination),
            arrives=clock(journey.arrives_s), minutes=f"{journey.minutes:.0f}",
            rides=ngettext("{n} ride", "{n} rides", rides).format(n=rides),
        )
    )  # fmt: skip
    for column in (_("line"), _("trip"), _("from"), _("leaves"), _("to"), _("arrives")):
        table.add_column(column)
    for ride in journey.rides:
        table.add_row(line_name(ride.line_id), ride.trip_id, name(ride.board),
                      clock(ride.departs_s), name(ride.alight), clock(ride.arrives_s))  # fmt: skip
    _console.print(table)
    for found in frontier[:-1]:
        changes = len(found.rides) - 1
        words = ngettext("{n} change", "{n} changes", changes).format(n=changes)
        _console.print(
            _("or with {changes}: arrive {arrives} ({minutes} min)").format(
                changes=words, arrives=clock(found.arrives_s), minutes=f"{found.minutes:.0f}"
            )
        )


def get_local_name(row: Any, *, default: str) -> str:
    """A station's or line's name (``name_zh``, ``name_en``) in the command's language,
    else the other, else ``default``."""
    return get_local_names(row.get("name_zh"), row.get("name_en"))[0] or default
