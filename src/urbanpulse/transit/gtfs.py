"""A GTFS feed as a network: stops as sites, each route's directions as lines.

- Lines: per route and direction_id, the stop pattern most trips follow, with the
  median scheduled time between consecutive departures and the distance between stops
  (straight line, stretched to the trip's shape length when gtfs_kit can measure it).
- Service days: calendar.txt expanded over its dates, with calendar_dates.txt added
  and removed; one row per line and day with its departures.
- Service per period: on a representative weekday, Saturday and Sunday (the busiest
  day of each kind in the feed), departures from the first stop per 15 minutes, with
  frequencies.txt expanded into departures; capacity is departures x the vehicle
  capacity of the route's mode; run times come from gtfs_kit's trip statistics.
- Transfers: transfers.txt, platforms of one station, stops of one name, stops within
  a short walk (see :mod:`urbanpulse.transit.transfers`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from urbanpulse.catalog.sites import Site
from urbanpulse.transit.build import NetworkBuild
from urbanpulse.transit.feed import LINE, CheckedFeed, read_checked_feed
from urbanpulse.transit.names import get_folded, get_pinyin, get_pinyin_name
from urbanpulse.transit.schedule import (
    DAY_TYPES,
    compute_line_service,
    get_mode,
    get_site_kind,
)
from urbanpulse.transit.transfers import NEARBY_METRES, build_transfers

__all__ = ["build_gtfs_network", "compute_trip_stats"]

Progress = Callable[[str, int, int], None]
_MODE_RANK = {"metro": 0, "rail": 1, "tram": 2, "ferry": 3, "cable": 4, "bus": 5, "other": 6}


def compute_trip_stats(feed: CheckedFeed, *, kit_feed: object | None = None) -> pd.DataFrame:
    """gtfs_kit's trip statistics over the checked feed's usable rows.

    Returns
    -------
    pandas.DataFrame
        gtfs_kit's columns: trip_id, route_id, route_short_name, route_type,
        direction_id, shape_id, stop_pattern_name, num_stops, start_time, end_time,
        start_stop_id, end_stop_id, is_loop, duration (hours), distance (km, or miles
        for a feed in imperial units; NaN without shapes), speed. Empty without stop times.
    """
    import gtfs_kit as gk

    if feed.get("stop_times") is None or feed.get("trips") is None:
        return pd.DataFrame()
    return gk.compute_trip_stats(kit_feed or build_gtfs_kit_feed(feed))


def build_gtfs_kit_feed(feed: CheckedFeed):  # type: ignore[no-untyped-def]
    """The checked tables as a gtfs_kit Feed, typed as gtfs_kit reads them."""
    import gtfs_kit as gk
    import gtfs_kit.constants as cs

    tables = {}
    for name, frame in feed.tables.items():
        if name not in cs.DTYPES or frame.empty:
            continue
        columns = [c for c in frame.columns if c != LINE and not c.endswith("_s") and c != "_order"]
        typed = frame[columns].replace("", None)
        dtypes = {c: t for c, t in cs.DTYPES[name].items() if c in typed.columns}
        tables[name] = typed.astype(dtypes).reset_index(drop=True)
    units = "km"
    if "shapes" in tables:
        units = gk.infer_dist_units(tables["shapes"]) or "km"
    return gk.Feed(dist_units=units, **tables)


def build_gtfs_network(
    path: Path,
    network_id: str,
    capacities: dict[str, float],
    *,
    progress: Progress | None = None,
    walk_metres: float = NEARBY_METRES,
) -> NetworkBuild:
    """Read, check and build a GTFS feed's network (see the module docstring)."""
    report = progress or (lambda step, done, total: None)
    report("reading and checking the feed", 0, 5)
    feed = read_checked_feed(path)
    notes: list[str] = []
    routes = _get_routes(feed, network_id, capacities)
    trips = _get_trips(feed, routes)
    stop_times = feed.get("stop_times")
    report("trip statistics (gtfs_kit)", 1, 5)
    kit_feed = build_gtfs_kit_feed(feed)
    has_times = stop_times is not None and not stop_times.empty
    stats = compute_trip_stats(feed, kit_feed=kit_feed) if has_times else pd.DataFrame()
    starts = _get_starts(feed, trips, stats)
    report("lines and stops", 2, 5)
    imperial = kit_feed.dist_units in ("mi", "ft")
    lines, line_stops = _build_lines(network_id, feed, routes, trips, starts, stats, imperial)
    report("service days and periods", 3, 5)
    dates = _get_service_dates(feed)
    service_days = _build_service_days(trips, starts, dates)
    line_service = _build_line_service(trips, starts, dates, routes)
    report("stations and transfers", 4, 5)
    sites, stop_frame = _build_sites(network_id, feed, routes, trips)
    transfers, forbidden = _get_stated_transfers(feed, network_id)
    all_transfers = build_transfers(
        stop_frame, stated=transfers, forbidden=forbidden, walk_metres=walk_metres
    )
    if stop_times is None:
        notes.append("no stop_times.txt: lines have no stops, run times or service per period")
    unused = len(routes) - routes["route_id"].isin(trips["route_id"]).sum()
    if unused:
        notes.append(f"{unused} routes have no trips and are not lines")
    network = _build_network_row(feed, dates)
    report("built", 5, 5)
    return NetworkBuild(
        tables={
            "networks": network,
            "lines": lines,
            "line_stops": line_stops,
            "line_service": line_service,
            "transfers": all_transfers,
            "service_days": service_days,
            "trips": _build_trip_rows(trips),
            "trip_stops": _build_trip_stop_rows(network_id, stop_times),
            "trip_frequencies": _build_frequency_rows(feed),
            "service_dates": dates.assign(date=dates["date"].dt.date),
        },
        sites=sites,
        quarantine=feed.quarantine,
        missing=feed.missing,
        notes=notes,
    )


def _get_routes(feed: CheckedFeed, network_id: str, capacities: dict[str, float]) -> pd.DataFrame:
    routes = feed.get("routes")
    if routes is None:
        return pd.DataFrame(columns=["route_id", "route_type", "mode", "line_id", "capacity"])
    routes = routes.copy()
    routes["route_type"] = routes["route_type"].astype(int)
    routes["mode"] = routes["route_type"].map(get_mode)
    routes["line_id"] = network_id + ":" + routes["route_id"]
    routes["capacity"] = routes["mode"].map(capacities)
    return routes


def _get_trips(feed: CheckedFeed, routes: pd.DataFrame) -> pd.DataFrame:
    trips = feed.get("trips")
    if trips is None:
        return pd.DataFrame(columns=["trip_id", "route_id", "service_id", "direction", "line_id"])
    trips = trips.copy()
    direction = (
        trips["direction_id"] if "direction_id" in trips else pd.Series("", index=trips.index)
    )
    trips["direction"] = direction.fillna("").replace("", "0")
    trips["line_id"] = trips["route_id"].map(routes.set_index("route_id")["line_id"])
    return trips


def _get_starts(feed: CheckedFeed, trips: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """One row per departure from a trip's first stop: trip_id, departure_s, run_s;
    a trip in frequencies.txt leaves once per headway over each of its periods."""
    stop_times = feed.get("stop_times")
    if stop_times is None or stop_times.empty:
        return pd.DataFrame(columns=["trip_id", "departure_s", "run_s", "offset_s"])
    first = stop_times.groupby("trip_id", sort=False).agg(
        start_s=("departure_time_s", "first"),
        start_a=("arrival_time_s", "first"),
        end_s=("departure_time_s", "last"),
        end_a=("arrival_time_s", "last"),
    )
    first["start_s"] = first["start_s"].fillna(first["start_a"])
    # As gtfs_kit measures a trip: last departure minus first departure.
    first["run_s"] = first["end_s"].fillna(first["end_a"]) - first["start_s"]
    if not stats.empty:
        duration = stats.set_index("trip_id")["duration"] * 3600
        first["run_s"] = duration.reindex(first.index).fillna(first["run_s"])
    starts = first[["start_s", "run_s"]].rename(columns={"start_s": "departure_s"}).reset_index()
    frequencies = feed.get("frequencies")
    if frequencies is None or frequencies.empty:
        return starts.assign(offset_s=0.0)
    expanded = []
    for row in frequencies.itertuples(index=False):
        moments = np.arange(row.start_time_s, row.end_time_s, float(row.headway_secs))
        expanded.append(pd.DataFrame({"trip_id": row.trip_id, "departure_s": moments}))
    timed = pd.concat(expanded, ignore_index=True).merge(starts[["trip_id", "run_s"]], on="trip_id")
    plain = starts[~starts["trip_id"].isin(frequencies["trip_id"])]
    return pd.concat([plain, timed], ignore_index=True).assign(offset_s=0.0)


def _build_lines(
    network_id: str,
    feed: CheckedFeed,
    routes: pd.DataFrame,
    trips: pd.DataFrame,
    starts: pd.DataFrame,
    stats: pd.DataFrame,
    imperial: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from urbanpulse.transit.gtfs_lines import build_line_rows, build_line_stop_rows

    lines = build_line_rows(routes, trips, starts)
    stop_times = feed.get("stop_times")
    if stop_times is None or stop_times.empty:
        return lines, pd.DataFrame()
    stops = feed.tables["stops"].set_index("stop_id")
    units = 1609.344 if imperial else 1000.0
    line_stops = build_line_stop_rows(network_id, stop_times, trips, starts, stops, stats, units)
    if not line_stops.empty:
        loops = line_stops.groupby(["line_id", "direction"])["loop"].first()
        lines["loop"] = pd.MultiIndex.from_frame(lines[["line_id", "direction"]]).map(
            lambda key: bool(loops.get(key, False))
        )
        line_stops = line_stops.drop(columns="loop")
    return lines, line_stops


def _build_trip_rows(trips: pd.DataFrame) -> pd.DataFrame:
    """trip_id, line_id, direction, route_id, service_id: what GTFS-Realtime trips
    resolve against (:mod:`urbanpulse.transit.realtime`)."""
    columns = ["trip_id", "line_id", "direction", "route_id", "service_id"]
    return trips.loc[trips["line_id"].notna(), columns].reset_index(drop=True)


def _build_trip_stop_rows(network_id: str, stop_times: pd.DataFrame | None) -> pd.DataFrame:
    """trip_id, stop_sequence, site_id, arrival_s, departure_s (seconds after midnight
    of the service day): each trip's scheduled stops, the static times realtime delays
    are measured against."""
    if stop_times is None or stop_times.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "trip_id": stop_times["trip_id"].to_numpy(),
            "stop_sequence": pd.to_numeric(stop_times["stop_sequence"]).astype(int).to_numpy(),
            "site_id": (network_id + ":" + stop_times["stop_id"]).to_numpy(),
            "arrival_s": stop_times["arrival_time_s"].to_numpy(float),
            "departure_s": stop_times["departure_time_s"].to_numpy(float),
        }
    )


def _build_frequency_rows(feed: CheckedFeed) -> pd.DataFrame:
    """trip_id, start_s, end_s, headway_s: frequencies.txt as stored (timetables
    expand it, see ``raptor.read_timetable``)."""
    frequencies = feed.get("frequencies")
    if frequencies is None or frequencies.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "trip_id": frequencies["trip_id"].to_numpy(),
            "start_s": frequencies["start_time_s"].to_numpy(float),
            "end_s": frequencies["end_time_s"].to_numpy(float),
            "headway_s": pd.to_numeric(frequencies["headway_secs"]).to_numpy(float),
        }
    )


def _get_service_dates(feed: CheckedFeed) -> pd.DataFrame:
    """service_id, date: the days each service runs."""
    parts = []
    calendar = feed.get("calendar")
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    if calendar is not None:
        for row in calendar.itertuples(index=False):
            span = pd.date_range(pd.Timestamp(row.start_date), pd.Timestamp(row.end_date))
            runs = [getattr(row, d) == "1" for d in days]
            chosen = span[[runs[d] for d in span.dayofweek]]
            parts.append(pd.DataFrame({"service_id": row.service_id, "date": chosen}))
    dates = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            {"service_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]")}
        )
    )
    exceptions = feed.get("calendar_dates")
    if exceptions is not None and not exceptions.empty:
        moved = exceptions.assign(date=pd.to_datetime(exceptions["date"], format="%Y%m%d"))
        added = moved.loc[moved["exception_type"] == "1", ["service_id", "date"]]
        removed = moved.loc[moved["exception_type"] == "2", ["service_id", "date"]]
        dates = pd.concat([dates, added], ignore_index=True).drop_duplicates()
        dates = dates.merge(removed, how="left", indicator=True)
        dates = dates[dates["_merge"] == "left_only"].drop(columns="_merge")
    return dates.reset_index(drop=True)


def _departures_by_trip(trips: pd.DataFrame, starts: pd.DataFrame) -> pd.DataFrame:
    if starts.empty:
        # No stop times (MiWay's static feed): each trip still leaves once.
        return trips[["trip_id"]].assign(departures=1)
    return starts.groupby("trip_id").size().rename("departures").reset_index()


def _build_service_days(
    trips: pd.DataFrame, starts: pd.DataFrame, dates: pd.DataFrame
) -> pd.DataFrame:
    counted = trips[["trip_id", "line_id", "service_id"]].merge(
        _departures_by_trip(trips, starts), on="trip_id"
    )
    per_service = counted.groupby(["line_id", "service_id"], as_index=False)["departures"].sum()
    days = per_service.merge(dates, on="service_id")
    days = days.groupby(["line_id", "date"], as_index=False)["departures"].sum()
    days["date"] = days["date"].dt.date
    return days


def get_day_type(dates: pd.Series) -> pd.Series:
    """'weekday', 'saturday' or 'sunday' for each date."""
    weekday = pd.to_datetime(dates).dt.dayofweek
    return pd.Series(
        np.select([weekday == 5, weekday == 6], ["saturday", "sunday"], "weekday"),
        index=dates.index,
    )


def _build_line_service(
    trips: pd.DataFrame, starts: pd.DataFrame, dates: pd.DataFrame, routes: pd.DataFrame
) -> pd.DataFrame:
    if starts.empty or dates.empty:
        return pd.DataFrame()
    trips_per_service = trips.groupby("service_id").size().rename("trips")
    busy = dates.join(trips_per_service, on="service_id").groupby("date")["trips"].sum()
    busy = busy.reset_index()
    busy["day_type"] = get_day_type(busy["date"])
    # The busiest day of each kind stands for it; the earliest such day on a tie.
    chosen = busy.sort_values(["trips", "date"], ascending=[False, True]).drop_duplicates(
        "day_type"
    )
    frames = []
    for day_type in DAY_TYPES:
        day = chosen[chosen["day_type"] == day_type]
        if day.empty:
            continue
        services = set(dates.loc[dates["date"] == day["date"].iloc[0], "service_id"])
        running = trips[trips["service_id"].isin(services)][["trip_id", "line_id", "direction"]]
        frames.append(running.merge(starts, on="trip_id").assign(day_type=day_type))
    if not frames:
        return pd.DataFrame()
    departures = pd.concat(frames, ignore_index=True)
    capacity = routes.set_index("line_id")["capacity"].to_dict()
    return compute_line_service(departures, capacity)


def _build_sites(
    network_id: str, feed: CheckedFeed, routes: pd.DataFrame, trips: pd.DataFrame
) -> tuple[list[Site], pd.DataFrame]:
    stops = feed.tables["stops"].copy()
    kind = stops.get("location_type", pd.Series("", index=stops.index)).fillna("").replace("", "0")
    stops = stops[kind.isin(["0", "1"])].assign(location_type=kind)
    modes = _get_stop_modes(feed, routes, trips)
    default = routes["mode"].mode().iloc[0] if len(routes) else "bus"
    parent = stops.get("parent_station", pd.Series("", index=stops.index)).fillna("")
    # A station takes the mode of its platforms; a stop no trip serves, its station's.
    by_parent = modes.reindex(stops["stop_id"]).set_axis(stops.index).groupby(parent).min()
    mode_of = modes.reindex(stops["stop_id"]).set_axis(stops.index)
    mode_of = mode_of.fillna(stops["stop_id"].map(by_parent)).fillna(parent.map(modes))
    mode_of = mode_of.fillna(_MODE_RANK[default]).astype(int)
    rank_to_mode = {v: k for k, v in _MODE_RANK.items()}
    sites = []
    for row, rank, up in zip(stops.itertuples(index=False), mode_of, parent, strict=True):
        sites.append(_build_site(network_id, row, rank_to_mode[rank], up))
    frame = pd.DataFrame(
        {
            "site_id": [s.site_id for s in sites],
            "name": [get_folded(s.name_zh or s.name_en) for s in sites],
            "lat": [s.lat for s in sites],
            "lon": [s.lon for s in sites],
            "parent": [network_id + ":" + p if p else None for p in parent],
        }
    )
    platforms = (stops["location_type"] == "0").to_numpy()
    return sites, frame[platforms].astype({"lat": float, "lon": float})


def _get_stop_modes(feed: CheckedFeed, routes: pd.DataFrame, trips: pd.DataFrame) -> pd.Series:
    """stop_id -> rank of the highest mode serving it (metro before rail before bus)."""
    stop_times = feed.get("stop_times")
    if stop_times is None or stop_times.empty:
        return pd.Series(dtype=float)
    served = stop_times[["trip_id", "stop_id"]].drop_duplicates()
    served = served.merge(trips[["trip_id", "route_id"]], on="trip_id")
    served = served.merge(routes[["route_id", "mode"]], on="route_id")
    return served.assign(rank=served["mode"].map(_MODE_RANK)).groupby("stop_id")["rank"].min()


def _build_site(network_id: str, row: object, mode: str, parent: str) -> Site:
    name = str(getattr(row, "stop_name", "") or "") or None
    chinese = bool(name) and any("\u4e00" <= c <= "\u9fff" for c in str(name))
    lat, lon = getattr(row, "stop_lat", ""), getattr(row, "stop_lon", "")
    attributes: dict[str, object] = {"network_id": network_id, "stop_id": row.stop_id}  # type: ignore[attr-defined]
    for key in ("stop_code", "location_type"):
        if getattr(row, key, ""):
            attributes[key] = getattr(row, key)
    if parent:
        attributes["parent_station"] = f"{network_id}:{parent}"
    if chinese and name:
        attributes["pinyin"] = get_pinyin(name)
    return Site(
        site_id=f"{network_id}:{row.stop_id}",  # type: ignore[attr-defined]
        kind=get_site_kind(mode),
        name_zh=name if chinese else None,
        name_en=get_pinyin_name(name) if chinese and name else name,
        lat=float(lat) if lat else None,
        lon=float(lon) if lon else None,
        attributes=attributes,
    )


def _get_stated_transfers(
    feed: CheckedFeed, network_id: str
) -> tuple[pd.DataFrame | None, set[tuple[str, str]]]:
    transfers = feed.get("transfers")
    if transfers is None or transfers.empty:
        return None, set()
    kind = transfers.get("transfer_type", pd.Series("", index=transfers.index)).fillna("")
    minimum = transfers.get("min_transfer_time", pd.Series("", index=transfers.index))
    frame = pd.DataFrame(
        {
            "from_site_id": network_id + ":" + transfers["from_stop_id"],
            "to_site_id": network_id + ":" + transfers["to_stop_id"],
            "walk_minutes": pd.to_numeric(minimum.fillna(""), errors="coerce") / 60,
        }
    )
    # Type 3: no transfer possible; types 4 and 5 are in-seat, not walks.
    walks = kind.isin(["", "0", "1", "2"])
    forbidden = set(
        zip(
            frame.loc[kind == "3", "from_site_id"],
            frame.loc[kind == "3", "to_site_id"],
            strict=True,
        )
    )
    return frame[walks.to_numpy()], forbidden


def _build_network_row(feed: CheckedFeed, dates: pd.DataFrame) -> pd.DataFrame:
    agency = feed.get("agency")
    names = [] if agency is None else [n for n in agency["agency_name"].tolist() if n]
    zones = [] if agency is None else [z for z in agency["agency_timezone"].tolist() if z]
    return pd.DataFrame(
        [
            {
                "name": ", ".join(dict.fromkeys(names)) or feed.source,
                "kind": "gtfs",
                "source": feed.source,
                "timezone": zones[0] if zones else None,
                "start_date": dates["date"].min().date() if len(dates) else None,
                "end_date": dates["date"].max().date() if len(dates) else None,
                "synthetic": False,
            }
        ]
    )
