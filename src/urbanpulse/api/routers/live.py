"""Crowding now: GET /api/live/sections (a snapshot) and GET /api/live/stream (events).

The stream is server-sent events: a ``sections`` event carrying the same JSON as the
snapshot whenever the lake gained data or a section went stale, and a ``heartbeat``
event when nothing changed for a while, so clients and proxies know it is alive.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from urbanpulse.access.matrix import get_data_policy
from urbanpulse.advise.live import LiveCrowding
from urbanpulse.api.access import PrincipalDep
from urbanpulse.api.deps import SettingsDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.errors import AccessDeniedError
from urbanpulse.i18n import N_

router = APIRouter(prefix="/api/live", tags=["live"], responses=ERROR_RESPONSES)

# How often a stream looks for new data (listing the commit log), and how long it may
# stay silent before it sends a heartbeat.
TICK_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
# Milliseconds a browser waits before it reconnects a dropped stream.
RETRY_MS = 3000


class CrowdingLevelPublic(BaseModel):
    level: str = Field(description="'comfortable', 'normal', 'crowded' or 'very_crowded'.")
    name_en: str
    name_zh: str
    min_load: float = Field(description="Lowest load of the level (share of rated capacity).")
    max_load: float | None = Field(
        description="Load where the next level starts; none for the last."
    )
    colour: str = Field(description="CSS colour the pages paint the level in.")


class LiveSectionPublic(BaseModel):
    from_site_id: str
    to_site_id: str
    direction: str = Field(
        description="'up' (rising station order), 'down', or 'both' when readings have no direction."
    )
    position: int = Field(description="Order of the section along its line, from 0.")
    load: float | None = Field(
        description="Trains' load against rated capacity; none without a reading."
    )
    level: str | None = Field(description="Crowding level of the load; none without a reading.")
    ts: datetime | None = Field(description="Time of the oldest reading used (local time).")
    stale: bool = Field(description="True when that reading is older than live_stale_after_s.")


class LiveStationPublic(BaseModel):
    site_id: str
    name_zh: str | None = None
    name_en: str | None = None


class LiveLinePublic(BaseModel):
    line_id: str
    name_zh: str | None = None
    name_en: str | None = None
    mode: str | None = None
    city_code: str | None = None
    city_name_en: str | None = None
    city_name_zh: str | None = None
    loop: bool = False
    stations: list[LiveStationPublic]
    sections: list[LiveSectionPublic]


class LiveSectionsPublic(BaseModel):
    """Crowding now on every line section with readings."""

    synthetic: bool = Field(description="True when any station of the lake is synthetic.")
    version: int = Field(description="Lake version the readings were taken from.")
    generated_at: datetime = Field(description="When this snapshot was computed (local time).")
    last_reading: datetime | None = Field(description="Newest reading of any section.")
    stale: bool = Field(
        description="True when every section's reading is stale: the feed is silent."
    )
    stale_since: datetime | None = Field(description="Newest reading, when the feed is stale.")
    stale_after_s: float = Field(description="Age past which a reading is stale (setting).")
    stale_sections: int = Field(description="Sections whose reading is stale or missing.")
    levels: list[CrowdingLevelPublic]
    lines: list[LiveLinePublic]


async def get_live(request: Request, principal: PrincipalDep) -> LiveCrowding:
    """The app's live crowding view (built by the app factory), for a caller the data
    policy shows each site's newest values (crowding now is made of them)."""
    if not get_data_policy("observations").shows_latest(principal.scope):
        raise AccessDeniedError(
            N_("the data policy shows the newest readings to other scopes only")
        )
    live: LiveCrowding = request.app.state.live
    return live


LiveDep = Annotated[LiveCrowding, Depends(get_live)]


@router.get(
    "/sections", response_model=LiveSectionsPublic, summary="Crowding now, per line section"
)
async def get_live_sections(live: LiveDep) -> dict[str, Any]:
    """Every line section with its crowding level from the newest readings, the time of
    the last reading, and whether the feed is stale. Pages poll this when they cannot
    keep ``/api/live/stream`` open."""
    return await run_in_threadpool(live.get_snapshot)


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


@router.get(
    "/stream",
    response_class=EventStreamResponse,
    summary="Crowding now, pushed as server-sent events",
    responses={
        200: {
            "description": (
                "A text/event-stream: `sections` events whose data is the JSON of "
                "`/api/live/sections` (LiveSectionsPublic), sent at once and whenever it "
                "changes, and `heartbeat` events (data: the server's time) after 15 s of "
                "silence."
            ),
        },
        # Errors are JSON like everywhere else, not events.
        **{
            status: {
                "description": response["description"],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}
                },
            }
            for status, response in ERROR_RESPONSES.items()
        },
    },
)
async def stream_live_sections(
    request: Request,
    live: LiveDep,
    settings: SettingsDep,
    max_events: Annotated[
        int | None,
        Query(ge=1, le=100_000, description="End the stream after this many events."),
    ] = None,
) -> EventStreamResponse:
    """Server-sent events of crowding now. The stream ends after ``live_stream_max_s``
    (the browser reconnects by itself) or ``max_events``. A client that does not send
    ``Accept: text/event-stream`` (as EventSource does) gets the current snapshot as
    one event, so generic HTTP clients are not held open."""
    if "text/event-stream" not in request.headers.get("accept", ""):
        max_events = 1
    events = _generate_events(request, live, settings.live_stream_max_s, max_events)
    return EventStreamResponse(
        events,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _generate_events(
    request: Request, live: LiveCrowding, lifetime: float, max_events: int | None
) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    sent = 0
    fingerprint: tuple[int, int] | None = None
    yield f"retry: {RETRY_MS}\n\n"
    while max_events is None or sent < max_events:
        snapshot = await run_in_threadpool(live.get_current_snapshot)
        # A new snapshot goes out when the lake changed or sections went stale.
        current = (snapshot["version"], snapshot["stale_sections"])
        if current != fingerprint:
            fingerprint = current
            yield format_event("sections", json.dumps(snapshot), event_id=str(current[0]))
        elif time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            now = datetime.now(UTC).isoformat()
            yield format_event("heartbeat", json.dumps({"time": now}))
        else:
            if time.monotonic() - started >= lifetime or await request.is_disconnected():
                return
            await asyncio.sleep(TICK_SECONDS)
            continue
        sent += 1
        last_sent = time.monotonic()
        if time.monotonic() - started >= lifetime:
            return


def format_event(event: str, data: str, *, event_id: str | None = None) -> str:
    """One server-sent event; ``data`` must be one line (compact JSON is)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"
