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
from starlette.types import Message, Receive, Scope, Send

from urbanpulse.access import ANONYMOUS, AccessService, Principal, build_access_service
from urbanpulse.access.audit import record_event
from urbanpulse.access.matrix import get_route_key
from urbanpulse.access.redaction import redact_credentials, redact_query
from urbanpulse.access.service import SESSION_COOKIE
from urbanpulse.access.sessions import check_origin
from urbanpulse.api.middleware import Caller, HttpMiddleware, send_error
from urbanpulse.errors import (
    AccessDeniedError,
    AuthenticationError,
    StoreUnavailableError,
    UrbanPulseError,
)
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
        if not self.access.store.available:
            # Known down: no round trip on the event loop (a frozen database would hold
            # every request for its timeout) and no verdict kept, so a valid key counts
            # as itself again as soon as the store answers.
            return None
        try:
            principal: Principal | None = self.access.authenticate(token)
        except StoreUnavailableError:
            return None
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
    if token and token == request.cookies.get(SESSION_COOKIE):
        check_same_origin(request)  # CSRF: a signed-in browser's change comes from here
    if token:
        try:
            principal = await run_in_threadpool(access.authenticate, token)
        except (AuthenticationError, AccessDeniedError):
            if holder is not None:
                holder["tried"] = get_claimed_identity(token)
            raise
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
    return request.cookies.get(SESSION_COOKIE) or None


def check_same_origin(request: Request) -> None:
    """:func:`urbanpulse.access.sessions.check_same_origin` for a request."""
    claimed = request.headers.get("origin") or request.headers.get("referer") or ""
    here = f"{request.url.scheme}://{request.url.netloc}"
    check_origin(request.method, claimed, here)


class AuditMiddleware(HttpMiddleware):
    """Writes an audit entry for every request whose route is not public, and for every
    429, with the status it ends with (refusals included), before the response goes
    out: a request whose entry cannot be written is answered 503 instead (fail closed).
    A credential that did not verify is named by what it claimed (``tried key:<id>``),
    never by its secret."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        holder: dict[str, Any] = {}
        scope[AUDIT_SCOPE_KEY] = holder
        state = {"started": False, "refused": False}

        async def send_audited(message: Message) -> None:
            if state["refused"]:
                return  # the app's own answer to a request that could not be audited
            if message["type"] == "http.response.start":
                state["started"] = True
                status = int(message["status"])
                if _is_audited(holder, status) and not await self._record(scope, holder, status):
                    state["refused"] = True
                    await send_error(send, 503, "the audit log cannot be written; try again")
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        finally:
            # No response started (the app raised): the 500 that follows is audited too.
            if not state["started"] and _is_audited(holder, 500):
                await self._record(scope, holder, 500)

    async def _record(self, scope: Scope, holder: dict[str, Any], status: int) -> bool:
        """Append the entry; False (and a log line) when the store refuses it."""
        access: AccessService = scope["app"].state.access
        principal: Principal = holder.get("principal", ANONYMOUS)
        query = redact_query(scope.get("query_string", b"").decode("latin-1"))
        tried = holder.get("tried")
        if tried is None and "principal" not in holder:  # refused before routing (429)
            token = get_token(Request(scope))
            tried = get_claimed_identity(token) if token else None
        detail = f"tried {tried}; {query}" if tried else query
        try:
            await run_in_threadpool(
                lambda: record_event(
                    access.store,
                    actor=principal.subject,
                    scope=principal.scope,
                    method=scope["method"],
                    path=redact_credentials(scope["path"]),
                    status=status,
                    detail=detail,
                )
            )
        except Exception:
            logger.exception("could not write the audit entry for %s", scope["path"])
            return False
        return True


def _is_audited(holder: dict[str, Any], status: int) -> bool:
    # Closed routes (require_access set the principal) and every rate-limit refusal.
    return "principal" in holder or status == 429


def get_claimed_identity(token: str) -> str:
    """What a credential claims to be, without its secret: ``key:<id>`` for an API key
    (``up_<id>_<secret>``), ``session`` for a sign-in cookie, ``jwt`` for anything else."""
    if token.startswith("ups_"):
        return "session"
    if token.startswith("up_"):
        key_id = token[3:].split("_", 1)[0]
        if key_id.isalnum() and len(key_id) <= 32:
            return f"key:{key_id}"
        return "key:malformed"
    return "jwt"
