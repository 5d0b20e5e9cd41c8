"""The advice service's in-memory cache: least recently used, remembering failures.

Async API routes answer warm requests on the event loop and send cold ones to a worker
thread. To tell them apart cheaply they run the same code under :func:`cached_only`,
where a value that would have to be built raises :class:`ColdCacheError` instead.
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
from typing import Any, TypeVar

from urbanpulse.errors import InvalidQueryError, NotFoundError

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
    """A small thread-safe least-recently-used cache of values and recent failures."""

    def __init__(self, maxsize: int, *, error_ttl: float = ERROR_TTL_SECONDS) -> None:
        self.maxsize = maxsize
        self.error_ttl = error_ttl
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
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
                return _MISSING
            if item is not _MISSING:
                self._items.move_to_end(key)
            return item

    def _put(self, key: Hashable, item: Any) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
