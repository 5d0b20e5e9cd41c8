"""Metric codes whose meaning is fixed across the product, with their units.

Observations carry a metric code (lowercase letters, digits and ``_``: it names a
partition folder of the lake). Most codes come from the sources a city maps in
(``boardings``, ``load``, ``pm25`` ...); the codes below are produced by UrbanPulse
itself, so every reader agrees on what they mean.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COUNT_METRICS",
    "METRICS",
    "PLAUSIBLE_RANGES",
    "Metric",
    "get_metric",
    "get_plausible_range",
    "is_count",
]

# Values no reading of these metrics can take (a sensor's error codes, a sign slip).
# Every writer quarantines a value outside its metric's range: files mapped in (where a
# mapping may set its own bounds) and live messages alike. Metrics not listed are only
# checked for being finite numbers.
PLAUSIBLE_RANGES: dict[str, tuple[float | None, float | None]] = {
    "flow": (0.0, None),
    "boardings": (0.0, None),
    "entries": (0.0, None),
    "exits": (0.0, None),
    "passengers": (0.0, None),
    "load": (0.0, None),
    "load_up": (0.0, None),
    "load_down": (0.0, None),
    "occupancy": (0.0, None),
    "speed": (0.0, 400.0),
    "pm25": (0.0, 2000.0),
    "pm10": (0.0, 3000.0),
    "no2": (0.0, 2000.0),
    "so2": (0.0, 2000.0),
    "o3": (0.0, 2000.0),
    "co": (0.0, 100000.0),
    "rain": (0.0, None),
    "wspm": (0.0, 200.0),
    "temp": (-90.0, 70.0),
    "pres": (300.0, 1200.0),
}


# Readings that count something in their period (riders boarding, gates passed): over a
# longer period they add up. Every other reading (a load, a speed, a concentration) is a
# level, which is averaged.
COUNT_METRICS = frozenset({"boardings", "entries", "exits", "passengers"})


def is_count(code: str) -> bool:
    """Whether a metric's readings add up over time (else they are averaged)."""
    return code in COUNT_METRICS


def get_plausible_range(
    code: str, *, low: float | None = None, high: float | None = None
) -> tuple[float | None, float | None]:
    """The values a metric accepts: the bounds given (a mapping's min and max) where
    set, else the product's plausible range for the code (None: unbounded)."""
    default_low, default_high = PLAUSIBLE_RANGES.get(code, (None, None))
    return (default_low if low is None else low, default_high if high is None else high)


@dataclass(frozen=True)
class Metric:
    """A metric code, its unit and what one value means."""

    code: str
    unit: str
    description: str


METRICS: dict[str, Metric] = {
    m.code: m
    for m in (
        # GTFS-Realtime TripUpdates (urbanpulse.transit.realtime): one value per trip and
        # stop, at the scheduled time of that stop; positive is late.
        Metric(
            "arrival_delay",
            "s",
            "GTFS-Realtime: seconds the vehicle arrives at the stop after its scheduled "
            "time (negative: early), stamped at the scheduled arrival",
        ),
        Metric(
            "departure_delay",
            "s",
            "GTFS-Realtime: seconds the vehicle leaves the stop after its scheduled "
            "time (negative: early), stamped at the scheduled departure",
        ),
        # GTFS-Realtime VehiclePositions: a vehicle's crowding at the stop it is at or
        # nearest to, at the vehicle's timestamp.
        Metric(
            "occupancy_status",
            "GTFS-RT OccupancyStatus",
            "GTFS-Realtime OccupancyStatus number: 0 EMPTY, 1 MANY_SEATS_AVAILABLE, "
            "2 FEW_SEATS_AVAILABLE, 3 STANDING_ROOM_ONLY, 4 CRUSHED_STANDING_ROOM_ONLY, "
            "5 FULL, 6 NOT_ACCEPTING_PASSENGERS, 7 NO_DATA_AVAILABLE, 8 NOT_BOARDABLE",
        ),
        Metric(
            "occupancy_percentage",
            "%",
            "GTFS-Realtime occupancy_percentage: passengers as a share of the vehicle's "
            "nominal capacity (may pass 100)",
        ),
    )
}


def get_metric(code: str) -> Metric | None:
    """The metric of a code produced by UrbanPulse, or None for a source's own code."""
    return METRICS.get(code)
