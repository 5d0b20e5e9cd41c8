"""Best time to travel, and spreading the recommendations so they ease the peak.

The HTTP API and the pages call one :class:`AdviceService` (clock, planning day, lines,
effect counts and forecast caches over a lake), built by :func:`build_advice_service`.
Underneath it, the pure functions::

    trip = build_trip(read_sites(lake), "bj-m1-s05", "bj-m1-s20")
    window = build_window("2026-11-02 07:00", "2026-11-02 09:30", "2026-11-02 08:00")
    forecast = read_forecast_table(lake, [s.site_id for s in trip.segments],
                                   start=window.start, end=window.end + timedelta(hours=2))
    advice = compute_advice(forecast, trip, window, counters=counters, policy=Policy())
    advice.to_dict()
"""

from __future__ import annotations

from urbanpulse.advise.advice import (
    ADVICE_COLUMNS,
    ADVISED_SEGMENT,
    HOLDOUT_SEGMENT,
    NAIVE_POLICY,
    Advice,
    Policy,
    build_reason,
    choose_slot,
    compute_advice,
    compute_slot_table,
    get_departure_slots,
    rank_slots,
)
from urbanpulse.advise.counters import Counters, FallbackCounters, MemoryCounters, RedisCounters
from urbanpulse.advise.forecasts import (
    FORECAST_COLUMNS,
    ForecastLookup,
    build_forecast_lookup,
    compute_profile_forecast,
    read_forecast_table,
    read_site_forecast,
)
from urbanpulse.advise.service import AdviceService, Clock, build_advice_service
from urbanpulse.advise.trips import (
    Segment,
    Trip,
    Window,
    build_trip,
    build_window,
    check_window,
    read_stations,
)

__all__ = [
    "ADVICE_COLUMNS",
    "ADVISED_SEGMENT",
    "FORECAST_COLUMNS",
    "HOLDOUT_SEGMENT",
    "NAIVE_POLICY",
    "Advice",
    "AdviceService",
    "Clock",
    "Counters",
    "FallbackCounters",
    "ForecastLookup",
    "MemoryCounters",
    "Policy",
    "RedisCounters",
    "Segment",
    "Trip",
    "Window",
    "build_advice_service",
    "build_forecast_lookup",
    "build_reason",
    "build_trip",
    "build_window",
    "check_window",
    "choose_slot",
    "compute_advice",
    "compute_profile_forecast",
    "compute_slot_table",
    "get_departure_slots",
    "rank_slots",
    "read_forecast_table",
    "read_site_forecast",
    "read_stations",
]
