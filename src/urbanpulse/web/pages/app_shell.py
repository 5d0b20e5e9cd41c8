"""The commuter page as an app a phone can install: its web app manifest and the
service worker that opens it offline (``static/sw.js``), both served from the site's
root so that the worker's scope is the whole site."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from urbanpulse.i18n import gettext as _

router = APIRouter()

# Colours of the page header (style.css), so the installed app looks like the site.
THEME_COLOUR = "#0b5394"
BACKGROUND_COLOUR = "#ffffff"


@router.get("/manifest.webmanifest")
def get_manifest(request: Request) -> JSONResponse:
    """The web app manifest, in the request's language."""
    base = request.scope.get("root_path", "")
    manifest = {
        "name": _("UrbanPulse: when to leave"),
        "short_name": "UrbanPulse",
        "description": _("When to leave, by predicted crowding, and the journey's legs."),
        "start_url": f"{base}/commute",
        "scope": f"{base}/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [{"src": f"{base}/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return JSONResponse(manifest, media_type="application/manifest+json")


@router.get("/sw.js")
def get_service_worker(request: Request) -> FileResponse:
    """The service worker, never cached by the browser's HTTP cache (a new version
    must reach installed apps)."""
    return FileResponse(
        request.app.state.assets.directory / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )
