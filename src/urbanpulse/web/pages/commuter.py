"""The commuter page: when to leave for a journey, by predicted crowding.

The page renders the station search boxes, a map of stations to click and sensible
defaults; its script asks the JSON API (``/api/stations`` while typing,
``/api/advice`` for the journey) and draws the answer, so the page and the API never
disagree. The trip the page opens with comes with its answer already, as the API's
read (GET) gives it, when that answer is at hand: the rider sees advice one round
trip sooner, which on a phone network is most of the wait.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from urbanpulse.advise.clock import get_planning_day_end
from urbanpulse.advise.service import AdviceService, TripRequest
from urbanpulse.catalog.calendar import check_moment
from urbanpulse.errors import UrbanPulseError
from urbanpulse.i18n import gettext as _
from urbanpulse.web.deps import AdviceServiceDep
from urbanpulse.web.rendering import render_page
from urbanpulse.web.station_map import build_station_map_figure

router = APIRouter()

# The default trip: the busiest metro line of the first city, a quarter of the way in
# to three quarters, which crosses the centre on most lines.
DEFAULT_MODE = "metro"
DEFAULT_TIMES = ("07:00", "09:30", "08:00")
# How long the app's worker may open a kept copy of the page at once (then refreshing
# it behind): its defaults (the planning day, stations, the default trip) hold that
# long at most. The advice itself is always asked afresh.
KEPT_PAGE_MINUTES = 60
KEPT_UNTIL_HEADER = "UrbanPulse-Kept-Until"


@router.get("/commute", response_class=HTMLResponse)
def get_commuter_page(request: Request, service: AdviceServiceDep) -> HTMLResponse:
    lines = service.get_lines()
    sites = service.get_sites()
    clock = service.get_clock()
    default = get_default_trip(lines)
    station_map = build_station_map_figure(sites, lines, city=default["city"])
    has_stations = any(trace.get("x") for trace in station_map["data"])
    trip = get_opening_trip(request, default, clock.planning_day.isoformat())
    response = render_page(
        request,
        "commuter.html",
        title=_("When to leave"),
        synthetic=service.is_synthetic(),
        has_stations=has_stations,
        station_map=station_map,
        default=default,
        clock=clock.to_dict(),
        times=DEFAULT_TIMES,
        first_answer=get_first_answer(service, trip) if trip else None,
    )
    kept_until = datetime.now(UTC) + timedelta(minutes=KEPT_PAGE_MINUTES)
    day_end = get_planning_day_end(clock)
    if day_end is not None:
        kept_until = min(kept_until, day_end)
    # Read by the app's worker (static/sw.js) only; browsers' own caches ask again.
    response.headers[KEPT_UNTIL_HEADER] = kept_until.astimezone(UTC).isoformat()
    response.headers["Cache-Control"] = "no-cache"
    return response


def get_opening_trip(
    request: Request, default: dict[str, str | None], planning_day: str
) -> dict[str, Any] | None:
    """The trip the page's script asks about as it opens, in the fields and text it
    sends (static/commuter.js, ``ask``): the one in the address (a bookmark or a shared
    link), else the default trip on the planning day. None without both stations."""
    asked = request.query_params
    stated = bool(asked.get("origin") and asked.get("destination"))
    origin = asked.get("origin") if stated else default["origin"]
    destination = asked.get("destination") if stated else default["destination"]
    if not origin or not destination:
        return None
    times = dict(zip(("start", "end", "preferred"), DEFAULT_TIMES, strict=True))
    day = (asked.get("day") if stated else None) or planning_day
    if stated:
        times.update({name: asked[name] for name in times if asked.get(name)})
    route = asked.get("route", "0") if stated else "0"
    return {
        "origin": origin,
        "destination": destination,
        **{name: f"{day}T{value}" for name, value in times.items()},
        "arrive_by": stated and asked.get("arrive_by") == "1",
        "route": int(route) if route.isdigit() else 0,
    }


def get_first_answer(service: AdviceService, trip: dict[str, Any]) -> dict[str, Any]:
    """``trip``, the read the page's script makes first, with its read-only advice (the
    body ``GET /api/advice`` answers) and the moment it was made when the answer's
    inputs are cached. The advice is None when they are not (the page's script asks, as
    before) or the trip is refused (the script asks and shows the error in its place).
    The trip is always there: the app's worker asks for its answer as a kept copy of the
    page is read (static/sw.js). Never counted: opening a page only reads."""
    try:
        start, end, preferred = (
            datetime.fromisoformat(trip[name]) for name in ("start", "end", "preferred")
        )
        for name, moment in (("start", start), ("end", end), ("preferred", preferred)):
            check_moment(moment, name=name)  # the bounds the API holds times to
        request = TripRequest(
            trip["origin"], trip["destination"], start, end, preferred,
            arrive_by=trip["arrive_by"], route=trip["route"],
        )  # fmt: skip
        inputs = service.get_cached_inputs(request)
        advice = None if inputs is None else service.respond(inputs, record=False)
    except (UrbanPulseError, ValueError):
        advice = None
    return {"trip": trip, "advice": advice, "made_at_ms": int(time.time() * 1000)}


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
