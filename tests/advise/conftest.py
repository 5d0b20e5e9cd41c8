"""Fixtures for advice: a hand-made network, hand-made forecasts and both counter kinds."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from urbanpulse.advise import MemoryCounters, RedisCounters

DAY = "2026-11-02"  # a Monday
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _station(line: str, seq: int, minutes: int, *, loop: bool = False) -> dict[str, object]:
    attributes = {"line_id": line, "sequence": seq, "minutes_to_next": minutes, "loop": loop}
    return {
        "site_id": f"{line}-s{seq:02d}",
        "kind": "metro_station",
        "name_en": f"{line} {seq}",
        "capacity": 1000.0,
        "attributes": json.dumps(attributes),
    }


@pytest.fixture
def sites() -> pd.DataFrame:
    """Line 'a' (4 stations, 3-2-4 minutes), loop 'l' (5 stations, 2-3-2-5-4) and an
    air monitor that is no station."""
    rows = [_station("a", i + 1, m) for i, m in enumerate([3, 2, 4, 0])]
    rows += [_station("l", i + 1, m, loop=True) for i, m in enumerate([2, 3, 2, 5, 4])]
    rows.append(
        {"site_id": "air-1", "kind": "air_monitor", "name_en": "Air", "capacity": None,
         "attributes": "{}"}
    )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def make_forecast() -> Callable[..., pd.DataFrame]:
    """Forecast table of sites from 06:00 to 12:00 local: ``loads`` maps 'HH:MM' to a
    load (others get ``default``); p10/p90 are load -/+ 0.1."""

    def make(
        site_ids: list[str],
        loads: dict[str, float] | None = None,
        *,
        default: float = 0.5,
        capacity: float = 1000.0,
        per_site: dict[str, dict[str, float]] | None = None,
    ) -> pd.DataFrame:
        slots = pd.date_range(
            f"{DAY} 06:00", f"{DAY} 12:00", freq="15min", tz="Asia/Shanghai", inclusive="left"
        )
        labels = slots.strftime("%H:%M")
        parts = []
        for site in site_ids:
            table = (per_site or {}).get(site, loads or {})
            load = np.array([table.get(label, default) for label in labels])
            parts.append(
                pd.DataFrame(
                    {"site_id": site, "slot": slots.tz_convert("UTC"), "load": load,
                     "load_p10": load - 0.1, "load_p90": load + 0.1, "capacity": capacity}
                )
            )  # fmt: skip
        return pd.concat(parts, ignore_index=True)

    return make


def get_redis_client() -> object:
    """A client of the Redis server on 127.0.0.1:6379; skip (fail under CI) without one."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379 ({exc})")
    return client


@pytest.fixture
def redis_client() -> object:
    """The Redis client of :func:`get_redis_client`."""
    return get_redis_client()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def counters(request: pytest.FixtureRequest) -> Iterator[MemoryCounters | RedisCounters]:
    """Each counter implementation in turn; Redis keys under a prefix unique to the run."""
    if request.param == "memory":
        yield MemoryCounters()
        return
    store = RedisCounters(get_redis_client(), prefix=f"urbanpulse-test:{uuid.uuid4().hex}")
    yield store
    store.clear()
