"""Find stations by Chinese or English name or pinyin: partial, case- and tone-free.

Names are folded before comparing (lower case, tone marks and spaces removed), so
"xizhi", "Xi Zhi Men", "Xīzhímén" and "西直" all find 西直门. A station served by
several lines often has one site per line (the Beijing file, GTFS platforms): sites of
one name within one network and city are one result, listing every member site and
line, labelled with its city (火车站 · 唐山 and 火车站 · 邯郸 are two stations).

What riders type is read as they mean it, as a map app would: a city name before or
after the station narrows the search to that city (唐山火车站, "huochezhan tangshan"); the
initials of the pinyin find the station (xzm, gm for 国贸); a trailing 站 or "station"
is dropped when the name without it matches better (国贸站); and a Latin query with one
typo (a letter wrong, missing, extra, or two swapped: xizhimne) still finds the name
when nothing matches as typed.

Results rank exact matches first, then initials, then names that start with the query,
names that contain it, and one-typo matches; shorter names first within each rank.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from urbanpulse.catalog.cities import get_cities
from urbanpulse.catalog.sites import STATION_KINDS
from urbanpulse.errors import InvalidQueryError
from urbanpulse.i18n import N_
from urbanpulse.store.cache import read_cached
from urbanpulse.store.lake import Lake
from urbanpulse.store.networks import read_station_lines
from urbanpulse.store.queries import read_sites
from urbanpulse.transit.names import get_folded, get_initials, get_pinyin

__all__ = ["MATCH_KINDS", "StationIndex", "StationMatch", "build_station_index", "find_stations"]

MATCH_KINDS = ("exact", "initials", "prefix", "substring", "fuzzy")
# Dropped from the end of a query that finds no exact name as typed (folded forms).
SUFFIXES = ("地铁站", "站", "railwaystation", "trainstation", "subwaystation",
            "metrostation", "station")  # fmt: skip
FUZZY_MIN_LENGTH = 5  # a one-letter typo in a shorter word matches too much


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
    city_code: str | None = None
    city_zh: str | None = None
    city_en: str | None = None


@dataclass
class _Station:
    network_id: str | None
    kind: str
    name_zh: str | None
    name_en: str | None
    pinyin: str | None
    city_code: str | None = None
    site_ids: list[str] = field(default_factory=list)
    line_ids: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    keys: tuple[str, ...] = ()
    initials: tuple[str, ...] = ()
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
        """Stations the query names, best first (see the module docstring).

        Raises
        ------
        InvalidQueryError
            When the query has no letter, digit or character to match.
        """
        folded = get_folded(query)
        if not folded:
            raise InvalidQueryError(N_("a station query needs at least one letter or character"))
        # Ranks are doubled: a match of the query as typed (even) goes before a match of
        # the same kind found by reading it (odd), so 北京西 finds 北京西站 before every
        # Beijing station starting with 西.
        ranked = {k: 2 * rank for k, rank in self._rank(folded, network_id, None).items()}
        if not any(rank == 0 for rank in ranked.values()):
            for city_code, rest in _split_city(folded):
                _merge(ranked, self._rank(rest, network_id, city_code))
            for rest in _strip_suffixes(folded):
                _merge(ranked, self._rank(rest, network_id, None))
                for city_code, bare in _split_city(rest):
                    _merge(ranked, self._rank(bare, network_id, city_code))
        if not ranked and _is_latin(folded) and len(folded) >= FUZZY_MIN_LENGTH:
            ranked = {k: 2 * rank for k, rank in self._rank_typos(folded, network_id).items()}
        order = sorted(ranked, key=lambda k: (ranked[k], *self._sort_name(k)))
        return [_to_match(self._stations[k], MATCH_KINDS[ranked[k] // 2]) for k in order[:limit]]

    def _rank(self, folded: str, network_id: str | None, city_code: str | None) -> dict[int, int]:
        """Station position -> best rank of its keys for ``folded``."""
        ranked = {}
        for position, station in enumerate(self._stations):
            if network_id is not None and station.network_id != network_id:
                continue
            if city_code is not None and station.city_code != city_code:
                continue
            rank = _get_rank(folded, station.keys)
            if folded in station.initials and (rank is None or rank > 1):
                rank = 1
            if rank is not None:
                ranked[position] = rank
        return ranked

    def _rank_typos(self, folded: str, network_id: str | None) -> dict[int, int]:
        from rapidfuzz.distance import OSA

        fuzzy = MATCH_KINDS.index("fuzzy")
        return {
            position: fuzzy
            for position, station in enumerate(self._stations)
            if (network_id is None or station.network_id == network_id)
            and any(OSA.distance(folded, key, score_cutoff=1) <= 1 for key in station.keys)
        }

    def _sort_name(self, position: int) -> tuple[int, str]:
        station = self._stations[position]
        name = station.name_zh or station.name_en or ""
        return len(name), name


def _get_rank(folded: str, keys: tuple[str, ...]) -> int | None:
    """0 exact, 2 prefix, 3 substring (1 is an initials match), None for no match."""
    best = None
    for key in keys:
        rank = 0 if key == folded else 2 if key.startswith(folded) else 3 if folded in key else None
        if rank is not None and (best is None or rank < best):
            best = rank
    return best


def _merge(ranked: dict[int, int], read: dict[int, int]) -> None:
    """Add matches of a reading of the query (a city taken out, a suffix dropped) at
    their doubled rank plus one; each station keeps its best."""
    for position, rank in read.items():
        ranked[position] = min(2 * rank + 1, ranked.get(position, 2 * rank + 1))


@lru_cache(maxsize=1)
def _get_city_keys() -> tuple[tuple[str, str], ...]:
    """(folded city name, city code) of the region's cities, longest name first: the
    Chinese name with and without 市, the English name."""
    keys = set()
    for city in get_cities():
        for name in (city.name_zh, f"{city.name_zh}市", city.name_en):
            keys.add((get_folded(name), city.code))
    return tuple(sorted(keys, key=lambda k: -len(k[0])))


def _split_city(folded: str) -> list[tuple[str, str]]:
    """(city code, the rest) for a city name at the start or the end of the query."""
    found = []
    for name, code in _get_city_keys():
        if folded.startswith(name) and len(folded) > len(name):
            found.append((code, folded[len(name) :]))
        if folded.endswith(name) and len(folded) > len(name):
            found.append((code, folded[: -len(name)]))
    return found


def _strip_suffixes(folded: str) -> list[str]:
    return [folded[: -len(s)] for s in SUFFIXES if folded.endswith(s) and len(folded) > len(s)]


def _is_latin(folded: str) -> bool:
    return folded.isascii()


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
        city_code=station.city_code,
        city_zh=_get_city_name(station.city_code, "zh"),
        city_en=_get_city_name(station.city_code, "en"),
    )


def _get_city_name(code: str | None, language: str) -> str | None:
    for city in get_cities():
        if city.code == code:
            return city.name_zh if language == "zh" else city.name_en
    return None


def build_station_index(lake: Lake) -> StationIndex:
    """Read the lake's stations (metro, rail, bus) and the lines through them."""
    sites = read_sites(lake)
    sites = sites[sites["kind"].isin(STATION_KINDS)][
        ["site_id", "kind", "name_zh", "name_en", "lat", "lon", "attributes", "synthetic",
         "city_code"]
    ].reset_index(drop=True)  # fmt: skip
    return StationIndex(_group_stations(sites, read_station_lines(lake)))


def _group_stations(sites: pd.DataFrame, served: pd.DataFrame) -> list[_Station]:
    lines_of: dict[str, list[tuple[str, str]]] = {}
    for site_id, line_id, line in served.itertuples(index=False):
        lines_of.setdefault(site_id, []).append((line_id, line))
    groups: dict[tuple[str | None, str, str | None], _Station] = {}
    points: dict[tuple[str | None, str, str | None], list[tuple[float, float]]] = {}
    for row in sites.itertuples(index=False):
        attributes = json.loads(row.attributes) if row.attributes else {}
        network = attributes.get("network_id")
        name = get_folded(row.name_zh) or get_folded(row.name_en) or row.site_id
        city = None if pd.isna(row.city_code) else str(row.city_code)
        key = (network, name, city)
        station = groups.get(key)
        if station is None:
            pinyin = attributes.get("pinyin") or (get_pinyin(row.name_zh) if row.name_zh else None)
            aliases = [a for a in attributes.get("aliases", []) if isinstance(a, str)]
            names = [row.name_zh, row.name_en, pinyin, *aliases]
            keys = {get_folded(n) for n in names} - {""}
            station = _Station(network, row.kind, row.name_zh, row.name_en, pinyin, city)
            station.keys = tuple(sorted(keys))
            initials = {get_initials(row.name_zh), get_initials(row.name_en)} - {""}
            station.initials = tuple(sorted(initials))
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
        None without coordinates), match (one of ``MATCH_KINDS``), synthetic (a member
        site is synthetic) and the station's city (city_code, city_zh, city_en).
    """
    index = read_cached(lake, "station index", build=lambda: build_station_index(lake))
    return index.find(query, network_id=network_id, limit=limit)
