"""POST /api/ingest/observations: observations pushed over HTTP, committed to the lake.

The body is JSON (one observation, a batch as an array or ``{"observations": [...]}``),
NGSI-LD entity fragments (``application/ld+json`` or plain JSON) or CSV (``text/csv``),
read and judged as MQTT messages are (urbanpulse.stream). One request is one commit:
its observations, the sites it adds (setting ``stream_allow_new_sites``) and its
rejected items, kept in quarantine with the request as source and their position, become
visible together. Sending the same body again stores nothing new. Writes need a key:
access/matrix.toml.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from urbanpulse.api.deps import LakeDep, SettingsDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.stream.batches import commit_items
from urbanpulse.stream.payloads import Items, decode_payload, get_media_type

router = APIRouter(prefix="/api/ingest", tags=["ingest"], responses=ERROR_RESPONSES)

MEDIA_TYPES = ("application/json", "application/ld+json", "text/csv")
OPERATION = "stream_http"


class IngestResultPublic(BaseModel):
    """What one push stored, found already stored and quarantined."""

    received: int = Field(description="Observations found in the body.")
    stored: int = Field(description="Observations stored now.")
    duplicates: int = Field(description="Observations whose key (site, metric, time) was stored.")
    new_sites: int = Field(description="Sites registered by this push.")
    quarantined: int = Field(description="Items and messages kept in quarantine.")
    reasons: dict[str, int] = Field(description="Quarantined count by reason.")
    version: int | None = Field(description="Lake version of the commit (None: nothing new).")


@router.post(
    "/observations",
    response_model=IngestResultPublic,
    summary="Push observations (JSON, NGSI-LD or CSV)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}},
                    "example": [
                        {
                            "site_id": "bj-air-dongsi",
                            "metric": "pm25",
                            "ts": "2026-11-30T08:00:00+08:00",
                            "value": 35.0,
                            "unit": "ug/m3",
                        }
                    ],
                },
                "application/ld+json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def push_observations(
    request: Request, lake: LakeDep, settings: SettingsDep
) -> IngestResultPublic:
    """Store pushed observations; bad items go to quarantine with their position (item
    index, or CSV line) and reason, and are counted in the answer."""
    media = get_media_type(request.headers.get("content-type"))
    if media not in MEDIA_TYPES:
        raise HTTPException(415, f"send {', '.join(MEDIA_TYPES)}; got {media or 'no Content-Type'}")
    body = await request.body()
    received_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    source = f"http:POST /api/ingest/observations at {received_at}"
    items = Items()
    decode_payload(body, media, source, items)
    result = await run_in_threadpool(
        commit_items,
        lake,
        items,
        timezone=settings.local_timezone,
        allow_new_sites=settings.stream_allow_new_sites,
        operation=OPERATION,
        info={"content_type": media, "bytes": len(body)},
    )
    return IngestResultPublic(
        received=result.received,
        stored=result.stored,
        duplicates=result.duplicates,
        new_sites=result.new_sites,
        quarantined=result.quarantined_total,
        reasons=dict(result.quarantined),
        version=result.version,
    )
