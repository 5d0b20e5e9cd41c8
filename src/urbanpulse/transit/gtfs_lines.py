"""Lines of a GTFS feed: one per route and direction, its main stop pattern and run times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.transit.schedule import get_time_text
from urbanpulse.transit.transfers import get_metres

__all__ = ["build_line_rows", "build_line_stop_rows"]

# A shape longer than three times the straight line between stops is not this trip's.
MAX_SHAPE_STRETCH = 3.0


def build_line_rows(
    routes: pd.DataFrame, trips: pd.DataFrame, starts: pd.DataFrame
) -> pd.DataFrame:
    """One row per route and direction that has trips (the lines table, without loop).

    Returns
    -------
    pandas.DataFrame
        line_id, direction, route_id, name_zh, name_en, headsign (the most common
        trip_headsign), mode, route_type, color, vehicle_capacity, first_departure and
        last_departure (first stop, 'HH:MM:SS'), synthetic.
    """
    if trips.empty:
        return pd.DataFrame()
    headsign = (
        trips["trip_headsign"] if "trip_headsign" in trips else pd.Series("", index=trips.index)
    )
    grouped = trips.assign(headsign=headsign.fillna("")).groupby(["line_id", "direction"])
    lines = grouped.agg(
        route_id=("route_id", "first"),
        headsign=("headsign", lambda s: s[s != ""].mode().iloc[0] if (s != "").any() else None),
    ).reset_index()
    if not starts.empty:
        timed = starts.merge(trips[["trip_id", "line_id", "direction"]], on="trip_id")
        span = timed.groupby(["line_id", "direction"])["departure_s"].agg(["min", "max"])
        lines = lines.join(span, on=["line_id", "direction"])
        lines["first_departure"] = lines["min"].map(get_time_text)
        lines["last_departure"] = lines["max"].map(get_time_text)
    route = routes.set_index("route_id")
    short = route.get("route_short_name", pd.Series("", index=route.index)).fillna("")
    long = route.get("route_long_name", pd.Series("", index=route.index)).fillna("")
    names = short.where(short != "", long)
    lines["name_en"] = lines["route_id"].map(names).replace("", None)
    lines["headsign"] = lines["headsign"].fillna(lines["route_id"].map(long).replace("", None))
    lines["mode"] = lines["route_id"].map(route["mode"])
    lines["route_type"] = lines["route_id"].map(route["route_type"])
    if "route_color" in route:
        lines["color"] = lines["route_id"].map(route["route_color"]).replace("", None)
    lines["vehicle_capacity"] = lines["route_id"].map(route["capacity"])
    lines["synthetic"] = False
    return lines.drop(columns=["min", "max"], errors="ignore")


def build_line_stop_rows(
    network_id: str,
    stop_times: pd.DataFrame,
    trips: pd.DataFrame,
    starts: pd.DataFrame,
    stops: pd.DataFrame,
    stats: pd.DataFrame,
    metres_per_unit: float,
) -> pd.DataFrame:
    """The ordered stops of each line's main pattern (the pattern most trips follow).

    Returns
    -------
    pandas.DataFrame
        line_id, direction, sequence, site_id, minutes_to_next (median time between
        departures), metres_to_next, first_departure, last_departure, and loop (the
        pattern ends where it starts) repeated on every row of the line.
    """
    times = stop_times[["trip_id", "stop_id", "departure_time_s", "arrival_time_s"]].copy()
    times["leave_s"] = times["departure_time_s"].fillna(times["arrival_time_s"])
    info = trips.set_index("trip_id")[["line_id", "direction"]]
    patterns = times.groupby("trip_id", sort=False)["stop_id"].agg("|".join).rename("pattern")
    info = info.join(patterns, how="inner")
    counts = info.groupby(["line_id", "direction", "pattern"]).size().rename("trips").reset_index()
    counts["stops"] = counts["pattern"].str.count(r"\|") + 1
    main = counts.sort_values(["trips", "stops"], ascending=False, kind="stable")
    main = main.drop_duplicates(["line_id", "direction"])
    shifts = _get_shifts(times, starts)
    spans = _get_stop_spans(times.join(info, on="trip_id"), shifts)
    distance = stats.set_index("trip_id")["distance"] if "distance" in stats else pd.Series()
    rows = []
    for line in main.itertuples(index=False):
        members = info.index[
            (info["line_id"] == line.line_id)
            & (info["direction"] == line.direction)
            & (info["pattern"] == line.pattern)
        ]
        rows.append(
            _build_pattern(
                network_id,
                line,
                members,
                times,
                stops,
                spans,
                distance.reindex(members),
                metres_per_unit,
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _get_shifts(times: pd.DataFrame, starts: pd.DataFrame) -> pd.DataFrame:
    """Per trip, how far its earliest and latest departures lie from its template
    (they differ only for trips expanded from frequencies.txt)."""
    template = times.groupby("trip_id", sort=False)["leave_s"].first()
    span = starts.groupby("trip_id")["departure_s"].agg(["min", "max"])
    return span.sub(template.reindex(span.index), axis=0).fillna(0.0)


def _get_stop_spans(times: pd.DataFrame, shifts: pd.DataFrame) -> pd.DataFrame:
    moved = times.join(shifts, on="trip_id")
    moved["first"] = moved["leave_s"] + moved["min"].fillna(0.0)
    moved["last"] = moved["leave_s"] + moved["max"].fillna(0.0)
    return moved.groupby(["line_id", "direction", "stop_id"]).agg(
        first=("first", "min"), last=("last", "max")
    )


def _build_pattern(
    network_id: str,
    line: object,
    members: pd.Index,
    times: pd.DataFrame,
    stops: pd.DataFrame,
    spans: pd.DataFrame,
    distance: pd.Series,
    metres_per_unit: float,
) -> pd.DataFrame:
    sequence = str(line.pattern).split("|")  # type: ignore[attr-defined]
    line_id, direction = line.line_id, line.direction  # type: ignore[attr-defined]
    chosen = times[times["trip_id"].isin(members)]
    matrix = chosen["leave_s"].to_numpy(float).reshape(-1, len(sequence))
    # Stops without a time (not timepoints) take times in proportion along the trip.
    matrix = pd.DataFrame(matrix).interpolate(axis=1, limit_area="inside").to_numpy()
    gaps = np.diff(matrix, axis=1)
    with np.errstate(all="ignore"):
        minutes = np.round(np.nanmedian(gaps, axis=0) / 60, 2) if gaps.size else np.array([])
    lat = pd.to_numeric(stops["stop_lat"].reindex(sequence), errors="coerce").to_numpy(float)
    lon = pd.to_numeric(stops["stop_lon"].reindex(sequence), errors="coerce").to_numpy(float)
    metres = get_metres(lat[:-1], lon[:-1], lat[1:], lon[1:])
    shape = float(distance.median()) * metres_per_unit if distance.notna().any() else np.nan
    straight = float(np.nansum(metres))
    if straight > 0 and 1.0 <= shape / straight <= MAX_SHAPE_STRETCH:
        metres = metres * shape / straight  # follow the road or track, not the crow
    span = spans.loc[(line_id, direction)].reindex(sequence)
    return pd.DataFrame(
        {
            "line_id": line_id,
            "direction": direction,
            "sequence": np.arange(len(sequence)),
            "site_id": [f"{network_id}:{s}" for s in sequence],
            "minutes_to_next": [*minutes.tolist(), None],
            "metres_to_next": [*np.round(metres, 1).tolist(), None],
            "first_departure": span["first"].map(get_time_text).to_numpy(),
            "last_departure": span["last"].map(get_time_text).to_numpy(),
            "loop": sequence[0] == sequence[-1],
        }
    )
