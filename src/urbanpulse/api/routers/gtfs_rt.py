"""GTFS-Realtime out: GET /api/gtfs-rt/crowding, predicted crowding per trip and stop.

The body is a GTFS-Realtime ``FeedMessage`` (protobuf, as journey planners fetch it);
``?format=json`` or ``Accept: application/json`` gives the same message as JSON (the
protobuf JSON mapping with field names as in the .proto) for debugging.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from urbanpulse.advise.occupancy_feed import OCCUPANCY_THRESHOLDS, build_crowding_feed
from urbanpulse.advise.service import AdviceService
from urbanpulse.api.deps import AdviceServiceDep, SettingsDep, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/gtfs-rt", tags=["gtfs-rt"], responses=ERROR_RESPONSES)

PROTOBUF = "application/x-protobuf"
_TABLE = "\n".join(f"| {low:.2f} | {status} |" for low, status in OCCUPANCY_THRESHOLDS)
DESCRIPTION = f"""
Predicted crowding of a GTFS network's trips as a GTFS-Realtime feed a journey planner
can consume: one TripUpdate per trip running in the window, one StopTimeUpdate per
stop it leaves in the window with `departure_occupancy_status` (schedule_relationship
NO_DATA: crowding without predicted times). Crowding is the advice service's forecast
for the section leaving that stop in that 15-minute period (load against rated
capacity, the numbers /api/advice ranks by), mapped to OccupancyStatus:

| crowding from | OccupancyStatus |
|---|---|
{_TABLE}

Stops without a forecast are left out. The header `X-UrbanPulse-Synthetic` says whether
the network is synthetic (the demo's).
"""


@router.get(
    "/crowding",
    summary="Predicted crowding as a GTFS-Realtime feed",
    description=DESCRIPTION,
    response_class=Response,
    responses={
        200: {
            "description": "A GTFS-Realtime FeedMessage.",
            "content": {
                PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def get_crowding_feed(
    request: Request,
    service: AdviceServiceDep,
    settings: SettingsDep,
    network: Annotated[str, Query(description="Network id, as /api/networks lists it.")],
    at: Annotated[
        datetime | None,
        Query(description="Start of the window (local time without an offset); default now."),
    ] = None,
    minutes: Annotated[int, Query(ge=1, le=1440, description="Length of the window.")] = 60,
    format: Annotated[
        Literal["pb", "json"] | None,
        Query(description="'pb' (protobuf) or 'json'; default from Accept, else protobuf."),
    ] = None,
) -> Response:
    start = get_aware(at, settings, name="at") or service.get_clock().now
    feed = await run_in_threadpool(
        build_crowding_feed, service, network, start=start, minutes=minutes
    )
    synthetic = await run_in_threadpool(_is_synthetic, service, network)
    headers = {
        "X-UrbanPulse-Synthetic": "true" if synthetic else "false",
        "Cache-Control": "max-age=60",
    }
    wants_json = format == "json" or (
        format is None and "application/json" in request.headers.get("accept", "")
    )
    if wants_json:
        from google.protobuf.json_format import MessageToJson

        body = MessageToJson(feed.message, preserving_proto_field_name=True)
        return Response(body, media_type="application/json", headers=headers)
    return Response(feed.message.SerializeToString(), media_type=PROTOBUF, headers=headers)


def _is_synthetic(service: AdviceService, network_id: str) -> bool:
    from urbanpulse.store.networks import read_network_table

    rows = read_network_table(service.lake, "networks", network_id=network_id).column("synthetic")
    return bool(any(rows.to_pylist()))
