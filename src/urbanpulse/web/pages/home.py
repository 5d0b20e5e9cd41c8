"""The home page: the region's cities and sites on a map."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from urbanpulse.catalog import get_cities_table
from urbanpulse.store import Lake, read_sites
from urbanpulse.web.charts import build_map_figure
from urbanpulse.web.rendering import render_page

router = APIRouter()

# Beyond this the table would be a wall of rows; the map still shows every site.
MAX_LISTED_SITES = 300


@router.get("/", response_class=HTMLResponse)
def get_home(request: Request) -> HTMLResponse:
    lake: Lake = request.app.state.lake
    settings = request.app.state.settings
    cities = get_cities_table(settings.region)
    sites = read_sites(lake)
    counts = sites["city_code"].value_counts()
    cities["sites"] = cities["code"].map(counts).fillna(0).astype(int)
    city_names = dict(zip(cities["code"], cities["name_en"], strict=True))
    listed = sites.head(MAX_LISTED_SITES).assign(city_name=lambda t: t["city_code"].map(city_names))
    return render_page(
        request,
        "home.html",
        title="Cities and sites",
        synthetic=bool(sites["synthetic"].fillna(False).any()),
        cities=cities.to_dict("records"),
        total_population=int(cities["population_2020"].sum()),
        sites=listed.astype(object).where(listed.notna(), None).to_dict("records"),
        site_count=len(sites),
        map_figure=build_map_figure(cities, sites),
    )
