"""The network model journeys are planned on: stations, one-way line patterns, run
times, service by period and transfer walks.

It is read from the lake's network tables (GTFS feeds, the Beijing subway file, see
:mod:`urbanpulse.store.networks`; not station lists, which have no run times) and, for stations that carry their line in their
attributes (the demo's lines, or a mapping that sets ``line_id``, ``sequence`` and
``minutes_to_next``), from the sites table: such a line runs both ways, 'up' in rising
sequence and 'down' back, and a loop closes on itself. Stations of one network that share
a name are joined by a short walk, so interchanges work even where a feed lists one stop
per line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.catalog.sites import STATION_KINDS
from urbanpulse.store import Lake, read_sites
from urbanpulse.store.networks import read_network_table
from urbanpulse.transit.station_list import KIND as STATION_LIST
from urbanpulse.transit.transfers import (
    NEARBY_METRES,
    SAME_NAME_METRES,
    SAME_NAME_WALK_MINUTES,
    find_nearby_walks,
    get_metres,
    get_walk_minutes,
)

# Expected headway when a line's schedule is unknown (the demo's peak headways).
DEFAULT_HEADWAY = {"metro": 3.0, "rail": 30.0, "bus": 8.0, "tram": 8.0}
ATTRIBUTE_NETWORK = "sites"
STOP_COLUMNS = [
    "network_id",
    "line_id",
    "direction",
    "sequence",
    "site_id",
    "minutes_to_next",
    "first_departure",
    "last_departure",
]
LINE_COLUMNS = ["network_id", "line_id", "direction", "name_zh", "name_en", "mode", "loop"]


@dataclass(frozen=True)
class TransitNetwork:
    """Every network of a lake, as tables.

    Attributes
    ----------
    stations
        Columns: site_id, network_id, kind, name_zh, name_en, city_code, lat, lon,
        capacity, synthetic; one row per station or stop on a line.
    lines
        Columns of ``LINE_COLUMNS``: one row per line and direction.
    stops
        Columns of ``STOP_COLUMNS``: each direction's stops in order.
    service
        The lake's ``line_service`` table (departures, headway, run minutes by period).
    transfers
        Columns: network_id, from_site_id, to_site_id, walk_minutes, kind.
    platforms
        A GTFS parent station (location_type 1, where no line stops) -> the platforms of
        it that lines stop at, so that a station asked by name finds its trains.
    """

    stations: pd.DataFrame
    lines: pd.DataFrame
    stops: pd.DataFrame
    service: pd.DataFrame
    transfers: pd.DataFrame
    platforms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def get_station_group(self, site_id: str) -> list[str]:
        """The site and every site of the same station (same network, same name)."""
        same = self.transfers[
            (self.transfers["from_site_id"] == site_id)
            & self.transfers["kind"].isin(["same_station", "same_name"])
        ]
        return [site_id, *sorted(set(same["to_site_id"]) - {site_id})]

    def get_station_entrances(self, site_id: str) -> list[str]:
        """The sites of a station a journey may start or end at with no walk: the site,
        the platforms of its parent station, and stops of its name that have no
        coordinates (the Beijing file's interchange platforms: the rider enters where
        the line is). A stop of its name with coordinates is a measured walk away, which
        the journey walks, as the timetable's footpaths do."""
        walks = self.transfers[self.transfers["from_site_id"] == site_id]
        located = set(self.stations.dropna(subset=["lat", "lon"])["site_id"])
        measured = walks["to_site_id"].isin(located) & (site_id in located)
        entered = (walks["kind"] == "same_station") | ((walks["kind"] == "same_name") & ~measured)
        return [site_id, *sorted(set(walks.loc[entered, "to_site_id"]) - {site_id})]


def read_transit_network(lake: Lake) -> TransitNetwork:
    """The lake's networks and attribute lines as one :class:`TransitNetwork`."""
    sites = read_sites(lake)
    # A station list has no run times: its lines are not for planning journeys.
    networks = read_network_table(lake, "networks").to_pandas()
    untimed = set(networks.loc[networks["kind"] == STATION_LIST, "network_id"])
    stops = read_network_table(lake, "line_stops").to_pandas()
    stops = stops[~stops["network_id"].isin(untimed)]
    lines = read_network_table(lake, "lines").to_pandas()
    lines = lines[~lines["network_id"].isin(untimed)]
    attribute_stops, attribute_lines = build_attribute_lines(sites, set(stops["site_id"]))
    stops = _concat([stops[STOP_COLUMNS], attribute_stops], STOP_COLUMNS)
    lines = _concat([lines[LINE_COLUMNS], attribute_lines], LINE_COLUMNS)
    stations = build_stations(sites, stops)
    transfers = read_network_table(lake, "transfers").to_pandas()
    found = [
        build_stated_transfers(sites, stations),
        build_same_name_transfers(stations),
        build_interchange_transfers(stations),
    ]
    transfers = _concat([transfers, *found], list(transfers.columns))
    transfers = transfers.drop_duplicates(["from_site_id", "to_site_id"]).reset_index(drop=True)
    service = read_network_table(lake, "line_service").to_pandas()
    platforms = get_parent_platforms(sites, set(stations["site_id"]))
    return TransitNetwork(stations, lines, stops, service, transfers, platforms)


def get_parent_platforms(sites: pd.DataFrame, served: set[str]) -> dict[str, tuple[str, ...]]:
    """Parent station -> its platforms that a line stops at (``parent_station`` in the
    sites' attributes, as the GTFS loader keeps it)."""
    children: dict[str, list[str]] = {}
    for site_id, attributes in zip(sites["site_id"], sites["attributes"], strict=True):
        parent = _parse(attributes).get("parent_station")
        if parent and site_id in served:
            children.setdefault(str(parent), []).append(str(site_id))
    return {parent: tuple(sorted(kids)) for parent, kids in children.items()}


def build_stations(sites: pd.DataFrame, stops: pd.DataFrame) -> pd.DataFrame:
    """Sites that lines stop at, with the network each belongs to.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, network_id, kind, name_zh, name_en, city_code, lat, lon,
        capacity, synthetic.
    """
    network_of = stops.drop_duplicates("site_id").set_index("site_id")["network_id"]
    rows = sites[sites["site_id"].isin(network_of.index)].copy()
    rows["network_id"] = rows["site_id"].map(network_of)
    columns = ["site_id", "network_id", "kind", "name_zh", "name_en", "city_code"]
    return rows[[*columns, "lat", "lon", "capacity", "synthetic"]].reset_index(drop=True)


def build_attribute_lines(
    sites: pd.DataFrame, known: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines of stations that name their line in their attributes, both ways.

    Sites already on a stored network (``known``) are left to it.

    Returns
    -------
    tuple of pandas.DataFrame
        (stops with ``STOP_COLUMNS``, lines with ``LINE_COLUMNS``).
    """
    rows = sites[sites["kind"].isin(STATION_KINDS) & ~sites["site_id"].isin(known)]
    attrs = [_parse(a) for a in rows["attributes"]]
    frame = pd.DataFrame(
        {
            "site_id": rows["site_id"].to_numpy(),
            "line_id": [a.get("line_id") for a in attrs],
            "sequence": [a.get("sequence") for a in attrs],
            "minutes": [a.get("minutes_to_next") for a in attrs],
            "loop": [bool(a.get("loop", False)) for a in attrs],
            "mode": [
                a.get("mode") or _mode_of(k) for a, k in zip(attrs, rows["kind"], strict=True)
            ],
            "name_zh": [a.get("line_name_zh") for a in attrs],
            "name_en": [a.get("line_name_en") for a in attrs],
        }
    ).dropna(subset=["line_id", "sequence"])
    stops, lines = [], []
    for line_id, line in frame.sort_values("sequence").groupby("line_id", sort=True):
        first = line.iloc[0]
        for direction, pattern in _both_ways(line):
            stops.append(
                pattern.assign(network_id=ATTRIBUTE_NETWORK, line_id=line_id, direction=direction)
            )
            lines.append(
                {
                    "network_id": ATTRIBUTE_NETWORK,
                    "line_id": line_id,
                    "direction": direction,
                    "name_zh": first["name_zh"],
                    "name_en": first["name_en"] or line_id,
                    "mode": first["mode"],
                    "loop": bool(first["loop"]),
                }
            )
    if not stops:
        return pd.DataFrame(columns=STOP_COLUMNS), pd.DataFrame(columns=LINE_COLUMNS)
    return pd.concat(stops, ignore_index=True)[STOP_COLUMNS], pd.DataFrame(lines)[LINE_COLUMNS]


def _both_ways(line: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The 'up' pattern in sequence order and the 'down' one back; a loop closes."""
    ids = line["site_id"].tolist()
    minutes = [float(m) if m is not None and not pd.isna(m) else 2.0 for m in line["minutes"]]
    # Running times are the same both ways: the link k -> k+1 is minutes[k]. A loop
    # keeps its closing run (last -> first) on its last stop, as stored networks do.
    closing = (minutes[-1] or 2.0) if bool(line["loop"].iloc[0]) else np.nan
    up_min = [*minutes[:-1], closing]
    down_min = [*minutes[:-1][::-1], closing]
    return [("up", _pattern(ids, up_min)), ("down", _pattern(ids[::-1], down_min))]


def _pattern(ids: list[str], minutes: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "direction": None,
            "sequence": np.arange(len(ids)),
            "site_id": ids,
            "minutes_to_next": minutes,
            "first_departure": None,
            "last_departure": None,
        }
    )


def build_stated_transfers(sites: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Walks that sites state in their attributes, ``"transfers": {"<site id>":
    minutes}``, both ways: an interchange that no name or distance rule finds, such as
    a railway station that opens onto a metro station of another name. A walk to a
    site that is not a station of the lake is left out.

    Returns
    -------
    pandas.DataFrame
        Columns: network_id, from_site_id, to_site_id, walk_minutes, kind ('stated').
    """
    network_of = stations.set_index("site_id")["network_id"]
    rows = [
        (str(site_id), str(other), float(minutes))
        for site_id, attributes in zip(sites["site_id"], sites["attributes"], strict=True)
        for other, minutes in _parse(attributes).get("transfers", {}).items()
        if site_id in network_of.index and other in network_of.index
    ]
    both = {(a, b): m for a, b, m in rows} | {(b, a): m for a, b, m in rows}
    return pd.DataFrame(
        {
            "network_id": [network_of[a] for a, _ in both],
            "from_site_id": [a for a, _ in both],
            "to_site_id": [b for _, b in both],
            "walk_minutes": list(both.values()),
            "kind": "stated",
        },
        columns=["network_id", "from_site_id", "to_site_id", "walk_minutes", "kind"],
    )


def build_interchange_transfers(stations: pd.DataFrame) -> pd.DataFrame:
    """Walks between stations of different networks that stand within
    :data:`~urbanpulse.transit.transfers.NEARBY_METRES` of each other, as the loaders
    join the stops of one network: two feeds loaded apart (BART's Millbrae and
    Caltrain's, 50 m apart) meet where a rider can change. Networks without coordinates
    (the Beijing file) meet only where a site states it (:func:`build_stated_transfers`).

    Returns
    -------
    pandas.DataFrame
        Columns: network_id, from_site_id, to_site_id, walk_minutes, kind ('nearby').
    """
    network_of = stations.set_index("site_id")["network_id"]
    walks = find_nearby_walks(stations[["site_id", "lat", "lon"]], NEARBY_METRES)
    origin = walks["from_site_id"].map(network_of)
    across = (origin != walks["to_site_id"].map(network_of)).to_numpy()
    walks = walks[across].assign(network_id=origin[across])
    return walks[["network_id", "from_site_id", "to_site_id", "walk_minutes", "kind"]]


def build_same_name_transfers(stations: pd.DataFrame) -> pd.DataFrame:
    """Walks between sites of one network and city that share a Chinese or English name.

    Where both sites have coordinates, only those within
    :data:`~urbanpulse.transit.transfers.SAME_NAME_METRES` of each other are joined, in
    the minutes the distance takes on foot (the rule the loaders apply): two stations of
    one name 1.4 km apart are not one interchange. Without coordinates (the Beijing
    file) the fixed :data:`~urbanpulse.transit.transfers.SAME_NAME_WALK_MINUTES` serves.

    Returns
    -------
    pandas.DataFrame
        Columns: network_id, from_site_id, to_site_id, walk_minutes, kind ('same_name').
    """
    frames = []
    located = [c for c in ("lat", "lon") if c in stations.columns]
    for column in ("name_zh", "name_en"):
        named = stations.dropna(subset=[column])[
            ["site_id", "network_id", "city_code", column, *located]
        ]
        named = named.assign(
            city_code=named["city_code"].fillna(""), key=named[column].str.casefold()
        )
        pairs = named.merge(named, on=["network_id", "city_code", "key"], suffixes=("", "_to"))
        pairs = pairs[pairs["site_id"] != pairs["site_id_to"]]
        frames.append(pairs[["network_id", "site_id", "site_id_to", *located,
                             *(f"{c}_to" for c in located)]])  # fmt: skip
    pairs = pd.concat(frames).drop_duplicates(["network_id", "site_id", "site_id_to"])
    walk = np.full(len(pairs), SAME_NAME_WALK_MINUTES)
    if len(located) == 2 and len(pairs):
        metres = get_metres(pairs["lat"], pairs["lon"], pairs["lat_to"], pairs["lon_to"])
        known = ~np.isnan(metres)
        keep = ~known | (metres <= SAME_NAME_METRES)
        walk = np.where(known, get_walk_minutes(metres), walk)[keep]
        pairs = pairs[keep]
    return pd.DataFrame(
        {
            "network_id": pairs["network_id"].to_numpy(),
            "from_site_id": pairs["site_id"].to_numpy(),
            "to_site_id": pairs["site_id_to"].to_numpy(),
            "walk_minutes": walk,
            "kind": "same_name",
        }
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    # Empty parts are left out: they would only blur the column types of the others.
    filled = [f for f in frames if not f.empty]
    if not filled:
        return (
            frames[0].iloc[0:0][columns] if not frames[0].empty else pd.DataFrame(columns=columns)
        )
    return pd.concat(filled, ignore_index=True)[columns]


def _parse(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and value:
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return dict(value or {})


def _mode_of(kind: str) -> str:
    return {"metro_station": "metro", "bus_stop": "bus", "rail_station": "rail"}.get(kind, "bus")
