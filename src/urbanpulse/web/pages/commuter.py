"""The commuter page: when to leave for a journey, by predicted crowding.

The page renders the station search boxes, a map of stations to click and sensible
defaults; its script asks the JSON API (``/api/stations`` while typing,
``/api/advice`` for the journey) and draws the answer, so the page and the API never
disagree.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from urbanpulse.web.deps import AdviceServiceDep
from urbanpulse.web.rendering import render_page
from urbanpulse.web.station_map import build_station_map_figure

router = APIRouter()

# The default trip: the busiest metro line of the first city, a quarter of the way in
# to three quarters, which crosses the centre on most lines.
DEFAULT_MODE = "metro"
DEFAULT_TIMES = ("07:00", "09:30", "08:00")


@router.get("/commute", response_class=HTMLResponse)
def get_commuter_page(request: Request, service: AdviceServiceDep) -> HTMLResponse:
    lines = service.get_lines()
    sites = service.get_sites()
    clock = service.get_clock()
    default = get_default_trip(lines)
    station_map = build_station_map_figure(sites, lines, city=default["city"])
    has_stations = any(trace.get("x") for trace in station_map["data"])
    return render_page(
        request,
        "commuter.html",
        title="When to leave",
        synthetic=service.is_synthetic(),
        has_stations=has_stations,
        station_map=station_map,
        default=default,
        clock=clock.to_dict(),
        times=DEFAULT_TIMES,
    )


def get_default_trip(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The default city, origin and destination (ids and names): see DEFAULT_MODE."""
    metro = [line for line in lines if line.get("mode") == DEFAULT_MODE] or lines
    if not metro:
        return {"city": None, "origin": None, "destination": None}
    line = max(metro, key=lambda item: len(item["stations"]))
    stations = line["stations"]
    n = len(stations)
    return {
        "city": line["city_code"],
        "origin": _pick(stations[n // 4]),
        "destination": _pick(stations[min(n - 1, 3 * n // 4)]) if n > 1 else None,
    }


def _pick(station: dict[str, Any]) -> dict[str, Any]:
    names = (station.get("name_zh"), station.get("name_en"))
    return {"site_id": station["site_id"], "label": " ".join(n for n in names if n)}
