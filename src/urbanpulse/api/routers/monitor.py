"""GET /api/monitor...: the regional monitor of coordinated development (13 cities).

Sub-indices of the five development concepts and the total, ranks with Monte Carlo
rank intervals, coupling coordination, disparity, Beijing : Tianjin : Hebei ratios,
what-if weights and traces from any number back to its raw statistics. The monitor
is computed once per lake version and then served from memory.

Exports (not JSON, so not in this schema): ``/api/monitor/export.csv?table=NAME``
(one table; names in ``/api/monitor`` under ``tables``) and ``/api/monitor/export.xlsx``
(every table, one sheet each).

``/api/monitor/provinces`` is apart: real provincial statistics loaded with
``urbanpulse indices load-china``, never mixed into the 13-city indices.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from urbanpulse.api.deps import LakeDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import SYNTHETIC, ProvincesPublic
from urbanpulse.errors import InvalidQueryError
from urbanpulse.indices.export import (
    TABLES,
    build_workbook,
    get_export_tables,
    get_sheet_titles,
    get_table_csv,
)
from urbanpulse.indices.lake import read_monitor
from urbanpulse.indices.provinces import build_province_summary
from urbanpulse.indices.published import PUBLISHED
from urbanpulse.indices.trace import compute_trace
from urbanpulse.indices.views import (
    build_monitor_summary,
    check_year,
    compute_city_coupling,
    compute_subsystem_coupling,
    get_city_names,
    get_ranking,
    get_records,
)
from urbanpulse.indices.whatif import build_what_if_weights, compute_what_if

router = APIRouter(prefix="/api/monitor", tags=["monitor"], responses=ERROR_RESPONSES)

Year = Annotated[int | None, Query(description="Year; the latest when omitted.")]
Weight = Annotated[float | None, Query(ge=0, description="Relative weight (default 1).")]


class MonitorPublic(BaseModel):
    """Everything the monitor page draws."""

    synthetic: bool = Field(description=SYNTHETIC)
    version: int = Field(description="Lake version the monitor was computed from.")
    base_year: int = Field(description="Year in which the base-year index is 100.")
    years: list[int]
    n_draws: int = Field(description="Monte Carlo draws behind the rank intervals (seeded).")
    sources: list[str]
    index: dict[str, str]
    concepts: list[dict[str, str]]
    cities: list[dict[str, Any]]
    series: dict[str, dict[str, dict[str, list[float | None]]]] = Field(
        description="score (0-100, pooled min-max) and base_year (base year = 100): "
        "{code: {region_code: [value for each year]}}."
    )
    ranks: list[dict[str, Any]]
    coupling: list[dict[str, Any]]
    disparity: list[dict[str, Any]]
    area_ratios: list[dict[str, Any]]
    tables: list[str] = Field(description="Table names for /api/monitor/export.csv.")


class RowsPublic(BaseModel):
    """A table of the monitor as rows."""

    synthetic: bool = Field(description=SYNTHETIC)
    year: int | None = None
    count: int
    items: list[dict[str, Any]]


class WhatIfPublic(BaseModel):
    """Scores and ranks of one year under other weights, with each city's rank shift."""

    synthetic: bool = Field(description=SYNTHETIC)
    year: int
    concept_weights: dict[str, float] = Field(description="Weights used, summing to one.")
    items: list[dict[str, Any]] = Field(
        description="region_code, name_zh, name_en, score, rank, base_score, base_rank, "
        "rank_shift (positive: moved up); best first."
    )


class TracePublic(BaseModel):
    """The inputs behind one number; the numbers reproduce it."""

    synthetic: bool = Field(description=SYNTHETIC)
    kind: str
    trace: dict[str, Any]


@router.get("", response_model=MonitorPublic, summary="The whole monitor")
def get_monitor(lake: LakeDep) -> MonitorPublic:
    """Sub-indices and total by city and year, ranks, coupling, disparity and ratios."""
    summary = build_monitor_summary(read_monitor(lake))
    return MonitorPublic(**summary, tables=[*PUBLISHED, *TABLES])


@router.get("/ranking", response_model=RowsPublic, summary="Cities by rank, with intervals")
def get_monitor_ranking(lake: LakeDep, year: Year = None) -> RowsPublic:
    """The cities of one year by total score; rank_p05-rank_p95 is the Monte Carlo
    interval over weights, imputation, normalisation and aggregation choices."""
    monitor = read_monitor(lake)
    chosen = check_year(monitor.result, year)
    items = get_records(get_ranking(monitor.result, chosen))
    return RowsPublic(synthetic=monitor.synthetic, year=chosen, count=len(items), items=items)


@router.get("/coupling", response_model=RowsPublic, summary="Coupling coordination")
def get_monitor_coupling(
    lake: LakeDep,
    cities: Annotated[
        str | None, Query(description="Comma-separated city codes: couple these cities.")
    ] = None,
    index: Annotated[str, Query(description="Index the cities are coupled on.")] = "index",
    city: Annotated[str | None, Query(description="Or one city: couple its concepts.")] = None,
    concepts: Annotated[
        str | None, Query(description="Comma-separated concepts (default: all five).")
    ] = None,
) -> RowsPublic:
    """Coupling C, development T, coordination D and its band, year by year, either
    between chosen cities on one index or between one city's chosen concepts."""
    monitor = read_monitor(lake)
    result = monitor.result
    if cities:
        table = compute_city_coupling(result, _split(cities), index)
    elif city:
        fw = result.pipeline.framework
        chosen = _split(concepts) if concepts else fw.get_children(fw.root)
        table = compute_subsystem_coupling(result, city, chosen)
    else:
        raise InvalidQueryError("give cities=a,b,... or city=CODE (with concepts=...)")
    items = get_records(table)
    return RowsPublic(synthetic=monitor.synthetic, count=len(items), items=items)


@router.get("/disparity", response_model=RowsPublic, summary="Disparity over time")
def get_monitor_disparity(
    lake: LakeDep,
    measure: Annotated[
        str | None, Query(description="'index' or a per-capita indicator code; all if omitted.")
    ] = None,
) -> RowsPublic:
    """CV, population-weighted Gini and Theil T and L with their between-area parts
    (Beijing, Tianjin, Hebei), by year."""
    monitor = read_monitor(lake)
    table = monitor.result.disparity
    if measure:
        table = table[table["measure"] == measure]
    items = get_records(table)
    return RowsPublic(synthetic=monitor.synthetic, count=len(items), items=items)


@router.get("/what-if", response_model=WhatIfPublic, summary="Ranks under other weights")
def get_monitor_what_if(
    lake: LakeDep,
    year: Year = None,
    innovation: Weight = None,
    coordination: Weight = None,
    green: Weight = None,
    openness: Weight = None,
    sharing: Weight = None,
    indicator_weights: Annotated[
        str | None, Query(description="Indicator weights as code:weight,code:weight.")
    ] = None,
) -> WhatIfPublic:
    """Re-weight the five concepts (and optionally indicators within them) and see the
    new scores and ranks, with each city's shift against the framework's weights."""
    monitor = read_monitor(lake)
    result = monitor.result
    chosen = check_year(result, year)
    given = {
        "innovation": innovation,
        "coordination": coordination,
        "green": green,
        "openness": openness,
        "sharing": sharing,
    }
    concept_weights = {k: v for k, v in given.items() if v is not None}
    indicators = _parse_weights(indicator_weights)
    table = compute_what_if(
        result.pipeline, concept_weights=concept_weights, indicator_weights=indicators
    )
    table = table[table["year"] == chosen].drop(columns="year").sort_values("rank")
    names = get_city_names(table["region_code"].tolist())[["region_code", "name_zh", "name_en"]]
    weights = build_what_if_weights(
        result.pipeline, concept_weights=concept_weights, indicator_weights=indicators
    )
    fw = result.pipeline.framework
    return WhatIfPublic(
        synthetic=monitor.synthetic,
        year=chosen,
        concept_weights={c: float(weights[c]) for c in fw.get_children(fw.root)},
        items=get_records(names.merge(table, on="region_code")),
    )


@router.get("/trace", response_model=TracePublic, summary="The inputs behind a number")
def get_monitor_trace(
    lake: LakeDep,
    region: Annotated[str, Query(description="City code, e.g. 130400.")],
    year: Annotated[int, Query(description="Year.")],
    code: Annotated[str, Query(description="'index', a concept or an indicator code.")],
    kind: Annotated[
        str, Query(pattern="^(score|base_year)$", description="score or base_year.")
    ] = "score",
) -> TracePublic:
    """Raw values, denominators, each pipeline stage, normalisation parameters, weights
    and the aggregation behind one score or base-year index value."""
    monitor = read_monitor(lake)
    result = monitor.result
    pipeline = result.pipeline if kind == "score" else result.base_pipeline
    denominators = result.data.denominators if result.data is not None else None
    assert pipeline is not None  # compute_monitor always sets both pipelines
    trace = compute_trace(pipeline, region, year, code, denominators=denominators)
    return TracePublic(synthetic=monitor.synthetic, kind=kind, trace=trace)


@router.get(
    "/provinces", response_model=ProvincesPublic, summary="Real provincial statistics (NBS)"
)
def get_monitor_provinces(lake: LakeDep) -> ProvincesPublic:
    """Measured figures for Beijing, Tianjin and Hebei (latest values, 'a : b : 1' ratios
    and their trend), all provinces ranked on R&D intensity, the source and vintage of
    every number, and the framework indicators the data cannot yet supply. 404 until
    loaded with ``urbanpulse indices load-china ../shared/data``."""
    return ProvincesPublic(**build_province_summary(lake))


@router.get("/export.csv", include_in_schema=False)
def get_monitor_csv(
    lake: LakeDep, table: Annotated[str, Query(description="Table name.")] = "scores"
) -> Response:
    """One monitor table as CSV (UTF-8 with BOM, so Excel reads Chinese names): a
    published one (ranking, score_by_year, index_by_year, coordination: wide, in the
    request's language) or a long one."""
    monitor = read_monitor(lake)
    text = get_table_csv(get_export_tables(monitor.result, monitor.indicators), table)
    return Response(
        content="\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="monitor-{table}.csv"'},
    )


@router.get("/export.xlsx", include_in_schema=False)
def get_monitor_xlsx(lake: LakeDep) -> Response:
    """Every monitor table in one Excel workbook, one sheet per table: the published
    ones first, in the request's language."""
    monitor = read_monitor(lake)
    content = build_workbook(
        get_export_tables(monitor.result, monitor.indicators),
        titles=get_sheet_titles(monitor.result),
    )
    return Response(
        content=content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="monitor.xlsx"'},
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_weights(text: str | None) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in _split(text or ""):
        code, _, value = part.partition(":")
        try:
            weights[code.strip()] = float(value)
        except ValueError:
            raise InvalidQueryError(f"indicator weight {part!r} is not code:number") from None
    return weights
