"""Transit networks: GTFS feeds and the Beijing subway file loaded into the lake as
stations, lines with ordered stops and run times, service per period, transfer walks
and service days; and station search by Chinese or English name or pinyin."""

from __future__ import annotations

from urbanpulse.transit.loading import LoadSummary, get_network_id, load_network
from urbanpulse.transit.schedule import DEFAULT_CAPACITIES
from urbanpulse.transit.search import StationMatch, find_stations

__all__ = [
    "DEFAULT_CAPACITIES",
    "LoadSummary",
    "StationMatch",
    "find_stations",
    "get_network_id",
    "load_network",
]
