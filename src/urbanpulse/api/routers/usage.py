"""GET /api/usage: the calling client's own rate limits, quota and use so far."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.middleware import get_usage
from urbanpulse.api.schemas import UsagePublic

router = APIRouter(prefix="/api", tags=["usage"], responses=ERROR_RESPONSES)


@router.get("/usage", response_model=UsagePublic, summary="Your limits and use so far")
async def read_own_usage(request: Request) -> dict[str, Any]:
    """The caller's scope, its limits per minute and per day, how many requests it has
    made in each window and when each resets. A caller is its API key, else its address;
    this request itself is not counted twice. Anyone may ask about themselves only."""
    return await get_usage(request)
