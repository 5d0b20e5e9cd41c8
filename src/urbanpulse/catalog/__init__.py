"""What exists and where: the region's cities and the sites that report data."""

from __future__ import annotations

from urbanpulse.catalog.cities import (
    OUTLINES_SOURCE,
    City,
    get_cities,
    get_cities_table,
    get_city,
    get_city_outlines,
)
from urbanpulse.catalog.sites import SITE_KINDS, STATION_KINDS, Site, build_sites_table

__all__ = [
    "OUTLINES_SOURCE",
    "SITE_KINDS",
    "STATION_KINDS",
    "City",
    "Site",
    "build_sites_table",
    "get_cities",
    "get_cities_table",
    "get_city",
    "get_city_outlines",
]
