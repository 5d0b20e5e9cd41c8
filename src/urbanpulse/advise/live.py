"""Crowding now: every line section coloured by the latest readings in the lake.

A *section* is the stretch between two consecutive stations of a line (a loop line
also runs from its last station back to its first). Its crowding is the load of the
trains on it against their rated capacity, read from the stations' newest readings:

* ``load_up`` / ``load_down`` (trains leaving the station in the direction of rising
  or falling sequence): a section then has one value per direction, read at the station
  the trains leave;
* ``load`` (the busier direction, as the demo twin writes it), or else GTFS-Realtime's
  ``occupancy_percentage`` at the stop: one value for both directions, the mean of the
  readings at the section's two ends.

Lines of transit networks (GTFS feeds: ``line_stops``) run one stop pattern per
direction; their sections carry that direction and the reading at the stop the trains
leave.

Loads are classified in the four levels of the Beijing Subway's live crowding view
(:data:`CROWDING_LEVELS`, the one place their thresholds are kept). A section whose
newest reading is older than ``settings.live_stale_after_s`` is *stale*: its colour
shows the last known level, and the pages say since when the feed has been silent.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from urbanpulse.advise.lines import build_lines, read_line_stops
from urbanpulse.advise.trips import read_stations
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, read_sites
from urbanpulse.store.engines import get_engine
from urbanpulse.store.interface import Engine

# Metrics read, in order of preference: the direction of the trains each describes and
# the factor that makes it a share of rated capacity.
LOAD_METRICS = {
    "load": ("both", 1.0),
    "occupancy_percentage": ("both", 0.01),
    "load_up": ("up", 1.0),
    "load_down": ("down", 1.0),
}
# How far back the newest reading of a station is looked for: older ones are history,
# not "now", and only the lake's last two months are scanned for them.
LOOKBACK = timedelta(days=2)
# How long one computed snapshot of now serves every open stream.
SNAPSHOT_TTL_SECONDS = 0.5

SECTION_COLUMNS = [
    "line_id",
    "direction",
    "position",
    "from_site_id",
    "to_site_id",
    "load",
    "level",
    "ts",
    "stale",
]


@dataclass(frozen=True, slots=True)
class CrowdingLevel:
    """One level of the live view: loads from ``min_load`` up to (not incl.) ``max_load``."""

    level: str
    name_en: str
    name_zh: str
    min_load: float
    max_load: float | None
    colour: str


# Load is the share of a train's rated capacity (seats and 6 standing passengers per
# square metre, as GB 50157 rates metro cars and the twin counts). Below half of it
# passengers find room to stand freely; from 0.8 standing is close; from 1.0 the train
# is over its rated load. Colours: green, gold, brown-orange and near-black red as load
# grows, chosen by search so that each stands out from white (WCAG 2.2 non-text
# contrast 3:1 or more: 4.0, 3.4, 6.5, 14.4) and every two stay apart for normal vision
# and under full deuteranopia, protanopia and tritanopia (CAM02-UCS distance 18 or more
# in Machado et al. 2009's simulation; the Beijing Subway's green-yellow-orange-red fell
# to 8.5 there and its yellow to 2.3:1): tests/advise/test_live_colours.py recomputes
# both. The pages add a pattern per level (live.css), so colour is never the only cue.
CROWDING_LEVELS: tuple[CrowdingLevel, ...] = (
    CrowdingLevel("comfortable", "comfortable", "舒适", 0.0, 0.5, "#0b8f76"),
    CrowdingLevel("normal", "normal", "正常", 0.5, 0.8, "#a68a12"),
    CrowdingLevel("crowded", "crowded", "拥挤", 0.8, 1.0, "#924a19"),
    CrowdingLevel("very_crowded", "very crowded", "严重拥挤", 1.0, None, "#5b0306"),
)
LEVEL_NAMES = tuple(level.level for level in CROWDING_LEVELS)
_THRESHOLDS = np.array([level.min_load for level in CROWDING_LEVELS[1:]])


def get_level(load: float | None) -> str | None:
    """The level name of a load (share of rated capacity); None when it is unknown."""
    if load is None or not math.isfinite(load):
        return None
    return LEVEL_NAMES[int(np.searchsorted(_THRESHOLDS, max(load, 0.0), side="right"))]


def read_latest_readings(
    lake: Lake, engine: Engine, *, site_ids: list[str] | None = None
) -> pd.DataFrame:
    """Each station's newest reading of each load metric, from the lake's last months,
    read by ``engine``.

    Returns
    -------
    pandas.DataFrame
        Columns: site_id, metric, value, ts (UTC); one row per site and metric.
    """
    found = engine.read_newest_values(
        lake, list(LOAD_METRICS), lookback=LOOKBACK, site_ids=site_ids
    ).to_pandas()
    return found.assign(ts=pd.to_datetime(found["ts"], utc=True))


def compute_sections(
    stations: pd.DataFrame,
    readings: pd.DataFrame,
    *,
    now: datetime,
    stale_after: timedelta,
) -> pd.DataFrame:
    """Crowding now on every section of every line with a load reading.

    Parameters
    ----------
    stations
        Stations on lines, as :func:`urbanpulse.advise.trips.read_stations` returns them,
        and with a ``direction`` the stops of networks' lines (:func:`read_line_stops`).
    readings
        Newest readings, as :func:`read_latest_readings` returns them.
    now
        The moment readings are judged against (tz-aware).
    stale_after
        A section is stale when its reading is older than this.

    Returns
    -------
    pandas.DataFrame
        Columns: line_id, direction ('up', 'down', 'both' or a network line's own
        direction), position (order along the
        line, from 0), from_site_id, to_site_id, load (share of rated capacity, NaN
        without a reading), level (a name of :data:`CROWDING_LEVELS`, None without a
        reading), ts (UTC time of the oldest reading used, NaT without one), stale.
        Lines without any reading are left out.
    """
    values: dict[tuple[str, str], tuple[float, pd.Timestamp]] = {}
    preference = list(LOAD_METRICS)
    for row in sorted(readings.itertuples(), key=lambda r: preference.index(str(r.metric))):
        direction, factor = LOAD_METRICS[str(row.metric)]
        key = (str(row.site_id), direction)
        if key not in values:
            values[key] = (float(row.value) * factor, pd.Timestamp(row.ts))
    rows: list[dict[str, Any]] = []
    if "direction" not in stations.columns:
        stations = stations.assign(direction=None)
    ordered = stations.assign(direction=stations["direction"].fillna("")).sort_values("sequence")
    for (line_id, pattern), line in ordered.groupby(["line_id", "direction"], sort=True):
        ids = [str(s) for s in line["site_id"]]
        if not any((s, d) in values for s in ids for d in ("both", "up", "down")):
            continue
        pairs = list(itertools.pairwise(ids))
        if bool(line["loop"].iloc[0]) and len(ids) > 2:
            pairs.append((ids[-1], ids[0]))
        directed = any((s, d) in values for s in ids for d in ("up", "down"))
        for position, (a, b) in enumerate(pairs):
            if pattern:  # a network's stop pattern: trains leave a for b
                rows.append(_section(line_id, pattern, position, a, b, [values.get((a, "both"))]))
            elif directed:
                rows.append(_section(line_id, "up", position, a, b, [values.get((a, "up"))]))
                rows.append(_section(line_id, "down", position, b, a, [values.get((b, "down"))]))
            else:
                ends = [values.get((a, "both")), values.get((b, "both"))]
                rows.append(_section(line_id, "both", position, a, b, ends))
    frame = pd.DataFrame(rows, columns=SECTION_COLUMNS[:-1])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    cutoff = pd.Timestamp(now).tz_convert("UTC") - stale_after
    frame["stale"] = ~(frame["ts"] >= cutoff)  # no reading at all is stale too
    return frame[SECTION_COLUMNS]


def _section(
    line_id: Any,
    direction: str,
    position: int,
    start: str,
    end: str,
    readings: list[tuple[float, pd.Timestamp] | None],
) -> dict[str, Any]:
    found = [r for r in readings if r is not None]
    load = float(np.mean([r[0] for r in found])) if found else math.nan
    return {
        "line_id": str(line_id),
        "direction": direction,
        "position": position,
        "from_site_id": start,
        "to_site_id": end,
        "load": load,
        "level": get_level(load),
        "ts": min(r[1] for r in found) if found else pd.NaT,
    }


@dataclass(frozen=True, slots=True)
class _LakeState:
    version: int
    stations: pd.DataFrame
    readings: pd.DataFrame
    lines: list[dict[str, Any]]
    synthetic: bool


class LiveCrowding:
    """Crowding now over one lake: readings cached per lake version, staleness per call.

    Built once per app; :meth:`get_snapshot` is what ``/api/live/sections`` answers and
    what ``/api/live/stream`` pushes whenever :meth:`get_fingerprint` changes.
    """

    def __init__(self, lake: Lake, settings: Settings) -> None:
        self.lake = lake
        self.settings = settings
        self.engine = get_engine(settings)  # the store's engine the settings name
        self.stale_after = timedelta(seconds=settings.live_stale_after_s)
        self._lock = threading.Lock()
        self._cached: _LakeState | None = None
        self._recent: tuple[float, dict[str, Any]] | None = None

    def _read(self) -> _LakeState:
        """What the view needs from the lake, read again only when its version changed."""
        version = self.lake.version
        with self._lock:
            if self._cached is None or self._cached.version != version:
                sites = read_sites(self.lake)
                lines = build_lines(sites, self.settings)
                stops, network_lines = read_line_stops(
                    self.lake, sites, known={line["line_id"] for line in lines}
                )
                stations = pd.concat(
                    [read_stations(sites).assign(direction=None), stops], ignore_index=True
                )
                self._cached = _LakeState(
                    version=version,
                    stations=stations,
                    readings=read_latest_readings(
                        self.lake, self.engine, site_ids=list(stations["site_id"])
                    ),
                    lines=lines + network_lines,
                    synthetic=bool(sites["synthetic"].fillna(False).any()),
                )
            return self._cached

    def get_sections(self, *, now: datetime | None = None) -> tuple[int, pd.DataFrame]:
        """(lake version, :func:`compute_sections` table) as of ``now`` (default: now)."""
        state = self._read()
        moment = now or datetime.now(UTC)
        sections = compute_sections(
            state.stations, state.readings, now=moment, stale_after=self.stale_after
        )
        return state.version, sections

    def get_fingerprint(self, *, now: datetime | None = None) -> tuple[int, int]:
        """Changes exactly when a snapshot would: (lake version, number of stale sections)."""
        version, sections = self.get_sections(now=now)
        return version, int(sections["stale"].sum())

    def get_current_snapshot(self) -> dict[str, Any]:
        """:meth:`get_snapshot` of now, shared for ``SNAPSHOT_TTL_SECONDS``: every open
        stream asks each second, and they all get the one computed snapshot."""
        with self._lock:
            recent = self._recent
        if recent is not None and time.monotonic() - recent[0] < SNAPSHOT_TTL_SECONDS:
            return recent[1]
        snapshot = self.get_snapshot()
        with self._lock:
            self._recent = (time.monotonic(), snapshot)
        return snapshot

    def get_snapshot(self, *, now: datetime | None = None) -> dict[str, Any]:
        """The live view as one JSON-ready dict (``LiveSectionsPublic``)."""
        moment = now or datetime.now(UTC)
        state = self._read()
        sections = compute_sections(
            state.stations, state.readings, now=moment, stale_after=self.stale_after
        )
        return build_snapshot(
            sections,
            state.lines,
            version=state.version,
            now=moment,
            stale_after=self.stale_after,
            tz=ZoneInfo(self.settings.local_timezone),
            synthetic=state.synthetic,
        )


def build_snapshot(
    sections: pd.DataFrame,
    lines: list[dict[str, Any]],
    *,
    version: int,
    now: datetime,
    stale_after: timedelta,
    tz: ZoneInfo,
    synthetic: bool,
) -> dict[str, Any]:
    """Sections grouped by line with station names, the levels, and the feed's state.

    The feed is stale when every section with a reading is stale; ``stale_since`` is
    then its newest reading (the moment it fell silent).
    """
    by_line = {line["line_id"]: line for line in lines}
    last = sections["ts"].max() if len(sections) else pd.NaT
    fresh = sections[~sections["stale"]]
    stale = bool(len(sections)) and fresh.empty
    out_lines = []
    for line_id, rows in sections.groupby("line_id", sort=True):
        line = by_line.get(line_id, {"line_id": line_id, "stations": []})
        out_lines.append(
            {
                "line_id": line_id,
                "name_zh": line.get("name_zh"),
                "name_en": line.get("name_en") or line_id,
                "mode": line.get("mode"),
                "city_code": line.get("city_code"),
                "city_name_en": line.get("city_name_en"),
                "city_name_zh": line.get("city_name_zh"),
                "loop": bool(line.get("loop", False)),
                "stations": [
                    {k: s.get(k) for k in ("site_id", "name_zh", "name_en")}
                    for s in line["stations"]
                ],
                "sections": [_section_public(row, tz) for row in rows.itertuples()],
            }
        )
    return {
        "synthetic": synthetic,
        "version": version,
        "generated_at": _iso(pd.Timestamp(now), tz),
        "last_reading": _iso(last, tz),
        "stale": stale,
        "stale_since": _iso(last, tz) if stale else None,
        "stale_after_s": stale_after.total_seconds(),
        "stale_sections": int(sections["stale"].sum()),
        "levels": [
            {
                "level": level.level,
                "name_en": level.name_en,
                "name_zh": level.name_zh,
                "min_load": level.min_load,
                "max_load": level.max_load,
                "colour": level.colour,
            }
            for level in CROWDING_LEVELS
        ],
        "lines": out_lines,
    }


def _section_public(row: Any, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "from_site_id": row.from_site_id,
        "to_site_id": row.to_site_id,
        "direction": row.direction,
        "position": int(row.position),
        "load": None if math.isnan(row.load) else round(float(row.load), 3),
        "level": row.level,
        "ts": _iso(row.ts, tz),
        "stale": bool(row.stale),
    }


def _iso(moment: Any, tz: ZoneInfo) -> str | None:
    """ISO 8601 in the region's local time (the offset says which), None for NaT."""
    if moment is None or pd.isna(moment):
        return None
    return pd.Timestamp(moment).tz_convert(tz).isoformat(timespec="seconds")
