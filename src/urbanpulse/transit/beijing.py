"""The Beijing subway file (``subway.json``, January 2018): lines, stations, first and last trains.

The file gives, per line, its stations in order with metres to the next station and,
per direction of service (e.g. 往四惠东方向), each station's first and last train. It has
no coordinates, no timetable and no calendar, so the loader documents what it assumes:

- Run times: distance at :data:`AVERAGE_SPEED_KMH` (35 km/h, dwell included: Beijing's
  published line lengths over end-to-end journey times give 33-40 km/h), and at the
  line's own speed and headway where :data:`LINE_SERVICE` names one (the Airport
  Express).
- Service: every day; departures from the first station between its first and last
  train at the headways of :data:`HEADWAYS` (peak 2.5 min, as Beijing's busiest lines
  run 2-3 min at peak; 4-8 min off-peak and late).
- Directions: each line has two, '0' in station order and '1' against it. Where a line
  lists several services one way (全程 full run, 半程 / 区间 short runs), the one with the
  most stations served is the line's direction; its name is the headsign.
- Loop lines (Line 2, Line 10; the last station is marked ``endCircle``): ``loop`` is
  true and the last stop's metres_to_next and minutes_to_next lead back to the first.
- Stations: one site per line and station (id ``<network>:<station id>``), Chinese
  name, pinyin English name (pypinyin); stations of the same name are joined by a
  same_name transfer of :data:`~urbanpulse.transit.transfers.SAME_NAME_WALK_MINUTES`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.catalog.sites import Site
from urbanpulse.errors import SourceError
from urbanpulse.transit.build import NetworkBuild, build_reject
from urbanpulse.transit.names import get_folded, get_pinyin, get_pinyin_name
from urbanpulse.transit.schedule import DAY_TYPES, get_time_text, read_time
from urbanpulse.transit.transfers import NEARBY_METRES, build_transfers

__all__ = [
    "AVERAGE_SPEED_KMH",
    "HEADWAYS",
    "SOURCE_FILE",
    "build_beijing_network",
    "get_beijing_file",
]

SOURCE_FILE = "subway.json"
AVERAGE_SPEED_KMH = 35.0
# The file's own city: its times are Beijing time.
TIMEZONE = "Asia/Shanghai"
CITY_CODE = "110000"
LICENCE = "unofficial: a public mini-program's data, around January 2018"
# Minutes between trains from each start time (minutes after midnight) onwards.
HEADWAYS: dict[str, tuple[tuple[int, float], ...]] = {
    "weekday": (
        (0, 6.0),
        (420, 2.5),
        (540, 4.0),
        (600, 5.0),
        (1020, 2.5),
        (1140, 4.0),
        (1200, 6.0),
        (1320, 8.0),
    ),
    "saturday": ((0, 6.0), (480, 4.0), (1200, 6.0), (1320, 8.0)),
    "sunday": ((0, 6.0), (480, 4.0), (1200, 6.0), (1320, 8.0)),
}
# Lines that run unlike the rest (speed km/h, the headways above for every day type):
# the Capital Airport Express covers Dongzhimen - Terminal 3 (about 25 km) in about 20
# minutes at up to 110 km/h, a train about every 10 minutes all day (the operator's
# published service); at 35 km/h and 2.5 minutes it came out twice as long and four
# times as frequent.
LINE_SERVICE: dict[str, tuple[float, tuple[tuple[int, float], ...]]] = {
    "机场线": (75.0, ((0, 10.0),)),
}
# Names people ask for a station by that are not on its sign: the airport terminals'
# stations are signed 2号航站楼 / Terminal 2, while travellers say Capital Airport
# (首都机场). Search reads them (attributes["aliases"]); the names shown stay the signs'.
STATION_ALIASES: dict[str, tuple[str, ...]] = {
    "2号航站楼": (
        "Capital Airport",
        "Capital Airport Terminal 2",
        "Beijing Capital Airport T2",
        "首都机场",
        "首都机场2号航站楼",
        "首都机场T2",
    ),
    "3号航站楼": (
        "Capital Airport",
        "Capital Airport Terminal 3",
        "Beijing Capital Airport T3",
        "首都机场",
        "首都机场3号航站楼",
        "首都机场T3",
    ),
}
_LINE_NUMBER = re.compile(r"^(\d+)号线(.*)$")
_PART = {"西段": " West", "东段": " East"}
_SHORT_RUN = ("半程", "区间", "终点")


def get_beijing_file(path: Path) -> Path | None:
    """The subway.json of ``path`` (the file or its folder), or None if it is not one."""
    candidate = path / SOURCE_FILE if path.is_dir() else path
    if candidate.is_file() and candidate.name == SOURCE_FILE:
        return candidate
    return None


def build_beijing_network(
    path: Path,
    network_id: str,
    capacities: dict[str, float],
    *,
    walk_metres: float = NEARBY_METRES,
) -> NetworkBuild:
    """Build the network of a Beijing subway.json (see the module docstring).

    Raises
    ------
    SourceError
        When the file is not JSON or not a list of lines with stations.
    """
    lines = _read_lines(path)
    quarantine: list[dict[str, object]] = []
    notes: list[str] = []
    taken: dict[str, str] = {}
    line_rows, stop_rows, departures, sites = [], [], [], []
    for line in lines:
        stations = _check_stations(line, quarantine)
        if len(stations) < 2:
            continue
        line_id = f"{network_id}:{line['id']}"
        ids = [_get_site_id(network_id, s, taken, notes) for s in stations]
        sites += [_build_site(network_id, line, s, i) for s, i in zip(stations, ids, strict=True)]
        loop = any(s.get("endCircle") for s in stations)
        for direction, (headsign, times) in _get_directions(stations, loop=loop).items():
            order = _get_order(len(stations), direction, loop=loop)
            speed, headways = _get_service(line["name"])
            stops = _build_line_stops(stations, ids, order, times, loop=loop, speed_kmh=speed)
            for row in stops:
                row.update(line_id=line_id, direction=direction)
            stop_rows += stops
            first, last = _get_span(stops)
            run_s = sum(r["minutes_to_next"] or 0 for r in stops[: None if loop else -1]) * 60
            line_rows.append(
                _build_line(line, line_id, direction, headsign, loop, first, last, capacities)
            )
            departures += _build_departures(line_id, direction, first, last, run_s, headways)
    site_frame = pd.DataFrame(
        {
            "site_id": [s.site_id for s in sites],
            "name": [get_folded(s.name_zh) for s in sites],
            "lat": np.nan,
            "lon": np.nan,
            "parent": None,
        }
    )
    from urbanpulse.transit.schedule import compute_line_service

    capacity = {r["line_id"]: r["vehicle_capacity"] for r in line_rows}
    tables = {
        "lines": pd.DataFrame(line_rows),
        "line_stops": pd.DataFrame(stop_rows).drop(columns=["first_s", "last_s"]),
        "line_service": compute_line_service(pd.DataFrame(departures), capacity),
        "transfers": build_transfers(site_frame, walk_metres=walk_metres),
        "networks": pd.DataFrame(
            [
                {
                    "name": "北京地铁 Beijing Subway",
                    "kind": "subway_json",
                    "source": SOURCE_FILE,
                    "timezone": TIMEZONE,
                    "licence": LICENCE,
                    "synthetic": False,
                }
            ]
        ),
    }
    notes.append(
        f"run times from distance at {AVERAGE_SPEED_KMH:g} km/h; headways are documented "
        "defaults (peak 2.5 min); the Airport Express at 75 km/h every 10 min; service "
        "every day"
    )
    missing = ["coordinates", "calendar", "timetable"]
    return NetworkBuild(tables, sites, quarantine, missing, notes)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"cannot read {path.name} as JSON: {exc}") from None
    if not isinstance(data, list) or not all(
        isinstance(x, dict) and isinstance(x.get("stations"), list) for x in data
    ):
        raise SourceError(f"{path.name} is not a list of subway lines with stations")
    return data


def _check_stations(line: dict[str, Any], quarantine: list[dict[str, object]]) -> list[dict]:
    """The line's usable stations; the others go to quarantine with their place in the file."""
    good = []
    for position, station in enumerate(line["stations"]):
        name, length = station.get("name"), station.get("length")
        problem = (
            "missing station name"
            if not isinstance(name, str) or not name.strip()
            else "missing station id"
            if station.get("id") is None
            else "metres to next station not a non-negative number"
            if not isinstance(length, int | float) or length < 0
            else None
        )
        if problem:
            raw = f"line {line.get('name')} station {position}: {json.dumps(station, ensure_ascii=False)}"
            quarantine.append(build_reject(SOURCE_FILE, None, None, problem, raw[:2000]))
        else:
            good.append(station)
    return good


def _get_site_id(network_id: str, station: dict, taken: dict[str, str], notes: list[str]) -> str:
    site_id = f"{network_id}:{station['id']}"
    if site_id in taken and taken[site_id] != station["name"]:
        # The file gives 苏庄 and 阎村东 of the Fangshan line the same id.
        notes.append(f"station id {station['id']} is used twice; {station['name']} gets a suffix")
        site_id = f"{site_id}-{len([k for k in taken if k.startswith(site_id)])}"
    taken[site_id] = station["name"]
    return site_id


def _build_site(network_id: str, line: dict, station: dict, site_id: str) -> Site:
    return Site(
        site_id=site_id,
        kind="metro_station",
        name_zh=station["name"],
        name_en=get_pinyin_name(station["name"], railway_suffix=True),
        city_code=CITY_CODE,
        attributes={
            "network_id": network_id,
            "station_id": str(station["id"]),
            "line_id": f"{network_id}:{line['id']}",
            "line": line["name"],
            "pinyin": get_pinyin(station["name"]),
            "station": station["name"],
            **(
                {"aliases": list(aliases)}
                if (aliases := STATION_ALIASES.get(station["name"]))
                else {}
            ),
        },
    )


def _get_directions(stations: list[dict], *, loop: bool) -> dict[str, tuple[str | None, list]]:
    """Per direction ('0' with the station order, '1' against it): headsign and times.

    The times are one (first_s, last_s) per station in file order, from the service
    of that orientation that serves the most stations.
    """
    services: dict[str, list[tuple[int | None, int | None]]] = {}
    for index, station in enumerate(stations):
        for entry in station.get("lastTrain") or []:
            times = services.setdefault(str(entry.get("direction")), [(None, None)] * len(stations))
            times[index] = _read_pair(entry.get("first"), entry.get("last"))
    names = [str(s["name"]) for s in stations]
    best: dict[str, tuple[tuple[int, bool], str, list]] = {}
    for headsign, times in services.items():
        direction = _get_orientation(headsign, names, times, loop=loop)
        if direction is None:
            continue
        served = sum(first is not None for first, _ in times)
        rank = (served, not any(word in headsign for word in _SHORT_RUN))
        if direction not in best or rank > best[direction][0]:
            best[direction] = (rank, headsign, times)
    empty: list[tuple[int | None, int | None]] = [(None, None)] * len(stations)
    return {d: (best[d][1], best[d][2]) if d in best else (None, empty) for d in ("0", "1")}


def _read_pair(first: object, last: object) -> tuple[int | None, int | None]:
    start, end = read_time(first), read_time(last)
    if start is not None and end is not None:
        if start >= 12 * 3600 and end < start:
            start, end = end, start  # written the wrong way round (the airport line)
        elif end < start:
            end += 24 * 3600  # the last train leaves after midnight
    return start, end


def _get_orientation(
    headsign: str, names: list[str], times: list[tuple[int | None, int | None]], *, loop: bool
) -> str | None:
    """'0' for a service along the file's station order, '1' against it, None if unclear.

    In order: the headsign names an end station (往四惠东方向); the service has no
    train at one end only (its terminus); last, then first, trains get later along it.
    A loop has no ends, so only the times tell.
    """
    for prefix in () if loop else ("往", ""):
        if headsign.startswith(prefix + names[-1]) or f"->{names[-1]}）" in headsign:
            return "0"
        if headsign.startswith(prefix + names[0]) or f"->{names[0]}）" in headsign:
            return "1"
    if not loop and times[0][0] is None and times[-1][0] is not None:
        return "1"
    if not loop and times[-1][0] is None and times[0][0] is not None:
        return "0"
    for which in (1, 0):
        points = [(i, t[which]) for i, t in enumerate(times) if t[which] is not None]
        if len(points) >= 2:
            index, moment = np.array(points, dtype=float).T
            slope = np.polyfit(index, moment, 1)[0]
            if slope:
                return "0" if slope > 0 else "1"
    return None


def _get_order(count: int, direction: str, *, loop: bool) -> list[int]:
    if direction == "0":
        return list(range(count))
    return [0, *range(count - 1, 0, -1)] if loop else list(range(count - 1, -1, -1))


def _get_service(
    line_name: str,
) -> tuple[float, dict[str, tuple[tuple[int, float], ...]]]:
    """A line's speed and headways: its own in :data:`LINE_SERVICE`, else the defaults."""
    if line_name in LINE_SERVICE:
        speed, steps = LINE_SERVICE[line_name]
        return speed, dict.fromkeys(HEADWAYS, steps)
    return AVERAGE_SPEED_KMH, HEADWAYS


def _build_line_stops(
    stations: list[dict],
    ids: list[str],
    order: list[int],
    times: list,
    *,
    loop: bool,
    speed_kmh: float = AVERAGE_SPEED_KMH,
) -> list[dict[str, Any]]:
    metres_per_minute = speed_kmh * 1000 / 60
    rows = []
    for sequence, index in enumerate(order):
        following = (
            order[sequence + 1] if sequence + 1 < len(order) else (order[0] if loop else None)
        )
        metres = None
        if following is not None:
            # 'length' is metres from a station to the next one in file order.
            ahead = following == (index + 1) % len(stations)
            metres = float(stations[index if ahead else following]["length"])
        first, last = times[index]
        rows.append(
            {
                "sequence": sequence,
                "site_id": ids[index],
                "metres_to_next": metres,
                "minutes_to_next": None if metres is None else round(metres / metres_per_minute, 2),
                "first_departure": get_time_text(first),
                "last_departure": get_time_text(last),
                "first_s": first,
                "last_s": last,
            }
        )
    return rows


def _get_span(stops: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    """First and last train at the first stop, else the earliest and latest anywhere."""
    first, last = stops[0]["first_s"], stops[0]["last_s"]
    firsts = [r["first_s"] for r in stops if r["first_s"] is not None]
    lasts = [r["last_s"] for r in stops if r["last_s"] is not None]
    return (
        first if first is not None else min(firsts, default=None),
        last if last is not None else max(lasts, default=None),
    )


def _build_line(
    line: dict,
    line_id: str,
    direction: str,
    headsign: str | None,
    loop: bool,
    first: int | None,
    last: int | None,
    capacities: dict[str, float],
) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "direction": direction,
        "route_id": str(line["id"]),
        "name_zh": line["name"],
        "name_en": get_line_name_en(line["name"]),
        "headsign": headsign,
        "mode": "metro",
        "route_type": 1,
        "vehicle_capacity": capacities["metro"],
        "loop": loop,
        "first_departure": get_time_text(first),
        "last_departure": get_time_text(last),
        "synthetic": False,
    }


def get_line_name_en(name: str) -> str:
    """'1号线' -> 'Line 1', '14号线西段' -> 'Line 14 West', '八通线' -> 'Batong Line'."""
    numbered = _LINE_NUMBER.match(name)
    if numbered:
        return f"Line {numbered.group(1)}{_PART.get(numbered.group(2), '')}"
    if name == "机场线":
        return "Airport Express"
    stem = name.removesuffix("线")
    return f"{stem if stem.isascii() else get_pinyin_name(stem)} Line"


def _build_departures(
    line_id: str,
    direction: str,
    first: int | None,
    last: int | None,
    run_s: float,
    headways: dict[str, tuple[tuple[int, float], ...]] = HEADWAYS,
) -> list[dict[str, Any]]:
    if first is None or last is None:
        return []
    rows = []
    for day_type in DAY_TYPES:
        steps = headways[day_type]
        moment = float(first)
        while moment <= last:
            rows.append(
                {
                    "line_id": line_id,
                    "direction": direction,
                    "day_type": day_type,
                    "departure_s": moment,
                    "run_s": run_s,
                }
            )
            minute = (moment / 60) % 1440
            headway = [h for start, h in steps if start <= minute][-1]
            moment += headway * 60
    return rows
