"""Redis slow or down: counters fall back to the process, advice answers and says its
counts are local, health says 'degraded', and no request blocks the event loop."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import httpx
import pytest
import redis
from fastapi import FastAPI

from urbanpulse.advise import FallbackCounters, RedisCounters
from urbanpulse.advise.counters import build_redis_client
from urbanpulse.advise.service import AdviceService, TripRequest, build_advice_service
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

SLOT = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
DAY = "2026-11-02"  # the Monday after the demo's last day
PARAMS = {"origin": "bj-m1-s05", "destination": "bj-m1-s07",
          "start": f"{DAY}T07:00", "end": f"{DAY}T09:30"}  # fmt: skip
LiveServer = Callable[[FastAPI], AbstractContextManager[str]]


@pytest.fixture
def stalled_url() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.fixture
def down_url() -> str:
    """A Redis URL where nothing listens."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"redis://127.0.0.1:{port}/0"


def build_fallback(url: str, *, retry_seconds: float = 30.0) -> FallbackCounters:
    settings = Settings(redis_url=url, redis_timeout_seconds=0.2)
    primary = RedisCounters(build_redis_client(settings), prefix=f"t:{uuid.uuid4().hex}")
    return FallbackCounters(primary, retry_seconds=retry_seconds)


@pytest.mark.parametrize("which", ["down_url", "stalled_url"])
def test_counts_go_to_the_process_after_one_bounded_wait(
    which: str, request: pytest.FixtureRequest
) -> None:
    counters = build_fallback(request.getfixturevalue(which))
    began = time.monotonic()
    assert counters.increment(SLOT, "a:up", 2) == 2
    first = time.monotonic() - began
    assert not counters.shared
    began = time.monotonic()
    assert counters.increment(SLOT, "a:up") == 3
    assert counters.get([SLOT], "a:up") == [3]
    assert counters.expire(SLOT) == 0
    later = time.monotonic() - began
    assert first < 5  # bounded by the socket timeout (0.2 s), generously
    assert later < first + 0.5 or later < 0.1  # no second wait within the retry period


def test_redis_is_tried_again_after_the_retry_period(down_url: str) -> None:
    counters = build_fallback(down_url, retry_seconds=0.0)
    counters.increment(SLOT, "a:up")
    assert not counters.shared
    began = time.monotonic()
    assert counters.check() is False  # retry period over at once: Redis is tried again
    assert time.monotonic() - began < 5


@pytest.mark.services
def test_a_working_redis_is_shared(redis_client: redis.Redis) -> None:
    counters = build_fallback("redis://127.0.0.1:6379/0")
    try:
        counters.increment(SLOT, "a:up", 4)
        assert counters.shared and counters.check()
        assert counters.primary.get([SLOT], "a:up") == [4]
    finally:
        counters.primary.clear()


def test_two_lakes_named_alike_never_share_counter_keys(make_lake: Callable[..., Lake]) -> None:
    settings = Settings(counters_backend="redis")
    one, two = make_lake(days=1), make_lake(days=1)
    prefixes = set()
    for lake in (one, two):
        service = build_advice_service(settings.model_copy(update={"lake_path": lake.root}), lake)
        assert isinstance(service.counters, FallbackCounters)
        prefixes.add(service.counters.primary.prefix)
        service.close()
    assert len(prefixes) == 2


def build_service(lake: Lake, url: str, **options: object) -> AdviceService:
    settings = Settings(
        lake_path=lake.root, counters_backend="redis", redis_url=url,
        redis_timeout_seconds=0.2, advice_holdout_share=0.0, **options,
    )  # fmt: skip
    return build_advice_service(settings, lake)


def test_advice_answers_with_redis_down_and_says_counts_are_local(
    demo_lake: Lake, down_url: str
) -> None:
    service = build_service(demo_lake, down_url)
    start, end = datetime.fromisoformat(PARAMS["start"]), datetime.fromisoformat(PARAMS["end"])
    body = service.advise(TripRequest(PARAMS["origin"], PARAMS["destination"], start, end, None))
    assert body["slots"] and body["counters"] == "local"
    assert service.get_counters_state() == "degraded"
    service.close()


def test_api_with_a_stalled_redis_answers_advice_and_health_without_blocking(
    demo_lake: Lake, stalled_url: str, app_server: LiveServer
) -> None:
    # Every Redis call waits its full timeout (no retry period), so a blocked event loop
    # would hold the static file for that long.
    settings = Settings(
        lake_path=demo_lake.root, counters_backend="redis", redis_url=stalled_url,
        redis_timeout_seconds=2.0, redis_retry_seconds=0.0, advice_holdout_share=0.0,
    )  # fmt: skip
    with app_server(create_app(settings)) as url, ThreadPoolExecutor(max_workers=1) as pool:
        httpx.get(f"{url}/api/advice", params=PARAMS, timeout=60)  # warm the caches
        pending = pool.submit(httpx.get, f"{url}/api/advice", params=PARAMS, timeout=60)
        time.sleep(0.3)  # the advice request now waits on Redis
        began = time.monotonic()
        static = httpx.get(f"{url}/static/style.css", timeout=10)
        static_seconds = time.monotonic() - began
        advice_waiting = not pending.done()
        advice = pending.result(timeout=60)
        health = httpx.get(f"{url}/api/health", timeout=30)
    assert static.status_code == 200
    assert advice_waiting and static_seconds < 1.5  # answered while advice waited
    assert advice.status_code == 200, advice.text
    assert advice.json()["counters"] == "local"
    assert health.status_code == 200 and health.json()["counters"] == "degraded"
