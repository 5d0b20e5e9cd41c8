"""The page routers, one module per page; :data:`PAGE_ROUTERS` is what the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from urbanpulse.web.pages import access, commuter, developers, home, monitor, operator, sites

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    sites.router,
    monitor.router,
    commuter.router,
    operator.router,
    access.router,
    developers.router,
)

__all__ = ["PAGE_ROUTERS"]
