"""Selections of a monitor result that the monitor page and API ask for.

Each function returns a small table with documented columns; the edges only turn
them into JSON, HTML or files.
"""

from __future__ import annotations

import pandas as pd

from urbanpulse.catalog.cities import get_cities_table
from urbanpulse.errors import InvalidQueryError, NotFoundError
from urbanpulse.indices.coupling import compute_coupling_coordination
from urbanpulse.indices.monitor import MonitorResult

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
