"""Daily shapes: how busy a station, road or monitor is at each 5-minute slot of a day.

Every shape is a sum of bell curves over the local hour, so peaks can be read off the
code: a workday at a residential station boards most at 7:55, a business station at
18:10; a weekend has one broad hump in the afternoon. Shapes are relative to the
site's peak level, which the network sets.
"""

from __future__ import annotations

import numpy as np

from urbanpulse.twin.calendar import DAY_TYPES

SLOTS_PER_DAY = 288  # 5-minute steps
HOURS = (np.arange(SLOTS_PER_DAY) * 5 + 2.5) / 60.0  # middle of each slot, local time
TRANSIT_ROLES: tuple[str, ...] = ("res", "biz", "mix", "hub", "tour", "rail_out", "rail_in")
ROAD_ROLES: tuple[str, ...] = ("res", "mix", "tour")

# Weekend and holiday demand at each role, against the shared weekend shape.
_WEEKEND_FACTOR = {"res": 0.9, "biz": 0.7, "mix": 0.9, "hub": 1.0, "tour": 1.6}
_HOLIDAY_FACTOR = {"res": 0.65, "biz": 0.45, "mix": 0.7, "hub": 1.2, "tour": 2.1}


def bump(center: float, width: float) -> np.ndarray:
    """A bell curve over the day's slots, 1 at ``center`` (local hour)."""
    return np.exp(-0.5 * ((HOURS - center) / width) ** 2)


def build_transit_shapes() -> np.ndarray:
    """Boardings shapes of stations and stops.

    Returns
    -------
    numpy.ndarray
        Shape (len(TRANSIT_ROLES), len(DAY_TYPES), SLOTS_PER_DAY); 0 outside service
        hours (5:00-23:30 for metro and bus, 6:00-22:30 for the intercity railway).
    """
    out = np.zeros((len(TRANSIT_ROLES), len(DAY_TYPES), SLOTS_PER_DAY))
    weekend = 0.06 + 0.15 * bump(9.0, 1.5) + 0.45 * bump(14.5, 3.0) + 0.15 * bump(19.0, 1.5)
    workday = {
        "res": 0.08 + 1.00 * bump(7.9, 0.75) + 0.35 * bump(18.3, 1.0) + 0.2 * bump(12.5, 2.5),
        "biz": 0.08 + 0.35 * bump(8.3, 0.7) + 1.00 * bump(18.2, 0.9) + 0.2 * bump(12.5, 2.5),
        "mix": 0.08 + 0.80 * bump(8.0, 0.75) + 0.80 * bump(18.2, 0.95) + 0.2 * bump(12.5, 2.5),
        "hub": 0.10 + 0.85 * bump(8.0, 0.8) + 0.90 * bump(18.0, 1.0) + 0.3 * bump(12.5, 3.0),
        "tour": 0.08 + 0.50 * bump(8.1, 0.8) + 0.50 * bump(18.0, 1.0) + 0.35 * bump(13.0, 2.5),
    }
    for r, role in enumerate(TRANSIT_ROLES[:5]):
        out[r] = [workday[role], _WEEKEND_FACTOR[role] * weekend, _HOLIDAY_FACTOR[role] * weekend]
    # The intercity railway: commuters on workdays; on days off, people leave Beijing
    # for the mountains in the morning and come back from Zhangjiakou in the afternoon.
    commute = 0.15 + 0.6 * bump(7.8, 1.0) + 0.6 * bump(18.0, 1.2)
    leaving = 0.15 + 0.9 * bump(8.5, 1.5) + 0.4 * bump(17.0, 2.0)
    returning = 0.15 + 0.4 * bump(9.0, 1.5) + 0.9 * bump(16.0, 2.0)
    out[5] = [commute, leaving, 1.7 * leaving]
    out[6] = [commute, returning, 1.7 * returning]
    metro_hours = (HOURS >= 5.0) & (HOURS < 23.5)
    rail_hours = (HOURS >= 6.0) & (HOURS < 22.5)
    out[:5] *= metro_hours
    out[5:] *= rail_hours
    return out


def build_road_shapes() -> np.ndarray:
    """Traffic flow shapes of road sensors, as a share of the sensor's peak flow.

    Returns
    -------
    numpy.ndarray
        Shape (len(ROAD_ROLES), len(DAY_TYPES), SLOTS_PER_DAY).
    """
    awake = _sigmoid((HOURS - 5.8) / 0.5) * _sigmoid((23.0 - HOURS) / 0.9)
    urban = 0.95 * bump(8.0, 1.0) + 0.90 * bump(18.0, 1.2) + 0.55 * bump(13.0, 3.5)
    express = 0.90 * bump(8.2, 1.3) + 0.85 * bump(17.8, 1.5) + 0.6 * bump(13.0, 4.0)
    weekend = 0.3 * bump(10.0, 2.0) + 0.65 * bump(15.0, 3.5)
    outbound = 0.85 * bump(9.0, 1.8) + 0.75 * bump(16.5, 2.2)  # day trips to the hills
    out = np.empty((len(ROAD_ROLES), len(DAY_TYPES), SLOTS_PER_DAY))
    out[0] = [express, 0.9 * weekend, 0.8 * weekend]
    out[1] = [urban, 0.85 * weekend, 0.75 * weekend]
    out[2] = [0.8 * express, outbound, 1.3 * outbound]
    return 0.06 + awake * np.minimum(out, 1.0)


def build_air_shapes() -> tuple[np.ndarray, np.ndarray]:
    """Hourly shapes of PM2.5 (night-time build-up) and NO2 (traffic double peak).

    Returns
    -------
    tuple of numpy.ndarray
        (pm25, no2), each of shape (24,), mean about 1.
    """
    hours = np.arange(24) + 0.5
    pm25 = 1.0 + 0.25 * np.cos(2 * np.pi * (hours - 23.0) / 24.0)
    no2 = 0.7 + 0.45 * np.exp(-0.5 * ((hours - 8.5) / 1.5) ** 2)
    no2 = no2 + 0.6 * np.exp(-0.5 * ((hours - 20.0) / 2.5) ** 2)
    return pm25 / pm25.mean(), no2 / no2.mean()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
