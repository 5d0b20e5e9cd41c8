"""One suite for both counter implementations: in-process and Redis."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from urbanpulse.advise import Counters, MemoryCounters, RedisCounters

SLOT = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
LATER = SLOT + timedelta(minutes=15)


def test_both_follow_the_protocol(counters: MemoryCounters | RedisCounters) -> None:
    assert isinstance(counters, Counters)


def test_increment_and_get(counters: MemoryCounters | RedisCounters) -> None:
    assert counters.get([SLOT, LATER], "a:up") == [0, 0]
    assert counters.increment(SLOT, "a:up") == 1
    assert counters.increment(SLOT, "a:up", 4) == 5
    assert counters.increment(LATER, "a:up", -2) == -2
    assert counters.get([SLOT, LATER], "a:up") == [5, -2]
    assert counters.get([SLOT], "a:down") == [0]
    assert counters.get([], "a:up") == []


def test_the_same_instant_in_any_time_zone_is_one_slot(
    counters: MemoryCounters | RedisCounters,
) -> None:
    from zoneinfo import ZoneInfo

    counters.increment(SLOT.astimezone(ZoneInfo("Asia/Shanghai")), "a:up", 3)
    assert counters.get([SLOT], "a:up") == [3]


def test_expire_forgets_earlier_slots(counters: MemoryCounters | RedisCounters) -> None:
    counters.increment(SLOT, "a:up", 2)
    counters.increment(SLOT, "b:up", 1)
    counters.increment(LATER, "a:up", 7)
    assert counters.expire(LATER) == 2
    assert counters.get([SLOT, LATER], "a:up") == [0, 7]
    assert counters.get([SLOT], "b:up") == [0]
    assert counters.expire(LATER) == 0


def test_naive_slots_are_refused(counters: MemoryCounters | RedisCounters) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        counters.increment(datetime(2026, 11, 2), "a:up")


def test_increments_from_many_threads_all_count(counters: MemoryCounters | RedisCounters) -> None:
    threads, each = 8, 200

    def work() -> None:
        for _ in range(each):
            counters.increment(SLOT, "busy:up")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert counters.get([SLOT], "busy:up") == [threads * each]


@pytest.mark.services
def test_redis_keys_carry_a_ttl_and_a_prefix(redis_client: Any) -> None:
    client = redis_client
    store = RedisCounters(client, retention=timedelta(days=2))
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        store.increment(now, "a:up", 1)
        keys = list(client.scan_iter(match=f"{store.prefix}:*"))
        assert len(keys) == 2  # the count and the time index
        count_key = f"{store.prefix}:a:up:{int(now.timestamp())}"
        ttl = client.ttl(count_key)
        assert 0 < ttl <= 2 * 86400
    finally:
        store.clear()
    assert list(client.scan_iter(match=f"{store.prefix}:*")) == []


def test_memory_counters_forget_slots_long_before_the_newest() -> None:
    from datetime import timedelta

    counters = MemoryCounters(retention=timedelta(days=2))
    counters.SWEEP_EVERY = 12  # type: ignore[misc]  # a sweep at the last increment
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    for day in range(6):  # six days of one count each, then a sweep
        for k in range(2):
            counters.increment(start + timedelta(days=day, minutes=15 * k), "a:up")
    # two days back from the newest slot (day 5, 08:15): five slots kept, not twelve
    assert len(counters) == 5
    assert counters.get([start + timedelta(days=5)], "a:up") == [1]
    assert counters.get([start], "a:up") == [0]
