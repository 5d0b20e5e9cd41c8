"""From planned journeys to what advice ranks and shows: the two stations a traveller
names, the trip of a chosen route on a given day, its legs timed from a departure, and
the alternatives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.advise.trips import Trip, build_journey_trip
from urbanpulse.catalog.calendar import get_day_type
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.i18n import N_
from urbanpulse.store import Lake
from urbanpulse.transit.journeys import (
    PERIOD_MINUTES,
    Journey,
    JourneyPlanner,
    Leg,
    get_travel_profile,
)
from urbanpulse.transit.network import read_transit_network
from urbanpulse.transit.raptor import TimedLeg, Timetable, compute_timed_leg_profile
from urbanpulse.transit.search import find_stations


def get_service_day(day: date, *, country: str) -> str:
    """The timetable a local day runs to: 'weekday', 'saturday' or 'sunday' (Sundays,
    and public holidays, whatever their weekday). Worked weekend days run as weekdays."""
    kind = get_day_type(day, country=country)
    if kind == "weekday":
        return "weekday"
    return "saturday" if kind == "weekend" and day.weekday() == 5 else "sunday"


def compute_day_routes(
    planner: JourneyPlanner,
    journeys: list[Journey],
    *,
    service_day: str,
    runs: Callable[[str], bool],
    ride_factors: Callable[[Journey], Mapping[str, np.ndarray]] | None = None,
    timetable: Timetable | None = None,
) -> list[tuple[Journey, np.ndarray]]:
    """The routes that run on a day, each with its legs' times by period.

    Where every leg rides a network of the day's ``timetable`` (feeds with stop times,
    one or several) the times are the trips' own (``raptor.compute_timed_leg_profile``);
    else the period model's (see
    ``JourneyPlanner.compute_leg_profile``; rides stretched by ``ride_factors(journey)``,
    e.g. road traffic on bus lines).

    ``runs(line_id)`` says whether a line runs that day at all (its feed's calendar); a
    route with a line that does not, or that has no period with service, is left out.

    Raises
    ------
    InvalidQueryError
        No route runs that day.
    """
    running = []
    for journey in journeys:
        if not all(runs(leg.line_id) for leg in journey.legs):
            continue
        if (
            timetable is not None
            and {leg.network_id for leg in journey.legs} <= timetable.network_ids
        ):
            asked = [
                TimedLeg(leg.from_site_id, leg.to_site_id, leg.walk_minutes) for leg in journey.legs
            ]
            legs = compute_timed_leg_profile(timetable, asked, period_minutes=PERIOD_MINUTES)
        else:
            factors = ride_factors(journey) if ride_factors is not None else None
            legs = planner.compute_leg_profile(journey, day_type=service_day, ride_factors=factors)
        if np.isfinite(get_travel_profile(journey, legs)).any():
            running.append((journey, legs))
    if not running:
        raise InvalidQueryError(
            "no route between these stations runs on that day (the lines' timetables "
            "and calendars have no service then)"
        )
    return running


def add_timetable_journeys(planned: list[Journey], timetabled: list[Journey]) -> list[Journey]:
    """The planned routes, then those the timetable gives that ride other trips' chains
    (line and stations of each ride), so that each slot's earliest arrival is offered."""
    seen = {_get_ride_chain(journey) for journey in planned}
    extra = [j for j in timetabled if _get_ride_chain(j) not in seen]
    return [*planned, *{_get_ride_chain(j): j for j in extra}.values()]


def _get_ride_chain(journey: Journey) -> tuple[tuple[str, str, str], ...]:
    return tuple((leg.line_id, leg.from_site_id, leg.to_site_id) for leg in journey.legs)


def build_route_trip(routes: list[tuple[Journey, np.ndarray]], *, route: int) -> Trip:
    """The trip of route number ``route`` of a day's running routes.

    Raises
    ------
    InvalidQueryError
        ``route`` is not one of them.
    """
    if not 0 <= route < len(routes):
        raise InvalidQueryError(
            f"route {route} does not exist: this journey has {len(routes)} route(s) "
            "running that day, numbered from 0"
        )
    journey, legs = routes[route]
    return build_journey_trip(
        journey, travel_profile=get_travel_profile(journey, legs), leg_profile=legs
    )


def build_leg_records(
    trip: Trip,
    departure: datetime,
    names: dict[str, dict[str, Any]],
    *,
    crowding: Mapping[str, np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """The legs of ``trip`` timed from ``departure`` by that period's timetable
    (``LegPublic`` dicts): line, from, to, when the train leaves and arrives, minutes
    walked and waited before it, and with ``crowding`` (the slot's per-leg arrays of
    ``advice.LEG_CROWDING_COLUMNS``) its most crowded train's load, band and where;
    none when the journey does not run then."""
    if trip.leg_profile is None:
        return []
    period = (departure.hour * 60 + departure.minute) * len(trip.leg_profile) // 1440
    times = trip.leg_profile[period]
    if not np.isfinite(times).all():
        return []
    records, ready = [], 0.0
    for k, (leg, (boards, arrives)) in enumerate(zip(trip.legs, times, strict=True)):
        wait = max(float(boards) - ready - leg.walk_minutes, 0.0)
        leaves = _to_minute(departure + timedelta(minutes=float(boards)))
        arrival = max(_to_minute(departure + timedelta(minutes=float(arrives))), leaves)
        record = _leg_record(leg, leaves, arrival, names, wait=wait)
        if crowding is not None:
            record |= _leg_crowding(crowding, k, names)
        records.append(record)
        ready = float(arrives)
    return records


def _leg_crowding(
    crowding: Mapping[str, np.ndarray], leg: int, names: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    def share(name: str) -> float | None:
        value = float(crowding[name][leg])
        return None if value != value else round(value, 4)

    site = crowding["leg_bottleneck_site_id"][leg]
    where = names.get(site, {}) if site else {}
    return {
        "crowding": share("leg_crowding"),
        "crowding_p10": share("leg_crowding_p10"),
        "crowding_p90": share("leg_crowding_p90"),
        "bottleneck_site_id": site,
        "bottleneck_name_zh": where.get("name_zh"),
        "bottleneck_name_en": where.get("name_en"),
    }


def build_alternative_records(
    journeys: list[Journey],
    names: dict[str, dict[str, Any]],
    *,
    chosen: int,
    priced: dict[int, dict[str, float | None]] | None = None,
) -> list[dict[str, Any]]:
    """Every route found (``RoutePublic`` dicts): its lines, changes and usual minutes,
    and, where ``priced`` has it, its crowding, minutes and cost at the answer's slot."""
    return [
        {
            "crowding": None,
            "minutes_at_slot": None,
            "cost": None,
            **(priced or {}).get(k, {}),
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


def _to_minute(moment: datetime) -> datetime:
    # Timetables speak in whole minutes.
    return (moment + timedelta(seconds=30)).replace(second=0, microsecond=0)


def _leg_record(
    leg: Leg, leaves: datetime, arrives: datetime, names: dict[str, dict[str, Any]], *, wait: float
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
        "wait_minutes": round(wait, 1),
        "ride_minutes": round((arrives - leaves).total_seconds() / 60, 1),
    }


def _line_label(leg: Leg) -> str:
    return leg.name_en or leg.name_zh or leg.line_id


def resolve_station_pair(
    lake: Lake, origin: str, destination: str, *, network_id: str | None = None
) -> tuple[str, str]:
    """Site ids of two stations given by id or by Chinese, English or pinyin name, on one
    network (``network_id``, or the one network holding both names), else the one
    station each name gives, on two networks (a journey may change where they meet).

    Raises
    ------
    NotFoundError
        A name no station matches (on that network).
    InvalidQueryError
        Names that match several stations of different networks, none holding both,
        or stations of several networks each holding both (then ``network_id`` must
        say which).
    """
    stations = read_transit_network(lake).stations.set_index("site_id")["network_id"]
    from_matches = _match_station(lake, stations, origin, network_id)
    to_matches = _match_station(lake, stations, destination, network_id)
    pairs = {
        net_a: (site_a, site_b)
        for site_b, net_b in reversed(to_matches)
        for site_a, net_a in reversed(from_matches)
        if net_a == net_b
    }
    if not pairs and len(from_matches) == 1 and len(to_matches) == 1:
        # One station each, on two networks: a journey may change where they meet.
        return from_matches[0][0], to_matches[0][0]
    if not pairs:
        raise InvalidQueryError(
            f"{origin!r} and {destination!r} each name stations of several networks "
            "and no network has both; give site ids"
        )
    if len(pairs) > 1:
        raise InvalidQueryError(
            f"{origin!r} and {destination!r} are stations of several networks "
            f"({', '.join(sorted(pairs))}); say which with --network"
        )
    return next(iter(pairs.values()))


def _match_station(
    lake: Lake, stations: pd.Series, query: str, network_id: str | None
) -> list[tuple[str, str]]:
    """(site id, network id) of the stations a query names: the site of that id, else
    the stations of that exact name, else the best match, on ``network_id`` if given."""
    if query in stations.index:
        return [(query, str(stations[query]))]
    # Filtered here rather than by the search: stations of the sites' own lines (the
    # demo's) belong to the planner's network 'sites' without saying so themselves.
    found = [
        (m, str(stations.get(m.site_id, m.network_id)))
        for m in find_stations(lake, query, limit=50)
    ]
    found = [(m, net) for m, net in found if network_id is None or net == network_id]
    if not found:
        if network_id:
            raise NotFoundError(
                N_("no station is called {query} on network {network}",
                   query=repr(query), network=repr(network_id))
            )  # fmt: skip
        raise NotFoundError(N_("no station is called {query}", query=repr(query)))
    exact = [(m, net) for m, net in found if m.match == "exact"] or found[:1]
    return [(m.site_id, net) for m, net in exact]
