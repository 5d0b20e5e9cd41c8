"""A loaded network as GTFS-Realtime entities resolve against it: trip ids to lines,
stop ids and stop sequences to sites, scheduled times on a service day."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from urbanpulse.catalog.metrics import METRICS
from urbanpulse.errors import InvalidQueryError
from urbanpulse.store.lake import Lake
from urbanpulse.store.networks import read_network_table
from urbanpulse.transit.transfers import get_metres

__all__ = ["NEAREST_STOP_METRES", "NetworkIndex", "read_network_index"]

# A vehicle that names no stop is placed at the nearest stop of its trip (or of the
# network) when one lies this close; farther, its occupancy has no stop.
NEAREST_STOP_METRES = 500.0
_CACHE: dict[tuple[str, str, str], NetworkIndex] = {}


@dataclass
class NetworkIndex:
    """Lookups over one network's trips, scheduled stops and sites."""

    network_id: str
    timezone: ZoneInfo
    trips: dict[str, str]  # trip_id -> line_id
    schedule: dict[str, dict[int, tuple[str, float, float]]]  # trip -> seq -> (site, arr, dep)
    lines: set[str]
    site_ids: np.ndarray
    lats: np.ndarray
    lons: np.ndarray

    def get_stop_site(self, trip_id: str, stop_id: str, sequence: int) -> str | None:
        """The site of a stop time update: its stop_id, else its stop_sequence on the trip."""
        if stop_id:
            site = f"{self.network_id}:{stop_id}"
            return site if site in self._known else None
        stop = self.schedule.get(trip_id, {}).get(sequence)
        return stop[0] if stop else None

    @property
    def _known(self) -> set[str]:
        if not hasattr(self, "_known_sites"):
            self._known_sites = set(self.site_ids.tolist())
        return self._known_sites

    def build_delays(
        self, trip_id: str, stop: Any, site_id: str, update: Any, header_ts: int
    ) -> list[dict[str, Any]]:
        """Observation rows (site_id, metric, ts, value, unit) of one stop time update,
        with the trip_id and event (arrival, departure) they predict."""
        scheduled = self._get_scheduled(trip_id, stop, site_id)
        rows = []
        for event in ("arrival", "departure"):
            if not stop.HasField(event):
                continue
            moment = getattr(stop, event)
            time = int(moment.time) if moment.HasField("time") and moment.time > 0 else None
            planned = int(moment.scheduled_time) if moment.HasField("scheduled_time") else None
            delay = int(moment.delay) if moment.HasField("delay") else None
            if planned is None and time is not None and delay is not None:
                planned = time - delay
            if planned is None and scheduled is not None:
                arrive, leave = scheduled[1], scheduled[2]
                first, other = (arrive, leave) if event == "arrival" else (leave, arrive)
                seconds = first if not math.isnan(first) else other
                if not math.isnan(seconds):
                    planned = self._get_epoch(update.trip.start_date, seconds, time or header_ts)
            if delay is None and time is not None and planned is not None:
                delay = time - planned
            if delay is None or planned is None:
                continue
            metric = f"{event}_delay"
            rows.append(
                {
                    "site_id": site_id,
                    "metric": metric,
                    "ts": self._get_moment(planned),
                    "value": float(delay),
                    "unit": METRICS[metric].unit,
                    "trip_id": trip_id,
                    "event": event,
                }
            )
        return rows

    def _get_moment(self, epoch: int) -> datetime:
        """The UTC datetime of epoch seconds, made once per second: every snapshot of a
        feed predicts the same scheduled times again."""
        moments: dict[int, datetime] = self.__dict__.setdefault("_moments", {})
        moment = moments.get(epoch)
        if moment is None:
            if len(moments) > 1_000_000:  # a long-lived process: start again, not grow
                moments.clear()
            moment = moments[epoch] = datetime.fromtimestamp(epoch, UTC)
        return moment

    def _get_scheduled(
        self, trip_id: str, stop: Any, site_id: str
    ) -> tuple[str, float, float] | None:
        stops = self.schedule.get(trip_id, {})
        if stop.HasField("stop_sequence") and stop.stop_sequence in stops:
            return stops[stop.stop_sequence]
        return next((s for s in stops.values() if s[0] == site_id), None)

    def _get_epoch(self, start_date: str, seconds: float, near: int) -> int:
        """Epoch seconds of a schedule time on the trip's service day: ``start_date``
        when the feed names it, else the day (of three around ``near``) that puts it
        nearest to ``near``. GTFS times count from noon minus 12 h, so DST days work."""
        if start_date:
            return int(self._get_day_start(start_date) + seconds)
        local = datetime.fromtimestamp(near, self.timezone).date()
        starts = [self._get_day_start(local + timedelta(days=d)) for d in (-1, 0, 1)]
        return min((int(start + seconds) for start in starts), key=lambda m: abs(m - near))

    def _get_day_start(self, day: date | str) -> float:
        """Epoch seconds of noon minus 12 h on a service day (a date, or GTFS YYYYMMDD),
        computed once per day: a snapshot asks it for every stop it predicts."""
        starts: dict[date | str, float] = self.__dict__.setdefault("_day_starts", {})
        if day not in starts:
            when = datetime.strptime(day, "%Y%m%d").date() if isinstance(day, str) else day
            noon = datetime(when.year, when.month, when.day, 12, tzinfo=self.timezone)
            starts[day] = (noon - timedelta(hours=12)).timestamp()
        return starts[day]

    def get_vehicle_site(self, trip_id: str, vehicle: Any) -> str | None:
        """The stop a vehicle is at: stop_id, current_stop_sequence on its trip, else the
        nearest stop of its trip (or of the network) within ``NEAREST_STOP_METRES``."""
        if vehicle.stop_id:
            site = f"{self.network_id}:{vehicle.stop_id}"
            if site in self._known:
                return site
        stops = self.schedule.get(trip_id, {})
        if vehicle.HasField("current_stop_sequence") and vehicle.current_stop_sequence in stops:
            return stops[vehicle.current_stop_sequence][0]
        if not vehicle.HasField("position"):
            return None
        mask = np.isin(self.site_ids, [s[0] for s in stops.values()]) if stops else None
        if mask is None or not mask.any():
            mask = np.ones(len(self.site_ids), dtype=bool)
        lat, lon = vehicle.position.latitude, vehicle.position.longitude
        metres = get_metres(lat, lon, self.lats[mask], self.lons[mask])
        if not len(metres) or np.all(np.isnan(metres)):
            return None
        best = int(np.nanargmin(metres))
        return str(self.site_ids[mask][best]) if metres[best] <= NEAREST_STOP_METRES else None

    def build_vehicle(
        self, entity: Any, trip_id: str, site_id: str | None, header_ts: int
    ) -> dict[str, Any]:
        """A realtime_vehicles row (without snapshot_id and network_id)."""
        vehicle = entity.vehicle
        stamp = int(vehicle.timestamp or header_ts or 0)
        position = vehicle.position if vehicle.HasField("position") else None
        status = None
        if vehicle.HasField("occupancy_status"):
            status = (
                vehicle.DESCRIPTOR.fields_by_name["occupancy_status"]
                .enum_type.values_by_number[vehicle.occupancy_status]
                .name
            )
        return {
            "entity_id": entity.id,
            "vehicle_id": vehicle.vehicle.id or vehicle.vehicle.label or None,
            "trip_id": trip_id or None,
            "line_id": self.trips.get(trip_id),
            "site_id": site_id,
            "ts": datetime.fromtimestamp(stamp, UTC) if stamp else None,
            "lat": position.latitude if position else None,
            "lon": position.longitude if position else None,
            "bearing": position.bearing if position and position.HasField("bearing") else None,
            "speed": position.speed if position and position.HasField("speed") else None,
            "occupancy_status": status,
            "occupancy_percentage": float(vehicle.occupancy_percentage)
            if vehicle.HasField("occupancy_percentage")
            else None,
        }

    def build_alert(self, entity: Any, summary: Any, header_ts: int) -> dict[str, Any]:
        """A realtime_alerts row: the lines and sites it informs, as far as they resolve."""
        alert = entity.alert
        lines, sites, agencies = [], [], []
        for informed in alert.informed_entity:
            if informed.agency_id:
                agencies.append(informed.agency_id)
            if informed.route_id and f"{self.network_id}:{informed.route_id}" in self.lines:
                lines.append(f"{self.network_id}:{informed.route_id}")
            if informed.HasField("trip") and informed.trip.trip_id in self.trips:
                lines.append(self.trips[informed.trip.trip_id])
            if informed.stop_id and f"{self.network_id}:{informed.stop_id}" in self._known:
                sites.append(f"{self.network_id}:{informed.stop_id}")
        period = alert.active_period[0] if alert.active_period else None
        enums = alert.DESCRIPTOR.fields_by_name
        return {
            "alert_id": entity.id,
            "feed_ts": datetime.fromtimestamp(header_ts, UTC) if header_ts else None,
            "cause": enums["cause"].enum_type.values_by_number[alert.cause].name,
            "effect": enums["effect"].enum_type.values_by_number[alert.effect].name,
            "header": _text(alert.header_text),
            "description": _text(alert.description_text),
            "url": _text(alert.url),
            "active_start": _moment(period.start) if period else None,
            "active_end": _moment(period.end) if period else None,
            "line_ids": json.dumps(sorted(set(lines))),
            "site_ids": json.dumps(sorted(set(sites))),
            "agency_ids": json.dumps(sorted(set(agencies))),
        }


def _text(translated: Any) -> str | None:
    texts = [t.text for t in translated.translation if t.text]
    english = [t.text for t in translated.translation if t.text and t.language.startswith("en")]
    return (english or texts or [None])[0]


def _moment(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


_NETWORKS: dict[tuple[str, ...], pd.DataFrame] = {}


def _read_networks(lake: Lake) -> pd.DataFrame:
    """The lake's networks table, read again only when its files change (a snapshot
    read every few seconds asked for it each time: a fifth of the time of a read)."""
    key = (str(lake.root), *lake.get_paths("networks"))
    if key not in _NETWORKS:
        if len(_NETWORKS) > 64:
            _NETWORKS.clear()
        _NETWORKS[key] = read_network_table(lake, "networks").to_pandas()
    return _NETWORKS[key]


def read_network_index(lake: Lake, network_id: str | None) -> NetworkIndex:
    """The index of a stored network (the lake's only GTFS network when not named).

    Raises
    ------
    InvalidQueryError
        When the network is not in the lake, or none is named and the lake holds
        no GTFS network or several.
    """
    networks = _read_networks(lake)
    if network_id is None:
        gtfs = networks[networks["kind"] == "gtfs"]
        if len(gtfs) != 1:
            found = ", ".join(gtfs["network_id"]) or "none"
            raise InvalidQueryError(
                f"name the static network with --network (GTFS networks in the lake: {found}); "
                "load one with 'urbanpulse transit load'"
            )
        network_id = str(gtfs["network_id"].iloc[0])
    row = networks[networks["network_id"] == network_id]
    if row.empty:
        raise InvalidQueryError(
            f"network {network_id!r} is not in the lake; load its static GTFS feed with "
            "'urbanpulse transit load' first"
        )
    key = (str(lake.root), network_id, str(row["feed_hash"].iloc[0]))
    if key not in _CACHE:
        _CACHE[key] = _build_index(lake, network_id, row["timezone"].iloc[0])
    return _CACHE[key]


def _build_index(lake: Lake, network_id: str, zone: Any) -> NetworkIndex:
    from urbanpulse.store import read_sites

    trips = read_network_table(lake, "trips", network_id=network_id).to_pandas()
    stops = read_network_table(lake, "trip_stops", network_id=network_id).to_pandas()
    lines = read_network_table(lake, "lines", network_id=network_id).column("line_id")
    schedule: dict[str, dict[int, tuple[str, float, float]]] = {}
    for trip, seq, site, arrive, leave in zip(
        stops["trip_id"], stops["stop_sequence"], stops["site_id"],
        stops["arrival_s"], stops["departure_s"], strict=True,
    ):  # fmt: skip
        schedule.setdefault(trip, {})[int(seq)] = (site, float(arrive), float(leave))
    sites = read_sites(lake)
    mine = sites[sites["site_id"].str.startswith(f"{network_id}:")]
    return NetworkIndex(
        network_id=network_id,
        timezone=ZoneInfo(str(zone)) if isinstance(zone, str) and zone else ZoneInfo("UTC"),
        trips=dict(zip(trips["trip_id"], trips["line_id"], strict=True)),
        schedule=schedule,
        lines=set(lines.to_pylist()),
        site_ids=mine["site_id"].to_numpy(dtype=object),
        lats=mine["lat"].to_numpy(dtype=float),
        lons=mine["lon"].to_numpy(dtype=float),
    )
