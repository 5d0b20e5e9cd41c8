"""Lines with their stations in running order, as the pickers and ``/api/lines`` show them."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from urbanpulse.advise.trips import read_stations
from urbanpulse.catalog import get_city
from urbanpulse.errors import NotFoundError
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.networks import read_network_table


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


def read_line_stops(
    lake: Lake, sites: pd.DataFrame, *, known: set[str]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The stops of the lake's transit networks' lines (those not in ``known``), and
    those lines as ``LinePublic``-like dicts with their stations' names.

    Returns
    -------
    tuple
        A table with the columns site_id, line_id, sequence, direction, loop; and the
        lines, sorted by line id.
    """
    stops = read_network_table(lake, "line_stops").to_pandas()
    stops = stops[~stops["line_id"].isin(known)]
    if stops.empty:
        return pd.DataFrame(columns=["site_id", "line_id", "sequence", "direction", "loop"]), []
    info = read_network_table(lake, "lines").to_pandas()
    info = info[info["line_id"].isin(set(stops["line_id"]))]
    loops = info.set_index(["line_id", "direction"])["loop"].fillna(False).astype(bool)
    keys = pd.MultiIndex.from_frame(stops[["line_id", "direction"]])
    stops = stops.assign(
        direction=stops["direction"].astype(str),
        loop=loops.reindex(keys).fillna(False).to_numpy(bool),
    )
    names = sites.set_index("site_id")
    lines = []
    for line_id, rows in info.groupby("line_id", sort=True):
        first = rows.iloc[0]
        ids = list(
            dict.fromkeys(
                stops.loc[stops["line_id"] == line_id].sort_values(["direction", "sequence"])[
                    "site_id"
                ]
            )
        )
        lines.append(
            {
                "line_id": str(line_id),
                "name_zh": _text(first["name_zh"]),
                "name_en": _text(first["name_en"]) or str(line_id),
                "mode": _text(first["mode"]),
                "city_code": _text(names["city_code"].get(ids[0])) if ids else None,
                "loop": bool(rows["loop"].fillna(False).any()),
                "stations": [
                    {
                        "site_id": site_id,
                        "name_zh": _text(names["name_zh"].get(site_id)),
                        "name_en": _text(names["name_en"].get(site_id)),
                        "sequence": sequence,
                    }
                    for sequence, site_id in enumerate(ids)
                ],
            }
        )
    return stops[["site_id", "line_id", "sequence", "direction", "loop"]], lines


def _text(value: Any) -> str | None:
    """A name for JSON: None for a missing one (pandas gives NaN)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
