"""The built-in catalogue of the Beijing-Tianjin-Hebei (Jing-Jin-Ji) city cluster.

Populations are the 2020 census figures; coordinates are the city government seats.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import pandas as pd

from urbanpulse.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class City:
    """One prefecture-level (or provincial-level) city of the region."""

    code: str
    name_zh: str
    name_en: str
    area: str  # "BJ", "TJ" or "HE": the three areas whose gaps the monitor tracks
    lat: float
    lon: float
    population_2020: int


_JINGJINJI: tuple[City, ...] = (
    City("110000", "北京", "Beijing", "BJ", 39.9042, 116.4074, 21_893_095),
    City("120000", "天津", "Tianjin", "TJ", 39.0842, 117.2010, 13_866_009),
    City("130100", "石家庄", "Shijiazhuang", "HE", 38.0428, 114.5149, 11_235_086),
    City("130200", "唐山", "Tangshan", "HE", 39.6305, 118.1802, 7_717_983),
    City("130300", "秦皇岛", "Qinhuangdao", "HE", 39.9354, 119.5996, 3_136_879),
    City("130400", "邯郸", "Handan", "HE", 36.6256, 114.5391, 9_413_990),
    City("130500", "邢台", "Xingtai", "HE", 37.0706, 114.5044, 7_111_106),
    City("130600", "保定", "Baoding", "HE", 38.8739, 115.4646, 9_242_610),
    City("130700", "张家口", "Zhangjiakou", "HE", 40.7676, 114.8863, 4_118_908),
    City("130800", "承德", "Chengde", "HE", 40.9515, 117.9634, 3_354_444),
    City("130900", "沧州", "Cangzhou", "HE", 38.3044, 116.8388, 7_300_783),
    City("131000", "廊坊", "Langfang", "HE", 39.5380, 116.6838, 5_464_087),
    City("131100", "衡水", "Hengshui", "HE", 37.7389, 115.6706, 4_212_933),
)

_REGIONS: dict[str, tuple[City, ...]] = {"jingjinji": _JINGJINJI}


def get_cities(region: str = "jingjinji") -> list[City]:
    """Return the cities of a built-in region, largest first as catalogued."""
    try:
        return list(_REGIONS[region])
    except KeyError:
        known = ", ".join(sorted(_REGIONS))
        raise NotFoundError(f"unknown region {region!r}; known regions: {known}") from None


def get_city(code_or_name: str, region: str = "jingjinji") -> City:
    """Find a city by administrative code, English name or Chinese name."""
    wanted = code_or_name.strip().casefold()
    for city in get_cities(region):
        if wanted in (city.code, city.name_en.casefold(), city.name_zh):
            return city
    raise NotFoundError(f"no city {code_or_name!r} in region {region!r}")


def get_cities_table(region: str = "jingjinji") -> pd.DataFrame:
    """Return the region's cities as a table.

    Returns
    -------
    pandas.DataFrame
        Columns: code, name_zh, name_en, area, lat, lon, population_2020.
    """
    rows = [
        {
            "code": c.code,
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "area": c.area,
            "lat": c.lat,
            "lon": c.lon,
            "population_2020": c.population_2020,
        }
        for c in get_cities(region)
    ]
    return pd.DataFrame(rows)


# Where the outlines come from, for the pages that draw them (scripts/boundaries.py).
OUTLINES_SOURCE = "Apache ECharts 4.9.0 map data, Apache-2.0"


@cache
def _read_outlines() -> dict[str, Any]:
    text = files("urbanpulse.catalog").joinpath("boundaries.json").read_text(encoding="utf-8")
    return {f["properties"]["code"]: f["geometry"] for f in json.loads(text)["features"]}


def get_city_outlines(codes: Iterable[str]) -> dict[str, list[list[list[float]]]]:
    """Outer rings ([lon, lat] points) of the cities' outlines, for those of ``codes``
    the product has one of (the Jing-Jin-Ji cities; simplified to about 500 m: they show
    where a city lies, not its legal border)."""
    outlines = _read_outlines()
    rings = {}
    for code in codes:
        geometry = outlines.get(code)
        if geometry is None:
            continue
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        rings[code] = [polygon[0] for polygon in polygons]
    return rings
