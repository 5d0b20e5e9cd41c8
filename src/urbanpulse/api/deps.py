"""Dependencies shared by the routers: the app's settings, its lake and its advice service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request

from urbanpulse.advise.service import AdviceService
from urbanpulse.catalog.calendar import check_moment
from urbanpulse.context import Context
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine

# The dependencies read what the app factory built and are ``async``: FastAPI runs a
# plain ``def`` dependency in the thread pool, one hop per dependency per request, and a
# site's week paid four of them before its own (bench/engines.py).


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_lake(request: Request) -> Lake:
    """The app's lake; one object per app so its commit log is replayed only once."""
    lake: Lake = request.app.state.lake
    return lake


async def get_advice_service(request: Request) -> AdviceService:
    """The app's advice service (built once by the app factory, shared by every request);
    a hop to the thread pool cost more than a warm advice request (bench/advice_api.py)."""
    service: AdviceService = request.app.state.advice
    return service


async def get_context(request: Request) -> Context:
    """The app's context: settings, lake, calendar and engine (urbanpulse.context)."""
    context: Context = request.app.state.context
    return context


async def get_engine(request: Request) -> Engine:
    """The query engine of the app's settings."""
    context: Context = request.app.state.context
    return context.engine


# A window's bounds as every data route reads them (get_aware makes them aware).
StartQuery = Annotated[
    datetime | None,
    Query(description="ISO 8601 start (inclusive); without an offset, the region's local time."),
]
EndQuery = Annotated[
    datetime | None,
    Query(description="ISO 8601 end (exclusive); without an offset, the region's local time."),
]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ContextDep = Annotated[Context, Depends(get_context)]
EngineDep = Annotated[Engine, Depends(get_engine)]
LakeDep = Annotated[Lake, Depends(get_lake)]
AdviceServiceDep = Annotated[AdviceService, Depends(get_advice_service)]


def get_aware(
    moment: datetime | None, settings: Settings, *, name: str = "time"
) -> datetime | None:
    """Read a time without an offset as local time of the region, as people write it;
    bounded as :func:`check_moment` bounds it."""
    moment = check_moment(moment, name=name)
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(settings.local_timezone))
