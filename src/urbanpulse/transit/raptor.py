"""Journeys on the timetable itself: RAPTOR over the trips that run on one service day.

Where a feed has stop times, the best journey at a departure time is not an average of
periods (urbanpulse.transit.journeys) but a chain of real trips: the Round-bAsed Public
Transit Optimized Router (Delling, Pajor and Werneck 2012) finds, round by round (one more
ride each round), the earliest arrival at every stop, so its answer is the Pareto set of
(arrival, rides) (:func:`plan_pareto`; :func:`plan` the earliest of them) and its legs
are the trips actually taken, any route serving a leg.

Trips are grouped into routes by their exact sequence of stops (a short turn or an
express is a route of its own), each route's trips ordered by departure; a trip is
boarded at a stop no earlier than one arrives there. Between rides one walk is allowed,
along the network's transfers (transfers.txt, platforms of one station, stops of one
name or near each other: urbanpulse.transit.transfers), as long as the walk takes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from urbanpulse.errors import NotFoundError
from urbanpulse.store import Lake
from urbanpulse.store.networks import read_network_table
from urbanpulse.transit.network import read_transit_network

MAX_RIDES = 6
INF = float("inf")


@dataclass(frozen=True, slots=True)
class Ride:
    """One trip ridden from ``board`` to ``alight`` (site ids), times in seconds after the
    service day's midnight (past 86,400 after midnight)."""

    trip_id: str
    line_id: str
    board: str
    alight: str
    departs_s: float
    arrives_s: float


@dataclass(frozen=True, slots=True)
class TimedJourney:
    """An earliest-arrival journey: its rides in order and walks between them."""

    origin: str
    destination: str
    departs_s: float  # when the traveller was ready to leave
    arrives_s: float
    rides: tuple[Ride, ...]

    @property
    def minutes(self) -> float:
        """Minutes from being ready to leave to arriving."""
        return (self.arrives_s - self.departs_s) / 60


@dataclass
class _Route:
    stops: tuple[str, ...]
    trip_ids: list[str]
    line_ids: list[str]
    directions: list[str]
    arrive: np.ndarray  # (trips, stops) seconds
    depart: np.ndarray
    # The scan reads one element at a time, where Python lists are several times faster
    # than NumPy indexing; per stop position, departures sorted (and the trips they
    # belong to) so the first catchable trip is a bisection, not a scan of every trip.
    arrive_rows: list[list[float]] = field(init=False)
    depart_rows: list[list[float]] = field(init=False)
    sorted_departs: list[list[float]] = field(init=False)
    departing_trips: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.arrive_rows = self.arrive.tolist()
        self.depart_rows = self.depart.tolist()
        order = np.argsort(self.depart, axis=0, kind="stable")
        self.sorted_departs = np.take_along_axis(self.depart, order, axis=0).T.tolist()
        self.departing_trips = order.T.tolist()


@dataclass
class Timetable:
    """The trips of one network running on one service day, ready for :func:`plan`."""

    network_ids: frozenset[str]
    day: date
    routes: list[_Route]
    routes_at: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    footpaths: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    trip_at: dict[str, tuple[int, int]] = field(default_factory=dict)  # (route, row)

    def get_walk_seconds(self, start: str, end: str) -> float:
        """Seconds on foot from one stop to another (0 for the same stop), inf without
        a transfer walk between them."""
        if start == end:
            return 0.0
        return min((s for other, s in self.footpaths.get(start, ()) if other == end), default=INF)

    def get_ride_course(self, ride: Ride) -> RideCourse:
        """The stops a ride departs from (boarding first, alighting stop excluded), the
        minutes after boarding at which it leaves each, and its trip's direction."""
        index, row = self.trip_at[ride.trip_id]
        route = self.routes[index]
        board = next(
            p for p, stop in enumerate(route.stops)
            if stop == ride.board and route.depart_rows[row][p] == ride.departs_s
        )  # fmt: skip
        alight = next(
            p for p in range(board + 1, len(route.stops))
            if route.stops[p] == ride.alight and route.arrive_rows[row][p] == ride.arrives_s
        )  # fmt: skip
        departs = route.depart_rows[row]
        return RideCourse(
            direction=route.directions[row],
            stops=route.stops[board:alight],
            offsets=tuple((departs[p] - ride.departs_s) / 60 for p in range(board, alight)),
        )


@dataclass(frozen=True, slots=True)
class RideCourse:
    """Where a ride goes: see :meth:`Timetable.get_ride_course`."""

    direction: str
    stops: tuple[str, ...]
    offsets: tuple[float, ...]


def read_timetabled_networks(lake: Lake) -> set[str]:
    """Networks loaded with stop times (GTFS feeds with trips): what a timetable can
    be read for."""
    return set(read_network_table(lake, "trips").column("network_id").unique().to_pylist())


def read_timetable(lake: Lake, network_ids: str | Iterable[str], day: date) -> Timetable:
    """The timetable of one network, or of several as one, on ``day`` from the lake's
    stored trips.

    Several networks (a metro and the railway it meets, two operators' feeds) are
    planned as one: their trips together, joined by every transfer walk between their
    stops, those between networks included (a station both serve, stops within a walk).

    Raises
    ------
    NotFoundError
        No network asked has stop times (the Beijing file, the demo lines), or no trip
        of them runs on that day.
    """
    asked = {network_ids} if isinstance(network_ids, str) else set(network_ids)
    named = ", ".join(repr(n) for n in sorted(asked))
    trips = read_network_table(lake, "trips").to_pandas()
    trips = trips[trips["network_id"].isin(asked)]
    if trips.empty:
        raise NotFoundError(f"network {named} has no timetable (no stop times)")
    dates = read_network_table(lake, "service_dates").to_pandas()
    running = dates.loc[dates["network_id"].isin(asked) & (dates["date"] == day)]
    trips = trips.merge(running[["network_id", "service_id"]].drop_duplicates())
    if trips.empty:
        raise NotFoundError(f"no trip of network {named} runs on {day}")
    keys = trips[["network_id", "trip_id"]]
    stops = read_network_table(lake, "trip_stops").to_pandas().merge(keys)
    frequencies = read_network_table(lake, "trip_frequencies").to_pandas().merge(keys)
    trips, stops, frequencies = _qualify_shared_trip_ids(trips, stops, frequencies)
    trips, stops = expand_frequencies(trips, stops, frequencies)
    transfers = read_transit_network(lake).transfers
    served = set(stops["site_id"])
    transfers = transfers[
        transfers["from_site_id"].isin(served) & transfers["to_site_id"].isin(served)
    ]
    return build_timetable(asked, day, trips, stops, transfers)


def _qualify_shared_trip_ids(
    *frames: pd.DataFrame,
) -> tuple[pd.DataFrame, ...]:
    """Two feeds may both name a trip "1": such ids become ``<network>:<trip>`` (as site
    ids are) in every frame (trips first), so that one network's trips are never taken
    for another's; an id only one network uses stays as its feed writes it."""
    networks = frames[0].groupby("trip_id")["network_id"].nunique()
    shared = set(networks.index[networks > 1])
    if not shared:
        return frames

    def qualify(frame: pd.DataFrame) -> pd.DataFrame:
        named = frame["trip_id"].isin(shared)
        ids = frame["trip_id"].where(~named, frame["network_id"] + ":" + frame["trip_id"])
        return frame.assign(trip_id=ids)

    return tuple(qualify(frame) for frame in frames)


def expand_frequencies(
    trips: pd.DataFrame, stops: pd.DataFrame, frequencies: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trips of frequencies.txt as the departures they stand for: one trip per headway
    from each period's start (end excluded, as GTFS says), named ``<trip>@<HH:MM:SS>``,
    its stop times the template's shifted to that start; other trips unchanged."""
    if frequencies.empty:
        return trips, stops
    templates = stops[stops["trip_id"].isin(frequencies["trip_id"])]
    first = templates.sort_values("stop_sequence").groupby("trip_id")["departure_s"].first()
    new_trips, new_stops = [], []
    for row in frequencies.itertuples(index=False):
        if row.trip_id not in first.index:
            continue
        template = templates[templates["trip_id"] == row.trip_id]
        info = trips[trips["trip_id"] == row.trip_id]
        for start in np.arange(row.start_s, row.end_s, row.headway_s):
            name = f"{row.trip_id}@{_clock(start)}"
            shift = start - first[row.trip_id]
            new_stops.append(
                template.assign(
                    trip_id=name,
                    arrival_s=template["arrival_s"] + shift,
                    departure_s=template["departure_s"] + shift,
                )
            )
            new_trips.append(info.assign(trip_id=name))
    kept = ~trips["trip_id"].isin(frequencies["trip_id"])
    stops_kept = ~stops["trip_id"].isin(frequencies["trip_id"])
    return (
        pd.concat([trips[kept], *new_trips], ignore_index=True),
        pd.concat([stops[stops_kept], *new_stops], ignore_index=True),
    )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def build_timetable(
    network_ids: str | Iterable[str],
    day: date,
    trips: pd.DataFrame,
    stops: pd.DataFrame,
    transfers: pd.DataFrame,
) -> Timetable:
    """A :class:`Timetable` from trips (trip_id, line_id), their stops (trip_id,
    stop_sequence, site_id, arrival_s, departure_s) and walks (from_site_id, to_site_id,
    walk_minutes)."""
    stops = stops.dropna(subset=["arrival_s", "departure_s"]).sort_values(
        ["trip_id", "stop_sequence"]
    )
    line_of = dict(zip(trips["trip_id"], trips["line_id"], strict=True))
    directions = trips["direction"] if "direction" in trips else pd.Series("", index=trips.index)
    direction_of = dict(zip(trips["trip_id"], directions.fillna("").astype(str), strict=True))
    patterns: dict[tuple[str, ...], list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for trip_id, rows in stops.groupby("trip_id", sort=False):
        if len(rows) < 2:
            continue
        key = tuple(rows["site_id"])
        arrive, depart = rows["arrival_s"].to_numpy(float), rows["departure_s"].to_numpy(float)
        patterns.setdefault(key, []).append((str(trip_id), arrive, depart))
    named = {network_ids} if isinstance(network_ids, str) else set(network_ids)
    timetable = Timetable(frozenset(named), day, [])
    for key, members in patterns.items():
        members.sort(key=lambda m: m[2][0])
        route = _Route(
            stops=key,
            trip_ids=[m[0] for m in members],
            line_ids=[str(line_of.get(m[0], "")) for m in members],
            directions=[direction_of.get(m[0], "") for m in members],
            arrive=np.vstack([m[1] for m in members]),
            depart=np.vstack([m[2] for m in members]),
        )
        index = len(timetable.routes)
        timetable.routes.append(route)
        for position, site_id in enumerate(key):
            timetable.routes_at.setdefault(site_id, []).append((index, position))
        for row, trip_id in enumerate(route.trip_ids):
            timetable.trip_at[trip_id] = (index, row)
    for row in transfers.itertuples():
        if row.from_site_id != row.to_site_id:
            timetable.footpaths.setdefault(str(row.from_site_id), []).append(
                (str(row.to_site_id), float(row.walk_minutes) * 60)
            )
    return timetable


def plan(
    timetable: Timetable,
    origins: Iterable[str],
    destinations: Iterable[str],
    departs_s: float,
    *,
    max_rides: int = MAX_RIDES,
) -> TimedJourney | None:
    """The earliest-arrival journey from any of ``origins`` (ready at ``departs_s``) to
    any of ``destinations``, with the fewest rides among the earliest; None if none."""
    frontier = plan_pareto(timetable, origins, destinations, departs_s, max_rides=max_rides)
    return frontier[-1] if frontier else None


def plan_pareto(
    timetable: Timetable,
    origins: Iterable[str],
    destinations: Iterable[str],
    departs_s: float,
    *,
    max_rides: int = MAX_RIDES,
) -> list[TimedJourney]:
    """The Pareto set of (arrival, rides): for each number of rides, the earliest
    journey with that many, kept only when it arrives sooner than every journey with
    fewer rides; fewest rides first (so the last one arrives first). What a rider
    weighs: "one change, arrive 08:41" against "no change, arrive 08:52"."""
    (frontier,) = plan_range(timetable, origins, destinations, [departs_s], max_rides=max_rides)
    return frontier


def plan_range(
    timetable: Timetable,
    origins: Iterable[str],
    destinations: Iterable[str],
    starts: Sequence[float],
    *,
    max_rides: int = MAX_RIDES,
) -> list[list[TimedJourney]]:
    """The Pareto set of :func:`plan_pareto` for each of ``starts``, in one range pass
    (rRAPTOR, Delling, Pajor and Werneck 2012): the starts are searched latest first and
    the labels are kept, since a journey from a later start is one from an earlier start
    too (the rider waits). Each search then only follows what its earlier start
    improves, so a day of slots costs a fraction of as many separate searches."""
    origins, targets = list(origins), set(destinations)
    labels = _Labels(max_rides)
    frontiers: dict[float, list[TimedJourney]] = {}
    for start in sorted(set(starts), reverse=True):
        _search(timetable, labels, origins, targets, start)
        frontiers[start] = _read_frontier(timetable, labels, targets, start)
    return [frontiers[start] for start in starts]


class _Labels:
    """Per round k (k rides): the arrivals made in that round and how each stop was
    reached there (("start",), ("walk", from stop) or ("ride", route, trip, board
    position, alight position)), and the earliest arrival with at most k rides.

    Apart, the arrivals on board (or at the start): walks begin only from those, since
    one walk is allowed between rides. A ride that reaches a stop later than a walk did
    can still be the one to walk on from (ride to the stop next door, then walk), so
    it is kept even where it does not improve the stop's arrival.
    """

    def __init__(self, max_rides: int) -> None:
        rounds = range(max_rides + 1)
        self.arrivals: list[dict[str, float]] = [{} for _ in rounds]
        self.reached: list[dict[str, tuple[object, ...]]] = [{} for _ in rounds]
        self.at_most: list[dict[str, float]] = [{} for _ in rounds]
        self.ridden: list[dict[str, tuple[float, tuple[object, ...]]]] = [{} for _ in rounds]
        self.ridden_at_most: list[dict[str, float]] = [{} for _ in rounds]

    def improve(self, k: int, stop: str, arrive: float, how: tuple[object, ...]) -> None:
        self.arrivals[k][stop] = arrive
        self.reached[k][stop] = how
        _lower(self.at_most, k, stop, arrive)

    def improve_ride(self, k: int, stop: str, arrive: float, how: tuple[object, ...]) -> bool:
        """Keep an arrival on board (or the start); True where it is also the stop's
        earliest arrival with at most ``k`` rides."""
        self.ridden[k][stop] = (arrive, how)
        _lower(self.ridden_at_most, k, stop, arrive)
        if arrive < self.at_most[k].get(stop, INF):
            self.improve(k, stop, arrive, how)
            return True
        return False

    def get_round(self, stop: str, k: int) -> int:
        """The fewest rides (at most ``k``) that reach ``stop`` at its best with ``k``."""
        arrive = self.at_most[k][stop]
        return next(j for j in range(k + 1) if self.arrivals[j].get(stop) == arrive)


def _lower(at_most: list[dict[str, float]], k: int, stop: str, arrive: float) -> None:
    for rounds in at_most[k:]:
        if arrive >= rounds.get(stop, INF):
            break  # more rides never arrive later: the later rounds are sooner still
        rounds[stop] = arrive


def _search(
    timetable: Timetable, labels: _Labels, origins: list[str], targets: set[str], start: float
) -> None:
    marked, walkers = set(), set()
    for origin in origins:
        if start < labels.ridden_at_most[0].get(origin, INF):
            walkers.add(origin)
            if labels.improve_ride(0, origin, start, ("start",)):
                marked.add(origin)
    _walk(timetable, walkers, labels, 0, marked)
    for k in range(1, len(labels.arrivals)):
        if not marked:
            break
        marked, walkers = _scan_routes(timetable, marked, labels, k, targets)
        _walk(timetable, walkers, labels, k, marked)


def _read_frontier(
    timetable: Timetable, labels: _Labels, targets: set[str], start: float
) -> list[TimedJourney]:
    frontier: list[TimedJourney] = []
    for k, rounds in enumerate(labels.at_most):
        found = [(rounds[t], t) for t in targets if t in rounds]
        if not found:
            continue
        arrive, target = min(found)
        if frontier and arrive >= frontier[-1].arrives_s:
            continue
        rides = _trace(timetable, labels, labels.get_round(target, k), target)
        origin = rides[0].board if rides else target
        frontier.append(TimedJourney(origin, target, start, arrive, tuple(rides)))
    return frontier


def _scan_routes(
    timetable: Timetable, marked: set[str], labels: _Labels, k: int, targets: set[str]
) -> tuple[set[str], set[str]]:
    """Round ``k``: ride every route from the stops marked, boarding on the arrivals with
    fewer rides. Returns the stops it reaches sooner than with at most ``k`` rides so
    far, and those it reaches sooner on board (where walks may start)."""
    queue: dict[int, int] = {}
    for stop in marked:
        for serving, position in timetable.routes_at.get(stop, ()):
            queue[serving] = min(queue.get(serving, position), position)
    previous, best = labels.at_most[k - 1], labels.at_most[k]
    ridden = labels.ridden_at_most[k]
    improved: set[str] = set()
    walkers: set[str] = set()
    # Target pruning: an arrival no sooner than the best at a destination cannot help.
    target_bound = min((best.get(t, INF) for t in targets), default=INF)
    for index, first_position in queue.items():
        route = timetable.routes[index]
        trip, board, departs = -1, -1, route.depart_rows[0]
        for position in range(first_position, len(route.stops)):
            stop = route.stops[position]
            if trip >= 0:
                arrive = route.arrive_rows[trip][position]
                if arrive < target_bound and arrive < ridden.get(stop, INF):
                    walkers.add(stop)
                    if labels.improve_ride(k, stop, arrive, ("ride", index, trip, board, position)):
                        improved.add(stop)
                        if stop in targets:
                            target_bound = arrive
            ready = previous.get(stop, INF)
            if ready < INF and (trip < 0 or ready <= departs[position]):
                column = route.sorted_departs[position]
                first = bisect_left(column, ready)
                if first < len(column) and (trip < 0 or column[first] < departs[position]):
                    trip, board = route.departing_trips[position][first], position
                    departs = route.depart_rows[trip]
    return improved, walkers


def _walk(
    timetable: Timetable, walkers: set[str], labels: _Labels, k: int, marked: set[str]
) -> None:
    """One walk from each stop reached on board in round ``k`` (``walkers``), where it
    arrives sooner; the stops it improves join ``marked``.

    Walks start from arrivals on board only: a stop a walk reaches is never walked on
    from, whatever order the stops come in (one walk between rides, and the same answer
    in every process, whose string hashing orders the set).
    """
    ridden, best = labels.ridden[k], labels.at_most[k]
    for stop in walkers:
        for other, seconds in timetable.footpaths.get(stop, ()):
            arrive = ridden[stop][0] + seconds
            if arrive < best.get(other, INF):
                labels.improve(k, other, arrive, ("walk", stop))
                marked.add(other)


def _trace(timetable: Timetable, labels: _Labels, k: int, target: str) -> list[Ride]:
    rides: list[Ride] = []
    stop = target
    # Each step is one ride (and the walk to it), to a round with fewer rides.
    for _ in range(len(labels.arrivals)):
        how = labels.reached[k][stop]
        if how[0] == "walk":  # from the arrival on board in the same round
            stop = str(how[1])
            how = labels.ridden[k][stop][1]
        if how[0] == "start":
            break
        _, index, trip, board, alight = how
        route = timetable.routes[int(index)]  # type: ignore[call-overload]
        rides.append(
            Ride(
                trip_id=route.trip_ids[int(trip)],  # type: ignore[call-overload]
                line_id=route.line_ids[int(trip)],  # type: ignore[call-overload]
                board=route.stops[int(board)],  # type: ignore[call-overload]
                alight=route.stops[int(alight)],  # type: ignore[call-overload]
                departs_s=float(route.depart[int(trip), int(board)]),  # type: ignore[call-overload]
                arrives_s=float(route.arrive[int(trip), int(alight)]),  # type: ignore[call-overload]
            )
        )
        stop = route.stops[int(board)]  # type: ignore[call-overload]
        k = labels.get_round(stop, k - 1)
    return rides[::-1]


def compute_timed_leg_profile(
    timetable: Timetable, legs: Sequence[TimedLeg], *, period_minutes: int
) -> np.ndarray:
    """When each leg's train leaves and arrives, in minutes after a departure at the start
    of each period of the service day, on the timetable itself: shape (periods, legs, 2),
    NaN from the first leg no trip of the service day serves after that departure.

    However long the wait, the next train is the answer (leaving at 04:30 for the first
    train at 05:10 arrives when that train does, as a timetable planner says): the wait
    is shown and costed as time spent, so a slot far before the train is never advised
    for it, and a slot is "no service" only when nothing runs later that day.

    A leg is boarded on whichever trip, of any route calling at its stop and later at
    its alighting stop, arrives there first among those leaving after the traveller is
    on the platform (the walk before it done): a journey's stations and changes stay
    as planned, its times are the trips' own.
    """
    periods = 24 * 60 // period_minutes
    profile = np.full((periods, len(legs), 2), np.nan)
    served = [_get_leg_connections(timetable, leg.board, leg.alight) for leg in legs]
    for period in range(periods):
        start = period * period_minutes * 60.0
        clock = start
        for k, (leg, (departs, arrives, first_arrival)) in enumerate(
            zip(legs, served, strict=True)
        ):
            clock += leg.walk_minutes * 60
            at = int(np.searchsorted(departs, clock, side="left"))
            if at >= len(departs):
                break
            trip = first_arrival[at]
            profile[period, k] = ((departs[trip] - start) / 60, (arrives[trip] - start) / 60)
            clock = float(arrives[trip])
    return profile


@dataclass(frozen=True, slots=True)
class TimedLeg:
    """What a leg of a planned journey asks of the timetable: board, alight, walk first."""

    board: str
    alight: str
    walk_minutes: float


def _get_leg_connections(
    timetable: Timetable, board: str, alight: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every trip calling at ``board`` and later at ``alight``: departures (sorted),
    arrivals, and for each position the index of the first arrival among the trips
    leaving at or after it (a suffix minimum)."""
    departs, arrives = [], []
    for index, position in timetable.routes_at.get(board, ()):
        route = timetable.routes[index]
        later = [p for p in range(position + 1, len(route.stops)) if route.stops[p] == alight]
        if later:
            departs.append(route.depart[:, position])
            arrives.append(route.arrive[:, later[0]])
    if not departs:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=int)
    depart, arrive = np.concatenate(departs), np.concatenate(arrives)
    order = np.argsort(depart, kind="stable")
    depart, arrive = depart[order], arrive[order]
    first = np.empty(len(arrive), dtype=int)
    best = len(arrive) - 1
    for k in range(len(arrive) - 1, -1, -1):
        if arrive[k] < arrive[best]:  # on a tie the later departure: less waiting
            best = k
        first[k] = best
    return depart, arrive, first
