"""What a loader builds before it is stored: a network's tables, sites and rejected rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from urbanpulse.catalog.sites import Site, build_sites_table
from urbanpulse.store.networks import NETWORK_TABLES, get_network_schema
from urbanpulse.store.quarantine import build_reject
from urbanpulse.transit.schedule import compute_station_capacity

CAPACITY_UNIT = "passengers per 15 min per direction (scheduled peak)"

__all__ = ["NetworkBuild", "build_reject"]


@dataclass
class NetworkBuild:
    """One network ready to store.

    ``tables`` maps names of ``NETWORK_TABLES`` to frames with those tables' columns
    (network_id is filled in when stored); ``quarantine`` holds one dict per rejected
    source row (source, line, column_name, reason, raw); ``missing`` names what the
    source lacks; ``notes`` say what was assumed.
    """

    tables: dict[str, pd.DataFrame]
    sites: list[Site]
    quarantine: list[dict[str, object]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def get_arrow_tables(self) -> dict[str, pa.Table]:
        """The tables as Arrow with the lake's schemas (network_id left empty)."""
        out: dict[str, pa.Table] = {}
        for name in NETWORK_TABLES:
            schema = get_network_schema(name)
            frame = self.tables.get(name, pd.DataFrame())
            columns = {
                f.name: pa.array(_values(frame, f.name), type=f.type)
                for f in schema
                if f.name != "network_id"
            }
            out[name] = pa.table(columns)
        return out

    def get_sites_table(self) -> pa.Table:
        """The sites as the lake's sites table; a station without a capacity of its own
        gets its scheduled peak capacity per direction (see ``compute_station_capacity``),
        so ridership ingested for it can be read as crowding."""
        capacity = compute_station_capacity(
            self.tables.get("line_stops", pd.DataFrame()),
            self.tables.get("line_service", pd.DataFrame()),
        )
        sites = [
            site.model_copy(
                update={
                    "capacity": float(capacity[site.site_id]),
                    "attributes": {**site.attributes, "capacity_unit": CAPACITY_UNIT},
                }
            )
            if site.capacity is None and site.site_id in capacity.index
            else site
            for site in self.sites
        ]
        return build_sites_table(sites)


def _values(frame: pd.DataFrame, column: str) -> list[Any]:
    if column not in frame.columns:
        return [None] * len(frame)
    return [None if _is_missing(v) else v for v in frame[column].tolist()]


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False  # lists and other containers are values
