"""GTFS-Realtime out: predicted crowding as a FeedMessage a journey planner can read.

For one GTFS network and a time window, every trip that runs then (its service runs
on the day, see the ``service_dates`` network table) gets a ``TripUpdate`` whose
``StopTimeUpdate`` per stop in the window carries ``departure_occupancy_status``: the
crowding the advice service forecasts for the section leaving that stop at that
15-minute period (:meth:`AdviceService.get_day_forecast`, the same numbers
``/api/advice`` ranks slots by), mapped to the OccupancyStatus enum with
:data:`OCCUPANCY_THRESHOLDS`. UrbanPulse predicts crowding, not times, so each stop
update is ``NO_DATA`` with no arrival or departure, as the specification asks of a
producer that gives occupancy without times. A stop without a forecast is left out; a
trip with no forecast stop is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.store.networks import read_network_table

if TYPE_CHECKING:
    from urbanpulse.advise.service import AdviceService

__all__ = [
    "OCCUPANCY_THRESHOLDS",
    "CrowdingFeed",
    "build_crowding_feed",
    "get_occupancy_status",
]

# Crowding (load against the vehicle's rated capacity: seats plus standing room at
# 6 passengers per m2, as the live view and advice read it) -> GTFS-RT OccupancyStatus.
# Seats are about a fifth to a quarter of a metro car's rated load, so from 0.2 seats
# run short and from 0.3 riders stand; 0.8 and 1.0 are where the live view turns
# 'crowded' and 'very crowded'.
#   share in [lowest, next lowest)  ->  status
OCCUPANCY_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (0.0, "EMPTY"),
    (0.05, "MANY_SEATS_AVAILABLE"),
    (0.2, "FEW_SEATS_AVAILABLE"),
    (0.3, "STANDING_ROOM_ONLY"),
    (0.8, "CRUSHED_STANDING_ROOM_ONLY"),
    (1.0, "FULL"),
)
MAX_WINDOW_MINUTES = 24 * 60
_BOUNDS = np.array([low for low, _ in OCCUPANCY_THRESHOLDS[1:]])


def get_occupancy_status(share: float) -> str:
    """The OccupancyStatus name of a crowding share (see ``OCCUPANCY_THRESHOLDS``)."""
    return OCCUPANCY_THRESHOLDS[int(np.searchsorted(_BOUNDS, share, side="right"))][1]


@dataclass(frozen=True)
class CrowdingFeed:
    """The feed and what it covers: its trips and stop updates, and the window."""

    message: Any  # gtfs_realtime_pb2.FeedMessage
    network_id: str
    start: datetime
    end: datetime
    trips: int
    stop_updates: int


def build_crowding_feed(
    service: AdviceService,
    network_id: str,
    *,
    start: datetime,
    minutes: int = 60,
    generated: datetime | None = None,
) -> CrowdingFeed:
    """Predicted crowding of a network's trips departing stops from ``start`` for
    ``minutes`` (see the module docstring).

    Raises
    ------
    NotFoundError
        When the lake holds no such network.
    InvalidQueryError
        When the network has no GTFS trips, keeps another time zone than the server,
        or the window is not 1 minute to a day.
    """
    if not 1 <= minutes <= MAX_WINDOW_MINUTES:
        raise InvalidQueryError(f"minutes must be 1 to {MAX_WINDOW_MINUTES}, not {minutes}")
    tables = service.cached(
        "gtfs_rt_tables", network_id, build=lambda: _read_tables(service, network_id)
    )
    service.check_network_zone(network_id)
    end = start + timedelta(minutes=minutes)
    departures = _get_departures(service, tables, start, end)
    departures["share"] = _read_crowding(service, departures)
    forecast = departures[departures["share"].notna()]
    message = _build_message(network_id, forecast, generated or datetime.now(UTC))
    return CrowdingFeed(
        message, network_id, start, end, forecast["trip_id"].nunique(), len(forecast)
    )


def _read_tables(service: AdviceService, network_id: str) -> dict[str, pd.DataFrame]:
    networks = read_network_table(service.lake, "networks", network_id=network_id)
    if not networks.num_rows:
        raise NotFoundError(f"no transit network {network_id!r} in the lake")
    tables = {
        name: read_network_table(service.lake, name, network_id=network_id).to_pandas()
        for name in ("trips", "trip_stops", "service_dates")
    }
    if tables["trip_stops"].empty:
        raise InvalidQueryError(
            f"network {network_id!r} has no GTFS trips with stop times to give crowding for"
        )
    stops = tables["trip_stops"]
    stops["leave_s"] = stops["departure_s"].fillna(stops["arrival_s"])
    tables["trip_stops"] = stops.dropna(subset=["leave_s"])
    return tables


def _get_departures(
    service: AdviceService, tables: dict[str, pd.DataFrame], start: datetime, end: datetime
) -> pd.DataFrame:
    """trip_id, route_id, direction, start_date, stop_sequence, stop_id, site_id, epoch:
    scheduled departures from stops within [start, end), of trips running that day
    (and of the day before, for trips past midnight)."""
    first = start.astimezone(service.tz).date() - timedelta(days=1)
    last = end.astimezone(service.tz).date()
    dates = tables["service_dates"]
    parts = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        services = set(dates.loc[pd.to_datetime(dates["date"]).dt.date == day, "service_id"])
        trips = tables["trips"][tables["trips"]["service_id"].isin(services)]
        stops = tables["trip_stops"].merge(
            trips[["trip_id", "route_id", "direction"]], on="trip_id"
        )
        epoch = _get_midnight(day, service) + stops["leave_s"].to_numpy(float)
        inside = (epoch >= start.timestamp()) & (epoch < end.timestamp())
        parts.append(
            stops[inside].assign(
                epoch=epoch[inside].astype(np.int64), start_date=day.strftime("%Y%m%d")
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["stop_id"] = frame["site_id"].str.split(":", n=1).str[1]
    return frame.sort_values(["start_date", "trip_id", "stop_sequence"]).reset_index(drop=True)


def _get_midnight(day: date, service: AdviceService) -> float:
    # GTFS counts a service day's times from noon minus 12 h, so DST days come out right.
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=service.tz)
    return (noon - timedelta(hours=12)).timestamp()


def _read_crowding(service: AdviceService, departures: pd.DataFrame) -> np.ndarray:
    """The advice service's forecast crowding at each departure's stop and period."""
    shares = np.full(len(departures), np.nan)
    period = 15 * 60
    local_day = (
        pd.to_datetime(departures["epoch"], unit="s", utc=True).dt.tz_convert(service.tz).dt.date
    )
    for (site_id, day), rows in departures.groupby(
        [departures["site_id"], local_day]
    ).groups.items():
        try:
            keys, values = service.get_day_forecast(str(site_id), day)
        except (NotFoundError, InvalidQueryError):
            continue
        if not len(keys):
            continue
        # Periods start on the local clock; every offset in use is a multiple of 15 min.
        slot = departures.loc[rows, "epoch"].to_numpy(np.int64) // period * period
        pos = np.clip(np.searchsorted(keys, slot), 0, len(keys) - 1)
        found = keys[pos] == slot
        shares[departures.index.get_indexer(rows)[found]] = values[0, pos[found]]
    return shares


def _build_message(network_id: str, forecast: pd.DataFrame, generated: datetime) -> Any:
    from google.transit import gtfs_realtime_pb2 as rt

    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.incrementality = rt.FeedHeader.FULL_DATASET
    message.header.timestamp = int(generated.timestamp())
    no_data = rt.TripUpdate.StopTimeUpdate.NO_DATA
    for (start_date, trip_id), rows in forecast.groupby(["start_date", "trip_id"], sort=True):
        entity = message.entity.add()
        entity.id = f"{network_id}:{trip_id}:{start_date}"
        trip = entity.trip_update.trip
        trip.trip_id = str(trip_id)
        trip.start_date = str(start_date)
        first = rows.iloc[0]
        if isinstance(first["route_id"], str) and first["route_id"]:
            trip.route_id = first["route_id"]
        if first["direction"] in ("0", "1"):
            trip.direction_id = int(first["direction"])
        entity.trip_update.timestamp = int(generated.timestamp())
        for row in rows.itertuples(index=False):
            update = entity.trip_update.stop_time_update.add()
            update.stop_sequence = int(row.stop_sequence)
            update.stop_id = str(row.stop_id)
            update.schedule_relationship = no_data
            update.departure_occupancy_status = rt.VehiclePosition.OccupancyStatus.Value(
                get_occupancy_status(float(row.share))
            )
    return message
