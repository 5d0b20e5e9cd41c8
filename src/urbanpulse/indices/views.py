"""Selections of a monitor result that the monitor page and API ask for.

Each function returns a small table with documented columns; the edges only turn
them into JSON, HTML or files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from urbanpulse.catalog.cities import get_cities_table
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.indices.coupling import compute_coupling_coordination
from urbanpulse.indices.monitor import MonitorResult

if TYPE_CHECKING:
    from urbanpulse.indices.lake import LakeMonitor

COUPLING_COLUMNS = ["year", "coupling", "development", "coordination", "band"]


def get_city_names(codes: list[str] | pd.Index) -> pd.DataFrame:
    """Chinese and English names, area and position of each code (the code itself when
    the catalogue does not know it).

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, name_zh, name_en, area, lat, lon.
    """
    cities = get_cities_table().set_index("code")
    rows = []
    for code in codes:
        known = code in cities.index
        city = cities.loc[code] if known else None
        rows.append(
            {
                "region_code": code,
                "name_zh": city["name_zh"] if city is not None else "",
                "name_en": city["name_en"] if city is not None else code,
                "area": city["area"] if city is not None else "other",
                "lat": float(city["lat"]) if city is not None else None,
                "lon": float(city["lon"]) if city is not None else None,
            }
        )
    return pd.DataFrame(rows)


def get_years(result: MonitorResult) -> list[int]:
    """Years of the monitor, oldest first."""
    return sorted(int(y) for y in result.scores["year"].unique())


def check_year(result: MonitorResult, year: int | None) -> int:
    """The year asked for, or the latest; NotFoundError for a year without data."""
    years = get_years(result)
    if year is None:
        return years[-1]
    if year not in years:
        raise NotFoundError(f"no monitor data for {year}; years are {years[0]}-{years[-1]}")
    return int(year)


def get_ranking(result: MonitorResult, year: int) -> pd.DataFrame:
    """The cities of one year by rank of the total, with Monte Carlo rank intervals.

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, name_zh, name_en, score, base_year_index, rank,
        median_rank, rank_p05, rank_p95; best first.
    """
    root = result.pipeline.framework.root
    scores = result.scores[(result.scores["year"] == year) & (result.scores["code"] == root)]
    base = result.base_year_index
    base = base[(base["year"] == year) & (base["code"] == root)]
    ranks = result.ranks[result.ranks["year"] == year].drop(columns="year")
    table = (
        scores[["region_code", "value"]]
        .rename(columns={"value": "score"})
        .merge(
            base[["region_code", "value"]].rename(columns={"value": "base_year_index"}),
            on="region_code",
            how="left",
        )
        .merge(ranks, on="region_code", how="left")
    )
    names = get_city_names(table["region_code"].tolist())[["region_code", "name_zh", "name_en"]]
    table = names.merge(table, on="region_code").sort_values(["rank", "region_code"])
    return table.reset_index(drop=True)


def compute_city_coupling(result: MonitorResult, cities: list[str], code: str) -> pd.DataFrame:
    """Coupling coordination of several cities' scores on one index, year by year.

    Each city is a subsystem: high D means the cities develop together and far.

    Returns
    -------
    pandas.DataFrame
        Columns: year, coupling, development, coordination, band.
    """
    scores = _check_code(result, code)
    unknown = sorted(set(cities) - set(scores["region_code"]))
    if unknown:
        raise NotFoundError(f"no monitor data for cities {unknown}")
    if len(set(cities)) < 2:
        raise InvalidQueryError("choose at least two cities to couple")
    wide = scores[scores["region_code"].isin(cities)].pivot(
        index="year", columns="region_code", values="value"
    )
    return _couple(wide[list(dict.fromkeys(cities))])


def compute_subsystem_coupling(
    result: MonitorResult, region_code: str, concepts: list[str]
) -> pd.DataFrame:
    """Coupling coordination of one city's concept scores (its subsystems), by year.

    Returns
    -------
    pandas.DataFrame
        Columns: year, coupling, development, coordination, band.
    """
    fw = result.pipeline.framework
    unknown = sorted(set(concepts) - set(fw.get_children(fw.root)))
    if unknown:
        raise NotFoundError(f"unknown concepts {unknown}")
    if len(set(concepts)) < 2:
        raise InvalidQueryError("choose at least two concepts to couple")
    scores = result.scores[result.scores["region_code"] == region_code]
    if scores.empty:
        raise NotFoundError(f"no monitor data for city {region_code}")
    wide = scores.pivot(index="year", columns="code", values="value")
    return _couple(wide[list(dict.fromkeys(concepts))])


def _couple(wide: pd.DataFrame) -> pd.DataFrame:
    # Scores are 0-100 min-max scores, pooled over years, so they fit the model's [0, 1].
    out = compute_coupling_coordination(wide.clip(0, 100), scale=100).reset_index()
    out = out.rename(columns={out.columns[0]: "year"})
    return out[COUPLING_COLUMNS]


def _check_code(result: MonitorResult, code: str) -> pd.DataFrame:
    scores = result.scores[result.scores["code"] == code]
    if scores.empty:
        raise NotFoundError(f"no index {code!r}; choose the total or one of the five concepts")
    return scores


def get_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, missing values as None (JSON null)."""
    if table.empty:
        return []
    clean = table.astype(object).where(table.notna(), None)
    return clean.to_dict("records")  # type: ignore[return-value]


def get_series(long: pd.DataFrame, years: list[int]) -> dict[str, dict[str, list[float | None]]]:
    """A long (region_code, year, code, value) table as {code: {region: [value by year]}}."""
    wide = long.pivot_table(index=["code", "region_code"], columns="year", values="value")
    wide = wide.reindex(columns=years)
    out: dict[str, dict[str, list[float | None]]] = {}
    for (code, region), row in wide.iterrows():
        values = [None if pd.isna(v) else round(float(v), 4) for v in row]
        out.setdefault(str(code), {})[str(region)] = values
    return out


def build_monitor_summary(monitor: LakeMonitor) -> dict[str, Any]:
    """Everything the monitor page draws, as JSON-ready data.

    Returns
    -------
    dict
        synthetic, version, base_year, years, n_draws, sources, index (code, name),
        concepts (code, name), cities (region_code, name_zh, name_en, area, lat, lon),
        series (score and base_year: {code: {region: [value by year]}}), ranks,
        coupling, disparity and area_ratios (records, columns as in MonitorResult).
    """
    result = monitor.result
    fw = result.pipeline.framework
    years = get_years(result)
    regions = sorted(result.scores["region_code"].unique())
    return {
        "synthetic": monitor.synthetic,
        "version": monitor.version,
        "base_year": result.base_year,
        "years": years,
        "n_draws": result.n_draws,
        "sources": list(monitor.sources),
        "index": {"code": fw.root, "name": str(fw.get_node(fw.root)["name"])},
        "concepts": [
            {"code": c, "name": str(fw.get_node(c)["name"])} for c in fw.get_children(fw.root)
        ],
        "cities": get_records(get_city_names(regions)),
        "series": {
            "score": get_series(result.scores, years),
            "base_year": get_series(result.base_year_index, years),
        },
        "ranks": get_records(result.ranks),
        "coupling": get_records(result.coupling),
        "disparity": get_records(result.disparity),
        "area_ratios": get_records(result.area_ratios),
    }
