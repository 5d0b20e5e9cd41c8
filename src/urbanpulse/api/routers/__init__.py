"""One router per resource; :data:`ROUTERS` is what the app factory includes.

To add a resource, write ``routers/<resource>.py`` with ``router = APIRouter(...)``
and add it to :data:`ROUTERS`.
"""

from __future__ import annotations

from fastapi import APIRouter

from urbanpulse.api.routers import (
    advice,
    aggregates,
    audit,
    cities,
    datasets,
    forecasts,
    gtfs_rt,
    health,
    indicators,
    ingest,
    keys,
    lines,
    live,
    monitor,
    ngsi,
    ngsi_provision,
    observations,
    open_catalog,
    operator,
    profiles,
    quarantine,
    sites,
    stations,
    usage,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    cities.router,
    sites.router,
    observations.router,
    profiles.router,
    forecasts.router,
    quarantine.router,
    indicators.router,
    monitor.router,
    lines.router,
    live.router,
    gtfs_rt.router,
    advice.router,
    operator.router,
    stations.router,
    keys.router,
    audit.router,
    open_catalog.router,
    datasets.router,
    aggregates.router,
    usage.router,
    ngsi.router,
    ngsi_provision.router,
    ingest.router,
)

__all__ = ["ROUTERS"]
