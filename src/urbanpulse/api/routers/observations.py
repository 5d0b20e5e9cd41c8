"""GET /api/sites/{site_id}/observations: one metric of one site over a time window."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from urbanpulse.api.deps import EndQuery, EngineDep, LakeDep, SettingsDep, StartQuery, get_aware
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import ObservationsPublic
from urbanpulse.api.tables import get_metric_unit, get_site_record, get_utc_text, get_utc_texts
from urbanpulse.errors import InvalidQueryError
from urbanpulse.store import Lake
from urbanpulse.store.cache import read_cached
from urbanpulse.store.interface import Engine

router = APIRouter(prefix="/api/sites", tags=["observations"], responses=ERROR_RESPONSES)

MAX_LIMIT = 50_000

MetricQuery = Annotated[str, Query(description="Metric name, e.g. 'passengers' or 'pm25'.")]
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
    if start is not None and end is not None and end <= start:
        raise InvalidQueryError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    # The answer is the same until the next commit: kept with the lake's version, a
    # page or a client asking again is served without reading or encoding again.
    body = read_cached(
        lake, "site observations", site_id, metric, start, end, limit, engine.name,
        build=lambda: _encode_observations(lake, engine, site_id, metric, start, end, limit),
    )  # fmt: skip
    return Response(body, media_type="application/json")


def _encode_observations(
    lake: Lake,
    engine: Engine,
    site_id: str,
    metric: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> bytes:
    site = get_site_record(lake, site_id)
    # Through the chosen engine, as Arrow: a site's week is read and written without
    # pandas (the conversion alone cost as much as the read).
    table = engine.read_observations(lake, metric, site_ids=[site_id], start=start, end=end)
    # Readings carry their unit; only an empty window asks whether the site has the
    # metric at all (a 404 naming the ones it has, where it does not).
    unit = (
        table["unit"][0].as_py()
        if table.num_rows
        else get_metric_unit(lake, site_id, metric, engine=engine)
    )
    truncated = table.num_rows > limit
    table = (
        table.slice(0, limit) if start is not None else table.slice(max(0, table.num_rows - limit))
    )
    values = table["value"].to_pylist()
    times = get_utc_texts(table["ts"])
    # orjson encodes in C, about 13 times faster than the standard library on a site's
    # week, and writes a non-finite float (a reading that is not a number) as null, as
    # the response schemas do; no model is built per row.
    return orjson.dumps(
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
