"""The small published tables, read whole: sites, transit lines and stations,
indicators, provincial statistics and the public smart-card aggregates.

Observations are the one large table; they are paged and exported by the store
(:func:`urbanpulse.store.read_observation_page`), never read whole.
"""

from __future__ import annotations

import pandas as pd

from urbanpulse.errors import NotFoundError
from urbanpulse.indices.provinces import INDICATORS as PROVINCE_INDICATORS
from urbanpulse.indices.provinces import PROVINCES, read_province_indicators
from urbanpulse.privacy import read_public_counts, read_public_flows
from urbanpulse.store import Lake, read_indicators, read_sites
from urbanpulse.store.interface import INDICATORS_SCHEMA, get_arrow_schema
from urbanpulse.store.networks import read_line_summaries, read_station_summaries

OBSERVATION_COLUMNS = ("site_id", "metric", "ts", "value", "unit")
SITE_COLUMNS = (
    "site_id",
    "kind",
    "name_zh",
    "name_en",
    "city_code",
    "lat",
    "lon",
    "capacity",
    "attributes",
    "synthetic",
)
LINE_COLUMNS = (
    "network_id",
    "line_id",
    "direction",
    "name_zh",
    "name_en",
    "headsign",
    "mode",
    "color",
    "stations",
    "synthetic",
)
STATION_COLUMNS = ("site_id", "name_zh", "name_en", "city_code", "lat", "lon", "lines", "synthetic")
# As the lake stores them (the store's schemas, written once).
INDICATOR_COLUMNS = tuple(INDICATORS_SCHEMA.names)
COUNT_COLUMNS = tuple(get_arrow_schema("tap_counts").names)
FLOW_COLUMNS = ("origin_site_id", "destination_site_id", "date", "trips", "suppressed")


def read_table_of(lake: Lake, dataset_id: str) -> pd.DataFrame:
    """The whole table of a small dataset.

    Returns
    -------
    pandas.DataFrame
        The dataset's columns (``*_COLUMNS`` above); transit lines add ``path``, the
        [lon, lat] of their stations in running order (stations without coordinates
        left out) and ``licence``, for the geometry and the catalogue.
    """
    readers = {
        "sites": lambda: read_sites(lake),
        "transit-lines": lambda: read_line_summaries(lake),
        "transit-stations": lambda: read_station_summaries(lake),
        "indicators": lambda: _read_city_indicators(lake),
        "provincial-statistics": lambda: read_province_indicators(lake),
        "smartcard-station-counts": lambda: read_public_counts(lake),
        "smartcard-flows": lambda: _read_flows(lake),
    }
    if dataset_id not in readers:
        raise NotFoundError(f"no table dataset {dataset_id!r}")
    return readers[dataset_id]()


def _read_flows(lake: Lake) -> pd.DataFrame:
    flows = read_public_flows(lake)
    # DuckDB hands DATE to pandas as a timestamp; a flow's day is a date.
    flows["date"] = pd.to_datetime(flows["date"]).dt.date
    return flows


def _read_city_indicators(lake: Lake) -> pd.DataFrame:
    """Indicators other than the measured provincial statistics (their own dataset)."""
    table = read_indicators(lake)
    provincial = (
        table["indicator"].isin(list(PROVINCE_INDICATORS))
        & table["region_code"].isin(list(PROVINCES))
        & ~table["synthetic"].fillna(False).astype(bool)
    )
    return table[~provincial].reset_index(drop=True)
