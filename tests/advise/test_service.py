"""The advice service: cold advice reads the lake off the event loop; warm advice and
failures stay cheap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from urbanpulse.advise import service as advice_service
from urbanpulse.advise.service import TripRequest
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

DAY = "2026-11-02"  # the Monday after the demo's last day
PARAMS = {"origin": "bj-m1-s05", "destination": "bj-m1-s07",
          "start": f"{DAY}T07:00", "end": f"{DAY}T09:30"}  # fmt: skip
LiveServer = Callable[[FastAPI], AbstractContextManager[str]]


def test_health_answers_while_a_cold_advice_request_reads_the_lake(
    demo_lake: Lake, app_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cold request's lake read waits until health has answered: if that read ran
    # on the event loop, health could not answer and would time out.
    reading, release = threading.Event(), threading.Event()
    read_forecast_table = advice_service.read_forecast_table

    def held_read(*args: Any, **kwargs: Any) -> Any:
        reading.set()
        release.wait(timeout=30)
        return read_forecast_table(*args, **kwargs)

    monkeypatch.setattr(advice_service, "read_forecast_table", held_read)
    app = create_app(Settings(lake_path=demo_lake.root, advice_holdout_share=0.0))
    with app_server(app) as url, ThreadPoolExecutor(max_workers=1) as pool:
        cold = pool.submit(httpx.get, f"{url}/api/advice", params=PARAMS, timeout=60)
        assert reading.wait(timeout=30), "the cold request never read a forecast"
        try:
            health = httpx.get(f"{url}/api/health", timeout=10)
            advice_pending = not cold.done()
        finally:
            release.set()
        advice = cold.result(timeout=60)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert advice_pending  # health was answered first
    assert advice.status_code == 200, advice.text
    assert advice.json()["slots"]


def test_warm_inputs_come_from_the_caches_alone(demo_lake: Lake) -> None:
    service = create_app(Settings(lake_path=demo_lake.root)).state.advice
    trip = TripRequest("bj-m1-s05", "bj-m1-s07", datetime(2026, 11, 2, 7), datetime(2026, 11, 2, 9))
    assert service.get_cached_inputs(trip) is None  # cold: nothing is read here
    built = service.read_inputs(trip)
    warm = service.get_cached_inputs(trip)
    assert warm is not None and warm.lookup.sites.keys() == built.lookup.sites.keys()
    assert service.respond(warm)["slots"]


def test_a_station_without_history_says_so_and_is_read_once(
    test_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test lake has no crowding ('load') data: the forecast read fails, and the
    # answer says there is no forecast (null crowding), never 0 %.
    reads: list[str] = []
    read_forecast_table = advice_service.read_forecast_table
    read_site_metrics = advice_service.read_site_metrics

    def counted(name: str, read: Any) -> Any:
        def counted_read(*args: Any, **kwargs: Any) -> Any:
            reads.append(name)
            return read(*args, **kwargs)

        return counted_read

    monkeypatch.setattr(advice_service, "read_forecast_table", counted("forecast", read_forecast_table))  # fmt: skip
    monkeypatch.setattr(advice_service, "read_site_metrics", counted("metrics", read_site_metrics))
    service = create_app(
        Settings(lake_path=test_lake.root, clock=datetime(2026, 3, 15, 6))
    ).state.advice
    trip = TripRequest("bj-metro-1", None, datetime(2026, 3, 16, 7), datetime(2026, 3, 16, 9))
    for _ in range(3):
        body = service.advise(trip)
        assert body["recommended"] is None and body["forecast_coverage"] == 0.0
        assert "No crowding forecast" in body["message"]
        assert len(body["slots"]) == 9  # 07:00 to 09:00, the latest departure included
        for slot in body["slots"]:
            assert slot["crowding"] is None and slot["crowding_p90"] is None
            assert slot["forecast_share"] == 0.0
            assert slot["reason"].startswith("no crowding forecast")
    # Remembered: answered from the cache, on the event loop too.
    assert service.get_cached_inputs(trip) is not None
    # One read of which sites report crowding, and no forecast read for this one.
    assert reads == ["metrics"]
    # Nobody was advised, so nobody counts in the measured effect either.
    effect = service.get_effect("bj-metro-1", date(2026, 3, 16))
    assert (effect["advised"], effect["holdout"]) == (0, 0)


def test_a_gap_in_a_forecast_stays_unknown(
    demo_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model without an answer for some periods (NaN) used to be filled with 0 %.
    read_forecast_table = advice_service.read_forecast_table

    def gappy_read(*args: Any, **kwargs: Any) -> Any:
        table = read_forecast_table(*args, **kwargs)
        hours = table["slot"].dt.tz_convert("Asia/Shanghai").dt.hour
        table.loc[hours == 8, ["load", "load_p10", "load_p90"]] = float("nan")
        return table

    monkeypatch.setattr(advice_service, "read_forecast_table", gappy_read)
    # No holdout draw: this request must get a recommendation.
    settings = Settings(lake_path=demo_lake.root, advice_holdout_share=0.0)
    service = create_app(settings).state.advice
    body = service.advise(
        TripRequest("bj-m1-s05", None, datetime(2026, 11, 2, 7), datetime(2026, 11, 2, 9, 30), None)
    )
    by_label = {slot["label"]: slot for slot in body["slots"]}
    assert by_label["08:15"]["crowding"] is None and by_label["08:15"]["forecast_share"] == 0
    assert by_label["07:45"]["crowding"] > 0.0 and by_label["07:45"]["forecast_share"] == 1
    # The preferred time (07:00, the start) has a forecast: a real recommendation,
    # never a slot without one.
    assert body["recommended"] is not None and body["recommended"]["crowding"] is not None
    assert 0.0 < body["forecast_coverage"] < 1.0
    assert "no crowding history" in body["message"]


def test_a_route_priced_at_a_slot_it_does_not_serve_has_no_figures() -> None:
    # Its cost is infinite there: the answer says "unknown" rather than failing to encode.
    from urbanpulse.advise.service import _price_slot

    columns = {
        "crowding": np.array([np.nan, 0.5]),
        "travel_minutes": np.array([np.nan, 20.0]),
        "score": np.array([np.inf, 31.25]),
    }
    assert _price_slot(columns, 0) == {"crowding": None, "minutes_at_slot": None, "cost": None}
    assert _price_slot(columns, 1) == {"crowding": 0.5, "minutes_at_slot": 20.0, "cost": 31.25}


def test_another_route_is_priced_as_its_whole_window_would_price_that_slot(
    demo_lake: Lake,
) -> None:
    """Pricing only the answer's slot gives the figures ranking the whole window gives
    for that slot: crowding, minutes and generalized cost of every other route."""
    from urbanpulse.advise.advice import compute_advice

    service = create_app(
        Settings(lake_path=demo_lake.root, clock=datetime(2026, 10, 28, 6))
    ).state.advice
    window = (datetime(2026, 10, 28, 7), datetime(2026, 10, 28, 9, 30), datetime(2026, 10, 28, 8))
    from urbanpulse.transit.search import find_stations

    origin, destination = (find_stations(demo_lake, n)[0].site_ids[0] for n in ("西直门", "国贸"))
    inputs = service.read_inputs(TripRequest(origin, destination, *window))
    assert inputs.alternatives
    slots = compute_advice(
        inputs.lookup, inputs.trip, inputs.window, policy=service.policy,
        now=inputs.clock.now, tz=service.settings.local_timezone, record=False, holdout=True,
    ).columns  # fmt: skip
    for first in (0, len(slots["departure"]) // 2):
        priced = service._price_routes(inputs, slots, first)
        departure = slots["departure"][first]
        for k, trip, lookup in inputs.alternatives:
            whole = compute_advice(
                lookup, trip, inputs.window, policy=service.policy, now=inputs.clock.now,
                tz=service.settings.local_timezone, record=False, holdout=True,
            ).columns  # fmt: skip
            j = next(i for i, d in enumerate(whole["departure"]) if d == departure)
            assert priced[k] == advice_service._price_slot(whole, j)
            assert priced[k]["cost"] is not None
