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

from urbanpulse.i18n import gettext as _
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
        title=_("When to leave"),
        synthetic=service.is_synthetic(),
        has_stations=has_stations,
        station_map=station_map,
        default=default,
        clock=clock.to_dict(),
        times=DEFAULT_TIMES,
    )


def get_default_trip(lines: list[dict[str, Any]]) -> dict[str, str | None]:
    """The default city, line, origin and destination (site ids, and their names as
    ``origin_label`` and ``destination_label``): see DEFAULT_MODE."""
    metro = [line for line in lines if line.get("mode") == DEFAULT_MODE] or lines
    if not metro:
        return dict.fromkeys(
            ("city", "line", "origin", "destination", "origin_label", "destination_label")
        )
    line = max(metro, key=lambda item: len(item["stations"]))
    stations = line["stations"]
    n = len(stations)
    origin, destination = stations[n // 4], stations[min(n - 1, 3 * n // 4)] if n > 1 else None
    return {
        "city": line["city_code"],
        "line": line["line_id"],
        "origin": origin["site_id"],
        "destination": destination["site_id"] if destination else None,
        "origin_label": _label(origin),
        "destination_label": _label(destination) if destination else None,
    }


def _label(station: dict[str, Any]) -> str:
    return " ".join(n for n in (station.get("name_zh"), station.get("name_en")) if n)
