"""The commuter page: when to leave for a trip along one line, by predicted crowding.

The page renders the pickers and sensible defaults; its script asks the JSON API
(``/api/advice``) and draws the answer, so the page and the API never disagree.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from urbanpulse.web.deps import AdviceServiceDep
from urbanpulse.web.rendering import render_page

router = APIRouter()

# The default trip: the busiest metro line of the first city, a quarter of the way in
# to three quarters, which crosses the centre on most lines.
DEFAULT_MODE = "metro"
DEFAULT_TIMES = ("07:00", "09:30", "08:00")


@router.get("/commute", response_class=HTMLResponse)
def get_commuter_page(request: Request, service: AdviceServiceDep) -> HTMLResponse:
    lines = service.get_lines()
    clock = service.get_clock()
    return render_page(
        request,
        "commuter.html",
        title="When to leave",
        synthetic=service.is_synthetic(),
        lines=lines,
        default=get_default_trip(lines),
        clock=clock.to_dict(),
        times=DEFAULT_TIMES,
    )


def get_default_trip(lines: list[dict]) -> dict[str, str | None]:
    """The default line and stations of the pickers: see DEFAULT_MODE."""
    metro = [line for line in lines if line.get("mode") == DEFAULT_MODE] or lines
    if not metro:
        return {"city": None, "line": None, "origin": None, "destination": None}
    line = max(metro, key=lambda item: len(item["stations"]))
    stations = line["stations"]
    n = len(stations)
    return {
        "city": line["city_code"],
        "line": line["line_id"],
        "origin": stations[n // 4]["site_id"],
        "destination": stations[min(n - 1, 3 * n // 4)]["site_id"] if n > 1 else None,
    }
