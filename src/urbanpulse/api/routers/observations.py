"""GET /api/sites/{site_id}/observations: one metric of one site over a time window."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from urbanpulse.api.deps import EngineDep, LakeDep, SettingsDep, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import ObservationsPublic
from urbanpulse.api.tables import (
    get_metric_unit,
    get_site_record,
    get_utc_text,
    get_utc_texts,
    write_json,
)
from urbanpulse.errors import InvalidQueryError

router = APIRouter(prefix="/api/sites", tags=["observations"], responses=ERROR_RESPONSES)

MAX_LIMIT = 50_000

MetricQuery = Annotated[str, Query(description="Metric name, e.g. 'passengers' or 'pm25'.")]
StartQuery = Annotated[
    datetime | None,
    Query(description="ISO 8601 start (inclusive); without an offset it is local time."),
]
EndQuery = Annotated[
    datetime | None,
    Query(description="ISO 8601 end (exclusive); without an offset it is local time."),
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most rows to return.")]


@router.get(
    "/{site_id}/observations",
    response_model=ObservationsPublic,
    summary="Observations of a site's metric",
)
def list_observations(
    site_id: str,
    lake: LakeDep,
    settings: SettingsDep,
    engine: EngineDep,
    metric: MetricQuery,
    start: StartQuery = None,
    end: EndQuery = None,
    limit: LimitQuery = 2000,
) -> Response:
    """Observations in [start, end), oldest first.

    With a start, the first ``limit`` rows after it are returned; without one, the
    latest ``limit`` rows, so that the default answer is the most recent data.
    """
    start = get_aware(start, settings, name="start")
    end = get_aware(end, settings, name="end")
    site = get_site_record(lake, site_id)
    unit = get_metric_unit(lake, site_id, metric, engine=engine)
    if start is not None and end is not None and end <= start:
        raise InvalidQueryError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    # Through the chosen engine, as Arrow: a site's week is read and written without
    # pandas (the conversion alone cost as much as the read).
    table = engine.read_observations(lake, metric, site_ids=[site_id], start=start, end=end)
    truncated = table.num_rows > limit
    table = (
        table.slice(0, limit) if start is not None else table.slice(max(0, table.num_rows - limit))
    )
    values = table["value"].to_pylist()
    times = get_utc_texts(table["ts"])
    return write_json(
        {
            "site_id": site_id,
            "metric": metric,
            "unit": unit,
            "synthetic": bool(site["synthetic"]),
            "start": get_utc_text(start),
            "end": get_utc_text(end),
            "limit": limit,
            "truncated": truncated,
            "count": len(values),
            "items": [{"ts": t, "value": v} for t, v in zip(times, values, strict=True)],
        }
    )
