"""Everything the regional monitor page shows, from one long table of yearly indicators."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from urbanpulse.catalog.cities import get_cities_table
from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.baseyear import compute_base_year_index, get_base_year_table
from urbanpulse.indices.coupling import compute_coupling_coordination, compute_pairwise_coupling
from urbanpulse.indices.disparity import (
    compute_disparity_over_time,
    compute_ratio,
    get_ratio_text,
)
from urbanpulse.indices.framework import Framework, read_framework
from urbanpulse.indices.pipeline import PipelineResult, run_pipeline
from urbanpulse.indices.tables import IndexData, build_index_data
from urbanpulse.indices.uncertainty import build_scenario_model, compute_monte_carlo

AREAS = ("BJ", "TJ", "HE")


def get_default_framework_path() -> Path:
    """Path of the shipped Jing-Jin-Ji five-concept framework."""
    return Path(str(resources.files("urbanpulse.indices") / "frameworks" / "jingjinji.toml"))


def read_default_framework() -> Framework:
    """The shipped Jing-Jin-Ji five-concept framework."""
    return read_framework(get_default_framework_path())


@dataclass
class MonitorResult:
    """Tables for the monitor page (all long form, snake_case columns).

    Attributes
    ----------
    base_year_index
        region_code, year, code, value: each concept and the total, 100 in the base year.
    scores
        region_code, year, code, value: pooled min-max scores (0-100) of concepts and total.
    ranks
        region_code, year, rank, median_rank, rank_p05, rank_p95 (rank of the total).
    coupling
        region_code, year, coupling, development, coordination, band (the five concepts).
    pairwise_coupling
        year, unit_a, unit_b, coupling, development, coordination, band (latest year).
    disparity
        measure, time, cv, cv_weighted, gini_weighted, theil_t, theil_t_between,
        theil_l, theil_l_between (between = between Beijing, Tianjin and Hebei).
    area_ratios
        indicator, year, bj, tj, he, ratio_text (per-capita values, Hebei = 1).
    pipeline
        The full pipeline result behind ``scores``.
    base_pipeline
        The pipeline result behind ``base_year_index`` (for tracing its numbers).
    data
        The indicator values, denominators and groups everything was computed from.
    base_year
        The year the base-year index is 100 in.
    n_draws
        Monte Carlo draws behind the rank intervals.
    """

    base_year_index: pd.DataFrame
    scores: pd.DataFrame
    ranks: pd.DataFrame
    coupling: pd.DataFrame
    pairwise_coupling: pd.DataFrame
    disparity: pd.DataFrame
    area_ratios: pd.DataFrame
    pipeline: PipelineResult
    base_pipeline: PipelineResult | None = None
    data: IndexData | None = None
    base_year: int | None = None
    n_draws: int = 0


def compute_monitor(
    indicators: pd.DataFrame,
    framework: Framework | None = None,
    *,
    base_year: int | None = None,
    n_draws: int = 500,
    seed: int = 0,
) -> MonitorResult:
    """Compute the monitor's tables from long-form yearly indicators.

    Parameters
    ----------
    indicators
        Columns region_code, year, indicator, value (unit, source, vintage are
        allowed and ignored); denominators (population, gdp) as indicator rows.
    framework
        Defaults to the shipped Jing-Jin-Ji framework.
    base_year
        Defaults to the first year in the data.
    """
    fw = framework or read_default_framework()
    data = build_index_data(indicators, fw)
    if not data.is_panel:
        raise ConfigurationError("the monitor needs more than one year of data")
    years = data.values.index.get_level_values(-1)
    base = int(base_year if base_year is not None else years.min())
    concepts = fw.get_children(fw.root)
    result = run_pipeline(fw, data)
    scores = result.scores[[*concepts, fw.root]]
    base_result = compute_base_year_index(data, fw, base_year=base)
    base_index = get_base_year_table(base_result)
    base_index = base_index.rename(columns={"unit": "region_code", "time": "year"})
    coupling = compute_coupling_coordination(scores[concepts].clip(0, 100), scale=100)
    latest = int(years.max())
    total = scores[fw.root].xs(latest, level=-1)
    pairwise = compute_pairwise_coupling(total.clip(0, 100), scale=100)
    pairwise.insert(0, "year", latest)
    return MonitorResult(
        base_year_index=base_index,
        scores=_to_long(scores),
        ranks=_compute_rank_table(fw, data, result, n_draws, seed),
        coupling=coupling.reset_index().rename(columns=_index_names(coupling)),
        pairwise_coupling=pairwise,
        disparity=_compute_disparity(fw, data, scores[fw.root]),
        area_ratios=compute_area_ratios(fw, data),
        pipeline=result,
        base_pipeline=base_result,
        data=data,
        base_year=base,
        n_draws=n_draws,
    )


def _index_names(table: pd.DataFrame) -> dict[str, str]:
    names = list(table.index.names)
    return {names[0]: "region_code", names[-1]: "year"}


def _to_long(wide: pd.DataFrame) -> pd.DataFrame:
    long = wide.stack().rename("value").reset_index()
    long.columns = ["region_code", "year", "code", "value"]
    return long


def _compute_rank_table(
    fw: Framework, data: IndexData, result: PipelineResult, n_draws: int, seed: int
) -> pd.DataFrame:
    mc = compute_monte_carlo(build_scenario_model(fw, data), n_draws=n_draws, seed=seed)
    out = mc.summary[["median_rank", "rank_p05", "rank_p95"]].copy()
    out.insert(0, "rank", result.ranks[fw.root].reindex(out.index))
    out = out.reset_index()
    return out.rename(columns={out.columns[0]: "region_code", out.columns[1]: "year"})


def _get_areas(units: pd.Index) -> pd.Series:
    cities = get_cities_table().set_index("code")["area"]
    # Units outside the catalogue (e.g. whole provinces) are grouped by their code prefix.
    prefix = {"11": "BJ", "12": "TJ", "13": "HE"}
    return pd.Series([cities.get(u, prefix.get(str(u)[:2], "other")) for u in units], index=units)


def _compute_disparity(fw: Framework, data: IndexData, total: pd.Series) -> pd.DataFrame:
    if "population" not in data.denominators.columns:
        return pd.DataFrame()
    pop = data.denominators["population"]
    groups = _get_areas(data.values.index.get_level_values(0).unique())
    parts = [
        compute_disparity_over_time(total.clip(lower=1e-9), pop, groups).assign(measure="index")
    ]
    ind = fw.nodes[(fw.nodes["kind"] == "indicator") & (fw.nodes["denominator"] == "population")]
    for _, node in ind.iterrows():
        per_capita = data.values[node["code"]] * node["scale"] / pop
        if per_capita.notna().all() and (per_capita > 0).all():
            parts.append(
                compute_disparity_over_time(per_capita, pop, groups).assign(measure=node["code"])
            )
    out = pd.concat(parts, ignore_index=True)
    return out[["measure", *[c for c in out.columns if c != "measure"]]]


def compute_area_ratios(fw: Framework, data: IndexData) -> pd.DataFrame:
    """Beijing : Tianjin : Hebei ratios of every per-capita indicator, by year.

    Each area's value is its total numerator over its total population (so Hebei is
    the whole province of its cities, not a mean of city ratios).

    Returns
    -------
    pandas.DataFrame
        Columns: indicator, year, bj, tj, he, ratio_text.
    """
    cols = ["indicator", "year", "bj", "tj", "he", "ratio_text"]
    if "population" not in data.denominators.columns:
        return pd.DataFrame(columns=cols)
    units = data.values.index.get_level_values(0)
    area = _get_areas(units.unique()).reindex(units).to_numpy()
    ind = fw.nodes[(fw.nodes["kind"] == "indicator") & (fw.nodes["denominator"] == "population")]
    rows = []
    for _, node in ind.iterrows():
        frame = pd.DataFrame(
            {
                "num": data.values[node["code"]].to_numpy(),
                "pop": data.denominators["population"].to_numpy(),
                "area": area,
                "year": data.values.index.get_level_values(-1),
            }
        ).dropna()
        sums = frame.groupby(["year", "area"])[["num", "pop"]].sum()
        per_capita = (sums["num"] * node["scale"] / sums["pop"]).unstack("area")
        for year, row in per_capita.iterrows():
            if not set(AREAS) <= set(row.dropna().index):
                continue
            ratio = compute_ratio(row, list(AREAS))
            rows.append(
                {
                    "indicator": node["code"],
                    "year": year,
                    "bj": row["BJ"],
                    "tj": row["TJ"],
                    "he": row["HE"],
                    "ratio_text": get_ratio_text(ratio),
                }
            )
    return pd.DataFrame(rows, columns=cols)


def build_demo_indicators(framework: Framework, *, years: range, seed: int = 0) -> pd.DataFrame:
    """A synthetic long table for the 13 cities, shaped as the monitor expects.

    For tests and benchmarks only: values are random but plausible in size
    (Beijing larger than Hebei cities, slow trends).

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, indicator, value, unit, source, vintage.
    """
    rng = np.random.default_rng(seed)
    cities = get_cities_table()
    rows = []
    for _, city in cities.iterrows():
        size = 3.0 if city["area"] == "BJ" else 2.0 if city["area"] == "TJ" else 1.0
        pop = float(city["population_2020"])
        for k, year in enumerate(years):
            trend = 1.0 + 0.04 * k
            rows.append((city["code"], year, "population", pop * (1 + 0.005 * k)))
            rows.append((city["code"], year, "gdp", pop * size * 6e-5 * trend))
            for code in framework.indicators:
                base = rng.uniform(0.5, 1.5) * size * trend
                node = framework.get_node(code)
                scale = 1e-4 * pop if node["denominator"] == "population" else 1.0
                rows.append((city["code"], year, code, float(base * scale * 100)))
    out = pd.DataFrame(rows, columns=["region_code", "year", "indicator", "value"])
    return out.assign(unit="", source="synthetic", vintage="demo")
