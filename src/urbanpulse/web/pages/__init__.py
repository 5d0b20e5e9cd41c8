"""The page routers, one module per page; :data:`PAGE_ROUTERS` is what the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from urbanpulse.web.pages import (
    access,
    app_shell,
    commuter,
    developers,
    home,
    monitor,
    operator,
    sites,
)

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    sites.router,
    monitor.router,
    commuter.router,
    operator.router,
    access.router,
    developers.router,
    app_shell.router,
)

__all__ = ["PAGE_ROUTERS"]
