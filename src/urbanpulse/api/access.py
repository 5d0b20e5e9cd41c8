"""Access control at the edge: the dependency that holds every route to the auth
matrix, and the middleware that writes the audit log once the response status is known.

Credentials: ``Authorization: Bearer <API key or OpenID Connect JWT>`` or
``X-API-Key: <API key>``, or the cookie the sign-in page sets for browsers
(``SameSite=Strict`` and ``HttpOnly``: other sites cannot make a browser send it,
and scripts cannot read it).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from urbanpulse.access import ANONYMOUS, AccessService, Principal, build_access_service
from urbanpulse.access.audit import record_event
from urbanpulse.access.matrix import get_route_key
from urbanpulse.access.service import KEY_COOKIE
from urbanpulse.settings import Settings

logger = logging.getLogger(__name__)

AUDIT_SCOPE_KEY = "urbanpulse.audit"


def install_access(app: FastAPI, settings: Settings) -> None:
    """Build the access service, hold every route added after this to the matrix, and
    audit calls of routes that are not public. Call before including routers."""
    app.state.access = build_access_service(settings)
    app.router.dependencies.append(Depends(require_access))
    app.add_middleware(AuditMiddleware)


async def require_access(request: Request) -> Principal:
    """The caller, once the auth matrix lets it call this route.

    Raises AuthenticationError (401) for missing or invalid credentials where they are
    needed, AccessDeniedError (403) for a scope the matrix does not list.
    """
    access: AccessService = request.app.state.access
    route = request.scope.get("route")
    route_key = get_route_key(request.method, getattr(route, "path_format", request.url.path))
    token = get_token(request)
    public = access.is_public(route_key)
    holder: dict[str, Any] | None = request.scope.get(AUDIT_SCOPE_KEY)
    if holder is not None and not public:
        holder["principal"] = ANONYMOUS  # until known: a refusal is audited too
    principal = ANONYMOUS
    if token:
        principal = await run_in_threadpool(access.authenticate, token)
    if holder is not None and not public:
        holder["principal"] = principal
    access.authorize(principal, route_key)
    request.state.principal = principal
    return principal


def get_token(request: Request) -> str | None:
    """The bearer token or API key the request carries, if any."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    return request.cookies.get(KEY_COOKIE) or None


class AuditMiddleware:
    """Appends an audit entry for every request whose route is not public, with the
    status it ended with (refusals included), after the response went out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: dict[str, Any] = {}
        scope[AUDIT_SCOPE_KEY] = holder
        status = 500

        async def send_tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        finally:
            if "principal" in holder:
                await self._record(scope, holder["principal"], status)

    async def _record(self, scope: Scope, principal: Principal, status: int) -> None:
        access: AccessService = scope["app"].state.access
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            await run_in_threadpool(
                lambda: record_event(
                    access.store,
                    actor=principal.subject,
                    scope=principal.scope,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    detail=query,
                )
            )
        except Exception:  # the response is gone: say loudly that the log missed it
            logger.exception("could not write the audit entry for %s", scope["path"])
