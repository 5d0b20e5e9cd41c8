"""Observations of the demo city cluster: boardings, loads, traffic and air quality.

The generator works on dense (site, time) arrays: a site's peak level times the shape
of its kind of day, times rain, smog, incidents and surges, then count noise, then the
readings lost to dropouts are cut out. Metrics and units:

========== ============================= ================= ==========
metric     sites                         unit              step
========== ============================= ================= ==========
boardings  metro, bus and rail stations  passengers        5 min
load       metro stations, bus stops     share of capacity 5 min
load_up    metro stations, bus stops     share of capacity 5 min
load_down  metro stations, bus stops     share of capacity 5 min
flow       road sensors                  vehicles          5 min
speed      road sensors                  km/h              5 min
pm25       air monitors                  ug/m3             1 hour
no2        air monitors                  ug/m3             1 hour
========== ============================= ================= ==========

``load`` is the busier direction's; ``load_up`` and ``load_down`` are the trains leaving
a station towards the line's last station and towards its first. Mornings fill the
trains towards the middle of a line, evenings the trains away from it; off-peak and
at mid-line the two directions come closer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.signal import lfilter

from urbanpulse.twin.calendar import DAY_TYPES, TIMEZONE, build_calendar, get_period
from urbanpulse.twin.events import (
    build_dropouts,
    build_rain,
    build_road_incidents,
    build_smog,
    build_station_surges,
)
from urbanpulse.twin.lines import METRO_LINES
from urbanpulse.twin.network import Network, build_network
from urbanpulse.twin.profiles import (
    ROAD_ROLES,
    SLOTS_PER_DAY,
    TRANSIT_ROLES,
    build_air_shapes,
    build_road_shapes,
    build_transit_shapes,
)

OBSERVATION_COLUMNS = ["site_id", "metric", "ts", "value", "unit"]
UNITS = {
    "boardings": "passengers",
    "load": "share of capacity",
    "load_up": "share of capacity",
    "load_down": "share of capacity",
    "flow": "vehicles",
    "speed": "km/h",
    "pm25": "ug/m3",
    "no2": "ug/m3",
}
_TRANSIT_KINDS = ("metro_station", "bus_stop", "rail_station")
_RAIN_SENSITIVITY = {"metro_station": 0.06, "bus_stop": 0.18, "rail_station": 0.05}
_PEAK_DIRECTION_SHARE = 0.7  # of a station's boardings in the peak, toward the centre
# The quieter direction's load against the busier one's, at a line's ends: at the height
# of a workday's commute (0.3 / 0.7, as the shares above) and off-peak; mid-line the two
# are even. A loop line has no middle: its directions stay close all day.
_COUNTER_AT_COMMUTE = (1 - _PEAK_DIRECTION_SHARE) / _PEAK_DIRECTION_SHARE
_COUNTER_OFF_PEAK = 0.85
_LOOP_LEAN = 0.15
_LOOP_LINES = frozenset(spec.line_id for spec in METRO_LINES if spec.loop)
_LINE_PEAK_LOAD = {"110000": 1.05, "120000": 0.8, "130100": 0.65}
# A city bus at its busiest stop in the rush hour: standing, short of a crush.
_BUS_PEAK_LOAD = 0.9
# Stations whose departing vehicles' load the demo reports (a train's, a bus's).
_LOADED_KINDS = ("metro_station", "bus_stop")
# Autumn background levels (ug/m3) before smog; the south of Hebei breathes worst.
_PM25_BASE = {
    "110000": 30, "120000": 38, "130100": 48, "130200": 45, "130300": 30, "130400": 50,
    "130500": 50, "130600": 46, "130700": 20, "130800": 24, "130900": 42, "131000": 40,
    "131100": 46,
}  # fmt: skip
_NO2_BASE = {"110000": 38, "120000": 40, "130100": 42, "130200": 44}
_STEP_US = 5 * 60 * 1_000_000


@dataclass(frozen=True)
class _Series:
    """One metric at a set of sites: values (NaN where missing) on a regular grid."""

    site_ids: list[str]
    metric: str
    values: np.ndarray  # (sites, steps)
    step_us: int


@dataclass(frozen=True)
class _Frame:
    """The shared time frame of one generation run."""

    start_us: int
    day_types: np.ndarray  # index into DAY_TYPES, one per local day
    n_days: int
    rain: np.ndarray  # (cities, 5-minute steps)
    city_index: dict[str, int]

    @property
    def n_steps(self) -> int:
        return self.n_days * SLOTS_PER_DAY


def build_observations(
    network: Network | None = None, *, seed: int = 2026, weeks: int = 8, end: date | None = None
) -> pa.Table:
    """Generate the demo's observations, deterministic by ``seed``.

    Parameters
    ----------
    network
        The demo network (built with ``seed`` when not given).
    seed
        Seed of every random draw.
    weeks, end
        The span: ``weeks`` whole weeks of local days ending on ``end`` (inclusive).

    Returns
    -------
    pyarrow.Table
        Columns: site_id, metric, ts (UTC), value, unit; grouped by metric and site,
        in time order. Readings lost to dropouts are absent rows.
    """
    network = network or build_network(seed)
    frame = _build_frame(network, seed, *get_period(end, weeks))
    params = network.params
    series = _build_transit(params, frame, seed)
    series += _build_roads(params[params["kind"] == "road_sensor"], frame, seed)
    series += _build_air(params[params["kind"] == "air_monitor"], frame, seed)
    return _build_table(series, frame.start_us)


def _build_frame(network: Network, seed: int, first: date, last: date) -> _Frame:
    calendar = build_calendar(first, last)
    codes = sorted(network.params["city_code"].unique())
    day_types = calendar["day_type"].map({t: i for i, t in enumerate(DAY_TYPES)}).to_numpy()
    start = datetime.combine(first, time(0), tzinfo=ZoneInfo(TIMEZONE))
    start_us = int(pd.Timestamp(start).tz_convert("UTC").value // 1000)
    rain = build_rain(np.random.default_rng([seed, 2]), len(codes), len(calendar))
    return _Frame(start_us, day_types, len(calendar), rain, {c: i for i, c in enumerate(codes)})


def _build_transit(params: pd.DataFrame, frame: _Frame, seed: int) -> list[_Series]:
    rng = np.random.default_rng([seed, 3])
    sites = params[params["kind"].isin(_TRANSIT_KINDS)].reset_index(drop=True)
    roles = [_get_transit_role(row) for row in sites.itertuples()]
    shapes = build_transit_shapes()[[TRANSIT_ROLES.index(r) for r in roles]]
    lam = _spread_days(shapes, frame) * sites["level"].to_numpy()[:, None]
    lam *= np.repeat(
        rng.lognormal(0.0, 0.06, size=(len(sites), frame.n_days)), SLOTS_PER_DAY, axis=1
    )
    sensitivity = sites["kind"].map(_RAIN_SENSITIVITY).to_numpy()[:, None]
    lam *= 1.0 - sensitivity * frame.rain[_city_rows(sites, frame)]
    venues = np.flatnonzero(
        sites["role"].isin(["tour", "mix"]) & (sites["kind"] == "metro_station")
    )
    lam *= build_station_surges(rng, venues, len(sites), frame.n_steps)
    # Boarders beyond the room left on the trains wait: demand saturates at capacity.
    room = (sites["capacity"].to_numpy() / (3 * _PEAK_DIRECTION_SHARE) * 1.1)[:, None]
    lam = room * np.tanh(lam / room)
    boardings = rng.poisson(lam * rng.gamma(25.0, 1 / 25.0, size=lam.shape)).astype(float)
    ids = sites["site_id"].tolist()
    lost = build_dropouts(rng, len(sites), frame.n_steps, step_minutes=5)
    boardings[lost] = np.nan
    # Trains first, then buses: each kind's draws come in a fixed order.
    vehicles = np.concatenate([np.flatnonzero(sites["kind"] == kind) for kind in _LOADED_KINDS])
    load = np.concatenate(
        [
            _compute_load(sites.iloc[rows], lam[rows], rng)
            for kind in _LOADED_KINDS
            if len(rows := np.flatnonzero(sites["kind"] == kind))
        ]
    )
    load[lost[vehicles]] = np.nan
    up, down = _split_directions(sites.iloc[vehicles], load, frame, rng)
    loaded_ids = [ids[i] for i in vehicles]
    return [
        _Series(ids, "boardings", boardings, _STEP_US),
        _Series(loaded_ids, "load", load, _STEP_US),
        _Series(loaded_ids, "load_up", up, _STEP_US),
        _Series(loaded_ids, "load_down", down, _STEP_US),
    ]


def _get_transit_role(row: object) -> str:
    role = str(row.role)  # type: ignore[attr-defined]
    if row.kind != "rail_station" or role == "tour":  # type: ignore[attr-defined]
        return role
    return "rail_out" if row.city_code == "110000" else "rail_in"  # type: ignore[attr-defined]


def _compute_load(stations: pd.DataFrame, lam: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Occupancy of departing trains (or buses) in the busier direction, as a share of
    capacity.

    Trains fill toward the middle of a line, so a line's demand is spread over its
    stations by their position; a loop line is evenly loaded.
    """
    load = np.empty_like(lam)
    levels = stations["level"].to_numpy()
    for line_id in stations["line_id"].unique():
        rows = np.flatnonzero((stations["line_id"] == line_id).to_numpy())
        demand = lam[rows].sum(axis=0) / levels[rows].sum()
        n = len(rows)
        position = np.sin(np.pi * (np.arange(n) + 0.5) / n)
        centrality = np.full(n, 0.85) if line_id in _LOOP_LINES else 0.5 + 0.5 * position
        first = stations.iloc[rows[0]]
        peak = _LINE_PEAK_LOAD.get(str(first["city_code"]), 0.65)
        if first["kind"] == "bus_stop":
            peak = _BUS_PEAK_LOAD
        load[rows] = peak * centrality[:, None] * demand[None, :]
    load *= rng.lognormal(0.0, 0.05, size=load.shape)
    return np.round(np.clip(load, 0.0, 1.4), 3)


def _split_directions(
    stations: pd.DataFrame, load: np.ndarray, frame: _Frame, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(load_up, load_down): the busier direction carries ``load``, the other a share of
    it that is smallest at a line's ends in a workday's commute.

    Trains towards the middle of a line are the busier ones in the morning (before
    13:00), trains away from it in the afternoon and evening; on a loop line the busier
    direction is drawn per station and day.
    """
    hours = (np.arange(frame.n_steps) % SLOTS_PER_DAY) * (24 / SLOTS_PER_DAY)
    workday = np.repeat(frame.day_types == DAY_TYPES.index("workday"), SLOTS_PER_DAY)
    commute = np.maximum(_bump(hours, 8.0, 1.0), _bump(hours, 18.0, 1.2))
    commute *= np.where(workday, 1.0, 0.4)
    # How far the quieter direction falls below the busier one at a line's ends.
    dip = 1 - _COUNTER_OFF_PEAK + (_COUNTER_OFF_PEAK - _COUNTER_AT_COMMUTE) * commute
    morning = hours < 13
    up_busier = np.empty(load.shape, dtype=bool)
    lean = np.empty(len(stations))
    for line_id in stations["line_id"].unique():
        rows = np.flatnonzero((stations["line_id"] == line_id).to_numpy())
        if line_id in _LOOP_LINES:
            lean[rows] = _LOOP_LEAN
            days = rng.random((len(rows), frame.n_days)) < 0.5
            up_busier[rows] = np.repeat(days, SLOTS_PER_DAY, axis=1)
            continue
        middle = (np.arange(len(rows)) + 0.5) / len(rows)  # each station's place along the line
        lean[rows] = np.abs(2 * middle - 1)
        # Before mid-line, trains towards the last station run towards the middle.
        up_busier[rows] = (middle < 0.5)[:, None] == morning[None, :]
    counter = 1 - lean[:, None] * dip[None, :]
    counter *= rng.lognormal(0.0, 0.05, size=load.shape)
    quieter = np.round(load * np.clip(counter, 0.0, 1.0), 3)
    return np.where(up_busier, load, quieter), np.where(up_busier, quieter, load)


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


def _build_roads(params: pd.DataFrame, frame: _Frame, seed: int) -> list[_Series]:
    rng = np.random.default_rng([seed, 4])
    sites = params.reset_index(drop=True)
    shapes = build_road_shapes()[[ROAD_ROLES.index(r) for r in sites["role"]]]
    rain = frame.rain[_city_rows(sites, frame)]
    speed_hit, flow_hit = build_road_incidents(rng, len(sites), frame.n_steps)
    mean_flow = _spread_days(shapes, frame) * sites["level"].to_numpy()[:, None]
    mean_flow *= (1.0 - 0.08 * rain) * flow_hit
    flow = rng.poisson(mean_flow * rng.gamma(40.0, 1 / 40.0, size=mean_flow.shape)).astype(float)
    ratio = np.clip(mean_flow / sites["capacity"].to_numpy()[:, None], 0.0, 1.2)
    free = sites["free_flow_kmh"].to_numpy()[:, None]
    speed = free * (1.0 - 0.7 * ratio**2.5) * (1.0 - 0.18 * rain) * speed_hit
    speed *= rng.lognormal(0.0, 0.04, size=speed.shape)
    speed = np.round(np.clip(speed, 3.0, free * 1.15), 1)
    lost = build_dropouts(rng, len(sites), frame.n_steps, step_minutes=5)
    flow[lost], speed[lost] = np.nan, np.nan
    ids = sites["site_id"].tolist()
    return [_Series(ids, "flow", flow, _STEP_US), _Series(ids, "speed", speed, _STEP_US)]


def _build_air(params: pd.DataFrame, frame: _Frame, seed: int) -> list[_Series]:
    rng = np.random.default_rng([seed, 5])
    sites = params.reset_index(drop=True)
    n_hours = frame.n_days * 24
    rows = _city_rows(sites, frame)
    rain = frame.rain.reshape(len(frame.city_index), n_hours, 12).mean(axis=2)[rows]
    smog = build_smog(rng, sorted(frame.city_index), n_hours)[rows]
    pm_shape, no2_shape = build_air_shapes()
    hour = np.arange(n_hours) % 24
    codes = sites["city_code"]
    pm_base = (codes.map(_PM25_BASE).to_numpy() * sites["level"].to_numpy())[:, None]
    pm25 = (
        pm_base
        * pm_shape[hour]
        * smog
        * (1.0 - 0.5 * rain)
        * _red_noise(rng, len(sites), n_hours, 0.25)
    )
    # Fewer cars on days off: less NO2.
    traffic = np.repeat(np.where(frame.day_types == 0, 1.0, 0.82), 24)
    no2_base = codes.map(lambda c: _NO2_BASE.get(c, 34)).to_numpy()[:, None]
    no2 = no2_base * no2_shape[hour] * traffic * (1.0 + 0.35 * (smog - 1.0)) * (1.0 - 0.2 * rain)
    no2 *= _red_noise(rng, len(sites), n_hours, 0.18)
    pm25, no2 = np.round(pm25, 1), np.round(no2, 1)
    lost = build_dropouts(rng, len(sites), n_hours, step_minutes=60)
    pm25[lost], no2[lost] = np.nan, np.nan
    ids = sites["site_id"].tolist()
    return [_Series(ids, "pm25", pm25, 12 * _STEP_US), _Series(ids, "no2", no2, 12 * _STEP_US)]


def _red_noise(rng: np.random.Generator, n_sites: int, n_steps: int, sigma: float) -> np.ndarray:
    """Multiplicative noise that drifts from hour to hour (an AR(1) in logs)."""
    phi = 0.9
    shocks = rng.normal(0.0, sigma * np.sqrt(1 - phi**2), size=(n_sites, n_steps))
    return np.exp(lfilter([1.0], [1.0, -phi], shocks, axis=1))


def _spread_days(shapes: np.ndarray, frame: _Frame) -> np.ndarray:
    """(sites, day types, slots) shapes -> (sites, steps) following the calendar."""
    return shapes[:, frame.day_types, :].reshape(shapes.shape[0], -1)


def _city_rows(sites: pd.DataFrame, frame: _Frame) -> np.ndarray:
    return sites["city_code"].map(frame.city_index).to_numpy()


def _build_table(series: list[_Series], start_us: int) -> pa.Table:
    parts = []
    for s in series:
        n_sites, n_steps = s.values.shape
        flat = s.values.ravel()
        keep = ~np.isnan(flat)
        site_index = np.repeat(np.arange(n_sites, dtype=np.int32), n_steps)[keep]
        ts = np.tile(start_us + np.arange(n_steps, dtype=np.int64) * s.step_us, n_sites)[keep]
        n = int(keep.sum())
        parts.append(
            pa.table(
                {
                    "site_id": _decode(site_index, s.site_ids),
                    "metric": _decode(np.zeros(n, dtype=np.int32), [s.metric]),
                    "ts": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
                    "value": pa.array(flat[keep]),
                    "unit": _decode(np.zeros(n, dtype=np.int32), [UNITS[s.metric]]),
                }
            )
        )
    return pa.concat_tables(parts)


def _decode(indices: np.ndarray, labels: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(labels)).dictionary_decode()
