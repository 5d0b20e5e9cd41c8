"""Sites: the stations, stops and sensors that observations belong to."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from pydantic import BaseModel, Field, field_validator

SITE_KINDS: frozenset[str] = frozenset(
    {
        "metro_station",
        "bus_stop",
        "rail_station",
        "road_sensor",
        "air_monitor",
        "counter",
        "other",
    }
)

# Sites where travellers board: what lines stop at, and what advice and search offer.
STATION_KINDS: tuple[str, ...] = ("metro_station", "bus_stop", "rail_station")

SITES_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("kind", pa.string()),
        ("name_zh", pa.string()),
        ("name_en", pa.string()),
        ("city_code", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("capacity", pa.float64()),
        ("attributes", pa.string()),  # JSON object of free attributes
        ("synthetic", pa.bool_()),
    ]
)


class Site(BaseModel):
    """A place that reports observations."""

    site_id: str = Field(min_length=1, max_length=128)
    kind: str = "other"
    name_zh: str | None = None
    name_en: str | None = None
    city_code: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    capacity: float | None = Field(default=None, ge=0)
    attributes: dict[str, Any] = Field(default_factory=dict)
    synthetic: bool = False

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        return check_site_kind(kind)


def check_site_kind(kind: str) -> str:
    """Return ``kind`` if it is a known site kind, else raise ValueError naming them."""
    if kind not in SITE_KINDS:
        raise ValueError(f"unknown site kind {kind!r}; use one of {sorted(SITE_KINDS)}")
    return kind


def build_sites_table(sites: list[Site]) -> pa.Table:
    """Build the lake's sites table from site models.

    Returns
    -------
    pyarrow.Table
        Columns: site_id, kind, name_zh, name_en, city_code, lat, lon, capacity,
        attributes (JSON text), synthetic.
    """
    import json

    rows = [s.model_dump() for s in sites]
    for row in rows:
        row["attributes"] = json.dumps(row["attributes"], ensure_ascii=False, sort_keys=True)
    return pa.Table.from_pylist(rows, schema=SITES_SCHEMA)
