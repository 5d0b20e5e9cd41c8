"""A metro's station list: which stations each line serves, in order, and nothing more.

Some operators publish no timetable, only their lines' stations in order (Shenzhen
Metro's list: line number, line name, sequence, station, station code). That places
each station on its lines, an interchange on every line it serves, which is what the
operator's line grids need to lay out counts read at the stations (gate entries and
exits) along a line. It says nothing of run times or service, so the journey planner
leaves these lines out: a journey timed by a guess would be acted on as if it were
true.

The file is CSV in UTF-8, either with a header naming ``line``, ``sequence`` and
``station`` (and optionally ``line_name``), or without one in Shenzhen Metro's layout:
line, line name, sequence, station[, code]. A station's site id is
``<network id>:<station name>``, as smart-card taps name their stations
(:mod:`urbanpulse.privacy.taps`, site prefix ``shenzhen-metro``), so the taps' counts
meet the lines when the network is loaded under the taps' prefix. Rows that cannot be
placed (no line, no station, a sequence that is not a whole number, a station or a
sequence listed twice on one line) go to quarantine with their line in the file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from urbanpulse.catalog.sites import Site
from urbanpulse.errors import SourceError
from urbanpulse.transit.build import NetworkBuild, build_reject
from urbanpulse.transit.names import get_pinyin, get_pinyin_name

__all__ = ["KIND", "build_station_list_network", "is_station_list"]

KIND = "station_list"
# Shenzhen Metro's layout, which has no header row.
HEADERLESS_COLUMNS = ("line", "line_name", "sequence", "station", "code")
REQUIRED = ("line", "sequence", "station")


def is_station_list(path: Path) -> bool:
    """Whether ``path`` is a CSV file (a station list is the one CSV network source)."""
    return path.is_file() and path.suffix.lower() == ".csv"


def build_station_list_network(path: Path, network_id: str) -> NetworkBuild:
    """The lines of a station list, one direction each in the listed order.

    Raises
    ------
    SourceError
        The file cannot be read as UTF-8 CSV, or its header lacks a required column.
    """
    rows = _read_rows(path)
    placed: dict[str, list[tuple[int, str]]] = {}
    names: dict[str, str] = {}
    quarantine: list[dict[str, object]] = []
    for number, row, raw in rows:
        line, station = row.get("line", "").strip(), row.get("station", "").strip()
        fault = _check(row, line, station, placed)
        if fault:
            quarantine.append(build_reject(path.name, number, *fault, raw))
            continue
        placed.setdefault(line, []).append((int(row["sequence"]), station))
        names.setdefault(line, row.get("line_name", "").strip())
    if not placed:
        raise SourceError(f"{path.name} places no station on a line")
    line_rows: list[dict[str, object]] = []
    stop_rows: list[dict[str, object]] = []
    sites: dict[str, Site] = {}
    for line in sorted(placed, key=_line_order):
        line_id = f"{network_id}:{line}"
        stations = [station for _, station in sorted(placed[line])]
        line_rows.append(
            {
                "line_id": line_id,
                "direction": "0",
                "route_id": line,
                "name_zh": names[line] or line,
                "name_en": f"Line {line}",
                "headsign": stations[-1],
                "mode": "metro",
                "loop": False,
                "synthetic": False,
            }
        )
        for sequence, station in enumerate(stations):
            site_id = f"{network_id}:{station}"
            stop_rows.append(
                {"line_id": line_id, "direction": "0", "sequence": sequence, "site_id": site_id}
            )
            sites.setdefault(site_id, _build_site(network_id, site_id, station))
    tables = {
        "lines": pd.DataFrame(line_rows),
        "line_stops": pd.DataFrame(stop_rows),
        "networks": pd.DataFrame(
            [{"name": path.stem, "kind": KIND, "source": path.name, "synthetic": False}]
        ),
    }
    return NetworkBuild(
        tables=tables,
        sites=list(sites.values()),
        quarantine=quarantine,
        missing=["run times", "timetable"],
        notes=[
            "a station list has no run times or timetable: its lines lay out line grids "
            "and are not used to plan journeys"
        ],
    )


def _read_rows(path: Path) -> list[tuple[int, dict[str, str], str]]:
    """(line number in the file, row by column name, row as written) of every data row."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path.name} is not a readable UTF-8 station list: {exc}") from None
    records = list(csv.reader(io.StringIO(text)))
    if not records:
        raise SourceError(f"{path.name} is empty")
    first = [cell.strip().lower() for cell in records[0]]
    if set(REQUIRED) <= set(first):
        header, body, start = first, records[1:], 2
    elif len(first) >= len(REQUIRED) + 1 and first[2].isdigit():
        header, body, start = list(HEADERLESS_COLUMNS), records, 1
    else:
        raise SourceError(
            f"{path.name}: a station list needs the columns {', '.join(REQUIRED)} "
            "(or Shenzhen Metro's layout: line, line name, sequence, station, code)"
        )
    return [
        (start + k, dict(zip(header, cells, strict=False)), ",".join(cells))
        for k, cells in enumerate(body)
        if any(cell.strip() for cell in cells)
    ]


def _check(
    row: dict[str, str], line: str, station: str, placed: dict[str, list[tuple[int, str]]]
) -> tuple[str, str] | None:
    """(column, reason) of a row that cannot be placed; None for a good one."""
    if not line:
        return "line", "no line"
    if not station:
        return "station", "no station"
    sequence = row.get("sequence", "").strip()
    if not sequence.isdigit():
        return "sequence", "sequence is not a whole number"
    if any(station == known for _, known in placed.get(line, [])):
        return "station", "station listed twice on its line"
    if any(int(sequence) == number for number, _ in placed.get(line, [])):
        return "sequence", "sequence listed twice on its line"
    return None


def _line_order(line: str) -> tuple[int, str]:
    """Numbered lines in number order (2 before 11), then the rest by name."""
    return (int(line), "") if line.isdigit() else (10**9, line)


def _build_site(network_id: str, site_id: str, station: str) -> Site:
    return Site(
        site_id=site_id,
        kind="metro_station",
        name_zh=station,
        name_en=get_pinyin_name(station),
        attributes={"network_id": network_id, "station": station, "pinyin": get_pinyin(station)},
    )
