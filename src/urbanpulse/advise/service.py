"""The advice service: its clock, planning day, counters, lines and forecast caches.

The advise room owns it; the HTTP API and the pages only call it. One service is built
per app (:func:`build_advice_service`) so that every request shares the counters of
issued recommendations (what spreads the load) and the prepared forecasts (what keeps a
request to a few milliseconds).

The clock (now, mode, planning day) is built in :mod:`urbanpulse.advise.clock`, and the
lines with their stations in :mod:`urbanpulse.advise.lines`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from urbanpulse.advise.advice import (
    ADVICE_COLUMNS,
    LEG_CROWDING_COLUMNS,
    Policy,
    compute_advice,
    compute_slot_arrays,
)
from urbanpulse.advise.clock import Clock, build_clock, get_planning_day, read_last_observation
from urbanpulse.advise.counters import (
    Counters,
    FallbackCounters,
    MemoryCounters,
    RedisCounters,
    build_redis_client,
)
from urbanpulse.advise.effect import (
    EFFECT_RETENTION,
    EffectStore,
    LineFlows,
    build_effect_store,
    describe_effect_source,
    summarise_effect,
)
from urbanpulse.advise.forecasts import (
    COUNT_METRICS,
    CROWDING_METRICS,
    ForecastLookup,
    build_forecast_lookup,
    read_forecast_table,
)
from urbanpulse.advise.lines import build_lines
from urbanpulse.advise.routes import (
    add_timetable_journeys,
    build_alternative_records,
    build_leg_records,
    build_route_trip,
    compute_day_routes,
    get_service_day,
)
from urbanpulse.advise.traffic import read_road_factors
from urbanpulse.advise.trips import (
    Trip,
    Window,
    build_trip,
    build_window,
    check_window,
)
from urbanpulse.catalog.calendar import get_day_type
from urbanpulse.catalog.sites import STATION_KINDS
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.forecast import forecast_site
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, read_site_metrics, read_sites
from urbanpulse.store.cache import ColdCacheError, LruCache, cached_only
from urbanpulse.store.engines import get_engine
from urbanpulse.store.interface import Engine
from urbanpulse.store.networks import read_network_table, read_networks
from urbanpulse.transit.journeys import Journey, JourneyPlanner
from urbanpulse.transit.network import read_transit_network
from urbanpulse.transit.raptor import Timetable, read_timetable, read_timetabled_networks

PERIOD_MINUTES = 15
# Forecasts far ahead only repeat the usual day; a week bounds the cache as well.
ADVICE_HORIZON = timedelta(days=7)
# How long a checked lake version is trusted: checking lists the commit log folder.
VERSION_TTL_SECONDS = 2.0
# Earlier same weekdays an effect's observed flows are compared with.
FLOW_WEEKS = 4
ASKED_PREFIX = "_asked"  # counter segments of (client, trip, day) questions already counted
FORECAST_VALUES = ("load", "load_p10", "load_p90", "capacity")
_INF = float("inf")
NULLABLE_COLUMNS = ("crowding", "crowding_p10", "crowding_p90", "expected_extra", "score",
                    "travel_minutes")  # fmt: skip
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TripRequest:
    """What a rider asks: from ``origin`` (to ``destination``; None: the origin's own
    crowding), leaving between ``start`` and ``end`` (arriving, with ``arrive_by``),
    ideally at ``preferred``, on one of the journey's routes (0 = the fastest)."""

    origin: str
    destination: str | None
    start: datetime
    end: datetime
    preferred: datetime | None = None
    arrive_by: bool = False
    route: int = 0


@dataclass(frozen=True, slots=True)
class AdviceInputs:
    """What one advice request reads from the lake (through the caches)."""

    clock: Clock
    window: Window
    trip: Trip
    lookup: ForecastLookup
    names: dict[str, str]
    synthetic: bool
    journeys: tuple[Journey, ...] = ()
    route: int = 0
    arrive_by: bool = False
    # The other routes' trips and forecasts, so each can be priced at the same slot.
    alternatives: tuple[tuple[int, Trip, ForecastLookup], ...] = ()


def _price_slot(columns: Mapping[str, np.ndarray], k: int) -> dict[str, float | None]:
    """One slot's crowding, travel minutes and generalized cost (None where unknown: a
    slot a route does not serve has an infinite cost, which no JSON can carry)."""

    def value(name: str) -> float | None:
        number = float(columns[name][k])
        return round(number, 4) if math.isfinite(number) else None

    return {
        "crowding": value("crowding"),
        "minutes_at_slot": value("travel_minutes"),
        "cost": value("score"),
    }


def build_counters(settings: Settings, *, namespace: str) -> Counters:
    """MemoryCounters, or Redis counters at ``settings.redis_url`` (with bounded
    timeouts, counting in the process while Redis fails) under ``namespace``, a stable
    id of the lake, so two lakes never share keys."""
    if settings.counters_backend == "memory":
        return MemoryCounters()
    client = build_redis_client(settings)
    return FallbackCounters(
        RedisCounters(client, prefix=f"urbanpulse:advice:{namespace}"),
        retry_seconds=settings.redis_retry_seconds,
    )


class AdviceService:
    """Advice, lines and the clock over one lake, with shared counters and caches."""

    def __init__(
        self,
        lake: Lake,
        settings: Settings,
        counters: Counters,
        *,
        effect: EffectStore | None = None,
    ) -> None:
        self.lake = lake
        self.settings = settings
        self.counters = counters
        # Redis round trips may wait up to their timeout: callers on an event loop run
        # respond() in a thread when this is True.
        self.counters_remote = not isinstance(counters, MemoryCounters)
        # Effect counts of their own (see advise/effect.py): kept across restarts.
        self.effect = effect or EffectStore(MemoryCounters(retention=EFFECT_RETENTION))
        self.policy = Policy(holdout_share=settings.advice_holdout_share)
        self.tz = ZoneInfo(settings.local_timezone)
        self.calendar = CalendarSpec.from_settings(settings)
        self.cache = LruCache(maxsize=4096)
        self._version = (0.0, 0)

    @cached_property
    def engine(self) -> Engine:
        """The query engine of the settings, started on first use."""
        return get_engine(self.settings)

    # -- lake-derived, cached per lake version ---------------------------------------

    def get_version(self) -> int:
        """The lake's version, checked at most every ``VERSION_TTL_SECONDS``."""
        checked, version = self._version
        if time.monotonic() - checked > VERSION_TTL_SECONDS:
            version = self.lake.version
            self._version = (time.monotonic(), version)
        return version

    def cached(self, name: str, *key: Hashable, build: Callable[[], T]) -> T:
        """``build()`` cached under ``name`` and ``key`` for the current lake version
        (its not-found and invalid-query errors for a few seconds; see ``LruCache``)."""
        return self.cache.get_or_build((name, self.get_version(), *key), build)

    def get_sites(self) -> pd.DataFrame:
        """The lake's sites table."""
        return self.cached("sites", build=lambda: read_sites(self.lake))

    def get_lines(self) -> list[dict[str, Any]]:
        """Lines with their stations in order, as ``LinePublic`` dicts."""
        return self.cached("lines", build=lambda: build_lines(self.get_sites(), self.settings))

    def get_last_observation(self) -> datetime | None:
        """Latest crowding observation (UTC), or None for a lake without any."""
        return self.cached("last", build=lambda: read_last_observation(self.lake, self.engine))

    def get_planner(self) -> JourneyPlanner:
        """The journey planner over the lake's networks and station lines."""
        return self.cached("planner", build=lambda: JourneyPlanner(read_transit_network(self.lake)))

    def get_journeys(self, origin: str, destination: str) -> list[Journey]:
        """Up to three routes between two stations (errors as the planner raises them)."""
        return self.cached(
            "journeys",
            origin,
            destination,
            build=lambda: self.get_planner().compute_journeys(origin, destination),
        )

    def get_trip(
        self, origin: str, destination: str | None, *, day: date | None = None, route: int = 0
    ) -> Trip:
        """The trip of a journey's route (the fastest by default), timed by the periods
        of the local ``day``; a single site when ``destination`` is None."""
        if destination is None:
            return self.cached(
                "trip", origin, build=lambda: build_trip(self.get_sites(), origin, None)
            )
        local_day = day or self.get_clock().planning_day
        routes = self.get_day_routes(origin, destination, local_day)
        return self.cached(
            "trip", origin, destination, route, local_day,
            build=lambda: build_route_trip(routes, route=route),
        )  # fmt: skip

    def get_day_routes(
        self, origin: str, destination: str, day: date
    ) -> list[tuple[Journey, np.ndarray]]:
        """The journey's routes that run on local ``day``, with travel minutes by period
        (errors as the planner raises them, or when none runs that day)."""

        def build() -> list[tuple[Journey, np.ndarray]]:
            # A known site that no line stops at (a sensor) is a bad question, not a
            # missing thing: the build_trip check says so in its words.
            for site_id in (origin, destination):
                build_trip(self.get_sites(), site_id, None)
                check_station(self.get_sites(), site_id)
            refusal: Exception = InvalidQueryError(
                f"no journey connects {origin!r} and {destination!r}"
            )
            try:
                journeys = self.get_journeys(origin, destination)
                ridden = {leg.network_id for journey in journeys for leg in journey.legs}
            except (InvalidQueryError, NotFoundError) as refused:
                # A station only some trips serve (rush-hour short turns) belongs to no
                # line of the period model; the timetable may still reach it.
                journeys, ridden, refusal = [], self.get_timetabled_networks(), refused
            timetable = self.get_timetable(tuple(sorted(ridden)), day) if ridden else None
            if timetable is not None:
                journeys = add_timetable_journeys(
                    journeys, self.get_planner().compute_timetable_journeys(
                        origin, destination, timetable
                    )
                )  # fmt: skip
            if not journeys:
                raise refusal
            self.check_network_zone(journeys[0].legs[0].network_id)
            runs_on = self.get_running_lines(day)
            return compute_day_routes(
                self.get_planner(),
                journeys,
                service_day=get_service_day(day, country=self.settings.holiday_country),
                runs=lambda line_id: runs_on(line_id),
                ride_factors=lambda journey: read_road_factors(
                    self.lake,
                    journey,
                    self.get_sites(),
                    day=day,
                    calendar=self.calendar,
                    engine=self.engine,
                ),
                timetable=timetable,
            )

        return self.cached("routes", origin, destination, day, build=build)

    def get_timetable(self, network_ids: tuple[str, ...], day: date) -> Timetable | None:
        """The trips of these networks running on local ``day``, as one timetable (a
        journey may change between two feeds where they meet), or None where none of
        them has stop times (the Beijing file, the demo's lines: the period model times
        them) or none runs that day."""

        def build() -> Timetable | None:
            try:
                return read_timetable(self.lake, network_ids, day)
            except NotFoundError:
                return None

        return self.cached("timetable", network_ids, day, build=build)

    def get_timetabled_networks(self) -> set[str]:
        """Networks loaded with stop times, read once per lake version."""
        return self.cached("timetabled", build=lambda: read_timetabled_networks(self.lake))

    def get_running_lines(self, day: date) -> Callable[[str], bool]:
        """Whether a line runs on ``day`` by its feed's calendar (lines of networks
        without calendars, like the Beijing file and the demo, run every day)."""

        def build() -> Callable[[str], bool]:
            days = read_network_table(self.lake, "service_days").to_pandas()
            if days.empty:
                return lambda _line: True
            with_calendar = set(days["line_id"])
            running = set(days.loc[pd.to_datetime(days["date"]).dt.date == day, "line_id"])
            return lambda line: line not in with_calendar or line in running

        return self.cached("running", day, build=build)

    def check_network_zone(self, network_id: str) -> None:
        """Refuse a network whose timetable keeps another time zone than this server's
        (its service hours would be read on the wrong clock)."""
        networks = self.cached("networks", build=lambda: read_networks(self.lake))
        zones = networks.loc[networks["network_id"] == network_id, "timezone"].dropna()
        if len(zones) and zones.iloc[0] != self.settings.local_timezone:
            raise InvalidQueryError(
                f"network {network_id!r} keeps time in {zones.iloc[0]} and this server "
                f"plans in {self.settings.local_timezone}; serve it with "
                f"URBANPULSE_LOCAL_TIMEZONE={zones.iloc[0]}"
            )

    # -- the clock --------------------------------------------------------------------

    def get_clock(self) -> Clock:
        """Now (see :mod:`urbanpulse.advise.clock`) and the pages' planning day."""
        return build_clock(
            self.get_last_observation(),
            fixed=self.settings.clock,
            tz=self.tz,
            country=self.settings.holiday_country,
        )

    def get_planning_day(self, now: datetime) -> date:
        """First working day whose usual morning window has not ended by ``now``."""
        return get_planning_day(now, tz=self.tz, country=self.settings.holiday_country)

    # -- forecasts --------------------------------------------------------------------

    def get_day_forecast(self, site_id: str, day: date) -> tuple[np.ndarray, np.ndarray]:
        """A site's crowding forecast for one local day: (slot epochs, (4, n) values)."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            start = datetime.combine(day, datetime.min.time(), self.tz)
            end = start + timedelta(days=1)
            slots = pd.date_range(start, end, freq=f"{PERIOD_MINUTES}min", inclusive="left")
            try:
                if site_id not in self.get_crowding_sites():
                    # Known at once for every site (a GTFS network's stops mostly).
                    raise NotFoundError(f"station {site_id!r} has no crowding readings")
                table = read_forecast_table(
                    self.lake,
                    [site_id],
                    start=start,
                    end=end,
                    calendar=self.calendar,
                    engine=self.engine,
                )
            except NotFoundError:
                # No crowding history (or no capacity): unknown, which is not empty.
                table = pd.DataFrame({"site_id": site_id, "slot": slots.tz_convert("UTC")})
            # Every slot of the day is present; one a model has no answer for (a gap in
            # the history, a step past its reach) stays NaN and is shown as unknown.
            table = (
                table.assign(slot=pd.DatetimeIndex(table["slot"]).tz_convert("UTC"))
                .drop_duplicates("slot")
                .set_index("slot")
                .reindex(slots.tz_convert("UTC").rename("slot"))
                .reset_index()
                .assign(site_id=site_id)
            )
            for name in FORECAST_VALUES:
                table[name] = pd.to_numeric(table.get(name), errors="coerce")
            return build_forecast_lookup(table, period_minutes=PERIOD_MINUTES).sites[site_id]

        return self.cached("forecast", site_id, day, build=build)

    def get_crowding_sites(self) -> frozenset[str]:
        """Sites with any crowding reading (a metro's load or riders counted), read once
        per lake version for all of them."""

        def build() -> frozenset[str]:
            found = read_site_metrics(self.lake, None, metrics=CROWDING_METRICS)
            return frozenset(found["site_id"])

        return self.cached("crowding_sites", build=build)

    def get_lookup(self, trip: Trip, window: Window, now: datetime) -> ForecastLookup:
        """Forecasts of the trip's stations on every local day the trip may travel."""
        first = max(window.start, now).astimezone(self.tz).date()
        last = (window.end + timedelta(minutes=trip.travel_minutes)).astimezone(self.tz).date()
        days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
        sites = {}
        for segment in trip.segments:
            parts = [self.get_day_forecast(segment.site_id, day) for day in days]
            if len(parts) == 1:
                sites[segment.site_id] = parts[0]
            else:
                keys = np.concatenate([p[0] for p in parts])
                sites[segment.site_id] = (keys, np.concatenate([p[1] for p in parts], axis=1))
        return ForecastLookup(PERIOD_MINUTES, sites)

    # -- advice -----------------------------------------------------------------------

    def advise(self, request: TripRequest, *, record: bool = True) -> dict[str, Any]:
        """Ranked departure slots for one request, recorded in the counters unless
        ``record`` is False (a read, like the command line's).

        Returns
        -------
        dict
            Fields of ``AdvicePublic``.
        """
        return self.respond(self.read_inputs(request), record=record)

    def read_inputs(self, request: TripRequest) -> AdviceInputs:
        """Everything a request needs from the lake; slow (DuckDB reads, seconds on a
        large lake) for whatever is not cached yet, so async callers run it in a thread.
        Errors as :func:`check_window` and :func:`build_trip` raise them."""
        clock = self.get_clock()
        origin, destination, route = request.origin, request.destination, request.route
        window = build_window(
            request.start, request.end, request.preferred, tz=self.settings.local_timezone
        )
        day = window.start.astimezone(self.tz).date()
        trip = self.get_trip(origin, destination, day=day, route=route)
        if request.arrive_by:
            # Arrival times become departures by the trip's usual duration.
            window = shift_window(window, -timedelta(minutes=trip.travel_minutes))
        check_window(window, now=clock.now)  # before any forecast is read for it
        if window.start - clock.now > ADVICE_HORIZON:
            raise InvalidQueryError(
                f"the departure window starts more than {ADVICE_HORIZON.days} days after "
                f"now ({clock.now:%Y-%m-%d %H:%M}); forecasts reach that far"
            )
        lookup = self.get_lookup(trip, window, clock.now)
        journeys = (
            ()
            if destination is None
            else tuple(j for j, _ in self.get_day_routes(origin, destination, day))
        )
        alternatives = tuple(
            (k, other, self.get_lookup(other, window, clock.now))
            for k in range(len(journeys))
            if k != route and destination is not None
            for other in [self.get_trip(origin, destination, day=day, route=k)]
        )
        return AdviceInputs(
            clock, window, trip, lookup, self.get_names(), self.is_synthetic(),
            journeys, route, request.arrive_by, alternatives,
        )  # fmt: skip

    def get_cached_inputs(self, request: TripRequest) -> AdviceInputs | None:
        """:meth:`read_inputs` from the caches alone (cheap, safe on the event loop);
        None when anything must be read first. Remembered errors are raised."""
        with cached_only():
            try:
                return self.read_inputs(request)
            except ColdCacheError:
                return None

    def get_counters_state(self) -> str:
        """Where issued recommendations are counted: 'memory' (this process, as
        configured), 'redis' (shared by every worker) or 'degraded' (Redis configured
        but failing lately, so this process counts alone); may PING Redis, bounded by
        its timeout and at most once per retry period while it fails."""
        if not isinstance(self.counters, FallbackCounters):
            return "memory"
        return "redis" if self.counters.check() else "degraded"

    def respond(
        self, inputs: AdviceInputs, *, record: bool = True, client: str | None = None
    ) -> dict[str, Any]:
        """The advice for read inputs (about a millisecond of CPU): fields of
        ``AdvicePublic``. With ``record`` it counts in the load-spreading counters and in
        the measured effect; without, nothing is written (``recorded: false``).

        ``client`` (an API key's hash or an address) makes the experiment fair: the
        client keeps its group (advised or holdout) for a trip and day, so a control
        rider cannot ask again until advised, and its repeated requests for that trip
        and day are counted once (``repeat: true``, nothing written again)."""
        clock, window, trip = inputs.clock, inputs.window, inputs.trip
        holdout, repeat = None, False
        if client is not None:
            day = window.start.astimezone(self.tz).date()
            request = get_request_key(client, trip, day)
            holdout = draw_holdout(request, self.policy.holdout_share)
            if record:
                midnight = datetime.combine(day, datetime.min.time(), self.tz)
                repeat = self.counters.increment(midnight, f"{ASKED_PREFIX}:{request}") > 1
        record = record and not repeat
        advice = compute_advice(
            inputs.lookup,
            trip,
            window,
            counters=self.counters,
            policy=self.policy,
            now=clock.now,
            tz=self.settings.local_timezone,
            record=record,
            holdout=holdout,
        )
        if record:
            self._record_effect(trip, advice.columns, advice.holdout)
        slots = build_slot_records(advice.columns)
        recommended = bool(advice.columns["recommended"][0]) if slots else False
        return {
            "origin": trip.origin,
            "destination": trip.destination,
            "line_id": trip.line_id,
            "travel_minutes": trip.travel_minutes,
            "policy": advice.policy,
            "holdout": advice.holdout,
            "message": advice.message,
            "forecast_coverage": round(advice.coverage, 4),
            "min_gain": self.policy.min_gain,
            "recommended": slots[0] if recommended else None,
            "slots": slots,
            "origin_name": inputs.names.get(trip.origin),
            "destination_name": inputs.names.get(trip.destination) if trip.destination else None,
            "period_minutes": PERIOD_MINUTES,
            "start": max(window.start, clock.now).isoformat(),
            "end": window.end.isoformat(),
            "preferred": max(window.preferred, clock.now).isoformat(),
            "clock": clock.to_dict(),
            "synthetic": inputs.synthetic,
            "recorded": record,
            "repeat": repeat,
            "counters": self._describe_counters(),
            **self._describe_route(inputs, advice.columns),
        }

    def _describe_counters(self) -> str:
        """'shared' when the counts that spread the load are every worker's, else 'local'."""
        shared = isinstance(self.counters, FallbackCounters) and self.counters.shared
        return "shared" if shared else "local"

    def _describe_route(self, inputs: AdviceInputs, slots: dict[str, np.ndarray]) -> dict[str, Any]:
        """The journey's legs timed from the best ranked slot that runs, and its
        alternatives."""
        names = self.get_station_names()
        running = [k for k, m in enumerate(slots["travel_minutes"]) if m == m]
        legs = []
        priced: dict[int, dict[str, float | None]] = {}
        if inputs.trip.legs and running:
            first = running[0]
            crowding = {name: slots[name][first] for name in LEG_CROWDING_COLUMNS}
            legs = build_leg_records(
                inputs.trip, slots["departure"][first], names, crowding=crowding
            )
            priced = self._price_routes(inputs, slots, first)
        routes = build_alternative_records(
            list(inputs.journeys), names, chosen=inputs.route, priced=priced
        )
        return {
            "legs": legs,
            "transfers": max(len(inputs.trip.legs) - 1, 0),
            "routes": routes,
            "route": inputs.route,
            "arrive_by": inputs.arrive_by,
        }

    def _price_routes(
        self, inputs: AdviceInputs, slots: dict[str, np.ndarray], first: int
    ) -> dict[int, dict[str, float | None]]:
        """Each route's crowding, minutes and generalized cost when leaving at the
        answer's slot, so a rider can weigh another way at the same time."""
        departure = slots["departure"][first]
        priced = {inputs.route: _price_slot(slots, first)}
        # Only the answer's slot is priced: a window of that one departure costs the
        # same per slot (shift and deadline come from the whole window's preferred time
        # and bounds) and spares ranking every slot of every route.
        at_slot = replace(inputs.window, start=departure, end=departure)
        local = departure.astimezone(self.tz)
        period = (local.hour * 60 + local.minute) // PERIOD_MINUTES
        for k, trip, lookup in inputs.alternatives:
            if trip.travel_profile is not None and not math.isfinite(trip.travel_profile[period]):
                priced[k] = {}  # no train of this route then: nothing to price
                continue
            columns = compute_slot_arrays(
                lookup, trip, at_slot, counters=None, policy=self.policy,
                tz=self.settings.local_timezone,
            )  # fmt: skip
            same = [j for j, d in enumerate(columns["departure"]) if d == departure]
            priced[k] = _price_slot(columns, same[0]) if same else {}
        return priced

    def get_station_names(self) -> dict[str, dict[str, Any]]:
        """Chinese and English name of every site by id."""

        def build() -> dict[str, dict[str, Any]]:
            sites = self.get_sites()[["site_id", "name_zh", "name_en"]]
            sites = sites.astype(object).where(sites.notna(), None)
            return {
                row.site_id: {"name_zh": row.name_zh, "name_en": row.name_en or row.site_id}
                for row in sites.itertuples()
            }

        return self.cached("station_names", build=build)

    def get_names(self) -> dict[str, str]:
        """English name of every site by id."""

        def build() -> dict[str, str]:
            sites = self.get_sites()
            return dict(
                zip(sites["site_id"], sites["name_en"].fillna(sites["site_id"]), strict=True)
            )

        return self.cached("names", build=build)

    def is_synthetic(self) -> bool:
        """True when any site of the lake is synthetic."""
        return self.cached(
            "synthetic", build=lambda: bool(self.get_sites()["synthetic"].fillna(False).any())
        )

    # -- the operator's view -----------------------------------------------------------

    def get_last_full_day(self) -> date:
        """The last local day whose data is complete (the day of the last observation
        when it ends at the day's last 5-minute reading, else the day before).

        Raises
        ------
        NotFoundError
            The lake holds no crowding observations.
        """
        last = self.get_last_observation()
        if last is None:
            raise NotFoundError("the lake holds no crowding observations")
        return (last.astimezone(self.tz) + timedelta(minutes=5)).date() - timedelta(days=1)

    def get_past_forecast(self, site_id: str, metric: str, day: date) -> pd.DataFrame | None:
        """``day`` forecast from the days before it only (``forecast_site`` columns), or
        None when there is too little history before it."""

        def build() -> pd.DataFrame | None:
            start = datetime.combine(day, datetime.min.time(), self.tz)
            try:
                return forecast_site(
                    self.lake, site_id, metric, start=start,
                    horizon=timedelta(days=1), period_minutes=PERIOD_MINUTES,
                    calendar=self.calendar,
                )  # fmt: skip
            except (InvalidQueryError, NotFoundError):
                return None

        return self.cached("accuracy", site_id, metric, day, build=build)

    def get_effect(self, line_id: str, day: date) -> dict[str, Any]:
        """Advised against holdout requests of ``line_id`` per preferred slot of local
        ``day``, with the peak's share in each group and its difference (95 % interval).

        Returns
        -------
        dict
            Fields of ``EffectPublic``.
        """
        slots = pd.date_range(
            datetime.combine(day, datetime.min.time(), self.tz),
            periods=24 * 60 // PERIOD_MINUTES, freq=f"{PERIOD_MINUTES}min",
        )  # fmt: skip
        counts = self.effect.get_counts(line_id, list(slots.to_pydatetime()))
        return {
            "line_id": line_id,
            "day": day.isoformat(),
            "source": describe_effect_source(self.settings),
            "synthetic": self.is_synthetic(),
            **summarise_effect(slots, counts, flows=self.get_line_flows(line_id, day)),
        }

    def get_line_flows(self, line_id: str, day: date) -> LineFlows | None:
        """Riders counted at the line's stations (or the one site) per slot of local
        ``day`` and of the same weekday in each of the :data:`FLOW_WEEKS` weeks before
        (a row of NaN for a week without counts or of another day type, such as a
        holiday), or None where the stations count no riders or ``day`` has none."""

        def build() -> LineFlows | None:
            stops = self.get_planner().network.stops
            sites = sorted(set(stops.loc[stops["line_id"] == line_id, "site_id"])) or [line_id]
            reported = read_site_metrics(self.lake, sites, metrics=COUNT_METRICS)
            if reported.empty:
                return None
            # The count most of the stations report (a network counts one way).
            metric = str(reported["metric"].mode().iloc[0])
            first = datetime.combine(
                day - timedelta(weeks=FLOW_WEEKS), datetime.min.time(), self.tz
            )
            periods = self.engine.compute_periods(
                self.lake, metric, period_minutes=PERIOD_MINUTES, tz=str(self.tz),
                site_ids=sites, start=first, end=first + timedelta(weeks=FLOW_WEEKS, days=1),
            ).to_pandas()  # fmt: skip
            if periods.empty:
                return None
            wall = periods["period_start"].dt.tz_convert(self.tz)
            per_slot = periods.groupby([wall.dt.date, wall.dt.hour * 60 + wall.dt.minute])["sum"]
            totals = per_slot.sum().unstack(fill_value=0.0)
            days = [day - timedelta(weeks=k) for k in range(FLOW_WEEKS, -1, -1)]
            minutes = range(0, 24 * 60, PERIOD_MINUTES)
            grid = totals.reindex(index=days, columns=minutes, fill_value=0.0)
            counted = totals.reindex(index=days).notna().any(axis=1).to_numpy()
            if not counted[-1]:
                return None
            # A holiday (or a worked weekend) is no usual day for a weekday's riders.
            kind = get_day_type(day, country=self.calendar.country)
            counted &= [get_day_type(d, country=self.calendar.country) == kind for d in days]
            table = grid.to_numpy(dtype=float)
            table[~counted] = np.nan
            return LineFlows(metric, sites, table[-1], table[:-1])

        return self.cached("flows", line_id, day, build=build)

    def close(self) -> None:
        """Release what the service holds open (the effect journal)."""
        self.effect.close()

    def _record_effect(self, trip: Trip, slots: dict[str, np.ndarray], holdout: bool) -> None:
        """Count, per line, who asked for which slot and where advice sent them."""
        at = int(np.argmin(np.abs(slots["shift_minutes"])))
        preferred = slots["departure"][at]
        advised = bool(len(slots["recommended"]) and slots["recommended"][0])
        # Without a forecast at the preferred time nobody could be advised, so such a
        # request counts in neither group, holdout included (else the groups differ).
        if not slots["forecast_share"][at] > 0 or (not holdout and not advised):
            return
        chosen = slots["departure"][0] if advised else None
        self.effect.record(trip.line_id or trip.origin, preferred, chosen, holdout=holdout)


def get_request_key(client: str, trip: Trip, day: date) -> str:
    """One client's question about one trip on one day, hashed (no address is kept)."""
    text = f"{client}|{trip.origin}|{trip.destination or ''}|{day.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def draw_holdout(request_key: str, share: float) -> bool:
    """Whether a request falls in the holdout group: a uniform draw fixed by its key, so
    the same client asking about the same trip and day always gets the same group."""
    return int(request_key[:13], 16) / 16**13 < share


def build_slot_records(slots: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Ranked slots as JSON-ready dicts (``AdviceSlotPublic``); the same fields as
    ``Advice.to_dict`` without pandas' per-row cost, which dominated a request."""
    columns: dict[str, list[Any]] = {name: slots[name].tolist() for name in ADVICE_COLUMNS}
    for name in NULLABLE_COLUMNS:  # no forecast: null, never 0 % (nor JSON's invalid NaN)
        # No forecast (NaN) or no service (an infinite cost): null either way.
        columns[name] = [None if v != v or v in (_INF, -_INF) else v for v in columns[name]]
    for name in ("departure", "arrival"):
        columns[name] = [None if moment is None else moment.isoformat() for moment in columns[name]]
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def build_advice_service(settings: Settings, lake: Lake) -> AdviceService:
    """The service an app holds, with the counters its settings name."""
    namespace = lake.get_id()
    return AdviceService(
        lake,
        settings,
        build_counters(settings, namespace=namespace),
        effect=build_effect_store(settings, namespace=namespace),
    )


def check_station(sites: pd.DataFrame, site_id: str) -> None:
    """Refuse a known site that is no station (an air monitor, a road sensor)."""
    kinds = sites.loc[sites["site_id"] == site_id, "kind"]
    if len(kinds) and kinds.iloc[0] not in STATION_KINDS:
        raise InvalidQueryError(f"{site_id!r} is not a station on a line")


def shift_window(window: Window, by: timedelta) -> Window:
    """The window moved by ``by`` (arrival times to departure times), its start moved up
    to a period boundary so that no departure slot arrives before the window opens."""
    step = PERIOD_MINUTES * 60
    start = window.start + by
    ceiled = -(-int(start.timestamp()) // step) * step
    start = start + timedelta(seconds=ceiled - int(start.timestamp()))
    end = max(window.end + by, start + timedelta(minutes=1))
    preferred = min(max(window.preferred + by, start), end)
    # The slots are then kept to those whose own travel time arrives in the window.
    return Window(start, end, preferred, arrive_within=(window.start, window.end))
