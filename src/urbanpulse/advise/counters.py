"""Counters of issued recommendations per (slot, segment), shared by every API worker.

The advice service reads them to treat recommendations it has already issued as
expected extra load, which is what stops many people asking at once from all being
sent to the same quiet slot. One small protocol, two implementations: in-process
(thread-safe; the embedded default) and Redis (several workers, keys expire by TTL),
and :class:`FallbackCounters`, which keeps counting in the process while Redis is down
or slower than its socket timeout, so advice keeps answering.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, runtime_checkable

from redis.exceptions import RedisError

from urbanpulse.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_RETENTION = timedelta(days=2)


@runtime_checkable
class Counters(Protocol):
    """Signed counts per (slot start, segment id)."""

    def increment(self, slot: datetime, segment: str, n: int = 1) -> int:
        """Add ``n`` (may be negative) and return the new count."""
        ...

    def get(self, slots: Sequence[datetime], segment: str) -> list[int]:
        """Counts of ``segment`` at each slot (0 when never counted)."""
        ...

    def expire(self, before: datetime) -> int:
        """Forget every slot that starts before ``before``; return how many counts went."""
        ...


def get_slot_key(slot: datetime) -> int:
    """A slot's start as whole UTC epoch seconds (slots must be tz-aware)."""
    if slot.tzinfo is None:
        raise ValueError("counter slots must be timezone-aware")
    return int(slot.timestamp())


class MemoryCounters:
    """In-process counters behind one lock: for the embedded server and for tests.

    They forget on their own, as Redis keys expire: every ``SWEEP_EVERY`` increments,
    slots older than ``retention`` before the newest slot counted are dropped, so a
    server that runs for months holds days of counts, not months. Measured from the
    newest slot, not the wall clock, so a replayed day (the demo's) is kept.
    """

    SWEEP_EVERY = 4096

    def __init__(self, *, retention: timedelta = DEFAULT_RETENTION) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._retention = int(retention.total_seconds())
        self._newest = 0
        self._since_sweep = 0

    def increment(self, slot: datetime, segment: str, n: int = 1) -> int:
        """Add ``n`` and return the new count."""
        key = (segment, get_slot_key(slot))
        with self._lock:
            value = self._counts.get(key, 0) + int(n)
            self._counts[key] = value
            self._newest = max(self._newest, key[1])
            self._since_sweep += 1
            if self._since_sweep >= self.SWEEP_EVERY:
                self._since_sweep = 0
                cutoff = self._newest - self._retention
                for old in [k for k in self._counts if k[1] < cutoff]:
                    del self._counts[old]
        return value

    def __len__(self) -> int:
        return len(self._counts)

    def get(self, slots: Sequence[datetime], segment: str) -> list[int]:
        """Counts at each slot, 0 when never counted."""
        keys = [(segment, get_slot_key(s)) for s in slots]
        with self._lock:
            return [self._counts.get(k, 0) for k in keys]

    def expire(self, before: datetime) -> int:
        """Forget slots that start before ``before``."""
        cutoff = get_slot_key(before)
        with self._lock:
            old = [k for k in self._counts if k[1] < cutoff]
            for k in old:
                del self._counts[k]
        return len(old)


class RedisCounters:
    """Counters in Redis: one key per (segment, slot), INCRBY, a TTL and a time index.

    Parameters
    ----------
    client
        A ``redis.Redis`` client (``decode_responses`` either way).
    prefix
        Namespace of every key; a fresh random one when not given.
    retention
        How long after its start (or after now, if later) a slot's key lives; Redis
        expires it on its own.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str | None = None,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self.client = client
        self.prefix = prefix or f"urbanpulse:advice:{uuid.uuid4().hex[:12]}"
        self.retention = retention
        # A sorted set of keys scored by slot start lets expire() find old keys without
        # SCAN over the whole database.
        self._index = f"{self.prefix}:index"

    def _key(self, segment: str, slot_key: int) -> str:
        return f"{self.prefix}:{segment}:{slot_key}"

    def increment(self, slot: datetime, segment: str, n: int = 1) -> int:
        """Atomically add ``n`` (INCRBY) and refresh the key's expiry, in one round trip."""
        slot_key = get_slot_key(slot)
        key = self._key(segment, slot_key)
        # A slot already past (a replay, a simulation) still lives ``retention`` from now.
        expire_at = max(slot_key, int(time.time())) + int(self.retention.total_seconds())
        pipe = self.client.pipeline(transaction=True)
        pipe.incrby(key, int(n))
        pipe.expireat(key, expire_at)
        pipe.zadd(self._index, {key: slot_key})
        pipe.expireat(self._index, expire_at, gt=True)
        return int(pipe.execute()[0])

    def get(self, slots: Sequence[datetime], segment: str) -> list[int]:
        """Counts at each slot (MGET), 0 when absent or expired."""
        if not slots:
            return []
        keys = [self._key(segment, get_slot_key(s)) for s in slots]
        return [int(v) if v is not None else 0 for v in self.client.mget(keys)]

    def expire(self, before: datetime) -> int:
        """Delete keys of slots that start before ``before`` (TTL does this eventually)."""
        old = self.client.zrangebyscore(self._index, "-inf", f"({get_slot_key(before)}")
        if not old:
            return 0
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(*old)
        pipe.zrem(self._index, *old)
        return int(pipe.execute()[0])

    def clear(self) -> None:
        """Delete every key under this prefix (used by tests and the simulation)."""
        keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=500))
        if keys:
            self.client.delete(*keys)


def get_redis_options(settings: Settings, *, asyncio: bool = False) -> dict[str, Any]:
    """Options of every Redis client of the product (``asyncio``: for redis.asyncio's):
    connects and commands give up after ``settings.redis_timeout_seconds``, once.

    The client's own retries are off: redis-py retries a timed-out command three times
    with a backoff by default, so a stalled Redis would cost four timeouts and more per
    request; the product's fall-backs decide when Redis is tried again."""
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": settings.redis_timeout_seconds,
        "socket_connect_timeout": settings.redis_timeout_seconds,
        "retry": (AsyncRetry if asyncio else Retry)(NoBackoff(), 0),
    }


def build_redis_client(settings: Settings) -> Any:
    """A Redis client at ``settings.redis_url`` (see :func:`get_redis_options`)."""
    import redis

    return redis.Redis.from_url(settings.redis_url, **get_redis_options(settings))


class FallbackCounters:
    """Redis counters that count in the process while Redis fails.

    A failed command (refused, or no answer within the client's socket timeout) sends
    this and every call of the next ``retry_seconds`` to in-process counts, so a slow
    Redis costs one timeout per period, not one per request. Counts made meanwhile stay
    local: they are not copied to Redis when it answers again.

    Parameters
    ----------
    primary
        The Redis counters; their client should have bounded socket timeouts.
    retry_seconds
        How long to count locally after a failure before trying Redis again.
    """

    def __init__(self, primary: RedisCounters, *, retry_seconds: float = 30.0) -> None:
        self.primary = primary
        self.local = MemoryCounters(retention=primary.retention)
        self.retry_seconds = retry_seconds
        self._down_until = 0.0
        self._answered = True  # did the last Redis command succeed?

    @property
    def shared(self) -> bool:
        """False while counting in the process because Redis failed (until it answers)."""
        return self._answered

    def increment(self, slot: datetime, segment: str, n: int = 1) -> int:
        """Add ``n`` and return the new count."""
        return self._call(lambda c: c.increment(slot, segment, n))

    def get(self, slots: Sequence[datetime], segment: str) -> list[int]:
        """Counts at each slot, 0 when never counted."""
        return self._call(lambda c: c.get(slots, segment))

    def expire(self, before: datetime) -> int:
        """Forget slots that start before ``before``."""
        return self._call(lambda c: c.expire(before))

    def clear(self) -> None:
        """Delete every count, in Redis and in the process (tests, the simulation)."""
        self.local = MemoryCounters(retention=self.primary.retention)
        self._call(lambda c: c.clear() if c is self.primary else None)

    def check(self) -> bool:
        """PING Redis unless it failed lately; True when it answered (for health)."""
        if time.monotonic() < self._down_until:
            return False
        try:
            self.primary.client.ping()
        except (RedisError, OSError) as exc:
            self._fail(exc)
            return False
        self._answered = True
        return True

    def _call(self, operation: Callable[[Any], T]) -> T:
        if time.monotonic() >= self._down_until:
            try:
                result = operation(self.primary)
            except (RedisError, OSError) as exc:
                self._fail(exc)
            else:
                self._answered = True
                return result
        return operation(self.local)

    def _fail(self, exc: Exception) -> None:
        logger.warning(
            "counting in this process for %s s: redis failed: %s", self.retry_seconds, exc
        )
        self._down_until = time.monotonic() + self.retry_seconds
        self._answered = False
