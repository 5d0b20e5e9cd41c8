"""The regional monitor: coordinated development of the 13 cities, and its printable report.

Below the (possibly synthetic) 13-city indices the page shows, apart and labelled as
real, the provincial statistics loaded with ``urbanpulse indices load-china``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from urbanpulse.catalog import OUTLINES_SOURCE, get_city_outlines
from urbanpulse.errors import NotFoundError
from urbanpulse.i18n import N_, get_local_names, translate_error
from urbanpulse.i18n import gettext as _
from urbanpulse.indices.export import TABLES, get_sheet_titles
from urbanpulse.indices.lake import LakeMonitor, read_monitor
from urbanpulse.indices.provinces import build_province_summary
from urbanpulse.indices.views import (
    build_monitor_summary,
    get_city_names,
    get_ranking,
    get_records,
    get_years,
)
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.web.print_charts import Bar, MapArea, draw_bars, draw_lines, draw_map
from urbanpulse.web.rendering import get_language_context, render_page

router = APIRouter()

# Per-capita measures the disparity chart offers, in the order people ask about them.
DISPARITY_LABELS = {
    "index": N_("Total index score"),
    "sha_disposable_income": N_("Disposable income per resident"),
    "sha_education_spending": N_("Education spending per resident"),
    "sha_health_spending": N_("Health spending per resident"),
    "sha_social_security_spending": N_("Social security spending per resident"),
    "coo_gdp": N_("GDP per resident"),
    "inn_invention_patents": N_("Invention patents per 10,000 residents"),
}
# Fields of the monitor's data that hold words for people (names, bands, units), shown
# in the reader's language; the framework's names are in the catalogue (make messages).
# Sources and licences stay as published: they are citations.
WORD_FIELDS = frozenset({"name", "band", "unit", "concept", "reason", "aggregation"})


@router.get("/monitor", response_class=HTMLResponse)
def get_monitor_page(request: Request) -> HTMLResponse:
    lake: Lake = request.app.state.lake
    provinces = _read_provinces(lake)
    try:
        monitor = read_monitor(lake)
    except NotFoundError as exc:
        return render_page(
            request,
            "monitor_empty.html",
            title=_("Regional monitor"),
            message=translate_error(exc),
            provinces=provinces,
        )
    summary = translate_words(build_monitor_summary(monitor))
    summary["disparity_labels"] = {k: _(v) for k, v in _get_disparity_labels(monitor).items()}
    # The cities' outlines under the map, where the product has them.
    summary["outlines"] = get_city_outlines(c["region_code"] for c in summary["cities"])
    context = _build_context(monitor)
    return render_page(
        request,
        "monitor.html",
        title=_("Regional monitor"),
        synthetic=monitor.synthetic,
        data=summary,
        # The published tables (wide, in the reader's language) first, then the long ones.
        tables=[
            *get_sheet_titles(monitor.result).items(),
            *((t, _(t.replace("_", " "))) for t in TABLES),
        ],
        provinces=provinces,
        outlines_source=_cite(OUTLINES_SOURCE),
        **context,
    )


@router.get("/monitor/report", response_class=HTMLResponse)
def get_monitor_report(request: Request) -> HTMLResponse:
    """A self-contained, printable report of the latest year (no scripts, no assets):
    its charts are inline SVG, its time the settings' local time, its pages numbered."""
    lake: Lake = request.app.state.lake
    settings: Settings = request.app.state.settings
    monitor = read_monitor(lake)
    templates = request.app.state.templates
    context = _build_context(monitor)
    result = monitor.result
    latest = context["year"]
    coupling = result.coupling[result.coupling["year"] == latest]
    names = get_city_names(coupling["region_code"].tolist())[["region_code", "name_zh", "name_en"]]
    coupling_rows = get_records(names.merge(coupling, on="region_code"))
    index_disparity = result.disparity[result.disparity["measure"] == "index"]
    now = datetime.now(ZoneInfo(settings.local_timezone))
    return templates.TemplateResponse(
        request,
        "monitor_report.html",
        {
            **context,
            "synthetic": monitor.synthetic,
            "sources": monitor.sources,
            "sources_html": _cite(", ".join(monitor.sources)),
            "version": monitor.version,
            # The reader's clock (Beijing time for the region), with its offset said.
            "generated": now.strftime("%Y-%m-%d %H:%M ") + _format_offset(now),
            "coupling": coupling_rows,
            "disparity": get_records(index_disparity),
            "charts": _draw_report_charts(monitor, context, coupling_rows),
            "outlines_source": _cite(OUTLINES_SOURCE),
            "provinces": _read_provinces(lake),
            **get_language_context(request),
        },
    )


def _cite(source: str) -> Markup:
    """A source's name as a citation, kept as written in any language."""
    return Markup('<span translate="no">{}</span>').format(source)


def _format_offset(moment: datetime) -> str:
    offset = moment.strftime("%z")  # +0800
    return f"(UTC{offset[:3]}:{offset[3:]})"


def _draw_report_charts(
    monitor: LakeMonitor, context: dict[str, Any], coupling: list[dict[str, Any]]
) -> dict[str, Markup]:
    """The report's three charts: this year's ranking, the total over the years, and
    this year's coordination degree, cities named in the reader's language."""
    result, year = monitor.result, context["year"]
    name = _get_city_name
    ranking = draw_bars(
        [Bar(name(r), r["score"], _("rank {low}-{high}").format(low=int(r["rank_p05"]),
             high=int(r["rank_p95"]))) for r in context["ranking"]],
        title=_("Total score by city, {year}").format(year=year), unit=_("score 0-100"),
    )  # fmt: skip
    root = result.pipeline.framework.root
    totals = result.scores[result.scores["code"] == root]
    cities = {r["region_code"]: name(r) for r in context["ranking"]}
    trend = draw_lines(
        {
            cities[code]: list(zip(rows["year"].astype(int), rows["value"], strict=True))
            for code, rows in totals.groupby("region_code")
            if code in cities
        },
        title=_("Total score over the years"),
        unit=_("score 0-100"),
    )
    ordered = sorted(coupling, key=lambda r: -r["coordination"])
    degree = draw_bars(
        [Bar(name(r), r["coordination"], _(r["band"])) for r in ordered],
        title=_("Coupling coordination degree D by city, {year}").format(year=year),
        unit=_("D, 0-1"), digits=3,
    )  # fmt: skip
    outlines = get_city_outlines(r["region_code"] for r in context["ranking"])
    places = draw_map(
        [MapArea(name(r), r["score"], outlines[r["region_code"]])
         for r in context["ranking"] if r["region_code"] in outlines],
        title=_("Total score by city on the map, {year}").format(year=year),
        unit=_("score 0-100"), low=0.0, high=100.0,
    )  # fmt: skip
    return {"ranking": ranking, "trend": trend, "coordination": degree, "map": places}


def _get_city_name(row: dict[str, Any]) -> str:
    return get_local_names(row.get("name_zh"), row.get("name_en"))[0]


def _build_context(monitor: LakeMonitor) -> dict[str, Any]:
    """What both the page and the report show for the latest year."""
    result = monitor.result
    fw = result.pipeline.framework
    years = get_years(result)
    latest = years[-1]
    concepts = [
        {"code": c, "name": _(str(fw.get_node(c)["name"]))} for c in fw.get_children(fw.root)
    ]
    ranking = get_ranking(result, latest)
    scores = result.scores[result.scores["year"] == latest]
    wide = scores.pivot(index="region_code", columns="code", values="value")
    rows = get_records(ranking)
    for row in rows:
        row["concepts"] = {
            c["code"]: float(wide.at[row["region_code"], c["code"]]) for c in concepts
        }
    ratios = result.area_ratios[result.area_ratios["year"] == latest]
    top = max(rows, key=lambda r: r["base_year_index"], default=None)
    return {
        "year": latest,
        "years": years,
        "base_year": result.base_year,
        "n_draws": result.n_draws,
        "concepts": concepts,
        "index_name": _(str(fw.get_node(fw.root)["name"])),
        "ranking": rows,
        # The highest base-year index this year, which the page explains.
        "index_top": top,
        "ratios": [
            {
                **r,
                "name": _(str(fw.get_node(r["indicator"])["name"])),
                "unit": get_per_resident_unit(fw.get_node(r["indicator"])),
            }
            for r in get_records(ratios)
        ],
    }


# Multipliers written into raw units ("100 million yuan"), longest first.
_MULTIPLIERS = (("100 million ", 1e8), ("10,000 ", 1e4), ("1,000 ", 1e3))


def get_per_resident_unit(node: Any) -> str:
    """The unit of a per-resident value: the framework node's raw unit times its scale
    per resident ("10,000 yuan" x 10,000 -> "yuan per resident", "patents" x 10,000 ->
    "patents per 10,000 residents")."""
    unit, scale = str(node["unit"] or ""), float(node["scale"] or 1)
    for prefix, factor in _MULTIPLIERS:
        if unit.startswith(prefix):
            unit, scale = unit.removeprefix(prefix), scale / factor
            break
    if scale == 1:
        return _("{unit} per resident").format(unit=_(unit))
    return _("{unit} per {n} residents").format(unit=_(unit), n=f"{scale:,.0f}")


def _get_disparity_labels(monitor: LakeMonitor) -> dict[str, str]:
    measures = monitor.result.disparity["measure"].unique() if len(monitor.result.disparity) else []
    fw = monitor.result.pipeline.framework
    return {
        str(m): DISPARITY_LABELS.get(str(m)) or str(fw.get_node(str(m))["name"])
        if m != "index"
        else DISPARITY_LABELS["index"]
        for m in measures
    }


def _read_provinces(lake: Lake) -> dict[str, Any] | None:
    """The real provincial statistics with display text, or None when none are loaded."""
    try:
        summary = build_province_summary(lake)
    except NotFoundError:
        return None
    for item in summary["indicators"]:
        for cell in item["values"].values():
            cell["text"] = _format_value(cell["value"])
    for row in summary["ranking"]["items"]:
        row["text"] = _format_value(row["value"])
    return translate_words(summary)


def translate_words(value: Any) -> Any:
    """``value`` (dicts and lists of the monitor's data) with the words in
    :data:`WORD_FIELDS` in the reader's language; codes and numbers unchanged."""
    if isinstance(value, dict):
        return {
            k: _translate_field(v) if k in WORD_FIELDS else translate_words(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [translate_words(v) for v in value]
    return value


def _format_value(value: float) -> str:
    # Two decimals where they carry meaning (intensities, ratios), whole numbers above.
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def _translate_field(value: Any) -> Any:
    if isinstance(value, str):
        return _(value) if value else value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [_(v) for v in value]
    return translate_words(value)
