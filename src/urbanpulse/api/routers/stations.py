"""GET /api/stations (find stations by name or pinyin) and GET /api/networks."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from urbanpulse.api.deps import LakeDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import (
    NetworkPublic,
    NetworksPublic,
    StationMatchesPublic,
    StationMatchPublic,
)
from urbanpulse.store.networks import read_networks
from urbanpulse.transit.search import find_stations

router = APIRouter(tags=["stations"], responses=ERROR_RESPONSES)

NameQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        description="Part of a Chinese or English name or its pinyin (西直, xizhi, Xi Zhi "
        "Men), its pinyin initials (xzm), with a city to narrow it (唐山火车站) or one typo.",
    ),
]
NetworkQuery = Annotated[str | None, Query(max_length=100, description="Only this network id.")]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Most results to return.")]


@router.get("/api/stations", response_model=StationMatchesPublic, summary="Find stations by name")
def list_stations(
    lake: LakeDep, q: NameQuery, network: NetworkQuery = None, limit: LimitQuery = 20
) -> StationMatchesPublic:
    """Stations ``q`` names (any case, tones and spaces ignored), one per station and
    city: exact matches first, then pinyin initials, prefixes, substrings, and names
    one typo away when nothing matches as typed. A city name before or after the
    station narrows the search to that city; a trailing 站 or "station" is dropped."""
    found = find_stations(lake, q, network_id=network, limit=limit)
    items = [StationMatchPublic(**asdict(m)) for m in found]
    synthetic = any(m.synthetic for m in found)
    return StationMatchesPublic(synthetic=synthetic, query=q, count=len(items), items=items)


@router.get("/api/networks", response_model=NetworksPublic, summary="List transit networks")
def list_networks(lake: LakeDep) -> NetworksPublic:
    """The transit networks loaded into the lake, with what each source lacks."""
    rows = read_networks(lake).astype(object).where(lambda f: f.notna(), None)
    items = [
        NetworkPublic(**{**r, "missing": json.loads(r["missing"] or "[]")})
        for r in rows.to_dict("records")
    ]
    synthetic = any(n.synthetic for n in items)
    return NetworksPublic(synthetic=synthetic, count=len(items), items=items)
