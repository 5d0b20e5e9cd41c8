"""The commuter page's map of stations to choose from, built on the server and drawn by
plotly.js: an ordinary lon/lat scatter (no map tiles are reachable offline), one trace
per line, clickable points that carry their station.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from urbanpulse.catalog.sites import STATION_KINDS
from urbanpulse.i18n import gettext as _
from urbanpulse.web.charts import _base_layout, _to_dict, lon_lat_axes

LINE_COLOURS = ("#c23a30", "#006098", "#008e9c", "#f2a900", "#a6217f", "#d29700", "#5b9b42")


def build_station_map_figure(
    sites: pd.DataFrame, lines: list[dict[str, Any]], *, city: str | None
) -> dict[str, Any]:
    """Stations on a lon/lat scatter to pick from: one trace per line (its stations in
    order), one for stations on no known line, and a last, empty trace for the chosen
    origin and destination, which the commuter page fills.

    ``sites`` needs site_id, kind, name_zh, name_en, lat, lon, city_code; ``lines`` are
    ``LinePublic`` dicts. Each point's ``customdata`` is [site_id, name_zh, name_en];
    each trace's ``meta`` is its city code, and only ``city``'s traces start visible.
    """
    where = sites[sites["kind"].isin(STATION_KINDS)].dropna(subset=["lat", "lon"])
    where = where.astype(object).where(where.notna(), None).set_index("site_id")
    fig = go.Figure()
    on_lines: set[str] = set()
    for number, line in enumerate(lines):
        ids = [s["site_id"] for s in line["stations"] if s["site_id"] in where.index]
        if line.get("loop") and ids:
            ids.append(ids[0])
        on_lines.update(ids)
        name = " ".join(n for n in (line.get("name_zh"), line.get("name_en")) if n)
        colour = LINE_COLOURS[number % len(LINE_COLOURS)]
        fig.add_trace(
            _station_trace(where.loc[ids], name, city, mode="lines+markers", colour=colour)
        )
    rest = where.loc[[i for i in where.index if i not in on_lines]]
    for _code, group in rest.groupby(rest["city_code"].fillna(""), sort=True):
        fig.add_trace(_station_trace(group, _("station"), city, mode="markers", colour="#5a6470"))
    fig.add_trace(
        go.Scatter(x=[], y=[], mode="markers+text", name="chosen", hoverinfo="skip",
                   textposition="top center", textfont={"size": 13, "color": "#1b1f24"},
                   marker={"size": 16, "symbol": "circle-open", "line": {"width": 3}})
    )  # fmt: skip
    focus = _get_city_extents(where, lines)
    shown = where[where["city_code"] == city] if city else where
    mid_lat = float(shown["lat"].astype(float).mean()) if len(shown) else 39.9
    start = focus.get(city or "")
    fig.update_layout(
        **_base_layout(height=440),
        showlegend=False,
        dragmode="pan",
        meta={"extents": focus},
        **lon_lat_axes(mid_lat, start),
    )
    return _to_dict(fig)


def _get_city_extents(where: pd.DataFrame, lines: list[dict[str, Any]]) -> dict[str, list[float]]:
    """[lon0, lon1, lat0, lat1] per city code around its metro and bus stations, padded:
    an intercity railway would otherwise shrink the city to a corner of the map."""
    rail = {s["site_id"] for line in lines if line.get("mode") == "rail" for s in line["stations"]}
    extents = {}
    for code, group in where.groupby(where["city_code"].fillna(""), sort=True):
        local = group[~group.index.isin(rail)]
        local = local if len(local) else group
        lon, lat = local["lon"].astype(float), local["lat"].astype(float)
        pad_lon = max(float(lon.max() - lon.min()) * 0.08, 0.01)
        pad_lat = max(float(lat.max() - lat.min()) * 0.08, 0.01)
        extents[str(code)] = [
            float(lon.min()) - pad_lon,
            float(lon.max()) + pad_lon,
            float(lat.min()) - pad_lat,
            float(lat.max()) + pad_lat,
        ]
    return extents


def _station_trace(
    rows: pd.DataFrame, name: str, city: str | None, *, mode: str, colour: str
) -> go.Scatter:
    labels = [" ".join(n for n in (r.name_zh, r.name_en) if n) for r in rows.itertuples()]
    code = rows["city_code"].iloc[0] if len(rows) else None
    return go.Scatter(
        x=rows["lon"].astype(float).tolist(),
        y=rows["lat"].astype(float).tolist(),
        mode=mode,
        name=name,
        meta=code or "",
        visible=city is None or code == city,
        line={"color": colour, "width": 2},
        marker={"size": 9, "color": "white", "line": {"color": colour, "width": 2}},
        text=labels,
        customdata=[
            [i, r.name_zh, r.name_en] for i, r in zip(rows.index, rows.itertuples(), strict=True)
        ],
        hovertemplate=f"%{{text}}<br>{name}<br>{_('click to choose')}<extra></extra>",
    )
