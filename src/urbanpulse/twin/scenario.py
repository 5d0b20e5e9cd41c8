"""The demo's morning for the spreading simulation (urbanpulse.advise.simulation): the
busiest station of a demo line, its usual load and its trains' capacity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd
import pyarrow.compute as pc

from urbanpulse.advise.forecasts import compute_profile_forecast
from urbanpulse.advise.simulation import SIM_DAY, Scenario
from urbanpulse.advise.trips import LOCAL_TZ, build_trip
from urbanpulse.errors import InvalidQueryError
from urbanpulse.forecast.profiles import compute_profile, compute_profile_table
from urbanpulse.forecast.protocol import CalendarSpec
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine
from urbanpulse.twin.calendar import COUNTRY, TIMEZONE
from urbanpulse.twin.network import build_network
from urbanpulse.twin.observations import build_observations

# Minutes a simulated commuter rides in the crowd (the rest of the commute is on foot).
COMMUTE_RIDE_MINUTES = 30


def build_demo_scenario(
    *,
    seed: int = 2026,
    weeks: int = 2,
    lake: Lake | None = None,
    line_id: str = "bj-m1",
    demand: float = 1.0,
    engine: Engine | None = None,
) -> Scenario:
    """The demo city cluster's busiest station of ``line_id`` on a weekday morning.

    Without ``lake`` the demo observations are generated in memory (``weeks`` weeks);
    the train's capacity per period comes from the demo line (cars x trains).
    ``demand`` scales the usual load: above about 1.35 the usual peak no longer fits
    the trains, which is the morning where "no slot newly over capacity" means
    something. ``engine`` computes the profiles of a ``lake``. The demo keeps its own
    calendar (Beijing time, China's holidays), as its data was made on it.
    """
    calendar = CalendarSpec(tz=TIMEZONE, country=COUNTRY)

    network = build_network(seed)
    sites = network.sites.to_pandas()
    line = network.lines.set_index("line_id").loc[line_id]
    stations = sites[sites["site_id"].str.startswith(f"{line_id}-s")]["site_id"].tolist()
    profiles = _read_load_profiles(
        stations,
        seed=seed,
        weeks=weeks,
        lake=lake,
        network=network,
        calendar=calendar,
        engine=engine,
    )
    weekday = profiles[profiles["day_type"] == "weekday"]
    morning = weekday[weekday["period_start"].between(6 * 60, 10 * 60)]
    busiest = str(morning.loc[morning["mean"].idxmax(), "site_id"])
    nxt = stations[stations.index(busiest) + 1]
    slots = pd.date_range(
        f"{SIM_DAY} 06:00", f"{SIM_DAY} 11:00", freq="15min", tz=LOCAL_TZ, inclusive="left"
    )
    forecast = compute_profile_forecast(
        weekday[weekday["site_id"] == busiest].drop(columns="site_id"),
        busiest,
        slots,
        capacity=1.0,
        calendar=calendar,
    )
    capacity = float(line["vehicle_capacity"]) * 15.0 / float(line["peak_headway_min"])
    name = str(sites.set_index("site_id").at[busiest, "name_en"])
    # Commuters ride on past the busiest section: their minutes in the crowd are a
    # commute's, not one hop's (Beijing's mean one-way commute is about 47 minutes door
    # to door: CAUPD, 2021 China Commuting Monitoring Report).
    trip = replace(build_trip(sites, busiest, nxt), travel_minutes=COMMUTE_RIDE_MINUTES)
    background = forecast["load"].to_numpy() * demand
    return Scenario(busiest, name, trip, slots, background, capacity)


def _read_load_profiles(
    stations: Sequence[str],
    *,
    seed: int,
    weeks: int,
    lake: Lake | None,
    network: object,
    calendar: CalendarSpec,
    engine: Engine | None,
) -> pd.DataFrame:
    tz, country = calendar.tz, calendar.country
    if lake is not None:
        if engine is None:
            raise InvalidQueryError("profiles of a lake need an engine")
        parts = [
            compute_profile(lake, s, "load", tz=tz, country=country, engine=engine).assign(
                site_id=s
            )
            for s in stations
        ]
        return pd.concat(parts, ignore_index=True)
    table = build_observations(network, seed=seed, weeks=weeks)  # type: ignore[arg-type]
    table = table.filter(pc.equal(table["metric"], "load"))
    frame = table.filter(pc.is_in(table["site_id"], pc.cast(list(stations), "string"))).to_pandas()
    parts = [
        compute_profile_table(rows["ts"], rows["value"], tz=tz, country=country).assign(
            site_id=site
        )
        for site, rows in frame.groupby("site_id")
    ]
    return pd.concat(parts, ignore_index=True)
