"""Dependencies shared by the routers: the app's settings and its lake."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from urbanpulse.settings import Settings
from urbanpulse.store import Lake


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_lake(request: Request) -> Lake:
    """The app's lake; one object per app so its commit log is replayed only once."""
    lake: Lake = request.app.state.lake
    return lake


SettingsDep = Annotated[Settings, Depends(get_settings)]
LakeDep = Annotated[Lake, Depends(get_lake)]


def get_aware(moment: datetime | None, settings: Settings) -> datetime | None:
    """Read a time without an offset as local time of the region, as people write it."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(settings.local_timezone))
