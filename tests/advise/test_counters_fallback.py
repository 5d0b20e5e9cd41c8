"""Redis slow or down: counters fall back to the process, advice answers and says its
counts are local, health says 'degraded', and no request blocks the event loop."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

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


class StalledRedis:
    """A Redis server that accepts connections, counts them and never answers.

    Counting connections, not seconds, shows who waited on Redis: the tests never time
    anything (a loaded machine makes any bound on seconds a coin toss)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.url = f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"
        self.waiting = threading.Event()  # set once a client has connected
        self._clients = 0
        self._probes: set[tuple[str, int]] = set()
        self._probes_seen = 0
        self._changed = threading.Condition()
        self._held: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, address = self.server.accept()
            except OSError:  # closed by release()
                return
            self._held.append(conn)
            with self._changed:
                if address in self._probes:
                    self._probes_seen += 1
                else:
                    self._clients += 1
                    self.waiting.set()
                self._changed.notify_all()

    @property
    def connections(self) -> int:
        """Connections made by clients so far. A probe connection joins the listen queue
        after them, so once the probe is accepted every earlier one has been counted."""
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        with self._changed:
            self._probes.add(probe.getsockname())
            wanted = len(self._probes)
        probe.connect(self.server.getsockname())
        self._held.append(probe)
        with self._changed:
            self._changed.wait_for(lambda: self._probes_seen >= wanted, timeout=60)
            return self._clients

    def wait_for_clients(self, count: int) -> None:
        """Return once ``count`` client connections have been made in all."""
        with self._changed:
            self._changed.wait_for(lambda: self._clients >= count, timeout=60)

    def drop(self) -> None:
        """Close the held connections: the clients waiting see the connection drop."""
        held, self._held = self._held, []
        for conn in held:
            conn.close()

    def drop_until_done(self, future: Future[Any]) -> Any:
        """Drop connections as they come until ``future`` is done; return its result."""
        while True:
            self.drop()
            try:
                return future.result(timeout=0.05)
            except FutureTimeout:
                continue

    def release(self) -> None:
        """Stop listening and drop every connection: later clients are refused."""
        if self.server.fileno() != -1:  # not released yet
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept; close does not
            self.server.close()
        self._accepting.join()
        self.drop()


@pytest.fixture
def stalled() -> Iterator[StalledRedis]:
    server = StalledRedis()
    yield server
    server.release()


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


def test_counts_go_to_the_process_when_redis_is_down(down_url: str) -> None:
    counters = build_fallback(down_url)
    assert counters.increment(SLOT, "a:up", 2) == 2
    assert not counters.shared
    assert counters.increment(SLOT, "a:up") == 3
    assert counters.get([SLOT], "a:up") == [3]
    assert counters.expire(SLOT) == 0


def test_a_stalled_redis_costs_one_wait_per_retry_period(stalled: StalledRedis) -> None:
    counters = build_fallback(stalled.url)
    assert counters.increment(SLOT, "a:up", 2) == 2  # returns: the wait is bounded
    assert not counters.shared and stalled.connections == 1
    assert counters.increment(SLOT, "a:up") == 3
    assert counters.get([SLOT], "a:up") == [3]
    assert counters.expire(SLOT) == 0
    assert counters.check() is False
    assert stalled.connections == 1  # within the retry period Redis is not asked again


def test_redis_is_tried_again_after_the_retry_period(stalled: StalledRedis) -> None:
    counters = build_fallback(stalled.url, retry_seconds=0.0)
    counters.increment(SLOT, "a:up")
    assert not counters.shared
    tried = stalled.connections
    assert counters.check() is False  # retry period over at once: Redis is tried again
    assert stalled.connections == tried + 1


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
    demo_lake: Lake, stalled: StalledRedis, app_server: LiveServer
) -> None:
    # The stalled server holds every Redis call until the test drops it, far longer than
    # the static file's deadline: a blocked event loop would fail that request.
    settings = Settings(
        lake_path=demo_lake.root, counters_backend="redis", redis_url=stalled.url,
        redis_timeout_seconds=120.0, redis_retry_seconds=0.0, advice_holdout_share=0.0,
    )  # fmt: skip
    with app_server(create_app(settings)) as url, ThreadPoolExecutor(max_workers=2) as pool:
        warm = pool.submit(httpx.get, f"{url}/api/advice", params=PARAMS, timeout=120)
        assert stalled.drop_until_done(warm).status_code == 200  # the caches are warm
        waiting = stalled.connections
        pending = pool.submit(httpx.get, f"{url}/api/advice", params=PARAMS, timeout=120)
        stalled.wait_for_clients(waiting + 1)  # the advice request now waits on Redis
        static = httpx.get(f"{url}/static/style.css", timeout=20)
        advice_waiting = not pending.done()
        stalled.release()
        advice = pending.result(timeout=120)
        health = httpx.get(f"{url}/api/health", timeout=30)
    assert static.status_code == 200
    assert advice_waiting  # the static file was answered while advice waited on Redis
    assert advice.status_code == 200, advice.text
    assert advice.json()["counters"] == "local"
    assert health.status_code == 200 and health.json()["counters"] == "degraded"
