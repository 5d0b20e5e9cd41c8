"""Trips and departure windows: which segments a journey uses, and when it may leave.

A trip runs between two stations of one line (or stays at one site). Its *segments* are
the trains it rides, one per station it departs from, each with the minutes after
departure at which the train leaves that station; that offset is what lets a 15-minute
forecast per station be read at the right time along the journey.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from urbanpulse.catalog.sites import STATION_KINDS
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.i18n import N_
from urbanpulse.transit.journeys import Journey, Leg
from urbanpulse.transit.network import ATTRIBUTE_NETWORK

LOCAL_TZ = "Asia/Shanghai"
MAX_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Segment:
    """One train a trip rides: it leaves ``site_id`` ``offset_minutes`` after departure."""

    site_id: str
    direction: str  # 'up' (rising sequence), 'down', or 'here' for a single site
    offset_minutes: int

    @property
    def segment_id(self) -> str:
        """The key its recommendations are counted under, e.g. 'bj-m1-s12:up'."""
        return f"{self.site_id}:{self.direction}"


@dataclass(frozen=True, slots=True)
class Trip:
    """A resolved journey: where it starts and ends, the trains it rides, how long it takes.

    A trip planned over the network also keeps its ``legs`` (one per line ridden, see
    :class:`urbanpulse.transit.journeys.Leg`) and its ``travel_profile``: travel minutes
    when leaving in each 15-minute period of the local day (NaN outside service hours),
    so advice can weigh a slower trip at rush hour against a less crowded one.
    """

    origin: str
    destination: str | None
    line_id: str | None
    segments: tuple[Segment, ...]
    travel_minutes: int
    legs: tuple[Leg, ...] = ()
    travel_profile: tuple[float, ...] | None = None
    # When each leg's train leaves and arrives after a departure in each period:
    # (periods, legs, 2) minutes, NaN where it does not run.
    leg_profile: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """When the traveller may leave (tz-aware, ``start`` <= ``preferred`` <= ``end``)."""

    start: datetime
    end: datetime
    preferred: datetime
    # For arrive-by advice: only departures arriving within these bounds are offered.
    arrive_within: tuple[datetime, datetime] | None = None


def read_stations(sites: pd.DataFrame) -> pd.DataFrame:
    """Stations of a sites table with their line attributes unpacked.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, kind, name_en, capacity, line_id, sequence, minutes_to_next,
        loop; one row per station or stop that belongs to a line.
    """
    rows = sites[sites["kind"].isin(STATION_KINDS)]
    attrs = [json.loads(a) if isinstance(a, str) else dict(a or {}) for a in rows["attributes"]]
    out = pd.DataFrame(
        {
            "site_id": rows["site_id"].to_numpy(),
            "kind": rows["kind"].to_numpy(),
            "name_en": rows["name_en"].to_numpy(),
            "capacity": rows["capacity"].to_numpy(dtype=float),
            "line_id": [a.get("line_id") for a in attrs],
            "sequence": [a.get("sequence") for a in attrs],
            "minutes_to_next": [a.get("minutes_to_next") for a in attrs],
            "loop": [bool(a.get("loop", False)) for a in attrs],
        }
    )
    return out.dropna(subset=["line_id", "sequence"]).reset_index(drop=True)


def build_trip(sites: pd.DataFrame, origin: str, destination: str | None = None) -> Trip:
    """Resolve a trip along one line, or a stay at one site when ``destination`` is None.

    Raises
    ------
    NotFoundError
        An unknown site id.
    InvalidQueryError
        Origin and destination on different lines, or the same station twice.
    """
    known = set(sites["site_id"])
    for site_id in (origin, destination):
        if site_id is not None and site_id not in known:
            raise NotFoundError(N_("unknown station {site_id!r}", site_id=site_id))
    if destination is None:
        return Trip(origin, None, None, (Segment(origin, "here", 0),), 0)
    stations = read_stations(sites).set_index("site_id")
    for site_id in (origin, destination):
        if site_id not in stations.index:
            raise InvalidQueryError(N_("{site_id!r} is not a station on a line", site_id=site_id))
    line_o, line_d = stations.at[origin, "line_id"], stations.at[destination, "line_id"]
    if line_o != line_d:
        raise InvalidQueryError(
            N_(
                "{origin!r} is on line {line_o!r} and {destination!r} on {line_d!r}; "
                "advice covers trips along one line",
                origin=origin,
                line_o=line_o,
                destination=destination,
                line_d=line_d,
            )
        )
    if origin == destination:
        raise InvalidQueryError(N_("origin and destination are the same station"))
    line = stations[stations["line_id"] == line_o].sort_values("sequence")
    return _build_line_trip(line, origin, destination)


def _build_line_trip(line: pd.DataFrame, origin: str, destination: str) -> Trip:
    ids = list(line.index)
    minutes = [int(m or 0) for m in line["minutes_to_next"]]
    i, j, n = ids.index(origin), ids.index(destination), len(ids)
    if bool(line["loop"].iloc[0]):
        forward = [(i + k) % n for k in range((j - i) % n)]
        backward = [(i - k) % n for k in range((i - j) % n)]
        up_minutes = sum(minutes[k] for k in forward)
        down_minutes = sum(minutes[(k - 1) % n] for k in backward)
        # The shorter way round; a tie goes the way the sequence runs.
        up = up_minutes <= down_minutes
    else:
        up = j > i
        forward, backward = list(range(i, j)), list(range(i, j, -1))
    # Running times are taken as the same both ways: the link k -> k+1 is minutes[k].
    order = forward if up else backward
    step = (lambda k: minutes[k]) if up else (lambda k: minutes[(k - 1) % n])
    segments, offset = [], 0
    for k in order:
        segments.append(Segment(ids[k], "up" if up else "down", offset))
        offset += step(k)
    return Trip(origin, destination, str(line["line_id"].iloc[0]), tuple(segments), offset)


def build_journey_trip(
    journey: Journey,
    *,
    travel_profile: np.ndarray | None = None,
    leg_profile: np.ndarray | None = None,
) -> Trip:
    """The trip advice ranks for a planned journey: every stop departed from, on every
    leg, at the minutes after departure when the traveller's train leaves it."""
    segments, start = [], 0.0
    for leg in journey.legs:
        start += leg.walk_minutes + leg.wait_minutes
        # Stations of the sites' own lines count recommendations per 'up'/'down'; a
        # stop that several lines serve counts them per line.
        direction = (
            leg.direction
            if leg.network_id == ATTRIBUTE_NETWORK
            else f"{leg.line_id}/{leg.direction}"
        )
        for site_id, offset in zip(leg.stops, leg.stop_offsets, strict=True):
            segments.append(Segment(site_id, direction, round(start + offset)))
        start += leg.ride_minutes
    # Whole minutes, as timetables and travellers count them.
    profile = None if travel_profile is None else tuple(float(v) for v in np.round(travel_profile))
    first_line = journey.legs[0].line_id if journey.legs else None
    return Trip(
        journey.origin,
        journey.destination,
        first_line,
        tuple(segments),
        round(journey.travel_minutes),
        journey.legs,
        profile,
        leg_profile,
    )


def build_window(
    start: datetime | str,
    end: datetime | str,
    preferred: datetime | str | None = None,
    *,
    tz: str = LOCAL_TZ,
) -> Window:
    """A departure window; naive times (or ISO strings) are read as local ``tz`` time.

    ``preferred`` defaults to ``start``. Nothing is checked here; see :func:`check_window`.
    """
    zone = ZoneInfo(tz)

    def local(value: datetime | str) -> datetime:
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize(zone) if stamp.tzinfo is None else stamp).to_pydatetime()

    return Window(local(start), local(end), local(preferred if preferred is not None else start))


def check_window(window: Window, *, now: datetime) -> Window:
    """The window, its start moved up to ``now`` if it has begun.

    Raises
    ------
    InvalidQueryError
        End not after start, longer than 24 hours, already over, or a preferred time
        outside the window.
    """
    if window.end <= window.start:
        raise InvalidQueryError(N_("the departure window ends before it starts"))
    if window.end - window.start > MAX_WINDOW:
        raise InvalidQueryError(N_("the departure window is longer than 24 hours"))
    if window.end <= now:
        raise InvalidQueryError(N_("the departure window is in the past"))
    # The window's end is a departure (or, arriving by, the deadline) one may prefer.
    if not window.start <= window.preferred <= window.end:
        raise InvalidQueryError(N_("the preferred time is outside the departure window"))
    return Window(
        max(window.start, now), window.end, max(window.preferred, now), window.arrive_within
    )
