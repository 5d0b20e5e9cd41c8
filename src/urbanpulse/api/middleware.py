"""Pure ASGI middlewares: body cap, rate limits and quotas, security headers and CORS.

They sit outside the routes, so every response gets them, errors and pages included:

- **Body cap**: a request announcing more than ``max_body_bytes`` gets 413 at once,
  before a byte of its body is read; a chunked body is counted as it arrives and
  refused as soon as it passes the cap. Nothing is buffered or echoed back.
- **Rate limits and quotas**: fixed-window counters per caller (an API key, hashed, or
  else the client's address) and per window (a minute, a day), with limits per scope
  from the settings; over a limit, 429 with ``Retry-After``. The counters live in
  Redis when ``counters_backend`` is 'redis' (shared by every worker), and in the
  process otherwise or while Redis does not answer.
- **Security headers** on every response, and CORS for the origins the settings allow
  (none by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from urbanpulse.api.errors import ErrorBody, ErrorPublic
from urbanpulse.settings import Settings

logger = logging.getLogger(__name__)

# The pages load only their own scripts and styles (plotly and Swagger UI are served
# from /vendor); Plotly sets inline styles and draws with data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's Swagger UI page starts itself with an inline script.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("cross-origin-opener-policy", "same-origin"),
)
# Windows of the limits: a rate per minute and a quota per day.
WINDOWS: dict[str, int] = {"minute": 60, "day": 86_400}
# Not counted: the health check (polled by load balancers) and static assets.
UNLIMITED_PREFIXES = ("/api/health", "/static/", "/vendor/", "/favicon")


def install_middlewares(app: FastAPI, settings: Settings, *, namespace: str) -> None:
    """Add the body cap, rate limits, CORS and security headers to ``app``.

    ``namespace`` keeps the counters of different lakes apart in a shared Redis. The
    rate limiter is kept on ``app.state.rate_limiter`` for :func:`get_usage`.
    """
    limiter = RateLimiter(
        limits={"minute": settings.rate_limit_per_minute, "day": settings.quota_per_day},
        store=build_window_store(settings),
        prefix=f"urbanpulse:ratelimit:{namespace}",
    )
    app.state.rate_limiter = limiter
    # Added innermost first: headers wrap everything, so 413 and 429 carry them too.
    app.add_middleware(
        WorkLimitMiddleware,
        limit=settings.max_concurrent_requests,
        wait_seconds=settings.queue_wait_seconds,
    )
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
            expose_headers=["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)


async def send_error(
    send: Send,
    status: int,
    message: str,
    *,
    detail: Any = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Send an error response in the one JSON shape of ``api/errors.py``."""
    code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    body = ErrorPublic(error=ErrorBody(code=code, message=message, detail=detail))
    payload = json.dumps(body.model_dump(), ensure_ascii=False).encode("utf-8")
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        # The rest of an unread body is not wanted: end the connection after this.
        (b"connection", b"close"),
    ]
    raw += [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


# -- the shape of every middleware here -----------------------------------------------


class HttpMiddleware:
    """A pure ASGI middleware of HTTP requests: other scopes (lifespan, websockets) and
    the requests :meth:`passes` names go straight through; :meth:`handle` the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.passes(scope):
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    def passes(self, scope: Scope) -> bool:
        """Whether this HTTP request is none of the middleware's business."""
        return False

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


# -- work queue -----------------------------------------------------------------------


class WorkLimitMiddleware(HttpMiddleware):
    """At most ``limit`` requests at work at once; the rest wait their turn, up to
    ``wait_seconds``, then get 503 with Retry-After.

    Without it, 100 clients on the heaviest routes (exports, raw weeks, advice) ran 40
    at a time in the thread pool and the event loop waited for the interpreter between
    them: /api/health took 0.4 s at the 99th percentile. The health check and static
    assets never queue, so a load balancer and a page's styles still answer at once,
    nor do live event streams, which stay open for minutes and work only when a
    reading arrives. A turn ends when the answer starts, so four clients reading a large
    answer slowly cannot hold every turn.
    """

    UNQUEUED_PREFIXES = (*UNLIMITED_PREFIXES, "/api/live/stream")

    def __init__(self, app: ASGIApp, *, limit: int, wait_seconds: float) -> None:
        self.app = app
        self.limit, self.wait_seconds = limit, wait_seconds
        # One semaphore per event loop (a test client runs a loop of its own).
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def passes(self, scope: Scope) -> bool:
        return str(scope["path"]).startswith(self.UNQUEUED_PREFIXES)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop) or self._slots.setdefault(loop, asyncio.Semaphore(self.limit))
        try:
            await asyncio.wait_for(slots.acquire(), self.wait_seconds)
        except TimeoutError:
            retry = str(max(1, round(self.wait_seconds)))
            await send_error(
                send, 503, "the server is busy; try again", headers={"Retry-After": retry}
            )
            return
        held = True

        async def send_releasing(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                # The answer is ready (or streams from here): a client that reads it
                # slowly must not hold a turn that the work no longer needs.
                held = False
                slots.release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            if held:
                slots.release()


# -- body cap -------------------------------------------------------------------------


class BodyLimitMiddleware(HttpMiddleware):
    """Refuse request bodies larger than ``max_bytes`` with 413, without reading them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        detail = {"max_bytes": self.max_bytes}
        length = _get_content_length(scope)
        if length is not None and length > self.max_bytes:
            await send_error(send, 413, message, detail=detail)
            return
        received = 0
        started = False

        async def receive_limited() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPException from body reading, so the app's
                    # handlers answer 413 in the usual shape.
                    raise StarletteHTTPException(413, message)
            return event

        async def send_tracked(event: Message) -> None:
            nonlocal started
            started = started or event["type"] == "http.response.start"
            await send(event)

        try:
            await self.app(scope, receive_limited, send_tracked)
        except StarletteHTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            await send_error(send, 413, message, detail=detail)


def _get_content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# -- rate limits and quotas -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request counts against: ``key:<hash>`` or ``ip:<address>``, and its scope."""

    id: str
    scope: str


def get_caller(scope: Scope) -> Caller:
    """The caller of a request: its API key (``X-API-Key`` or ``Authorization: Bearer``,
    hashed so no key is ever stored) in the 'business' scope, else its address in the
    'public' scope.

    The key is not verified here; an auth layer that verifies keys and knows their
    scope replaces this through ``RateLimiter.identify``.
    """
    headers = {name: value for name, value in scope["headers"]}
    key = headers.get(b"x-api-key", b"").strip()
    auth = headers.get(b"authorization", b"")
    if not key and auth[:7].lower() == b"bearer ":
        key = auth[7:].strip()
    if key:
        return Caller(f"key:{hashlib.sha256(key).hexdigest()[:32]}", "business")
    client = scope.get("client")
    return Caller(f"ip:{client[0] if client else 'unknown'}", "public")


@dataclass(frozen=True, slots=True)
class WindowCount:
    """A caller's count in the current window of one limit."""

    window: str
    limit: int
    used: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        """Requests left in this window (0 when over)."""
        return max(self.limit - self.used, 0)


class MemoryWindowStore:
    """Fixed-window counts in this process (one worker, or Redis unavailable)."""

    shared = False

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def incr(self, key: str, ttl: int) -> int:
        """Add one to ``key`` (created with a life of ``ttl`` seconds); return the count."""
        now = time.monotonic()
        if len(self._counts) > 100_000:  # forget ended windows now and then
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        count, expires = self._counts.get(key, (0, now + ttl))
        if expires <= now:
            count, expires = 0, now + ttl
        self._counts[key] = (count + 1, expires)
        return count + 1

    async def get(self, key: str) -> int:
        """The count of ``key`` (0 when absent or ended)."""
        count, expires = self._counts.get(key, (0, 0.0))
        return count if expires > time.monotonic() else 0


class RedisWindowStore:
    """Fixed-window counts in Redis, shared by every worker; while Redis fails (down,
    or slower than the socket timeout) counts go to the process for ``retry_seconds``,
    so a request never waits on Redis more than once per retry period."""

    def __init__(self, client: Any, *, retry_seconds: float) -> None:
        self.client = client
        self.retry_seconds = retry_seconds
        self.local = MemoryWindowStore()
        self._down_until = 0.0
        self._answered = True  # did the last Redis command succeed?

    @property
    def shared(self) -> bool:
        """False while counting locally because Redis failed (until it answers)."""
        return self._answered

    @property
    def _resting(self) -> bool:
        return time.monotonic() < self._down_until

    async def incr(self, key: str, ttl: int) -> int:
        """INCR and EXPIRE NX in one round trip (the local store while Redis fails)."""
        if self._resting:
            return await self.local.incr(key, ttl)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, ttl, nx=True)
                count, _ = await pipe.execute()
            self._answered = True
            return int(count)
        except Exception as exc:
            self._fail(exc)
            return await self.local.incr(key, ttl)

    async def get(self, key: str) -> int:
        """The count of ``key`` (the local one while Redis fails)."""
        if self._resting:
            return await self.local.get(key)
        try:
            value = await self.client.get(key)
        except Exception as exc:  # any Redis failure: read the local count
            self._fail(exc)
            return await self.local.get(key)
        self._answered = True
        return int(value or 0)

    def _fail(self, exc: Exception) -> None:
        logger.warning("rate limits counted locally for %s s: redis failed: %s",
                       self.retry_seconds, exc)  # fmt: skip
        self._down_until = time.monotonic() + self.retry_seconds
        self._answered = False


WindowStore = MemoryWindowStore | RedisWindowStore


def build_window_store(settings: Settings) -> WindowStore:
    """The store the settings name: Redis (bounded timeouts) or the process."""
    if settings.counters_backend != "redis":
        return MemoryWindowStore()
    import redis.asyncio

    from urbanpulse.advise.counters import get_redis_options

    options = get_redis_options(settings, asyncio=True)
    client = redis.asyncio.Redis.from_url(settings.redis_url, **options)
    return RedisWindowStore(client, retry_seconds=settings.redis_retry_seconds)


class RateLimiter:
    """Fixed windows per caller: ``limits[window][scope]`` requests per window.

    A scope missing from a window's limits is not limited in that window.
    """

    def __init__(
        self,
        *,
        limits: Mapping[str, Mapping[str, int]],
        store: WindowStore,
        prefix: str = "urbanpulse:ratelimit",
        identify: Callable[[Scope], Caller] = get_caller,
    ) -> None:
        self.limits = limits
        self.store = store
        self.prefix = prefix
        self.identify = identify

    def _key(self, caller: Caller, window: str, now: float) -> tuple[str, int]:
        seconds = WINDOWS[window]
        start = int(now // seconds * seconds)
        reset = max(math.ceil(start + seconds - now), 1)
        return f"{self.prefix}:{window}:{caller.id}:{start}", reset

    async def hit(self, caller: Caller) -> list[WindowCount]:
        """Count one request of ``caller`` in every window it is limited in."""
        now = time.time()
        counts = []
        for window, by_scope in self.limits.items():
            limit = by_scope.get(caller.scope)
            if limit is None:
                continue
            key, reset = self._key(caller, window, now)
            used = await self.store.incr(key, WINDOWS[window])
            counts.append(WindowCount(window, limit, used, reset))
        return counts

    async def read_usage(self, caller: Caller) -> dict[str, Any]:
        """The caller's limits and use so far, without counting a request.

        Returns
        -------
        dict
            ``caller`` (its kind: key or ip), ``scope``, ``shared`` (counted across
            workers), and ``windows``: per window its ``limit``, ``used``,
            ``remaining`` and ``reset_seconds``.
        """
        now = time.time()
        windows = {}
        for window, by_scope in self.limits.items():
            limit = by_scope.get(caller.scope)
            if limit is None:
                continue
            key, reset = self._key(caller, window, now)
            used = await self.store.get(key)
            count = WindowCount(window, limit, used, reset)
            windows[window] = {"limit": limit, "used": used, "remaining": count.remaining,
                               "reset_seconds": reset}  # fmt: skip
        return {
            "caller": caller.id.split(":", 1)[0],
            "scope": caller.scope,
            "shared": self.store.shared,
            "windows": windows,
        }


async def get_usage(request: Request) -> dict[str, Any]:
    """The calling client's quota and usage (see :meth:`RateLimiter.read_usage`), for a
    developer page or a route."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return await limiter.read_usage(limiter.identify(request.scope))


class RateLimitMiddleware(HttpMiddleware):
    """Count each request against its caller's windows; over a limit, 429."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    def passes(self, scope: Scope) -> bool:
        return str(scope["path"]).startswith(UNLIMITED_PREFIXES)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = self.limiter.identify(scope)
        counts = await self.limiter.hit(caller)
        over = [c for c in counts if c.used > c.limit]
        if over:
            worst = max(over, key=lambda c: c.reset_seconds)
            await send_error(
                send,
                429,
                f"{worst.limit} requests per {worst.window} for the {caller.scope} scope "
                f"used up; try again in {worst.reset_seconds} s",
                detail={"window": worst.window, "limit": worst.limit, "scope": caller.scope},
                headers={"Retry-After": str(worst.reset_seconds), **_limit_headers(worst)},
            )
            return
        tightest = min(counts, key=lambda c: c.remaining, default=None)
        if tightest is None:
            await self.app(scope, receive, send)
            return
        extra = [(k.encode(), v.encode()) for k, v in _limit_headers(tightest).items()]

        async def send_with_headers(event: Message) -> None:
            if event["type"] == "http.response.start":
                event["headers"] = [*event.get("headers", []), *extra]
            await send(event)

        await self.app(scope, receive, send_with_headers)


def _limit_headers(count: WindowCount) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(count.limit),
        "X-RateLimit-Remaining": str(count.remaining),
        "X-RateLimit-Reset": str(count.reset_seconds),
    }


# -- security headers -----------------------------------------------------------------


class SecurityHeadersMiddleware(HttpMiddleware):
    """Add the security headers to every HTTP response that does not set them."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = (
            DOCS_CONTENT_SECURITY_POLICY if scope["path"] == "/docs" else CONTENT_SECURITY_POLICY
        )
        wanted = [("content-security-policy", policy), *SECURITY_HEADERS]

        async def send_with_headers(event: Message) -> None:
            if event["type"] == "http.response.start":
                headers = list(event.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [
                    (k.encode(), v.encode()) for k, v in wanted if k.encode() not in present
                ]
                event["headers"] = headers
            await send(event)

        await self.app(scope, receive, send_with_headers)
