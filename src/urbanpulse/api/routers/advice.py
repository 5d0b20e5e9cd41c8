"""POST/GET /api/advice: when to leave, with predicted crowding by departure slot.

POST is counted (load spreading, measured effect); GET only reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from urbanpulse.advise.service import AdviceService, TripRequest
from urbanpulse.api.deps import AdviceServiceDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.middleware import get_caller
from urbanpulse.api.schemas import ADVICE_EXAMPLE, AdviceCreate, AdvicePublic
from urbanpulse.catalog.calendar import check_moment

router = APIRouter(prefix="/api/advice", tags=["advice"], responses=ERROR_RESPONSES)

DESCRIPTION = """\
Departure slots of the window ranked by predicted crowding along the trip (load against
capacity on its most crowded train, with the 80 % interval), the recommended slot first.
Recommendations already issued count as extra load, so people asking at the same time
are spread over near-equivalent slots instead of all sent to one. A share of requests
(the holdout group, `holdout: true`) gets no recommendation, so operators can measure
what advice changes. A client (its API key, else its address) keeps its group for a
trip and day, and its repeated requests for them are counted once (`repeat: true`). Times without an offset are local time (Asia/Shanghai).

Honesty: the window's end is its latest departure and a candidate slot. The preferred
time is recommended (as good as any) unless another saves `min_gain` minutes of
generalized cost: minutes in the crowd weighted by how full the trains are, plus arriving
earlier or later than wanted (late for an arrive-by deadline weighs most).
Where no stop of the trip has a crowding forecast (no crowding history, or a day past
the forecasts' reach) `crowding` is null, never 0, `forecast_share` says how many stops
have one, `forecast_coverage` sums it up, and nothing is recommended when the preferred
time itself cannot be compared.

The journey may change lines: `legs` gives each ride (line, from, to, when the train
leaves and arrives, minutes walked and waited before it) for the first ranked slot, and
`routes` up to three alternatives; `route` picks one. With `arrive_by` the window is
when the traveller wants to arrive.

Errors: 404 for an unknown station; 400 for stations no journey connects (different
networks), a route that does not exist, the same station twice, a window that is over, longer than 24 hours, ends before it starts,
starts more than 7 days ahead or does not hold the preferred time, and for times
outside 1970-01-01..2199-12-31; 422 for malformed times or missing fields.
"""


GET_NOTE = """
GET only reads: the answer is ranked exactly as for POST, but nothing is recorded,
neither in the counts that spread later requests nor in the operator's measured effect
(`recorded: false`). Ask with POST to be counted; a page elsewhere cannot make a
browser change shared state through a link or an image.
"""

# The advice routes are ``async`` although the work is synchronous: once the forecasts
# are cached it takes about a millisecond of CPU, and running it on the event loop
# saves the hop to the thread pool, which cost more than the work itself under load
# (bench/advice_api.py). A cold request reads the lake for up to seconds, so that part
# runs in the thread pool instead, and other requests keep being answered meanwhile.


def build_response(body: dict[str, Any]) -> JSONResponse:
    """The body as JSON as is: the service builds exactly ``AdvicePublic``, and skipping
    the response model's validation keeps a request cheap (see bench/advice_api.py)."""
    return JSONResponse(body)


async def advise(
    service: AdviceService, request: TripRequest, *, record: bool, client: str | None = None
) -> JSONResponse:
    """The advice as JSON: on the event loop when its inputs are cached, else read first
    in the thread pool (bounds of the times checked before either); counted only when
    ``record`` (POST), since a GET must never change shared state."""
    for name in ("start", "end", "preferred"):
        check_moment(getattr(request, name), name=name)
    inputs = service.get_cached_inputs(request)
    if inputs is None:
        inputs = await run_in_threadpool(service.read_inputs, request)
    if service.counters_remote:  # Redis round trips may wait: off the event loop
        return build_response(
            await run_in_threadpool(lambda: service.respond(inputs, record=record, client=client))
        )
    return build_response(service.respond(inputs, record=record, client=client))


@router.post(
    "", response_model=AdvicePublic, summary="Advise a departure time", description=DESCRIPTION
)
async def post_advice(
    request: Request,
    service: AdviceServiceDep,
    body: Annotated[
        AdviceCreate,
        Body(
            openapi_examples={
                "morning": {"summary": "Line 1, morning peak", "value": ADVICE_EXAMPLE}
            }
        ),
    ],
) -> JSONResponse:
    trip = TripRequest(
        body.origin, body.destination, body.start, body.end, body.preferred,
        arrive_by=body.arrive_by, route=body.route,
    )  # fmt: skip
    return await advise(service, trip, record=True, client=get_caller(request.scope).id)


@router.get(
    "",
    response_model=AdvicePublic,
    summary="Advise a departure time (query; read-only)",
    description=DESCRIPTION + GET_NOTE,
)
async def get_advice(
    request: Request,
    service: AdviceServiceDep,
    origin: Annotated[
        str, Query(description="Station id where the trip starts.", examples=["bj-m1-s05"])
    ],
    start: Annotated[
        datetime, Query(description="Earliest departure.", examples=["2026-11-02T07:00"])
    ],
    end: Annotated[datetime, Query(description="Latest departure.", examples=["2026-11-02T09:30"])],
    destination: Annotated[
        str | None,
        Query(description="Station id where the trip ends (any line).", examples=["bj-m1-s20"]),
    ] = None,
    preferred: Annotated[
        datetime | None, Query(description="Preferred departure (default: start).")
    ] = None,
    arrive_by: Annotated[
        bool, Query(description="The window and preferred time are arrival times.")
    ] = False,
    route: Annotated[
        int, Query(ge=0, description="Which of the journey's routes (0 = the fastest).")
    ] = 0,
) -> JSONResponse:
    trip = TripRequest(origin, destination, start, end, preferred, arrive_by=arrive_by, route=route)
    return await advise(service, trip, record=False)
