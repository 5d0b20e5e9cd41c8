"""At most N requests at work at once: the rest wait their turn, a wait past its bound
answers 503 with Retry-After, and the health check never waits."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from urbanpulse.api.middleware import WorkLimitMiddleware


def build_app(
    limit: int, wait_seconds: float
) -> tuple[WorkLimitMiddleware, dict[str, int], asyncio.Event]:
    seen = {"at_work": 0, "most": 0}
    release = asyncio.Event()

    async def heavy(request: Request) -> PlainTextResponse:
        seen["at_work"] += 1
        seen["most"] = max(seen["most"], seen["at_work"])
        await release.wait()
        seen["at_work"] -= 1
        return PlainTextResponse("done")

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/heavy", heavy), Route("/api/health", health)])
    return WorkLimitMiddleware(inner, limit=limit, wait_seconds=wait_seconds), seen, release


def run_apart(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on an event loop of its own thread: a browser test earlier in the same
    process (Playwright's sync API) keeps a loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def test_requests_queue_beyond_the_limit_and_health_never_waits() -> None:
    async def run() -> None:
        app, seen, release = build_app(limit=2, wait_seconds=5.0)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            heavy = [asyncio.create_task(client.get("/heavy")) for _ in range(6)]
            await asyncio.sleep(0.1)
            assert seen["at_work"] == 2  # four wait their turn
            assert (await client.get("/api/health")).text == "ok"  # not queued
            release.set()
            answers = await asyncio.wait_for(asyncio.gather(*heavy), 10)
        assert [a.status_code for a in answers] == [200] * 6 and seen["most"] == 2

    run_apart(run())


def test_a_wait_past_its_bound_is_answered_503_with_retry_after() -> None:
    async def run() -> None:
        app, _, release = build_app(limit=1, wait_seconds=0.2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            holder = asyncio.create_task(client.get("/heavy"))
            await asyncio.sleep(0.05)
            refused = await client.get("/heavy")
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert refused.json()["error"]["message"] == "the server is busy; try again"
            release.set()
            assert (await holder).status_code == 200

    run_apart(run())


def test_a_turn_ends_when_the_answer_starts() -> None:
    # A client that reads a streamed answer slowly must not hold the only turn.
    async def run() -> None:
        gate = asyncio.Event()

        async def app(scope: dict, receive: object, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            if scope["path"] == "/slow":
                await gate.wait()  # still streaming
            await send({"type": "http.response.body", "body": b"x"})

        limited = WorkLimitMiddleware(app, limit=1, wait_seconds=0.5)  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            slow = asyncio.create_task(client.get("/slow"))
            await asyncio.sleep(0.05)
            assert (await client.get("/fast")).status_code == 200
            gate.set()
            await slow

    run_apart(run())
