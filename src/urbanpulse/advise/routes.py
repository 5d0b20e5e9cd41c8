"""From planned journeys to what advice ranks and shows: the trip of a chosen route on a
given day, its legs timed from a departure, and the alternatives in words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from urbanpulse.advise.trips import Trip, build_journey_trip
from urbanpulse.catalog.calendar import get_day_type
from urbanpulse.errors import InvalidQueryError
from urbanpulse.transit.journeys import Journey, JourneyPlanner, Leg


def get_service_day(day: date, *, country: str) -> str:
    """The timetable a local day runs to: 'weekday', 'saturday' or 'sunday' (Sundays,
    and public holidays, whatever their weekday). Worked weekend days run as weekdays."""
    kind = get_day_type(day, country=country)
    if kind == "weekday":
        return "weekday"
    return "saturday" if kind == "weekend" and day.weekday() == 5 else "sunday"


def build_route_trip(
    planner: JourneyPlanner, journeys: list[Journey], *, route: int, service_day: str
) -> Trip:
    """The trip of ``journeys[route]`` with its travel minutes by period of that day.

    Raises
    ------
    InvalidQueryError
        ``route`` is not one of the alternatives.
    """
    if not 0 <= route < len(journeys):
        raise InvalidQueryError(
            f"route {route} does not exist: this journey has {len(journeys)} route(s), "
            f"numbered from 0"
        )
    journey = journeys[route]
    profile = planner.compute_travel_profile(journey, day_type=service_day)
    return build_journey_trip(journey, travel_profile=profile)


def build_leg_records(
    trip: Trip, departure: datetime, names: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The legs of ``trip`` timed from ``departure`` (``LegPublic`` dicts): line, from,
    to, when the train leaves and arrives, minutes walked and waited before it."""
    scale = _get_scale(trip, departure)
    clock = departure
    records = []
    for leg in trip.legs:
        clock += timedelta(minutes=leg.walk_minutes + leg.wait_minutes)
        leaves = clock
        clock += timedelta(minutes=leg.ride_minutes * scale)
        records.append(_leg_record(leg, leaves, clock, names))
    return records


def build_alternative_records(
    journeys: list[Journey], names: dict[str, dict[str, Any]], *, chosen: int
) -> list[dict[str, Any]]:
    """Every route found (``RoutePublic`` dicts): its lines, changes and usual minutes."""
    return [
        {
            "route": k,
            "chosen": k == chosen,
            "travel_minutes": round(journey.travel_minutes, 1),
            "transfers": journey.transfers,
            "lines": [_line_label(leg) for leg in journey.legs],
            "via": [names.get(leg.to_site_id, {}).get("name_en") for leg in journey.legs[:-1]],
            "via_zh": [names.get(leg.to_site_id, {}).get("name_zh") for leg in journey.legs[:-1]],
        }
        for k, journey in enumerate(journeys)
    ]


def _get_scale(trip: Trip, departure: datetime) -> float:
    """How much the rides of this departure's period run longer than usual (the
    period's profile minutes against the typical journey's)."""
    if trip.travel_profile is None or not trip.legs:
        return 1.0
    profile = np.asarray(trip.travel_profile, dtype=float)
    minutes = profile[(departure.hour * 60 + departure.minute) * len(profile) // 1440]
    fixed = sum(leg.walk_minutes + leg.wait_minutes for leg in trip.legs)
    ride = sum(leg.ride_minutes for leg in trip.legs)
    if np.isnan(minutes) or ride <= 0:
        return 1.0
    return max(float(minutes) - fixed, 0.0) / ride if minutes > fixed else 1.0


def _leg_record(
    leg: Leg, leaves: datetime, arrives: datetime, names: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    origin, destination = names.get(leg.from_site_id, {}), names.get(leg.to_site_id, {})
    return {
        "line_id": leg.line_id,
        "line_name_zh": leg.name_zh,
        "line_name_en": _line_label(leg),
        "mode": leg.mode,
        "direction": leg.direction,
        "from_site_id": leg.from_site_id,
        "from_name_zh": origin.get("name_zh"),
        "from_name_en": origin.get("name_en"),
        "to_site_id": leg.to_site_id,
        "to_name_zh": destination.get("name_zh"),
        "to_name_en": destination.get("name_en"),
        "departure": leaves.isoformat(),
        "arrival": arrives.isoformat(),
        "stops": len(leg.stops),
        "walk_minutes": round(leg.walk_minutes, 1),
        "wait_minutes": round(leg.wait_minutes, 1),
        "ride_minutes": round((arrives - leaves).total_seconds() / 60, 1),
    }


def _line_label(leg: Leg) -> str:
    return leg.name_en or leg.name_zh or leg.line_id
