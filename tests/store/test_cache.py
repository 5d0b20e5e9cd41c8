"""The one cache of what is read from a lake: kept per version, bounded, failures remembered."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from urbanpulse.errors import NotFoundError
from urbanpulse.store import Lake, append_observations
from urbanpulse.store.cache import ColdCacheError, LruCache, cached_only, read_cached


def _reading(value: float) -> pa.Table:
    return pa.table(
        {
            "site_id": ["a"],
            "metric": ["flow"],
            "ts": pa.array([datetime(2026, 3, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
            "value": [value],
            "unit": ["veh/h"],
        }
    )


def test_an_answer_is_kept_until_the_next_commit(tmp_path: Path) -> None:
    lake, builds = Lake(tmp_path / "lake"), []

    def count_files() -> int:
        builds.append(lake.version)
        return len(lake.get_files("observations"))

    assert read_cached(lake, "files", build=count_files) == 0
    assert read_cached(lake, "files", build=count_files) == 0
    assert builds == [0]
    append_observations(lake, _reading(1.0))
    assert read_cached(lake, "files", build=count_files) == 1  # the commit made it stale
    assert builds == [0, 1]
    # Another lake at the same version is another question.
    other = Lake(tmp_path / "other")
    append_observations(other, _reading(2.0))
    assert read_cached(other, "files", build=lambda: -1) == -1


def test_tables_are_weighed_and_the_oldest_leave_first() -> None:
    table = pa.table({"x": list(range(1000))})  # 8,000 bytes
    cache = LruCache(maxsize=100, max_bytes=20_000)
    for key in "abc":
        cache.get_or_build(key, lambda: table)
    # Three tables exceed the budget: the least recently used one went.
    with cached_only(), pytest.raises(ColdCacheError):
        cache.get_or_build("a", lambda: table)
    assert cache.get_or_build("c", lambda: pa.table({})) is table
    cache.get_or_build("big", lambda: pa.table({"x": list(range(10_000))}))
    # One entry over the budget alone is still kept: the cache never empties itself.
    assert cache.get_or_build("big", lambda: None) is not None
    with cached_only(), pytest.raises(ColdCacheError):
        cache.get_or_build("c", lambda: table)


def test_cache_forgets_failures_after_their_time(monkeypatch: pytest.MonkeyPatch) -> None:
    cache, calls = LruCache(maxsize=8, error_ttl=5.0), []
    now = [100.0]
    monkeypatch.setattr("urbanpulse.store.cache.time.monotonic", lambda: now[0])

    def fail() -> int:
        calls.append(1)
        raise NotFoundError("nothing")

    for _ in range(2):
        with pytest.raises(NotFoundError):
            cache.get_or_build("k", fail)
    assert len(calls) == 1
    now[0] += 6.0
    assert cache.get_or_build("k", lambda: 7) == 7


def test_cache_does_not_keep_unexpected_errors_or_build_when_told_not_to() -> None:
    cache = LruCache(maxsize=8)

    def crash() -> int:
        raise RuntimeError("disk hiccup")

    with pytest.raises(RuntimeError):
        cache.get_or_build("k", crash)
    with cached_only(), pytest.raises(ColdCacheError):
        cache.get_or_build("k", lambda: 1)
    assert cache.get_or_build("k", lambda: 2) == 2
    with cached_only():
        assert cache.get_or_build("k", lambda: 3) == 2
