"""What is read from a lake, kept while the lake stays at one version.

A lake file never changes once written and every change is a new version, so whatever
was read at one version holds until the next commit. :func:`read_cached` keeps such
answers in one process-wide cache keyed by (lake, version, question), for every room
(sites, catalogue, station index, context entities, a site's readings); the advice
service keeps its own :class:`LruCache` of the same kind, checking the version less often.

Both are least recently used, bounded by entries and by bytes (Arrow tables and pandas
frames and encoded answers are weighed, other values count as small), and remember not-found and
invalid-query failures for a few seconds. Async API routes answer warm requests on the
event loop and send cold ones to a worker thread: to tell them apart cheaply they run
the same code under :func:`cached_only`, where a value that would have to be built
raises :class:`ColdCacheError` instead.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from urbanpulse.errors import InvalidQueryError, NotFoundError

if TYPE_CHECKING:
    from urbanpulse.store.lake import Lake

T = TypeVar("T")
# Errors that answer the request (404, 400) and come back the same until the lake
# changes; a few seconds saves repeating the reads of a failing request at every retry
# without hiding new data for long. Other errors may be transient and are not kept.
CACHED_ERRORS: tuple[type[Exception], ...] = (NotFoundError, InvalidQueryError)
ERROR_TTL_SECONDS = 10.0

_CACHED_ONLY: ContextVar[bool] = ContextVar("urbanpulse_cached_only", default=False)
_MISSING = object()


class ColdCacheError(Exception):
    """A value had to be built inside :func:`cached_only`; callers catch it, users never see it."""


@contextmanager
def cached_only() -> Iterator[None]:
    """Within this block (this thread or task only), caches answer without building."""
    token = _CACHED_ONLY.set(True)
    try:
        yield
    finally:
        _CACHED_ONLY.reset(token)


@dataclass(frozen=True, slots=True)
class _Failure:
    error: Exception
    expires: float  # time.monotonic()


class LruCache:
    """A thread-safe least-recently-used cache of values and recent failures, holding
    at most ``maxsize`` entries and about ``max_bytes`` of tables."""

    def __init__(
        self, maxsize: int, *, max_bytes: int | None = None, error_ttl: float = ERROR_TTL_SECONDS
    ) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.error_ttl = error_ttl
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._weights: dict[Hashable, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_build(self, key: Hashable, build: Callable[[], T]) -> T:
        """The cached value, or ``build()``'s, kept; a :data:`CACHED_ERRORS` error of
        ``build()`` is kept ``error_ttl`` seconds and raised again meanwhile.

        Two threads may build the same key once each; that costs time, never
        correctness. Under :func:`cached_only`, a missing key raises ColdCacheError.
        """
        item = self._get(key)
        if isinstance(item, _Failure):
            # A copy, so concurrent requests never share one traceback.
            raise copy.copy(item.error)
        if item is not _MISSING:
            return item  # type: ignore[no-any-return]
        if _CACHED_ONLY.get():
            raise ColdCacheError(key)
        try:
            value = build()
        except CACHED_ERRORS as error:
            self._put(key, _Failure(copy.copy(error), time.monotonic() + self.error_ttl))
            raise
        self._put(key, value)
        return value

    def _get(self, key: Hashable) -> Any:
        with self._lock:
            item = self._items.get(key, _MISSING)
            if isinstance(item, _Failure) and item.expires <= time.monotonic():
                del self._items[key]
                self._weights.pop(key, None)
                return _MISSING
            if item is not _MISSING:
                self._items.move_to_end(key)
            return item

    def _put(self, key: Hashable, item: Any) -> None:
        weight = _weigh(item)
        with self._lock:
            self._bytes += weight - self._weights.get(key, 0)
            self._items[key] = item
            self._weights[key] = weight
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize or (
                self.max_bytes is not None and self._bytes > self.max_bytes and len(self._items) > 1
            ):
                oldest, _ = self._items.popitem(last=False)
                self._bytes -= self._weights.pop(oldest)


def _weigh(item: Any) -> int:
    """Bytes a cached value holds, for the values that can be large (tables)."""
    if isinstance(item, pa.Table):
        return int(item.nbytes)
    if isinstance(item, bytes):  # an encoded answer
        return len(item)
    memory_usage = getattr(item, "memory_usage", None)  # a pandas DataFrame
    if callable(memory_usage) and hasattr(item, "columns"):
        return int(memory_usage(index=True).sum())
    return 0


# One cache for the whole process: every lake and every room share its bounds.
_LAKE_CACHE = LruCache(maxsize=4096, max_bytes=256 * 1024 * 1024)


def read_cached(lake: Lake, name: str, *key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, kept for ``lake`` at its current version under ``name`` and
    ``key``: the next commit makes it stale, so no answer outlives its data."""
    return _LAKE_CACHE.get_or_build((str(lake.root), lake.version, name, *key), build)
