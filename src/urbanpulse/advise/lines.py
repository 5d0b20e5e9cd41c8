"""Lines with their stations in running order, as the pickers and ``/api/lines`` show them."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from urbanpulse.advise.trips import read_stations
from urbanpulse.catalog import get_city
from urbanpulse.errors import NotFoundError
from urbanpulse.settings import Settings


def build_lines(sites: pd.DataFrame, settings: Settings) -> list[dict[str, Any]]:
    """Lines with their stations in order (``LinePublic`` dicts), sorted by line id."""
    stations = read_stations(sites)
    extra = sites.set_index("site_id")[["name_zh", "city_code", "attributes"]]
    lines = []
    for line_id, rows in stations.sort_values("sequence").groupby("line_id", sort=True):
        first = extra.loc[rows["site_id"].iloc[0]]
        attrs = json.loads(first["attributes"]) if isinstance(first["attributes"], str) else {}
        city = _find_city(first["city_code"], settings.region)
        lines.append(
            {
                "line_id": str(line_id),
                "name_zh": attrs.get("line_name_zh"),
                "name_en": attrs.get("line_name_en") or str(line_id),
                "mode": attrs.get("mode"),
                "city_code": first["city_code"],
                "city_name_zh": city.name_zh if city else None,
                "city_name_en": city.name_en if city else None,
                "loop": bool(rows["loop"].iloc[0]),
                "stations": [_station(row, extra) for row in rows.itertuples()],
            }
        )
    return lines


def _station(row: Any, extra: pd.DataFrame) -> dict[str, Any]:
    capacity = None if pd.isna(row.capacity) else float(row.capacity)
    return {
        "site_id": row.site_id,
        "name_zh": extra.at[row.site_id, "name_zh"],
        "name_en": row.name_en,
        "sequence": int(row.sequence),
        "minutes_to_next": None if pd.isna(row.minutes_to_next) else int(row.minutes_to_next),
        "capacity": capacity,
    }


def _find_city(code: Any, region: str) -> Any:
    if not isinstance(code, str) or not code:
        return None
    try:
        return get_city(code, region)
    except NotFoundError:
        return None
