"""Find stations by Chinese or English name or pinyin: partial, case- and tone-free.

Names are folded before comparing (lower case, tone marks and spaces removed), so
"xizhi", "Xi Zhi Men", "Xīzhímén" and "西直" all find 西直门. A station served by
several lines often has one site per line (the Beijing file, GTFS platforms): sites of
one name within one network are one result, listing every member site and line.
Results rank exact matches first, then names that start with the query, then names
that contain it; shorter names first within each rank.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from threading import Lock

import pandas as pd

from urbanpulse.catalog.sites import STATION_KINDS
from urbanpulse.errors import InvalidQueryError
from urbanpulse.i18n import N_
from urbanpulse.store.engine import connect, scan_sql
from urbanpulse.store.lake import Lake
from urbanpulse.transit.names import get_folded, get_pinyin

__all__ = ["MATCH_KINDS", "StationIndex", "StationMatch", "build_station_index", "find_stations"]

MATCH_KINDS = ("exact", "prefix", "substring")


@dataclass(frozen=True)
class StationMatch:
    """One station found: its sites (one per line or platform) and the lines through it."""

    site_id: str
    site_ids: list[str]
    name_zh: str | None
    name_en: str | None
    pinyin: str | None
    network_id: str | None
    kind: str
    lines: list[str]
    line_ids: list[str]
    lat: float | None
    lon: float | None
    match: str
    synthetic: bool = False


@dataclass
class _Station:
    network_id: str | None
    kind: str
    name_zh: str | None
    name_en: str | None
    pinyin: str | None
    site_ids: list[str] = field(default_factory=list)
    line_ids: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    keys: tuple[str, ...] = ()
    synthetic: bool = False


class StationIndex:
    """Stations of the lake grouped by name within each network, ready to search."""

    def __init__(self, stations: list[_Station]) -> None:
        self._stations = stations

    def __len__(self) -> int:
        return len(self._stations)

    def find(
        self, query: str, *, network_id: str | None = None, limit: int = 20
    ) -> list[StationMatch]:
        """Stations whose name, English name or pinyin contains ``query``, best first.

        Raises
        ------
        InvalidQueryError
            When the query has no letter, digit or character to match.
        """
        folded = get_folded(query)
        if not folded:
            raise InvalidQueryError(N_("a station query needs at least one letter or character"))
        found: list[tuple[int, int, str, _Station]] = []
        for station in self._stations:
            if network_id is not None and station.network_id != network_id:
                continue
            rank = _get_rank(folded, station.keys)
            if rank is not None:
                name = station.name_zh or station.name_en or ""
                found.append((rank, len(name), name, station))
        found.sort(key=lambda item: item[:3])
        return [_to_match(station, MATCH_KINDS[rank]) for rank, _, _, station in found[:limit]]


def _get_rank(folded: str, keys: tuple[str, ...]) -> int | None:
    best = None
    for key in keys:
        rank = 0 if key == folded else 1 if key.startswith(folded) else 2 if folded in key else None
        if rank is not None and (best is None or rank < best):
            best = rank
    return best


def _to_match(station: _Station, match: str) -> StationMatch:
    return StationMatch(
        site_id=station.site_ids[0],
        site_ids=list(station.site_ids),
        name_zh=station.name_zh,
        name_en=station.name_en,
        pinyin=station.pinyin,
        network_id=station.network_id,
        kind=station.kind,
        lines=list(station.lines),
        line_ids=list(station.line_ids),
        lat=station.lat,
        lon=station.lon,
        match=match,
        synthetic=station.synthetic,
    )


def build_station_index(lake: Lake) -> StationIndex:
    """Read the lake's stations (metro, rail, bus) and the lines through them."""
    con = connect()
    kinds = ", ".join(f"'{k}'" for k in STATION_KINDS)
    sites = con.sql(
        f"SELECT site_id, kind, name_zh, name_en, lat, lon, attributes, synthetic "
        f"FROM ({scan_sql(lake, 'sites')}) WHERE kind IN ({kinds}) ORDER BY site_id"
    ).df()
    served = con.sql(
        f"SELECT DISTINCT s.site_id, s.line_id, coalesce(l.name_zh, l.name_en, s.line_id) AS line "
        f"FROM ({scan_sql(lake, 'line_stops')}) s "
        f"LEFT JOIN (SELECT DISTINCT line_id, name_zh, name_en FROM "
        f"({scan_sql(lake, 'lines')})) l USING (line_id) ORDER BY s.line_id"
    ).df()
    return StationIndex(_group_stations(sites, served))


def _group_stations(sites: pd.DataFrame, served: pd.DataFrame) -> list[_Station]:
    lines_of: dict[str, list[tuple[str, str]]] = {}
    for site_id, line_id, line in served.itertuples(index=False):
        lines_of.setdefault(site_id, []).append((line_id, line))
    groups: dict[tuple[str | None, str], _Station] = {}
    points: dict[tuple[str | None, str], list[tuple[float, float]]] = {}
    for row in sites.itertuples(index=False):
        attributes = json.loads(row.attributes) if row.attributes else {}
        network = attributes.get("network_id")
        name = get_folded(row.name_zh) or get_folded(row.name_en) or row.site_id
        key = (network, name)
        station = groups.get(key)
        if station is None:
            pinyin = attributes.get("pinyin") or (get_pinyin(row.name_zh) if row.name_zh else None)
            keys = {get_folded(row.name_zh), get_folded(row.name_en), get_folded(pinyin)} - {""}
            station = _Station(network, row.kind, row.name_zh, row.name_en, pinyin)
            station.keys = tuple(sorted(keys))
            groups[key] = station
        station.site_ids.append(row.site_id)
        station.synthetic = station.synthetic or bool(row.synthetic)
        for line_id, line in lines_of.get(row.site_id, []):
            if line_id not in station.line_ids:
                station.line_ids.append(line_id)
                station.lines.append(line)
        if pd.notna(row.lat) and pd.notna(row.lon):
            points.setdefault(key, []).append((float(row.lat), float(row.lon)))
    for station in groups.values():
        order = sorted(range(len(station.line_ids)), key=lambda i: _natural(station.line_ids[i]))
        station.line_ids = [station.line_ids[i] for i in order]
        station.lines = [station.lines[i] for i in order]
    for key, where in points.items():
        groups[key].lat = round(sum(p[0] for p in where) / len(where), 6)
        groups[key].lon = round(sum(p[1] for p in where) / len(where), 6)
    return list(groups.values())


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts 'x:2' before 'x:10'."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


_CACHE: dict[str, tuple[int, StationIndex]] = {}
_CACHE_LOCK = Lock()


def find_stations(
    lake: Lake, query: str, *, network_id: str | None = None, limit: int = 20
) -> list[StationMatch]:
    """Find stations by Chinese or English name or pinyin (see the module docstring).

    The index is built once per lake version and reused until the lake changes.

    Returns
    -------
    list of StationMatch
        site_id (the first member site), site_ids, name_zh, name_en, pinyin,
        network_id, kind, lines (names), line_ids, lat, lon (mean of the member sites,
        None without coordinates), match ('exact', 'prefix' or 'substring') and
        synthetic (a member site is synthetic).
    """
    root, version = str(lake.root), lake.version
    with _CACHE_LOCK:
        cached = _CACHE.get(root)
    if cached is None or cached[0] != version:
        cached = (version, build_station_index(lake))
        with _CACHE_LOCK:
            _CACHE[root] = cached
    return cached[1].find(query, network_id=network_id, limit=limit)
