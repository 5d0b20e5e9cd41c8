"""Plotly figures for the pages, built on the server and drawn by plotly.js.

Figures are returned as plain dicts (``{"data": [...], "layout": {...}}``) so the
templates only embed JSON. No map tiles are reachable offline, so the map is an
ordinary lon/lat scatter with equal distances on both axes.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from urbanpulse.i18n import gettext as _

KIND_COLOURS = {
    "metro_station": "#d62728",
    "bus_stop": "#ff7f0e",
    "rail_station": "#9467bd",
    "road_sensor": "#1f77b4",
    "air_monitor": "#2ca02c",
    "counter": "#8c564b",
    "other": "#7f7f7f",
}
DAY_TYPE_COLOURS = {"weekday": "#1f77b4", "weekend": "#ff7f0e", "holiday": "#2ca02c"}
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', sans-serif"}


def build_map_figure(cities: pd.DataFrame, sites: pd.DataFrame) -> dict[str, Any]:
    """Cities as labelled markers sized by population, sites coloured by kind.

    ``cities`` needs code, name_zh, name_en, lat, lon, population_2020; ``sites`` needs
    site_id, kind, name_zh, name_en, lat, lon. Site points carry their page URL in
    ``customdata`` so a click can open it.
    """
    # Cities first, so that site points are drawn (and hovered, clicked) above them.
    fig = go.Figure(_city_trace(cities))
    for kind, group in sites.dropna(subset=["lat", "lon"]).groupby("kind", sort=True):
        names = (group["name_en"].fillna(group["site_id"]) + " " + group["name_zh"].fillna("")).map(
            _as_text
        )
        fig.add_trace(
            go.Scatter(
                x=group["lon"].tolist(),
                y=group["lat"].tolist(),
                mode="markers",
                name=_as_text(_(str(kind).replace("_", " "))),
                marker={"size": 7, "color": KIND_COLOURS.get(str(kind), "#7f7f7f")},
                text=names.tolist(),
                customdata=[f"/sites/{s}" for s in group["site_id"]],
                hovertemplate="%{text}<br>" + _(str(kind).replace("_", " ")) + "<extra></extra>",
            )
        )
    mid_lat = float(cities["lat"].mean()) if len(cities) else 39.0
    fig.update_layout(
        **_base_layout(height=600),
        **lon_lat_axes(mid_lat),
        legend={"orientation": "h", "y": -0.15},
    )
    return _to_dict(fig)


def _city_trace(cities: pd.DataFrame) -> go.Scatter:
    population = cities["population_2020"].astype(float)
    labels = cities["name_zh"] + " " + cities["name_en"]
    return go.Scatter(
        x=cities["lon"].tolist(),
        y=cities["lat"].tolist(),
        mode="markers+text",
        name=_("city (size: population)"),
        text=labels.tolist(),
        textposition="top center",
        customdata=[f"{int(p):,}" for p in population],
        # Area, not radius, proportional to population, so Beijing does not swamp Hebei.
        marker={
            "size": (np.sqrt(population / population.max()) * 40).round(1).tolist(),
            "color": "rgba(60, 60, 60, 0.25)",
            "line": {"color": "#333", "width": 1},
        },
        hovertemplate="%{text}<br>" + _("population 2020: %{customdata}") + "<extra></extra>",
    )


def build_profile_figure(
    profile: pd.DataFrame, *, metric: str, unit: str | None, period_minutes: int | None = None
) -> dict[str, Any]:
    """Mean by period of day with the p50-p90 band, one colour per day type.

    ``profile`` has the columns of :func:`urbanpulse.forecast.profiles.compute_profile`:
    statistics of single readings within each period, not the period's total, which the
    axis and hover say (a 5-minute count in an hourly profile is not boardings per hour).
    """
    per = _("{n}-min period").format(n=period_minutes) if period_minutes else _("period")
    fig = go.Figure()
    for day_type, group in profile.groupby("day_type", sort=False):
        colour = DAY_TYPE_COLOURS.get(str(day_type), "#7f7f7f")
        labels = group["period_label"].tolist()
        common = {"x": labels, "legendgroup": str(day_type), "mode": "lines"}
        fig.add_trace(
            go.Scatter(
                **common,
                y=group["p50"].tolist(),
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                **common,
                y=group["p90"].tolist(),
                line={"width": 0},
                fill="tonexty",
                fillcolor=_transparent(colour),
                name=f"{_(str(day_type))} p50–p90",
                showlegend=False,
                hovertemplate=_("%{x} p90 of a reading %{y:.1f}") + "<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                **common,
                y=group["mean"].tolist(),
                line={"color": colour, "width": 2},
                name=_(str(day_type)),
                hovertemplate=_("%{x} mean reading %{y:.1f}")
                + f"<extra>{_(str(day_type))}</extra>",
            )
        )
    fig.update_layout(
        **_base_layout(height=440, top=40),
        xaxis={"title": {"text": _("Period of day (local time)")}, "nticks": 12},
        yaxis={
            "title": {
                "text": _("{quantity}, mean reading per {period}").format(
                    quantity=_axis_label(metric, unit), period=per
                )
            },
            "rangemode": "tozero",
        },
        # Above the plot: below it, the legend collides with rotated ticks on phones.
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return _to_dict(fig)


def build_recent_figure(
    observations: pd.DataFrame, *, metric: str, unit: str | None, tz: str
) -> dict[str, Any]:
    """The latest observations of a metric as a line over local time."""
    local = pd.DatetimeIndex(observations["ts"]).tz_convert(tz).tz_localize(None)
    fig = go.Figure(
        go.Scatter(
            x=[t.isoformat() for t in local],
            y=observations["value"].tolist(),
            mode="lines",
            name=_(metric.replace("_", " ")),
            line={"color": "#1f77b4", "width": 1.5},
            hovertemplate="%{x|%Y-%m-%d %H:%M} %{y:.1f}<extra></extra>",
        )
    )
    fig.update_layout(
        **_base_layout(height=340),
        # Numeric dates: plotly.js would name the months in English on a Chinese page.
        xaxis={
            "title": {"text": _("Time ({tz})").format(tz=tz)},
            "type": "date",
            "tickformat": "%m-%d",
        },
        yaxis={"title": {"text": _axis_label(metric, unit)}, "rangemode": "tozero"},
        showlegend=False,
    )
    return _to_dict(fig)


def lon_lat_axes(mid_lat: float, extent: list[float] | None = None) -> dict[str, Any]:
    """Longitude and latitude axes drawn to one scale at ``mid_lat``, showing ``extent``
    (west, east, south, north) first where it is given."""
    x_range = {"range": extent[:2]} if extent else {}
    y_range = {"range": extent[2:]} if extent else {}
    return {
        # constrain="domain": keep equal scales by shrinking the plot, not padding the range.
        "xaxis": {"title": {"text": _("Longitude (°E)")}, "zeroline": False,
                  "constrain": "domain", **x_range},
        # One degree of longitude is cos(latitude) as long as one of latitude.
        "yaxis": {"title": {"text": _("Latitude (°N)")}, "zeroline": False,
                  "constrain": "domain", "scaleanchor": "x",
                  "scaleratio": 1 / math.cos(math.radians(mid_lat)), **y_range},
    }  # fmt: skip


def _base_layout(*, height: int, top: int = 16) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 56, "r": 12, "t": top, "b": 48},
        "font": _FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "#f7f7f7",
        "hovermode": "closest",
    }


def _axis_label(metric: str, unit: str | None) -> str:
    name = _as_text(_(metric.replace("_", " ")))
    return f"{name} ({_as_text(_(unit))})" if unit else name


def _as_text(text: str) -> str:
    """Text from data for a chart label: plotly.js reads labels as a subset of HTML, so
    markup in a stored unit or name is escaped to be shown, not obeyed."""
    return html.escape(text, quote=False)


def _transparent(hex_colour: str, alpha: float = 0.2) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _to_dict(fig: go.Figure) -> dict[str, Any]:
    # Through plotly's own encoder: it knows numpy, dates and plotly.js's typed arrays.
    figure: dict[str, Any] = json.loads(fig.to_json())
    return figure
