"""Reading a GTFS feed (zip or folder) row by row, with the line each row came from, and
checking it: rows the network cannot use go to quarantine with file, line and reason.

Checks: required files and fields, numbers, dates and times that parse (times may pass
24:00, e.g. 25:10:00), duplicate keys, references (a stop time's trip and stop, a
trip's route and service...), stop times in order within their trip, and trips left
with fewer than two timed stops.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from urbanpulse.errors import SourceError
from urbanpulse.transit.build import build_reject

__all__ = ["FILES", "REQUIRED_FILES", "CheckedFeed", "read_checked_feed"]

LINE = "_line"
REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
FILES = (
    *REQUIRED_FILES,
    "calendar.txt",
    "calendar_dates.txt",
    "frequencies.txt",
    "transfers.txt",
    "shapes.txt",
    "feed_info.txt",
)
REQUIRED: dict[str, tuple[str, ...]] = {
    "agency": ("agency_name", "agency_timezone"),
    "stops": ("stop_id",),
    "routes": ("route_id", "route_type"),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence"),
    "calendar": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers": ("from_stop_id", "to_stop_id"),
    "shapes": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
}
KEYS: dict[str, tuple[str, ...]] = {
    "stops": ("stop_id",),
    "routes": ("route_id",),
    "trips": ("trip_id",),
    "stop_times": ("trip_id", "stop_sequence"),
    "calendar": ("service_id",),
    "calendar_dates": ("service_id", "date"),
}
# (file, column) -> (lowest, highest) for numbers; None: no bound.
NUMBERS: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("stops", "stop_lat"): (-90, 90),
    ("stops", "stop_lon"): (-180, 180),
    ("stops", "location_type"): (0, 4),
    ("routes", "route_type"): (0, 1702),
    ("trips", "direction_id"): (0, 1),
    ("stop_times", "stop_sequence"): (0, None),
    ("stop_times", "shape_dist_traveled"): (0, None),
    ("calendar_dates", "exception_type"): (1, 2),
    ("frequencies", "headway_secs"): (1, None),
    ("transfers", "transfer_type"): (0, 5),
    ("transfers", "min_transfer_time"): (0, None),
    ("shapes", "shape_pt_lat"): (-90, 90),
    ("shapes", "shape_pt_lon"): (-180, 180),
    ("shapes", "shape_pt_sequence"): (0, None),
    **{
        ("calendar", d): (0, 1)
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
}
DATES = {("calendar", "start_date"), ("calendar", "end_date"), ("calendar_dates", "date")}
TIMES = {
    ("stop_times", "arrival_time"),
    ("stop_times", "departure_time"),
    ("frequencies", "start_time"),
    ("frequencies", "end_time"),
}


@dataclass
class CheckedFeed:
    """A feed's usable rows (text columns, plus ``_line``), what it lacks and what was rejected.

    Time columns gain ``<column>_s`` (seconds after midnight, float, NaN when empty).
    """

    source: str
    tables: dict[str, pd.DataFrame]
    missing: list[str] = field(default_factory=list)
    quarantine: list[dict[str, object]] = field(default_factory=list)

    def get(self, name: str) -> pd.DataFrame | None:
        """A table by name without '.txt', or None when the feed has none."""
        return self.tables.get(name)


def read_checked_feed(path: Path) -> CheckedFeed:
    """Read and check a GTFS feed (see the module docstring).

    Raises
    ------
    SourceError
        When the zip cannot be opened or a file is not CSV text.
    """
    feed = CheckedFeed(source=path.name, tables={})
    with _open_feed(path) as opener:
        for file in FILES:
            handle = opener(file)
            if handle is None:
                continue
            with handle:
                frame = _read_rows(handle, f"{path.name}/{file}", feed.quarantine)
            feed.tables[file.removesuffix(".txt")] = frame
    feed.missing = [f for f in REQUIRED_FILES if f.removesuffix(".txt") not in feed.tables]
    if "calendar" not in feed.tables and "calendar_dates" not in feed.tables:
        feed.missing.append("calendar.txt")
    if "shapes" not in feed.tables:
        feed.missing.append("shapes.txt")
    _check(feed)
    return feed


@contextmanager
def _open_feed(path: Path) -> Iterator:
    if path.is_dir():
        yield lambda name: (path / name).open("rb") if (path / name).is_file() else None
        return
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SourceError(f"cannot open {path.name} as a zip file: {exc}") from None
    names = {
        Path(n).name: n
        for n in archive.namelist()
        if not n.startswith("__MACOSX") and not n.endswith("/")
    }
    with archive:
        yield lambda name: archive.open(names[name]) if name in names else None


def _read_rows(handle: IO[bytes], source: str, quarantine: list[dict[str, object]]) -> pd.DataFrame:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return pd.DataFrame(columns=[LINE])
    except csv.Error as exc:
        raise SourceError(f"{source} is not CSV text: {exc}") from None
    rows, lines = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # a blank line holds no row
        if len(row) != len(header):
            reason = f"wrong number of fields ({len(row)}, header has {len(header)})"
            quarantine.append(build_reject(source, reader.line_num, None, reason, ",".join(row)))
            continue
        rows.append([cell.strip() for cell in row])
        lines.append(reader.line_num)
    frame = (
        pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header)
    )
    frame[LINE] = np.asarray(lines, dtype=np.int64)
    frame.attrs["source"] = source
    return frame


def _reject(feed: CheckedFeed, name: str, bad: pd.Series, column: str | None, reason: str) -> None:
    """Move the rows of ``name`` where ``bad`` is true to quarantine."""
    frame = feed.tables[name]
    if not bad.any():
        return
    source = frame.attrs.get("source", f"{feed.source}/{name}.txt")
    columns = [c for c in frame.columns if c != LINE and not c.endswith("_s") and c != "_order"]
    rejected = frame.loc[bad]
    raws = rejected[columns].fillna("").astype(str).agg(",".join, axis=1)
    for line, raw in zip(rejected[LINE].tolist(), raws.tolist(), strict=True):
        feed.quarantine.append(build_reject(source, int(line), column, reason, raw))
    kept = frame[~bad].copy()
    kept.attrs = frame.attrs
    feed.tables[name] = kept


def _check(feed: CheckedFeed) -> None:
    for name, frame in list(feed.tables.items()):
        _check_fields(feed, name, frame)
    _check_references(feed)
    if "stop_times" in feed.tables:
        _check_order(feed)


def _check_fields(feed: CheckedFeed, name: str, frame: pd.DataFrame) -> None:
    for column in REQUIRED.get(name, ()):
        if column not in frame.columns:
            # Without the column no row is usable: all of them go, each with the reason.
            _reject(
                feed,
                name,
                pd.Series(True, index=frame.index),
                column,
                f"file has no {column} column",
            )
            return
        empty = feed.tables[name][column].fillna("").eq("")
        _reject(feed, name, empty, column, f"missing required field {column}")
    for (table, column), (low, high) in NUMBERS.items():
        if table == name and column in feed.tables[name].columns:
            _check_number(feed, name, column, low, high)
    for table, column in DATES:
        if table == name and column in feed.tables[name].columns:
            text = feed.tables[name][column].fillna("")
            parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
            _reject(feed, name, parsed.isna(), column, f"{column} is not a date (YYYYMMDD)")
    for table, column in TIMES:
        if table == name and column in feed.tables[name].columns:
            _check_time(feed, name, column)
    keys = KEYS.get(name)
    if keys and set(keys) <= set(feed.tables[name].columns):
        duplicated = feed.tables[name].duplicated(list(keys), keep="first")
        _reject(feed, name, duplicated, keys[-1], f"duplicate {', '.join(keys)}")


def _check_number(
    feed: CheckedFeed, name: str, column: str, low: float | None, high: float | None
) -> None:
    text = feed.tables[name][column].fillna("")
    value = pd.to_numeric(text, errors="coerce")
    filled = text.ne("")
    _reject(feed, name, filled & value.isna(), column, f"{column} is not a number")
    value = pd.to_numeric(feed.tables[name][column].fillna(""), errors="coerce")
    out = (low is not None and (value < low)) | (high is not None and (value > high))
    if isinstance(out, pd.Series):
        _reject(feed, name, out.fillna(False), column, f"{column} out of range")


def _check_time(feed: CheckedFeed, name: str, column: str) -> None:
    from urbanpulse.transit.schedule import read_time

    text = feed.tables[name][column].fillna("")
    seconds = text.map(lambda t: read_time(t) if t else np.nan).astype(float)
    _reject(feed, name, text.ne("") & seconds.isna(), column, f"{column} is not a time (H:MM:SS)")
    frame = feed.tables[name]
    frame[f"{column}_s"] = seconds.loc[frame.index]


def _known(feed: CheckedFeed, name: str, column: str) -> set[str]:
    frame = feed.get(name)
    return set() if frame is None or column not in frame else set(frame[column])


def _check_references(feed: CheckedFeed) -> None:
    stops = _known(feed, "stops", "stop_id")
    if "stops" in feed.tables and "parent_station" in feed.tables["stops"]:
        parent = feed.tables["stops"]["parent_station"].fillna("")
        _reject(
            feed,
            "stops",
            parent.ne("") & ~parent.isin(stops),
            "parent_station",
            "unknown parent_station",
        )
        stops = _known(feed, "stops", "stop_id")
    services = _known(feed, "calendar", "service_id") | _known(feed, "calendar_dates", "service_id")
    checks = [
        ("trips", "route_id", _known(feed, "routes", "route_id"), "unknown route"),
        ("trips", "service_id", services, "unknown service"),
    ]
    for name, column, known, reason in checks:
        if name in feed.tables and (known or column == "route_id"):
            _reject(feed, name, ~feed.tables[name][column].isin(known), column, reason)
    trips = _known(feed, "trips", "trip_id")
    for name, column, known, reason in [
        ("stop_times", "trip_id", trips, "unknown trip"),
        ("stop_times", "stop_id", stops, "unknown stop"),
        ("frequencies", "trip_id", trips, "unknown trip"),
        ("transfers", "from_stop_id", stops, "unknown stop"),
        ("transfers", "to_stop_id", stops, "unknown stop"),
    ]:
        if name in feed.tables and column in feed.tables[name]:
            _reject(feed, name, ~feed.tables[name][column].isin(known), column, reason)


def _check_order(feed: CheckedFeed) -> None:
    """Times must not go backwards along a trip; the rows that break the longest
    in-order run of a trip go to quarantine, and trips left without two timed stops."""
    times = feed.tables["stop_times"]
    for column in ("arrival_time_s", "departure_time_s"):
        if column not in times:
            times[column] = np.nan
    times["_order"] = pd.to_numeric(times["stop_sequence"], errors="coerce")
    times.sort_values(["trip_id", "_order"], inplace=True, kind="stable")
    arrive = times["arrival_time_s"].fillna(times["departure_time_s"])
    leave = times["departure_time_s"].fillna(times["arrival_time_s"])
    _reject(feed, "stop_times", arrive > leave, "departure_time", "departure before arrival")
    times = feed.tables["stop_times"]
    leave = times["departure_time_s"].fillna(times["arrival_time_s"])
    previous = leave.groupby(times["trip_id"]).shift()
    suspects = set(times.loc[leave < previous, "trip_id"])
    bad = pd.Series(False, index=times.index)
    for trip in suspects:
        rows = times.index[times["trip_id"] == trip]
        # Searched from the end, so a tie keeps the earlier stops (the trip's start).
        keep = _longest_in_order(-leave.loc[rows].to_numpy()[::-1])[::-1]
        bad.loc[rows[~keep & ~np.isnan(leave.loc[rows].to_numpy())]] = True
    _reject(feed, "stop_times", bad, "arrival_time", "time out of order within its trip")
    times = feed.tables["stop_times"]
    timed = times["departure_time_s"].notna() | times["arrival_time_s"].notna()
    ends = times.groupby("trip_id").cumcount().eq(0) | times["trip_id"].ne(
        times["trip_id"].shift(-1)
    )
    _reject(
        feed, "stop_times", ends & ~timed, "departure_time", "first or last stop without a time"
    )
    times = feed.tables["stop_times"]
    counts = times.groupby("trip_id")["trip_id"].transform("size")
    _reject(feed, "stop_times", counts < 2, "trip_id", "trip has fewer than two usable stops")


def _longest_in_order(values: np.ndarray) -> np.ndarray:
    """Mask of a longest non-decreasing run of the non-NaN ``values`` (NaN rows kept)."""
    import bisect

    index = [i for i, v in enumerate(values) if not np.isnan(v)]
    tails: list[float] = []
    tail_at: list[int] = []
    parent = [-1] * len(values)
    for i in index:
        spot = bisect.bisect_right(tails, values[i])
        if spot == len(tails):
            tails.append(values[i])
            tail_at.append(i)
        else:
            tails[spot], tail_at[spot] = values[i], i
        parent[i] = tail_at[spot - 1] if spot else -1
    keep = np.isnan(values)
    at = tail_at[-1] if tail_at else -1
    while at != -1:
        keep[at] = True
        at = parent[at]
    return keep
