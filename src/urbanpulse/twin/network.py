"""The demo network: stations, stops and sensors of the synthetic city cluster.

:func:`build_network` turns the line data of :mod:`urbanpulse.twin.lines` into the
lake's sites table, plus the lines and links that trip advice needs to add up travel
times, plus the hidden parameters (demand level, role) that drive the observations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from urbanpulse.catalog.cities import City, get_cities
from urbanpulse.catalog.sites import SITES_SCHEMA
from urbanpulse.twin.lines import (
    AIR_MONITOR_NAMES,
    AIR_MONITORS_PER_CITY,
    BEIJING_ZHANGJIAKOU,
    BUS_LINES,
    INTERCHANGES,
    METRO_LINES,
    RAIL_CITY_FROM,
    ROAD_SENSORS,
    STOP_NAMES,
    LineSpec,
)

CITY_ABBR = {
    "110000": "bj", "120000": "tj", "130100": "sjz", "130200": "ts", "130300": "qhd",
    "130400": "hd", "130500": "xt", "130600": "bd", "130700": "zjk", "130800": "cd",
    "130900": "cz", "131000": "lf", "131100": "hs",
}  # fmt: skip
CAPACITY_UNITS = {
    "metro_station": "passengers per 15 min per direction",
    "bus_stop": "passengers per 15 min per direction",
    "rail_station": "passengers per 15 min per direction",
    "road_sensor": "vehicles per 5 min",
}
# Peak boardings per 5 minutes of a typical station of each role, before city scaling.
_ROLE_LEVEL = {"hub": 640, "biz": 560, "mix": 380, "res": 470, "tour": 330}
# Share of a train's room left for boarders at a station in the peak: full trains in Beijing.
_SPARE_SHARE = {"110000": 0.14, "120000": 0.22, "130100": 0.30}
_CITY_DEMAND = {"110000": 1.0, "120000": 0.5, "130100": 0.32}
PARAM_COLUMNS = [
    "site_id",
    "kind",
    "city_code",
    "role",
    "level",
    "capacity",
    "free_flow_kmh",
    "line_id",
]


@dataclass(frozen=True)
class Network:
    """Everything the demo network holds.

    Attributes
    ----------
    sites
        The lake's sites table (``SITES_SCHEMA``), every row synthetic.
    lines
        Columns: line_id, mode, city_code, name_zh, name_en, stations,
        minutes_end_to_end, loop, vehicle_capacity, peak_headway_min.
    links
        Columns: line_id, sequence, from_site_id, to_site_id, minutes (one row per
        pair of consecutive stations; a loop line closes with a last link).
    params
        Columns of ``PARAM_COLUMNS``: what drives each site's observations
        (role, peak level per 5 minutes); internal to the generator.
    """

    sites: pa.Table
    lines: pd.DataFrame
    links: pd.DataFrame
    params: pd.DataFrame


def build_network(seed: int = 2026) -> Network:
    """Build the demo network, deterministic by ``seed`` (positions, levels, bus stops).

    Returns
    -------
    Network
        Sites, lines, links and generator parameters; see :class:`Network`.
    """
    rng = np.random.default_rng([seed, 1])
    cities = {c.code: c for c in get_cities()}
    sites: list[dict[str, object]] = []
    params: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    links: list[dict[str, object]] = []
    specs = [*METRO_LINES, BEIJING_ZHANGJIAKOU, *_build_bus_lines(rng, cities)]
    for spec in specs:
        line_sites, line_params = _build_line_sites(spec, rng)
        sites += line_sites
        params += line_params
        lines.append(_build_line_row(spec))
        links += _build_links(spec, line_sites)
    _place_interchanges(sites)
    _state_interchanges(sites)
    for builder in (_build_road_sensors, _build_air_monitors):
        more_sites, more_params = builder(rng, cities)
        sites += more_sites
        params += more_params
    table = pa.Table.from_pylist(sites, schema=SITES_SCHEMA)
    return Network(
        table, pd.DataFrame(lines), pd.DataFrame(links), pd.DataFrame(params)[PARAM_COLUMNS]
    )


def _place_interchanges(sites: list[dict[str, object]]) -> None:
    """Put the platforms of one interchange (same city and station key) where its first
    line's platform is, a few metres apart, as a real interchange is: lines laid out
    along their own waypoints would otherwise leave them kilometres apart, and journeys
    only change where a walk is short (urbanpulse.transit.network)."""
    first: dict[tuple[object, object], dict[str, object]] = {}
    seen: dict[tuple[object, object], int] = {}
    for site in sites:
        attributes = json.loads(str(site["attributes"]))
        key = (site["city_code"], attributes.get("station_key"))
        if key[1] is None or site["kind"] == "bus_stop":
            continue
        anchor = first.setdefault(key, site)
        seen[key] = seen.get(key, 0) + 1
        if anchor is not site:
            offset = 0.0008 * (seen[key] - 1)  # about 90 m of latitude per platform
            site["lat"] = float(str(anchor["lat"])) + offset
            site["lon"] = float(str(anchor["lon"]))


def _state_interchanges(sites: list[dict[str, object]]) -> None:
    """Write each of :data:`INTERCHANGES` into the attributes of its first station's
    sites (``transfers``: the other station's sites and the walk), as the transit
    network reads stated walks."""
    by_key: dict[tuple[object, str], list[dict[str, object]]] = {}
    for site in sites:
        key = json.loads(str(site["attributes"])).get("station_key")
        if key is not None and site["kind"] != "bus_stop":
            by_key.setdefault((site["city_code"], key), []).append(site)
    for city, one, other, minutes in INTERCHANGES:
        targets = by_key[(city, get_station_key(other))]
        for site in by_key[(city, get_station_key(one))]:
            attributes = json.loads(str(site["attributes"]))
            attributes["transfers"] = {str(target["site_id"]): minutes for target in targets}
            site["attributes"] = json.dumps(attributes, ensure_ascii=False)


def get_station_key(name_en: str) -> str:
    """A key shared by the sites of one interchange station in a city (e.g. 'xidan')."""
    return re.sub(r"[^a-z0-9]+", "-", name_en.casefold()).strip("-")


def _build_bus_lines(rng: np.random.Generator, cities: dict[str, City]) -> list[LineSpec]:
    specs = []
    for line_id, code, number, n_stops in BUS_LINES:
        city = cities[code]
        picks = rng.choice(len(STOP_NAMES), size=n_stops, replace=False)
        stops = tuple(
            (STOP_NAMES[k][0], STOP_NAMES[k][1], int(rng.integers(2, 5)), _bus_role(j, n_stops))
            for j, k in enumerate(picks)
        )
        stops = (*stops[:-1], (*stops[-1][:2], 0, stops[-1][3]))
        angle = rng.uniform(0, np.pi)
        dlat, dlon = 0.06 * np.sin(angle), 0.08 * np.cos(angle)
        ends = ((city.lat - dlat, city.lon - dlon), (city.lat + dlat, city.lon + dlon))
        name_zh = f"{city.name_zh}{number}路公交"
        name_en = f"{city.name_en} Bus {number}"
        specs.append(LineSpec(line_id, "bus", code, name_zh, name_en, ends, stops, 80, 5.0))
    return specs


def _bus_role(index: int, n_stops: int) -> str:
    # Outer stops are where people live, the middle of the line is the town centre.
    middle = abs(index - (n_stops - 1) / 2) < n_stops / 5
    return "biz" if middle else "res"


def _build_line_sites(
    spec: LineSpec, rng: np.random.Generator
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    kind = {"metro": "metro_station", "bus": "bus_stop", "rail": "rail_station"}[spec.mode]
    n = len(spec.stations)
    lats, lons = _spread(spec.waypoints, n, spec.loop)
    trains_per_15 = 15.0 / spec.peak_headway_min
    sites, params = [], []
    for i, (name_zh, name_en, minutes, role) in enumerate(spec.stations):
        site_id = f"{spec.line_id}-s{i + 1:02d}"
        city_code = _station_city(spec, i)
        spare = _SPARE_SHARE.get(city_code, 0.5 if spec.mode == "bus" else 0.6)
        capacity = round(trains_per_15 * spec.vehicle_capacity * spare * rng.uniform(0.9, 1.1), -1)
        level = _station_level(spec, role, i) * rng.lognormal(0.0, 0.2)
        attributes = {
            "line_id": spec.line_id,
            "line_name_zh": spec.name_zh,
            "line_name_en": spec.name_en,
            "mode": spec.mode,
            "sequence": i + 1,
            "minutes_to_next": minutes if (minutes or not spec.loop) else 2,
            "loop": spec.loop,
            "station_key": get_station_key(name_en),
            "role": role,
            "capacity_unit": CAPACITY_UNITS[kind],
            "synthetic": True,
        }
        jitter = rng.normal(0.0, 0.0015, size=2)
        sites.append(
            _site(site_id, kind, name_zh, name_en, city_code, lats[i] + jitter[0], lons[i] + jitter[1],
                  capacity, attributes)
        )  # fmt: skip
        params.append(_param(site_id, kind, city_code, role, level, capacity, None, spec.line_id))
    return sites, params


def _station_city(spec: LineSpec, index: int) -> str:
    if spec is not BEIJING_ZHANGJIAKOU:
        return spec.city_code
    first_zjk = min(RAIL_CITY_FROM)
    return RAIL_CITY_FROM[first_zjk] if index >= first_zjk else spec.city_code


def _station_level(spec: LineSpec, role: str, index: int) -> float:
    """Peak boardings per 5 minutes (both directions) the station's day is scaled to."""
    if spec.mode == "bus":
        return 14.0 if role == "biz" else 22.0
    if spec.mode == "rail":
        ends = {0: 260.0, 1: 180.0, len(spec.stations) - 1: 150.0}
        return ends.get(index, 45.0)
    return _ROLE_LEVEL[role] * _CITY_DEMAND[spec.city_code]


def _spread(
    waypoints: tuple[tuple[float, float], ...], n: int, loop: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Place n stations evenly along a polyline (a loop does not repeat its start)."""
    points = np.asarray(waypoints, dtype=float)
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    spots = np.linspace(0.0, along[-1], n + 1 if loop else n)[:n]
    return np.interp(spots, along, points[:, 0]), np.interp(spots, along, points[:, 1])


def _build_line_row(spec: LineSpec) -> dict[str, object]:
    minutes = sum(s[2] for s in spec.stations)
    return {
        "line_id": spec.line_id,
        "mode": spec.mode,
        "city_code": spec.city_code,
        "name_zh": spec.name_zh,
        "name_en": spec.name_en,
        "stations": len(spec.stations),
        "minutes_end_to_end": minutes,
        "loop": spec.loop,
        "vehicle_capacity": spec.vehicle_capacity,
        "peak_headway_min": spec.peak_headway_min,
    }


def _build_links(spec: LineSpec, sites: list[dict[str, object]]) -> list[dict[str, object]]:
    ids = [str(s["site_id"]) for s in sites]
    minutes = [int(json.loads(str(s["attributes"]))["minutes_to_next"]) for s in sites]
    pairs = list(zip(ids[:-1], ids[1:], minutes[:-1], strict=True))
    if spec.loop:
        pairs.append((ids[-1], ids[0], minutes[-1]))
    return [
        {
            "line_id": spec.line_id,
            "sequence": k + 1,
            "from_site_id": a,
            "to_site_id": b,
            "minutes": m,
        }
        for k, (a, b, m) in enumerate(pairs)
    ]


def _build_road_sensors(
    rng: np.random.Generator, cities: dict[str, City]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    sites, params, counts = [], [], dict.fromkeys(cities, 0)
    for code, road_zh, road_en, spot_zh, spot_en, lanes, free_flow in ROAD_SENSORS:
        counts[code] += 1
        site_id = f"{CITY_ABBR[code]}-road-{counts[code]:02d}"
        expressway = free_flow >= 100
        capacity = float(lanes * (150 if expressway else 125))  # vehicles per 5 min
        busy = 0.9 if code == "110000" else 0.7
        level = capacity * busy * rng.uniform(0.85, 1.05)
        role = "tour" if "Jingzang" in road_en else ("res" if expressway else "mix")
        lat, lon = _near(cities[code], rng, 0.08 if expressway else 0.03)
        attributes = {
            "road_zh": road_zh,
            "road_en": road_en,
            "lanes": lanes,
            "free_flow_kmh": free_flow,
            "capacity_unit": CAPACITY_UNITS["road_sensor"],
            "synthetic": True,
        }
        name_zh, name_en = f"{road_zh}{spot_zh}", f"{road_en} at {spot_en}"
        sites.append(
            _site(site_id, "road_sensor", name_zh, name_en, code, lat, lon, capacity, attributes)
        )
        params.append(_param(site_id, "road_sensor", code, role, level, capacity, free_flow, None))
    return sites, params


_BEIJING_MONITORS = (
    ("东四", "Dongsi"),
    ("天坛", "Tiantan"),
    ("官园", "Guanyuan"),
    ("奥体中心", "Olympic Centre"),
)


def _build_air_monitors(
    rng: np.random.Generator, cities: dict[str, City]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    sites, params = [], []
    for code, city in cities.items():
        for k in range(AIR_MONITORS_PER_CITY.get(code, 2)):
            site_id = f"{CITY_ABBR[code]}-air-{k + 1:02d}"
            if code == "110000":
                name_zh, name_en = _BEIJING_MONITORS[k]
            else:
                zh, en = AIR_MONITOR_NAMES[k]
                name_zh, name_en = f"{city.name_zh}{zh}", f"{city.name_en} {en}"
            lat, lon = _near(city, rng, 0.04)
            attributes = {"pollutants": ["pm25", "no2"], "synthetic": True}
            sites.append(
                _site(site_id, "air_monitor", name_zh, name_en, code, lat, lon, None, attributes)
            )
            params.append(
                _param(site_id, "air_monitor", code, "air", rng.lognormal(0, 0.1), None, None, None)
            )
    return sites, params


def _near(city: City, rng: np.random.Generator, spread: float) -> tuple[float, float]:
    dlat, dlon = rng.normal(0.0, spread, size=2)
    return round(city.lat + dlat, 5), round(city.lon + dlon, 5)


def _site(
    site_id: str,
    kind: str,
    name_zh: str,
    name_en: str,
    city_code: str,
    lat: float,
    lon: float,
    capacity: float | None,
    attributes: dict[str, object],
) -> dict[str, object]:
    return {
        "site_id": site_id,
        "kind": kind,
        "name_zh": name_zh,
        "name_en": name_en,
        "city_code": city_code,
        "lat": round(float(lat), 5),
        "lon": round(float(lon), 5),
        "capacity": capacity,
        "attributes": json.dumps(attributes, ensure_ascii=False, sort_keys=True),
        "synthetic": True,
    }


def _param(
    site_id: str,
    kind: str,
    city_code: str,
    role: str,
    level: float,
    capacity: float | None,
    free_flow: float | None,
    line_id: str | None,
) -> dict[str, object]:
    return dict(
        zip(
            PARAM_COLUMNS,
            (site_id, kind, city_code, role, float(level), capacity, free_flow, line_id),
            strict=True,
        )
    )
