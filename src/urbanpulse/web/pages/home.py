"""The home page: the region's cities and sites on a map."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from urbanpulse.catalog import get_cities_table
from urbanpulse.i18n import gettext as _
from urbanpulse.store import Lake, read_sites
from urbanpulse.web.charts import build_map_figure
from urbanpulse.web.rendering import render_page

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def get_home(request: Request) -> HTMLResponse:
    lake: Lake = request.app.state.lake
    settings = request.app.state.settings
    cities = get_cities_table(settings.region)
    sites = read_sites(lake)
    counts = sites["city_code"].value_counts()
    cities["sites"] = cities["code"].map(counts).fillna(0).astype(int)
    return render_page(
        request,
        "home.html",
        title=_("Cities and sites"),
        synthetic=bool(sites["synthetic"].fillna(False).any()),
        cities=cities.to_dict("records"),
        total_population=int(cities["population_2020"].sum()),
        sites_by_city=_group_by_city(sites, cities),
        site_count=len(sites),
        map_figure=build_map_figure(cities, sites),
    )


def _group_by_city(sites: pd.DataFrame, cities: pd.DataFrame) -> list[dict[str, Any]]:
    """Sites grouped under their city, catalogue order; sites of no known city last."""
    records = sites.astype(object).where(sites.notna(), None).to_dict("records")
    groups: list[dict[str, Any]] = []
    for city in cities.to_dict("records"):
        members = [r for r in records if r["city_code"] == city["code"]]
        if members:
            groups.append({"city": city, "sites": members})
    known = set(cities["code"])
    others = [r for r in records if r["city_code"] not in known]
    if others:
        groups.append({"city": None, "sites": others})
    return groups
