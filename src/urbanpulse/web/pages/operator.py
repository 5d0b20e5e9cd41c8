"""The operator page: observed against predicted load, forecast error, and advice's effect.

The page renders the pickers; its script reads ``/api/operator/accuracy`` (a past day
forecast from the days before it, laid over what happened) and ``/api/operator/effect``
(advised against holdout requests, kept across restarts) and draws them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from urbanpulse.advise.operations import get_opening_day, list_grid_lines
from urbanpulse.errors import NotFoundError
from urbanpulse.i18n import gettext as _
from urbanpulse.web.deps import AdviceServiceDep
from urbanpulse.web.pages.commuter import get_default_trip
from urbanpulse.web.rendering import render_page

router = APIRouter()


@router.get("/operator", response_class=HTMLResponse)
def get_operator_page(request: Request, service: AdviceServiceDep) -> HTMLResponse:
    lines = list_grid_lines(service)
    clock = service.get_clock()
    default = get_default_trip(lines)
    line = next((x for x in lines if x["line_id"] == default["line"]), None)
    # The last day whose data is complete (forecast it from the days before, compare),
    # or the default line's newest day where it has no reading that day.
    try:
        opening = get_opening_day(service, line) if line else service.get_last_full_day()
        history_day = opening.isoformat()
    except NotFoundError:
        history_day = ""
    return render_page(
        request,
        "operator.html",
        title=_("Operator: observed, predicted, advised"),
        synthetic=service.is_synthetic(),
        lines=lines,
        default=default,
        clock=clock.to_dict(),
        history_day=history_day,
    )
