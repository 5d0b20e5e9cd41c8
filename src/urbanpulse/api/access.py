"""Access control at the edge: the dependency that holds every route to the auth
matrix, and the middleware that writes the audit log once the response status is known.

Credentials: ``Authorization: Bearer <API key or OpenID Connect JWT>`` or
``X-API-Key: <API key>``, or the cookie the sign-in page sets for browsers
(``SameSite=Strict`` and ``HttpOnly``: other sites cannot make a browser send it,
and scripts cannot read it).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from urbanpulse.access import ANONYMOUS, AccessService, Principal, build_access_service
from urbanpulse.access.audit import record_event
from urbanpulse.access.matrix import get_route_key
from urbanpulse.access.service import KEY_COOKIE
from urbanpulse.api.middleware import Caller
from urbanpulse.errors import UrbanPulseError
from urbanpulse.settings import Settings

logger = logging.getLogger(__name__)

AUDIT_SCOPE_KEY = "urbanpulse.audit"


def install_access(app: FastAPI, settings: Settings) -> None:
    """Build the access service, hold every route added after this to the matrix, and
    audit calls of routes that are not public. Call before including routers, after
    the rate limiter: it then counts each caller by its verified key and scope."""
    app.state.access = build_access_service(settings)
    app.router.dependencies.append(Depends(require_access))
    app.add_middleware(AuditMiddleware)
    limiter = getattr(app.state, "rate_limiter", None)
    if limiter is not None:
        limiter.identify = CallerIdentifier(app.state.access, fallback=limiter.identify)


class CallerIdentifier:
    """Who a request counts against for rate limits and quotas: a verified key (or
    OpenID Connect subject) in its own scope, else the client's address.

    A token that does not verify counts as its address, so sending made-up keys cannot
    open fresh quotas. Verdicts are kept for a short while, as this runs on the event
    loop for every request.
    """

    TTL_SECONDS = 30.0

    def __init__(self, access: AccessService, *, fallback: Callable[[Scope], Caller]) -> None:
        self.access, self.fallback = access, fallback
        self._seen: dict[str, tuple[float, Principal | None]] = {}

    def __call__(self, scope: Scope) -> Caller:
        token = get_token(Request(scope))
        if not token:
            return self.fallback(scope)
        principal = self._get_principal(token)
        if principal is None:
            return Caller(self.fallback(_without_credentials(scope)).id, "public")
        return Caller(principal.subject, principal.scope)

    def _get_principal(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        seen = self._seen.get(digest)
        if seen is not None and seen[0] > now:
            return seen[1]
        try:
            principal: Principal | None = self.access.authenticate(token)
        except UrbanPulseError:
            principal = None
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[digest] = (now + self.TTL_SECONDS, principal)
        return principal


def _without_credentials(scope: Scope) -> Scope:
    drop = {b"authorization", b"x-api-key", b"cookie"}
    return {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in drop]}


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


# The caller of a route (its credentials already held to the matrix), for routes whose
# answer depends on who asks (urbanpulse.access.matrix.get_data_policy).
PrincipalDep = Annotated[Principal, Depends(require_access)]


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
