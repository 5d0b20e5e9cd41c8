"""Server-rendered web pages, their templates and static assets.

Adding a page: write ``pages/<name>.py`` with ``router = APIRouter()`` whose handlers
return :func:`urbanpulse.web.rendering.render_page`, a template in ``templates/`` that
extends ``base.html``, then list the router in ``pages.PAGE_ROUTERS`` and, for a menu
entry, add it to ``pages.NAV``.
"""

from __future__ import annotations

from urbanpulse.web.app import add_web

__all__ = ["add_web"]
