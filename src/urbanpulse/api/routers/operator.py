"""GET /api/operator/...: forecast accuracy on past days, and what advice changed.

Accuracy is measured honestly on the lake's own history: a past day is forecast from
the days before it only (the model never sees the day it predicts) and laid over what
was observed. The effect of advice is measured from the advice service's counts of
advised and holdout requests (kept across restarts), not from observations, which
cannot show it yet.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response

from urbanpulse.advise.operations import (
    LineMetric,
    compute_line_day,
    get_readings_per_period,
    get_site_crowding_metric,
    write_line_day_csv,
)
from urbanpulse.advise.service import PERIOD_MINUTES
from urbanpulse.api.deps import AdviceServiceDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import AccuracyPublic, EffectPublic, LineDayPublic
from urbanpulse.catalog.calendar import check_moment
from urbanpulse.catalog.metrics import is_count
from urbanpulse.errors import NotFoundError
from urbanpulse.forecast import compute_coverage, compute_metrics, compute_panel
from urbanpulse.i18n import gettext as _
from urbanpulse.store import get_site, read_observations

router = APIRouter(prefix="/api/operator", tags=["operator"], responses=ERROR_RESPONSES)

DayQuery = Annotated[date | None, Query(description="Local day, YYYY-MM-DD.")]
MAX_DAYS = 14


@router.get("/accuracy", response_model=AccuracyPublic, summary="Observed against predicted")
def get_accuracy(
    service: AdviceServiceDep,
    site_id: Annotated[str, Query(description="Station id.", examples=["bj-m1-s05"])],
    day: DayQuery = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="Days of daily errors.")] = 7,
) -> dict[str, Any]:
    """``day`` (default: the last full day of data) forecast from the days before it,
    with observations, and MAE/WAPE/band coverage of each of the ``days`` days to it."""
    check_moment(day, name="day")
    site = get_site(service.lake, site_id)
    metric = get_site_crowding_metric(service, site_id, str(site["kind"]))
    day = day or service.get_last_full_day()
    tz = service.tz
    first = day - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
    observed = read_observations(service.lake, metric, site_ids=[site_id], start=start, end=end)
    if observed.empty:
        raise NotFoundError(f"no {metric!r} observations of {site_id!r} from {first} to {day}")
    panel = compute_panel(observed, period_minutes=PERIOD_MINUTES, tz=service.calendar.tz)[site_id]
    # Panels and forecasts hold the mean reading of each period; a count is shown as
    # the period's total (boardings per 15 min), which is what people read a chart as.
    scale = get_readings_per_period(observed) if is_count(metric) else 1.0
    rows, daily = [], []
    for k in range(days):
        current = first + timedelta(days=k)
        forecast = service.get_past_forecast(site_id, metric, current)
        if forecast is None:
            continue
        forecast = forecast.assign(**{c: forecast[c] * scale for c in ("yhat", "p10", "p90")})
        truth = panel.reindex(pd.DatetimeIndex(forecast["ts"])).to_numpy(float) * scale
        daily.append(_score_day(current, truth, forecast))
        if current == day:
            rows = _series(forecast, truth)
    unit = observed["unit"].dropna().iloc[0] if observed["unit"].notna().any() else None
    summed = is_count(metric)
    return {
        "site_id": site_id,
        "metric": metric,
        "unit": unit,
        "day": day.isoformat(),
        "period_minutes": PERIOD_MINUTES,
        "aggregation": "sum" if summed else "mean",
        "value_label": _get_value_label(metric, unit, summed=summed),
        "synthetic": bool(site["synthetic"]),
        "items": rows,
        "days": daily,
    }


LineQuery = Annotated[str, Query(description="Line id.", examples=["bj-m1"])]
LineMetricQuery = Annotated[
    LineMetric | None,
    Query(
        description="What the grid shows: 'load' (busier direction), 'load_up' / "
        "'load_down' (each direction along the line), 'boardings', 'entries' or 'exits' "
        "(taps at the gates). Default: the line's crowding metric. The answer's "
        "'metrics' lists those its stations report."
    ),
]


@router.get("/line-day", response_model=LineDayPublic, summary="A line's day, station by period")
def get_line_day(
    service: AdviceServiceDep,
    line_id: LineQuery,
    day: DayQuery = None,
    metric: LineMetricQuery = None,
) -> Any:
    """Every station of ``line_id`` by 15-minute period of ``day`` (default: the last
    full day of data, or the line's newest day where it has none that day), the same
    weekday a week before, and the runs of at least half an
    hour in which a station's value stayed outside the band predicted from the days
    before ``day``."""
    check_moment(day, name="day")
    return service.cached(
        "line-day", line_id, day, metric,
        build=lambda: compute_line_day(service, line_id, day, metric),
    )  # fmt: skip


@router.get("/line-day.csv", include_in_schema=False)
def get_line_day_csv(
    service: AdviceServiceDep,
    line_id: LineQuery,
    day: DayQuery = None,
    metric: LineMetricQuery = None,
) -> Response:
    """The line's day as a wide table (a row per station, a column per period, local
    times), in the request's language; UTF-8 with BOM, so Excel reads Chinese names."""
    data = get_line_day(service, line_id, day, metric)
    # A line id comes from a source's data (a GTFS route_id may hold quotes or spaces):
    # only letters, digits, '.', '-' and '_' go into the header.
    name = re.sub(r"[^\w.-]", "_", line_id, flags=re.ASCII)
    return Response(
        content="\ufeff" + write_line_day_csv(data),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{data["metric"]}-{data["day"]}.csv"'
        },
    )


@router.get("/effect", response_model=EffectPublic, summary="What advice changed")
def get_effect(
    service: AdviceServiceDep,
    line_id: Annotated[str, Query(description="Line id (or a site id for single-site advice).")],
    day: DayQuery = None,
) -> dict[str, Any]:
    """Advised and holdout requests per preferred slot of ``day`` (default: the planning
    day), how many advised requests were moved, and the difference between the groups
    in the share leaving in the peak slot, with its 95 % interval and sample sizes."""
    day = check_moment(day, name="day") or service.get_clock().planning_day
    return service.get_effect(line_id, day)


def _score_day(day: date, truth: np.ndarray, forecast: pd.DataFrame) -> dict[str, Any]:
    scores = compute_metrics(truth, forecast["yhat"].to_numpy(float))
    coverage = compute_coverage(
        truth, forecast["p10"].to_numpy(float), forecast["p90"].to_numpy(float)
    )
    return {
        "day": day.isoformat(),
        "mae": _finite(scores["mae"]),
        "wape": _finite(scores["wape"]),
        "coverage": _finite(coverage),
        "n": int(scores["n"]),
        "model": str(forecast["model"].iloc[0]),
    }


def _series(forecast: pd.DataFrame, truth: np.ndarray) -> list[dict[str, Any]]:
    return [
        {"ts": ts.isoformat(), "observed": _finite(y), "yhat": _finite(f), "p10": _finite(lo),
         "p90": _finite(hi)}
        for ts, y, f, lo, hi in zip(
            pd.DatetimeIndex(forecast["ts"]), truth, forecast["yhat"], forecast["p10"],
            forecast["p90"], strict=True,
        )
    ]  # fmt: skip


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _get_value_label(metric: str, unit: str | None, *, summed: bool) -> str:
    """What the values are, for an axis title, in the language of the request."""
    if summed:
        label = _("{metric} per {minutes} min").format(
            metric=_(metric.replace("_", " ")), minutes=PERIOD_MINUTES
        )
        return label + (f" ({_(unit)})" if unit else "")
    name = _("load against capacity") if metric == "load" else _(metric.replace("_", " "))
    return _("{quantity}, mean over {minutes} min").format(quantity=name, minutes=PERIOD_MINUTES)
