"""Counts and flows derived from taps, and their public (k-suppressed) versions.

Two derived tables, both computed by the store over the pseudonymised taps
(urbanpulse.store.taps):

station counts
    Metro entries and exits per station and period (``period_minutes``, in local time).
origin-destination flows
    Trips per origin and destination station and local date: each metro entry matched
    to the same pseudonym's next metro tap when that tap is an exit within
    ``MAX_TRIP_MINUTES``. Pseudonyms link only within a key period (a month), so a
    trip across midnight at a month's end is not matched; that is the privacy design.

The unsuppressed versions (``compute_*``) are for operational users with access to
detail; the lake stores and publishes only the suppressed ones (``read_public_*``).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from urbanpulse.privacy.suppression import suppress_small_cells
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine
from urbanpulse.store.queries import read_rows

# A metro tap-out more than three hours after a tap-in is a missed tap, not a trip.
MAX_TRIP_MINUTES = 180


def compute_public_counts(counts: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """Station counts with cells below ``k`` suppressed.

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`compute_station_counts` plus ``suppressed``; ``taps`` is null
        where suppressed.
    """
    return suppress_small_cells(counts, "taps", k=k)


def compute_public_flows(flows: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """Flows with cells below ``k`` suppressed.

    Returns
    -------
    pandas.DataFrame
        Columns origin_site_id, destination_site_id, date, trips (null where
        suppressed), suppressed.
    """
    return suppress_small_cells(flows, "trips", k=k)


def read_public_counts(
    lake: Lake,
    *,
    site_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """The published station counts (suppressed below k when they were computed).

    Returns
    -------
    pandas.DataFrame
        Columns site_id, station, period_start, period_minutes, direction, taps (null
        where suppressed), suppressed.
    """
    return read_rows(
        lake,
        "tap_counts",
        ("site_id", "=", site_id),
        ("period_start", ">=", start),
        ("period_start", "<", end),
    )


def read_public_flows(lake: Lake, *, on: date | None = None) -> pd.DataFrame:
    """The published origin-destination flows (suppressed below k).

    Returns
    -------
    pandas.DataFrame
        Columns origin_site_id, destination_site_id, date, trips (null where
        suppressed), suppressed.
    """
    return read_rows(lake, "tap_flows", ("date", "=", on))


def compute_tap_counts(
    lake: Lake, *, engine: Engine, period_minutes: int, timezone: str
) -> pd.DataFrame:
    """Unsuppressed station counts straight from the stored taps (operational detail),
    counted by ``engine``.

    Returns
    -------
    pandas.DataFrame
        Columns of :func:`urbanpulse.store.taps.compute_station_counts`.
    """
    counts = engine.count_station_taps(lake, period_minutes=period_minutes, tz=timezone)
    return counts.to_pandas()
