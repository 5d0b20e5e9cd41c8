"""Journeys with transfers: the best routes between two stations, and their times by period.

Routes are shortest paths over a *period graph* of the network (a standard method for
frequency-based networks): each line direction is a chain of ride links weighted by
run time; boarding costs the expected wait (half the headway) plus a small penalty that
makes a change of line count for more than its minutes, as travellers feel it; a
transfer is a walk to another platform. Alternatives come from banning, one at a time,
each line the best route uses and planning again, keeping distinct line sequences that
are not much slower than the best.

Times by period: a journey's travel time at a departure time adds, leg by leg, the wait
for that line at that time of day (its scheduled headway in that period), the ride
scaled by the line's run time in that period, and the walks. Outside a line's service
hours the journey is not available.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.transit.network import DEFAULT_HEADWAY, TransitNetwork
from urbanpulse.transit.raptor import TimedJourney, Timetable, plan_range

# A change of line feels longer than its minutes; used to rank routes, not to time them.
BOARD_PENALTY_MINUTES = 5.0
MAX_ALTERNATIVES = 3
# An alternative is kept while it is at most this much slower than the best route.
ALTERNATIVE_SLACK = (1.5, 15.0)  # (factor, minutes): t <= 1.5 * best + 15
PERIOD_MINUTES = 15
PERIODS_PER_DAY = 24 * 60 // PERIOD_MINUTES

Node = tuple[Hashable, ...]


@dataclass(frozen=True, slots=True)
class Leg:
    """One ride: a line direction from one stop to another.

    ``stop_offsets`` are the minutes after boarding at which the vehicle leaves each
    stop in ``stops`` (the boarding stop first, the alighting stop excluded), so the
    crowding of each stretch can be read at the time the traveller is on it.
    """

    line_id: str
    direction: str
    network_id: str
    mode: str
    name_zh: str | None
    name_en: str | None
    from_site_id: str
    to_site_id: str
    stops: tuple[str, ...]
    stop_offsets: tuple[float, ...]
    ride_minutes: float
    walk_minutes: float  # on foot before boarding (a transfer between platforms)
    wait_minutes: float  # expected wait at boarding, at a typical time of day

    @property
    def minutes(self) -> float:
        """Walk, wait and ride of this leg."""
        return self.walk_minutes + self.wait_minutes + self.ride_minutes


@dataclass(frozen=True, slots=True)
class Journey:
    """A route from ``origin`` to ``destination`` (site ids) as legs in order."""

    origin: str
    destination: str
    legs: tuple[Leg, ...]
    walk_after_minutes: float = 0.0  # on foot from the last stop to the destination

    @property
    def travel_minutes(self) -> float:
        """Typical door-to-door minutes, platform to platform."""
        return sum(leg.minutes for leg in self.legs) + self.walk_after_minutes

    @property
    def transfers(self) -> int:
        """Changes of line."""
        return max(len(self.legs) - 1, 0)

    @property
    def line_keys(self) -> tuple[tuple[str, str], ...]:
        """(line_id, direction) of each leg: what makes two routes different."""
        return tuple((leg.line_id, leg.direction) for leg in self.legs)


class JourneyPlanner:
    """Plans journeys on one :class:`TransitNetwork`; build once, query many times."""

    def __init__(self, network: TransitNetwork) -> None:
        self.network = network
        self.schedule = build_schedule(network)
        self.graph = build_period_graph(network, self.schedule)

    def compute_journeys(
        self, origin: str, destination: str, *, alternatives: int = MAX_ALTERNATIVES
    ) -> list[Journey]:
        """Up to ``alternatives`` distinct routes, fastest (with change penalties) first.

        Raises
        ------
        NotFoundError
            A site that is no station on any line.
        InvalidQueryError
            The same station twice, or no route (stations of two networks are joined
            only where the networks meet: a station both serve, stops a walk apart).
        """
        origin, destination = self._get_platform(origin), self._get_platform(destination)
        sources, targets = self._get_ends(origin, destination)
        best = self._plan(sources, targets, banned=frozenset())
        if best is None:
            raise InvalidQueryError(f"no journey connects {origin!r} and {destination!r}")
        found = {best[1].line_keys: best}
        for leg in best[1].legs:
            other = self._plan(sources, targets, banned=frozenset({leg.line_id}))
            if other is not None and other[1].line_keys not in found:
                found[other[1].line_keys] = other
        factor, slack = ALTERNATIVE_SLACK
        limit = best[0] * factor + slack
        ranked = sorted(found.values(), key=lambda pair: pair[0])
        return [journey for cost, journey in ranked if cost <= limit][:alternatives]

    def compute_timetable_journeys(
        self, origin: str, destination: str, timetable: Timetable
    ) -> list[Journey]:
        """The journeys the timetable itself gives: the earliest arrival (RAPTOR, in one
        range pass) when leaving at the start of each period of its day, each distinct
        chain of rides once, in the order first found. Route choice by periods alone can miss the
        express a local meets, or a change that is faster only at some hours; these
        routes make every slot's earliest arrival one of the routes offered.
        """
        ends = [self._get_station_platforms(site) for site in (origin, destination)]
        starts = [period * PERIOD_MINUTES * 60.0 for period in range(PERIODS_PER_DAY)]
        found: dict[tuple[tuple[str, str, str], ...], Journey] = {}
        for frontier in plan_range(timetable, ends[0], ends[1], starts):
            timed = frontier[-1] if frontier else None
            if timed is None or not timed.rides:
                continue
            key = tuple((r.line_id, r.board, r.alight) for r in timed.rides)
            if key not in found:
                found[key] = self._build_timed_journey(timed, timetable, set(ends[0]))
        return list(found.values())

    def _get_station_platforms(self, site_id: str) -> list[str]:
        """The platforms of the station a site is (a parent station's, or a platform's
        and those sharing its parent), as the period model's station group counts them;
        stops of the same name nearby are a walk away, which the timetable's footpaths
        time."""
        platforms = set(self.network.platforms.get(site_id, (site_id,)))
        walks = self.network.transfers
        same = walks[walks["from_site_id"].isin(platforms) & (walks["kind"] == "same_station")]
        return sorted(platforms | set(same["to_site_id"]))

    def _build_timed_journey(
        self, timed: TimedJourney, timetable: Timetable, origins: set[str]
    ) -> Journey:
        legs, here = [], None
        for ride in timed.rides:
            course = timetable.get_ride_course(ride)
            if here is None:  # from the origin's platforms, or one walk to another stop
                walk = 0.0 if ride.board in origins else min(
                    timetable.get_walk_seconds(o, ride.board) for o in origins
                )  # fmt: skip
            else:
                walk = timetable.get_walk_seconds(here, ride.board)
            info = self.schedule.get_line(ride.line_id, course.direction)
            legs.append(
                Leg(
                    line_id=ride.line_id, direction=course.direction,
                    network_id=info["network_id"], mode=info["mode"],
                    name_zh=info["name_zh"], name_en=info["name_en"],
                    from_site_id=ride.board, to_site_id=ride.alight,
                    stops=course.stops, stop_offsets=course.offsets,
                    ride_minutes=(ride.arrives_s - ride.departs_s) / 60,
                    walk_minutes=walk / 60,
                    wait_minutes=self.schedule.get_typical_wait(ride.line_id, course.direction),
                )
            )  # fmt: skip
            here = ride.alight
        after = timetable.get_walk_seconds(str(here), timed.destination) / 60
        return Journey(timed.rides[0].board, timed.destination, tuple(legs), after)

    def _get_platform(self, site_id: str) -> str:
        """A parent station asked for stands for its first served platform; the others
        join it as the same station (transfers of kind same_station)."""
        platforms = self.network.platforms.get(site_id)
        return platforms[0] if platforms else site_id

    def _get_ends(self, origin: str, destination: str) -> tuple[list[Node], list[Node]]:
        stations = self.network.stations.set_index("site_id")
        for site_id in (origin, destination):
            if site_id not in stations.index:
                raise NotFoundError(f"unknown station {site_id!r}: no line stops there")
        if destination in self.network.get_station_group(origin):
            raise InvalidQueryError("origin and destination are the same station")
        walks = self.network.transfers
        walk = walks.loc[
            (walks["from_site_id"] == origin) & (walks["to_site_id"] == destination),
            "walk_minutes",
        ]
        if len(walk):  # a ride cannot beat a walk of a few hundred metres
            raise InvalidQueryError(
                f"{origin!r} and {destination!r} are a {walk.min():.0f}-minute walk apart:"
                " no ride is needed"
            )
        from_group = self.network.get_station_entrances(origin)
        to_group = self.network.get_station_entrances(destination)
        return [("s", s) for s in from_group], [("e", s) for s in to_group]

    def _plan(
        self, sources: list[Node], targets: list[Node], *, banned: frozenset[str]
    ) -> tuple[float, Journey] | None:
        weight = _weight_without(banned)
        distances, paths = nx.multi_source_dijkstra(self.graph, sources, weight=weight)
        reached = [t for t in targets if t in distances]
        if not reached:
            return None
        target = min(reached, key=lambda t: distances[t])
        return float(distances[target]), self._build_journey(paths[target])

    def _build_journey(self, path: list[Node]) -> Journey:
        legs: list[Leg] = []
        walk, start = 0.0, 0
        for k in range(1, len(path)):
            here, before = path[k], path[k - 1]
            if here[0] in ("d", "e") and before[0] in ("s", "a") and here[1] != before[1]:
                walk += self.graph.edges[before, here]["weight"]
            if here[0] == "r" and before[0] == "d":
                start = k
            if here[0] == "a" and before[0] == "r":
                legs.append(self._build_leg(path[start - 1 : k + 1], walk))
                walk = 0.0
        origin, destination = str(path[0][1]), str(path[-1][1])
        return Journey(origin, destination, tuple(legs), walk_after_minutes=walk)

    def _build_leg(self, nodes: list[Node], walk: float) -> Leg:
        board, rides, alight = nodes[0], nodes[1:-1], nodes[-1]
        line_id, direction = str(rides[0][1]), str(rides[0][2])
        # Departed from: the boarding station, then every stop ridden through.
        stops = (str(board[1]), *(str(self.graph.nodes[r]["site_id"]) for r in rides[:-1]))
        offsets, elapsed = [0.0], float(self.graph.edges[board, rides[0]]["ride"])
        for a, b in itertools.pairwise(rides):
            offsets.append(elapsed)
            elapsed += self.graph.edges[a, b]["ride"]
        info = self.schedule.get_line(line_id, direction)
        return Leg(
            line_id=line_id,
            direction=direction,
            network_id=info["network_id"],
            mode=info["mode"],
            name_zh=info["name_zh"],
            name_en=info["name_en"],
            from_site_id=str(board[1]),
            to_site_id=str(alight[1]),
            stops=stops,
            stop_offsets=tuple(offsets),
            ride_minutes=elapsed,
            walk_minutes=walk,
            wait_minutes=self.schedule.get_typical_wait(line_id, direction),
        )

    def compute_travel_profile(
        self,
        journey: Journey,
        *,
        day_type: str,
        ride_factors: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Travel minutes for a departure in each 15-minute period of a local day
        (``PERIODS_PER_DAY`` values; NaN where a leg is outside its service hours).

        ``ride_factors`` stretch a line's rides by period (``PERIODS_PER_DAY`` factors,
        e.g. road traffic on a bus line), on top of its timetable."""
        legs = self.compute_leg_profile(journey, day_type=day_type, ride_factors=ride_factors)
        return get_travel_profile(journey, legs)

    def compute_leg_profile(
        self,
        journey: Journey,
        *,
        day_type: str,
        ride_factors: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """When each leg's train leaves and arrives, in minutes after a departure in each
        15-minute period of a local day: shape (``PERIODS_PER_DAY``, legs, 2), NaN where
        a leg is outside its service hours."""
        profile = np.full((PERIODS_PER_DAY, len(journey.legs), 2), np.nan)
        for period in range(PERIODS_PER_DAY):
            times = self.compute_leg_times(
                journey, period * PERIOD_MINUTES, day_type=day_type, ride_factors=ride_factors
            )
            if times is not None and times:
                profile[period] = times
        return profile

    def compute_travel_minutes(
        self,
        journey: Journey,
        minute: float,
        *,
        day_type: str,
        ride_factors: Mapping[str, np.ndarray] | None = None,
    ) -> float:
        """Minutes from leaving at ``minute`` after local midnight to arriving (NaN when a
        leg would board outside its line's service hours)."""
        times = self.compute_leg_times(
            journey, minute, day_type=day_type, ride_factors=ride_factors
        )
        if times is None:
            return float("nan")
        last = times[-1][1] if times else 0.0
        return last + journey.walk_after_minutes

    def compute_leg_times(
        self,
        journey: Journey,
        minute: float,
        *,
        day_type: str,
        ride_factors: Mapping[str, np.ndarray] | None = None,
    ) -> list[tuple[float, float]] | None:
        """For each leg, the minutes after leaving at ``minute`` when its train leaves
        and arrives: walks, the period's wait and run time, traffic; None when a leg
        would board outside its line's service hours."""
        clock, times = float(minute), []
        for leg in journey.legs:
            clock += leg.walk_minutes
            key = (leg.line_id, leg.direction)
            if not self.schedule.is_running(key, leg.from_site_id, clock):
                return None
            clock += self.schedule.get_wait(key, clock, day_type=day_type)
            factor = self.schedule.get_run_factor(key, clock, day_type=day_type)
            if ride_factors and leg.line_id in ride_factors:
                period = int(clock // PERIOD_MINUTES) % PERIODS_PER_DAY
                factor *= float(ride_factors[leg.line_id][period])
            boards = clock
            clock += leg.ride_minutes * factor
            times.append((boards - minute, clock - minute))
        return times


def get_travel_profile(journey: Journey, leg_profile: np.ndarray) -> np.ndarray:
    """Door-to-door minutes by period from a leg profile (see ``compute_leg_profile``)."""
    if not journey.legs:
        return np.full(PERIODS_PER_DAY, journey.walk_after_minutes)
    return leg_profile[:, -1, 1] + journey.walk_after_minutes


class Schedule:
    """Headways, run-time factors and service hours of every line direction."""

    def __init__(self, network: TransitNetwork) -> None:
        lines = network.lines.drop_duplicates(["line_id", "direction"])
        self._lines = {
            (str(r.line_id), str(r.direction)): {
                "network_id": str(r.network_id),
                "mode": str(r.mode or "bus"),
                "name_zh": None if pd.isna(r.name_zh) else str(r.name_zh),
                "name_en": None if pd.isna(r.name_en) else str(r.name_en),
            }
            for r in lines.itertuples()
        }
        self._periods = _index_service(network.service)
        self._hours = _index_service_hours(network.stops)

    def get_line(self, line_id: str, direction: str) -> dict[str, Any]:
        """network_id, mode, name_zh and name_en of a line direction."""
        return self._lines.get(
            (line_id, direction),
            {"network_id": "", "mode": "bus", "name_zh": None, "name_en": line_id},
        )

    def get_typical_wait(self, line_id: str, direction: str) -> float:
        """Half the line's median daytime weekday headway (or its mode's default)."""
        periods = self._periods.get((line_id, direction, "weekday"))
        if periods:
            day = [h for p, (h, _f) in periods.items() if 7 * 60 <= p < 20 * 60 and h > 0]
            if day:
                return float(np.median(day)) / 2
        # A line that never runs by day on weekdays (a night bus) waits as it runs,
        # never the mode's default, which would make a rare line look frequent.
        anywhere = [
            h
            for (line, way, _day), by_period in self._periods.items()
            if (line, way) == (line_id, direction)
            for h, _f in by_period.values()
            if h > 0
        ]
        if anywhere:
            return float(np.median(anywhere)) / 2
        return DEFAULT_HEADWAY.get(self.get_line(line_id, direction)["mode"], 8.0) / 2

    def get_wait(self, key: tuple[str, str], minute: float, *, day_type: str) -> float:
        """Half the headway in the period holding ``minute``."""
        found = self._get_period(key, minute, day_type)
        if found is None or not found[0] > 0:
            return self.get_typical_wait(*key)
        return found[0] / 2

    def get_run_factor(self, key: tuple[str, str], minute: float, *, day_type: str) -> float:
        """How much longer (or shorter) the line runs in this period than usual."""
        found = self._get_period(key, minute, day_type)
        return 1.0 if found is None or not found[1] > 0 else found[1]

    def is_running(self, key: tuple[str, str], site_id: str, minute: float) -> bool:
        """False when ``minute`` is outside the first and last departure at that stop."""
        hours = self._hours.get((*key, site_id))
        if hours is None:
            return True
        first, last = hours
        # Service past midnight belongs to the day before: 00:30 is also minute 1470.
        return any(first <= m <= last for m in (minute, minute + 1440))

    def _get_period(
        self, key: tuple[str, str], minute: float, day_type: str
    ) -> tuple[float, float] | None:
        periods = self._periods.get((*key, _service_day(day_type)))
        if not periods:
            return None
        start = int(minute // PERIOD_MINUTES * PERIOD_MINUTES)
        # After midnight a service day's periods may be numbered past 1440.
        return periods.get(start) or periods.get(start + 1440) or periods.get(start % 1440)


def build_schedule(network: TransitNetwork) -> Schedule:
    """The :class:`Schedule` of a network."""
    return Schedule(network)


def build_period_graph(network: TransitNetwork, schedule: Schedule) -> nx.DiGraph:
    """The directed graph journeys are searched on (see the module docstring).

    Nodes: ('s', site) a journey starting there, ('e', site) one ending there, ('d',
    site) ready to board, ('a', site) just alighted, and ('r', line_id, direction, k) on
    board having reached stop k. Boarding at stop k leads straight to stop k + 1, so a
    leg always rides; walks (transfers) may open or close a journey as well as join two
    legs. Edges carry ``weight`` (minutes, with the change penalty on boarding),
    ``ride`` (minutes on board) and the ``line`` they belong to.
    """
    graph = nx.DiGraph()
    loops = set(network.lines.loc[network.lines["loop"].eq(True), "line_id"])
    stops = network.stops.sort_values(["line_id", "direction", "sequence"])
    for (line_id, direction), pattern in stops.groupby(["line_id", "direction"], sort=False):
        line = str(line_id)
        _add_pattern(graph, line, str(direction), pattern, schedule, loop=line in loops)
    for site_id in network.stations["site_id"]:
        for a, b in ((("s", site_id), ("d", site_id)), (("a", site_id), ("d", site_id))):
            graph.add_edge(a, b, weight=0.0, line=None)
        graph.add_edge(("a", site_id), ("e", site_id), weight=0.0, line=None)
    for row in network.transfers.itertuples():
        walk = float(row.walk_minutes)
        for a, b in (
            (("s", row.from_site_id), ("d", row.to_site_id)),
            (("a", row.from_site_id), ("d", row.to_site_id)),
            (("a", row.from_site_id), ("e", row.to_site_id)),
        ):
            graph.add_edge(a, b, weight=walk, line=None)
    return graph


def _add_pattern(
    graph: nx.DiGraph,
    line_id: str,
    direction: str,
    pattern: pd.DataFrame,
    schedule: Schedule,
    *,
    loop: bool,
) -> None:
    board = schedule.get_typical_wait(line_id, direction) + BOARD_PENALTY_MINUTES
    sites = pattern["site_id"].tolist()
    steps = [_get_step(m) for m in pattern["minutes_to_next"].tolist()]
    links = [(k, k + 1) for k in range(len(sites) - 1)]
    # A loop runs on from its last stop to its first (the last stop's run time).
    if loop and len(sites) > 2 and sites[-1] != sites[0] and not pd.isna(steps[-1]):
        links.append((len(sites) - 1, 0))
    for k, site_id in enumerate(sites):
        graph.add_node(("r", line_id, direction, k), site_id=site_id)
        graph.add_edge(("r", line_id, direction, k), ("a", site_id), weight=0.0, line=line_id)
    for k, after in links:
        ride = float(steps[k]) if not pd.isna(steps[k]) else 2.0
        on_board = ("r", line_id, direction, after)
        graph.add_edge(("r", line_id, direction, k), on_board, weight=ride, ride=ride, line=line_id)
        graph.add_edge(("d", sites[k]), on_board, weight=board + ride, ride=ride, line=line_id)


def _get_step(minutes: Any) -> float:
    if minutes is None or pd.isna(minutes):
        return float("nan")
    return max(float(minutes), 0.0)


def _weight_without(banned: frozenset[str]) -> Callable[[Any, Any, dict[str, Any]], float | None]:
    def weight(_u: Any, _v: Any, data: dict[str, Any]) -> float | None:
        return None if data.get("line") in banned else float(data["weight"])

    return weight


def _service_day(day_type: str) -> str:
    # The calendar's weekend and holidays run to the Sunday timetable.
    return {"weekday": "weekday", "saturday": "saturday"}.get(day_type, "sunday")


def _index_service(
    service: pd.DataFrame,
) -> dict[tuple[str, str, str], dict[int, tuple[float, float]]]:
    """(line, direction, day) -> period start -> (headway, run factor against the median)."""
    index: dict[tuple[str, str, str], dict[int, tuple[float, float]]] = {}
    if service.empty:
        return index
    for (line_id, direction, day), rows in service.groupby(["line_id", "direction", "day_type"]):
        runs = rows["run_minutes"].astype(float)
        usual = float(runs.median()) if runs.notna().any() else float("nan")
        index[(str(line_id), str(direction), str(day))] = {
            int(r.period_start): (
                float(r.headway_minutes) if pd.notna(r.headway_minutes) else float("nan"),
                float(r.run_minutes) / usual if pd.notna(r.run_minutes) and usual > 0 else 1.0,
            )
            for r in rows.itertuples()
        }
    return index


def _index_service_hours(stops: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, float]]:
    index = {}
    known = stops.dropna(subset=["first_departure", "last_departure"])
    for row in known.itertuples():
        first, last = parse_clock(row.first_departure), parse_clock(row.last_departure)
        if first is None or last is None:
            continue
        if last < first:  # a last train after midnight
            last += 1440
        index[(str(row.line_id), str(row.direction), str(row.site_id))] = (first, last)
    return index


def parse_clock(text: Any) -> float | None:
    """Minutes after midnight of 'H:MM' or 'HH:MM:SS' (may pass 24:00); None if absent."""
    if not isinstance(text, str) or ":" not in text:
        return None
    parts = text.strip().split(":")
    try:
        hours, minutes = int(parts[0]), int(parts[1])
        seconds = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        return None
    return hours * 60 + minutes + seconds / 60
