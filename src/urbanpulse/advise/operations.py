"""What an operator reads of one line on one day: every station's load by period (a line x
time grid), the same weekday a week before, and where the load left its predicted band.

The prediction is the one the operator's accuracy chart shows: the day forecast from
the days before it only (:meth:`AdviceService.get_past_forecast`), so an alert says
"this was not what the history led us to expect", never "the model saw it coming".
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from urbanpulse.advise.lines import read_line_stops
from urbanpulse.catalog.metrics import is_count
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.forecast import compute_panel
from urbanpulse.i18n import N_, get_local_names
from urbanpulse.i18n import gettext as _
from urbanpulse.store import get_metrics, read_site_metrics

if TYPE_CHECKING:
    from urbanpulse.advise.service import AdviceService

PERIOD_MINUTES = 15
# What a line's grid can show, where its stations report it: the load of the trains (the
# busier direction, or each direction of travel along the line), riders boarding, and
# the taps at the gates of a station (in: entries, out: exits, i.e. alightings).
LineMetric = Literal["load", "load_up", "load_down", "boardings", "entries", "exits"]
LINE_METRICS: tuple[str, ...] = get_args(LineMetric)
# An alert is a run of periods on the same side of the 80 % band: one period outside is
# what an 80 % band leaves to chance one time in five; half an hour is a pattern.
MIN_ALERT_PERIODS = 2
# ... and beyond it by half its width (past p90 + 0.5 x (p90 - p10), about the 99.5th
# percentile of a normal error): a band missed by a hair is no news to a control room.
ALERT_MARGIN = 0.5
# ... and by a tenth of the edge's own value: a calm night's narrow band, missed by one
# rider in ten thousand, is not news either.
ALERT_MIN_SHARE = 0.1


@dataclass(frozen=True)
class BandAlert:
    """Periods ``first``..``last`` (indexes) where the load stayed ``side`` the band."""

    first: int
    last: int
    side: str  # 'above' (busier than expected) or 'below'
    extreme: float  # the observed value furthest outside
    edge: float  # the band's edge at that period
    excess: float  # summed distance outside the band over the run


def find_band_alerts(
    observed: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    min_periods: int = MIN_ALERT_PERIODS,
    margin: float = ALERT_MARGIN,
    min_share: float = ALERT_MIN_SHARE,
) -> list[BandAlert]:
    """Runs of at least ``min_periods`` consecutive periods whose observed value lies
    beyond ``high`` (or ``low``) by more than ``margin`` times the band's width there and
    by more than ``min_share`` of the edge's value; periods without an observation or a
    band end a run. Largest summed excess first."""
    observed, low, high = (np.asarray(a, dtype=float) for a in (observed, low, high))
    width = margin * np.maximum(high - low, 0.0)
    above = observed > high + np.maximum(width, min_share * np.abs(high))
    below = observed < low - np.maximum(width, min_share * np.abs(low))
    side = np.where(above, 1, np.where(below, -1, 0))
    side = np.where(np.isfinite(observed) & np.isfinite(low) & np.isfinite(high), side, 0)
    alerts, start = [], 0
    for k in range(1, len(side) + 1):
        if k < len(side) and side[k] == side[start]:
            continue
        if side[start] != 0 and k - start >= min_periods:
            alerts.append(_describe_run(observed, low, high, start, k - 1, int(side[start])))
        start = k
    return sorted(alerts, key=lambda a: -a.excess)


def _describe_run(
    observed: np.ndarray, low: np.ndarray, high: np.ndarray, first: int, last: int, sign: int
) -> BandAlert:
    run = slice(first, last + 1)
    edge = high[run] if sign > 0 else low[run]
    distance = (observed[run] - edge) * sign
    worst = int(np.argmax(distance))
    return BandAlert(
        first=first,
        last=last,
        side="above" if sign > 0 else "below",
        extreme=float(observed[run][worst]),
        edge=float(edge[worst]),
        excess=float(distance.sum()),
    )


def get_readings_per_period(observed: pd.DataFrame) -> float:
    """Readings in one period: the period over the usual spacing of the readings
    (5-minute counts: 3 per 15 minutes); 1 when it cannot be told."""
    spacing = pd.DatetimeIndex(observed["ts"]).sort_values().to_series().diff().dropna()
    spacing = spacing[spacing > pd.Timedelta(0)]
    if spacing.empty:
        return 1.0
    minutes = spacing.median().total_seconds() / 60
    return max(1.0, PERIOD_MINUTES / minutes) if minutes > 0 else 1.0


def get_line_metric(service: AdviceService, line: dict[str, Any]) -> str:
    """What a line's crowding is read from: a metro's load, else riders boarding, else
    the first measure of :data:`LINE_METRICS` its stations report (gate entries where
    the only counts are smart-card taps)."""
    kinds = service.get_sites().set_index("site_id")["kind"]
    first = line["stations"][0]["site_id"] if line["stations"] else None
    preferred = "load" if first is not None and kinds.get(first) == "metro_station" else "boardings"
    reported = get_line_metrics(service, line)
    return preferred if preferred in reported or not reported else reported[0]


def list_grid_lines(service: AdviceService) -> list[dict[str, Any]]:
    """Lines the operator's grid lays out (``LinePublic``-like dicts): the stations'
    own lines, and the lines of the lake's networks whose stations report a measure of
    :data:`LINE_METRICS` (a station list placing smart-card taps' stations on their
    lines, an interchange on each), sorted by line id within each."""

    def build() -> list[dict[str, Any]]:
        lines = service.get_lines()
        _, network_lines = read_line_stops(
            service.lake, service.get_sites(), known={line["line_id"] for line in lines}
        )
        stored = [m for m in LINE_METRICS if m in get_metrics(service.lake)]
        sites = sorted({s["site_id"] for line in network_lines for s in line["stations"]})
        if not stored or not sites:
            return lines
        reporting = set(read_site_metrics(service.lake, sites, metrics=stored)["site_id"])
        return lines + [
            line
            for line in network_lines
            if any(s["site_id"] in reporting for s in line["stations"])
        ]

    return service.cached("grid-lines", build=build)


def get_line_metrics(service: AdviceService, line: dict[str, Any]) -> list[str]:
    """The metrics of :data:`LINE_METRICS` that any station of ``line`` reports, in that
    order: what the operator's line grid can show of it (read once per lake version,
    not once per day and measure asked for)."""

    def build() -> list[str]:
        stored = [m for m in LINE_METRICS if m in get_metrics(service.lake)]
        if not stored or not line["stations"]:
            return []
        sites = [s["site_id"] for s in line["stations"]]
        reported = set(read_site_metrics(service.lake, sites, metrics=stored)["metric"])
        return [m for m in stored if m in reported]

    return service.cached("line-metrics", line["line_id"], build=build)


def get_grid_line(service: AdviceService, line_id: str) -> dict[str, Any]:
    """A line of :func:`list_grid_lines` by id; NotFoundError for an unknown one."""
    line = next((x for x in list_grid_lines(service) if x["line_id"] == line_id), None)
    if line is None:
        raise NotFoundError(f"unknown line {line_id!r}")
    return line


def get_opening_day(
    service: AdviceService, line: dict[str, Any], metric: str | None = None
) -> date:
    """The day a line's grid opens on: the last full day of the lake's data, or, where
    the line has no ``metric`` readings that day (default: its crowding metric), the
    newest day it has (a lake of one morning's smart-card taps has no full day).

    Raises
    ------
    NotFoundError
        Neither the lake nor the line holds a reading.
    """
    metric = metric or get_line_metric(service, line)

    def build() -> tuple[date, date] | None:
        sites = [s["site_id"] for s in line["stations"]]
        found = read_site_metrics(service.lake, sites, metrics=[metric]) if sites else None
        if found is None or found.empty:
            return None
        first, last = (
            pd.Timestamp(value).tz_convert(service.tz).date()
            for value in (found["first_ts"].min(), found["last_ts"].max())
        )
        return first, last

    span = service.cached("line-span", line["line_id"], metric, build=build)
    try:
        full = service.get_last_full_day()
    except NotFoundError:
        if span is None:
            raise
        return span[1]
    return full if span is None or span[0] <= full <= span[1] else span[1]


def get_site_crowding_metric(service: AdviceService, site_id: str, kind: str) -> str:
    """What a site's crowding is read from: a metro station's load, else riders
    boarding, else the first crowding count it reports (gate entries of smart-card
    taps); the preferred one when it reports none."""
    preferred = "load" if kind == "metro_station" else "boardings"
    order = [preferred, *(m for m in LINE_METRICS if m != preferred)]

    def build() -> str:  # a scan of the site's metrics, once per lake version
        stored = [m for m in order if m in get_metrics(service.lake)]
        if not stored:
            return preferred
        reported = set(read_site_metrics(service.lake, [site_id], metrics=stored)["metric"])
        return next((m for m in order if m in reported), preferred)

    return service.cached("site-crowding-metric", site_id, kind, build=build)


def compute_line_day(
    service: AdviceService, line_id: str, day: date | None, metric: str | None = None
) -> dict[str, Any]:
    """The line x time grid of ``metric`` (default: the line's crowding metric, see
    :func:`get_line_metric`) on ``day`` (default: :func:`get_opening_day`) with the same
    weekday a week before and the band alerts of every station (fields of
    ``LineDayPublic``).

    Raises
    ------
    NotFoundError
        An unknown line, or no observations of its stations on ``day``.
    InvalidQueryError
        A ``metric`` the line's stations do not report.
    """
    line = get_grid_line(service, line_id)
    metrics = get_line_metrics(service, line)
    if metric is None:
        metric = get_line_metric(service, line)
    elif metric not in metrics:
        raise InvalidQueryError(
            N_("line {line_id!r} has no {metric!r} readings; it has: {known}",
               line_id=line_id, metric=metric, known=", ".join(metrics) or "none")
        )  # fmt: skip
    day = day or get_opening_day(service, line, metric)
    sites = [s["site_id"] for s in line["stations"]]
    periods = pd.date_range(
        datetime.combine(day, datetime.min.time(), service.tz),
        periods=24 * 60 // PERIOD_MINUTES, freq=f"{PERIOD_MINUTES}min",
    )  # fmt: skip
    grid, unit, scale = _read_grid(service, metric, sites, periods)
    if not np.isfinite(grid).any():
        raise NotFoundError(f"no {metric!r} observations on line {line_id!r} on {day}")
    week_before = periods - pd.Timedelta(days=7)
    last_week, _, _ = _read_grid(service, metric, sites, week_before, scale=scale)
    alerts = []
    for row, site_id in enumerate(sites):
        forecast = service.get_past_forecast(site_id, metric, day)
        if forecast is None:
            continue
        band = forecast.set_index(pd.DatetimeIndex(forecast["ts"])).reindex(periods)
        low, high = (band[c].to_numpy(float) * scale for c in ("p10", "p90"))
        for alert in find_band_alerts(grid[row], low, high):
            alerts.append(_alert_record(site_id, alert, periods))
    alerts.sort(key=lambda a: -a["excess"])
    summed = is_count(metric)
    return {
        "line_id": line_id,
        "day": day.isoformat(),
        "compare_day": (day - timedelta(days=7)).isoformat(),
        "metric": metric,
        "metrics": metrics,
        "unit": unit,
        "aggregation": "sum" if summed else "mean",
        "period_minutes": PERIOD_MINUTES,
        "synthetic": service.is_synthetic(),
        "stations": [
            {k: s[k] for k in ("site_id", "name_zh", "name_en", "sequence")}
            for s in line["stations"]
        ],
        "periods": [p.isoformat() for p in periods],
        "observed": _to_lists(grid),
        "last_week": _to_lists(last_week),
        "alerts": alerts,
    }


def _read_grid(
    service: AdviceService,
    metric: str,
    sites: list[str],
    periods: pd.DatetimeIndex,
    *,
    scale: float | None = None,
) -> tuple[np.ndarray, str | None, float]:
    """(stations x periods values, unit, readings per period): a count is each period's
    total, a load its mean; NaN where nothing was read."""
    step = pd.Timedelta(minutes=PERIOD_MINUTES)
    start, end = periods[0].to_pydatetime(), (periods[-1] + step).to_pydatetime()
    # Through the chosen engine, as every question of the lake at scale.
    observed = service.engine.read_observations(
        service.lake, metric, site_ids=sites, start=start, end=end
    ).to_pandas()
    if observed.empty:
        return np.full((len(sites), len(periods)), np.nan), None, scale or 1.0
    if scale is None:
        scale = get_readings_per_period(observed) if is_count(metric) else 1.0
    panel = compute_panel(observed, period_minutes=PERIOD_MINUTES, tz=service.calendar.tz)
    panel = panel.reindex(index=periods.tz_convert("UTC"), columns=sites)
    unit = observed["unit"].dropna().iloc[0] if observed["unit"].notna().any() else None
    return panel.to_numpy(float).T * scale, unit, scale


def _alert_record(site_id: str, alert: BandAlert, periods: pd.DatetimeIndex) -> dict[str, Any]:
    step = pd.Timedelta(minutes=PERIOD_MINUTES)
    return {
        "site_id": site_id,
        "start": periods[alert.first].isoformat(),
        "end": (periods[alert.last] + step).isoformat(),
        "side": alert.side,
        "observed": round(alert.extreme, 4),
        "band_edge": round(alert.edge, 4),
        "excess": round(alert.excess, 4),
    }


def _to_lists(grid: np.ndarray) -> list[list[float | None]]:
    return [[round(float(v), 4) if np.isfinite(v) else None for v in row] for row in grid]


def write_line_day_csv(data: dict[str, Any]) -> str:
    """A line's day (:func:`compute_line_day`) as a wide table: a row per station and day
    (the day, then the same weekday a week before), a column per period in local time;
    headers in the current language; totals as whole numbers, loads to 3 decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    labels = [datetime.fromisoformat(p).strftime("%H:%M") for p in data["periods"]]
    writer.writerow([_("Day"), _("Station"), _("Station id"), *labels])
    digits = 0 if data["aggregation"] == "sum" else 3
    for day, grid in ((data["day"], data["observed"]), (data["compare_day"], data["last_week"])):
        for station, values in zip(data["stations"], grid, strict=True):
            name = get_local_names(station["name_zh"], station["name_en"])[0]
            cells = ["" if v is None else f"{v:.{digits}f}" for v in values]
            writer.writerow([day, name, station["site_id"], *cells])
    return out.getvalue()
