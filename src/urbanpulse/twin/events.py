"""What disturbs the regular days: rain, smog episodes, incidents, surges and dropouts.

Each function draws its events from its own random generator and returns a dense
multiplier or mask over (site or city, time), so the generator applies them with one
array operation. Loops run over events (a few hundred), never over time steps.
"""

from __future__ import annotations

import numpy as np

from urbanpulse.twin.profiles import SLOTS_PER_DAY

# How strongly the regional smog reaches each city: the south of Hebei gets the worst.
SMOG_EXPOSURE = {
    "110000": 1.0, "120000": 1.0, "130100": 1.3, "130200": 1.1, "130300": 0.6,
    "130400": 1.3, "130500": 1.35, "130600": 1.25, "130700": 0.4, "130800": 0.5,
    "130900": 1.0, "131000": 1.05, "131100": 1.2,
}  # fmt: skip


def build_rain(rng: np.random.Generator, n_cities: int, n_days: int) -> np.ndarray:
    """Rain intensity (0 dry .. 1 downpour) per city and 5-minute slot.

    A rainy day is a regional weather system: it reaches most cities, for a few hours.

    Returns
    -------
    numpy.ndarray
        Shape (n_cities, n_days * SLOTS_PER_DAY).
    """
    rain = np.zeros((n_cities, n_days * SLOTS_PER_DAY))
    for day in np.flatnonzero(rng.random(n_days) < 0.16):
        start = day * SLOTS_PER_DAY + int(rng.integers(0, 20 * 12))
        length = int(rng.integers(3 * 12, 12 * 12))
        strength = rng.uniform(0.3, 1.0)
        reached = rng.random(n_cities) < 0.8
        rain[reached, start : start + length] = (
            strength * rng.uniform(0.7, 1.0, size=reached.sum())[:, None]
        )
    return rain


def build_smog(rng: np.random.Generator, city_codes: list[str], n_hours: int) -> np.ndarray:
    """Regional smog multiplier of PM2.5 per city and hour (1 on clean days).

    Episodes build up over two to four days of still air and end within hours when a
    cold front comes through, as they do on the North China Plain.

    Returns
    -------
    numpy.ndarray
        Shape (len(city_codes), n_hours).
    """
    exposure = np.array([SMOG_EXPOSURE.get(c, 1.0) for c in city_codes])[:, None]
    level = np.zeros(n_hours)
    n_episodes = max(1, round(n_hours / 24 / 16))
    for start in np.sort(rng.integers(0, max(1, n_hours - 48), size=n_episodes)):
        build = int(rng.integers(48, 96))
        peak = np.log(rng.uniform(2.5, 4.5))
        ramp = np.linspace(0.0, peak, build)
        clear = np.linspace(peak, 0.0, int(rng.integers(4, 10)))
        shape = np.concatenate([ramp, clear])[: n_hours - start]
        level[start : start + len(shape)] = np.maximum(level[start : start + len(shape)], shape)
    return np.exp(level[None, :] * exposure)


def build_road_incidents(
    rng: np.random.Generator, n_sites: int, n_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers of speed and flow at road sensors during incidents.

    Returns
    -------
    tuple of numpy.ndarray
        (speed_factor, flow_factor), each of shape (n_sites, n_steps).
    """
    speed = np.ones((n_sites, n_steps))
    flow = np.ones((n_sites, n_steps))
    weeks = n_steps / (7 * SLOTS_PER_DAY)
    for site in range(n_sites):
        for _ in range(rng.poisson(0.5 * weeks)):
            day = int(rng.integers(0, n_steps // SLOTS_PER_DAY))
            start = day * SLOTS_PER_DAY + int(rng.integers(6 * 12, 21 * 12))
            length = int(rng.integers(4, 25))
            speed[site, start : start + length] *= rng.uniform(0.25, 0.6)
            flow[site, start : start + length] *= rng.uniform(0.5, 0.75)
            # The queue released afterwards passes the sensor in a burst.
            flow[site, start + length : start + length + 6] *= 1.2
    return speed, flow


def build_station_surges(
    rng: np.random.Generator, candidates: np.ndarray, n_sites: int, n_steps: int
) -> np.ndarray:
    """Boardings multiplier for local surges (a concert or match letting out).

    ``candidates`` are the indices of stations near venues, where surges happen.

    Returns
    -------
    numpy.ndarray
        Shape (n_sites, n_steps).
    """
    factor = np.ones((n_sites, n_steps))
    n_days = n_steps // SLOTS_PER_DAY
    if len(candidates) == 0:
        return factor
    for _ in range(rng.poisson(0.5 * n_days)):
        site = int(rng.choice(candidates))
        start = int(rng.integers(0, n_days)) * SLOTS_PER_DAY + int(rng.integers(20 * 12, 22 * 12))
        length = int(rng.integers(9, 16))
        factor[site, start : start + length] *= rng.uniform(2.0, 3.5)
    return factor


def build_dropouts(
    rng: np.random.Generator, n_sites: int, n_steps: int, *, step_minutes: int
) -> np.ndarray:
    """Mask of readings lost to sensor dropouts (True: the reading is missing).

    Most gaps last minutes to hours; now and then a sensor is dark for a day or two.

    Returns
    -------
    numpy.ndarray
        Boolean, shape (n_sites, n_steps).
    """
    lost = rng.random((n_sites, n_steps)) < 0.0008
    weeks = n_steps * step_minutes / (7 * 24 * 60)
    for site in range(n_sites):
        for _ in range(rng.poisson(0.25 * weeks)):
            minutes = float(np.clip(rng.lognormal(np.log(60.0), 1.2), 10.0, 36 * 60.0))
            length = max(1, int(minutes / step_minutes))
            start = int(rng.integers(0, max(1, n_steps - length)))
            lost[site, start : start + length] = True
    return lost
