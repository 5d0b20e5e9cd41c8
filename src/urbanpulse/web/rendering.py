"""Rendering pages: the templates object and the context every page shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from urbanpulse import __version__
from urbanpulse.web.nav import NAV

TEMPLATES_DIR = Path(__file__).parent / "templates"


def build_templates() -> Jinja2Templates:
    """Templates from the package, with the filters pages use."""
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    templates.env.filters["thousands"] = lambda n: f"{int(n):,}" if n is not None else ""
    templates.env.filters["figure_json"] = get_figure_json
    return templates


def get_figure_json(figure: dict[str, Any]) -> str:
    """A figure as JSON safe to place inside a ``<script>`` element."""
    # "</" would end the script element early if a site name contained "</script>".
    return json.dumps(figure, ensure_ascii=False).replace("</", "<\\/")


def render_page(
    request: Request,
    template: str,
    *,
    title: str,
    synthetic: bool = False,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page that extends ``base.html``.

    ``synthetic`` shows the "Synthetic demo data" banner: set it whenever any data on
    the page was generated rather than measured.
    """
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            # Links are built from the mount point, so the app also works under a prefix.
            "base": request.scope.get("root_path", ""),
            "synthetic": synthetic,
            "nav": NAV,
            "version": __version__,
            **context,
        },
        status_code=status_code,
    )


def render_error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """The HTML page shown to browsers for an error on a page; for a page that needs
    credentials (401), the sign-in form, which comes back to the page."""
    if status_code == 401:
        from urbanpulse.web.pages.access import render_sign_in

        return render_sign_in(request, next_path=request.url.path, message=message, status_code=401)
    return render_page(
        request,
        "error.html",
        title=f"Error {status_code}",
        status_code=status_code,
        status=status_code,
        message=message,
    )
