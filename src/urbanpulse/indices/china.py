"""Real-data innovation and sharing indicators for China's provinces (Beijing, Tianjin, Hebei first).

Sources (see ../shared/data/README.md): NBS yearbook tables from the ``techme``
package (``china-province-tech``) and the 2010 and 2020 census by prefecture
(``china-census-city``). The census gives population only for 2010 and 2020:
other years use linear interpolation between them, and years after 2020 hold the
2020 count; every per-capita row says which (``population_basis``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from urbanpulse.errors import SourceError
from urbanpulse.i18n import N_
from urbanpulse.indices.disparity import compute_ratio, get_ratio_text
from urbanpulse.indices.framework import Framework

JJJ = {"110000": "Beijing", "120000": "Tianjin", "130000": "Hebei"}

# (indicator, file, chn_block4, unit, multiplier to get the unit, per-capita scale or None)
_SERIES: tuple[tuple[str, str, str, str, float, float | None], ...] = (
    ("rd_intensity", "RDIntense", "RD强度", N_("% of GDP"), 1.0, None),
    ("rd_expenditure", "RDIntense", "RD经费", "100 million yuan", 1.0, None),
    (
        "invention_patents_valid_per_10k",
        "RDPatentValid",
        "发明",
        N_("per 10,000 residents"),
        1.0,
        1e4,
    ),
    ("patents_granted_per_10k", "RDPatentAuthority", "合计", N_("per 10,000 residents"), 1.0, 1e4),
    ("tech_contracts_outflow", "MarketPush", "金额", "100 million yuan", 1e-4, None),
    ("tech_contracts_inflow", "MarketPull", "金额", "100 million yuan", 1e-4, None),
    ("education_spending_per_capita", "PublicBudget", "教育", N_("yuan per resident"), 1e8, 1.0),
    ("st_spending_per_capita", "PublicBudget", "科学技术", N_("yuan per resident"), 1e8, 1.0),
)

# What the shipped Jing-Jin-Ji framework asks for that these tables cannot give.
UNSUPPLIED: dict[str, str] = {
    "inn_hightech_value_added": N_("no value added of high-tech / strategic emerging industries"),
    "inn_nev_output": N_("no new-energy-vehicle output"),
    "inn_industrial_robots": N_("no industrial-robot output"),
    "inn_solar_cells": N_("no solar-cell output"),
    "coo_gdp": N_("no GDP (only R&D intensity, already a ratio to GDP)"),
    "coo_gdp_growth_gap": N_("no GDP growth"),
    "coo_urban_rural_income_ratio": N_("no household income"),
    "coo_rail_minutes_to_beijing": N_("no rail timetables"),
    "gre_energy_consumption": N_("no energy consumption"),
    "gre_pm25": N_("no air quality (Beijing stations only, in another data set)"),
    "gre_green_coverage": N_("no urban green coverage"),
    "gre_sewage_treatment": N_("no sewage treatment"),
    "ope_trade": N_("no foreign trade"),
    "ope_fdi": N_("no foreign direct investment"),
    "ope_investment_from_region": N_("no investment by origin area"),
    "ope_tech_contracts_inflow": N_("contracts are totals per province, not by partner area"),
    "sha_social_security_spending": N_(
        "PublicBudget holds only total, education, S&T, agriculture"
    ),
    "sha_health_spending": N_("PublicBudget holds only total, education, S&T, agriculture"),
    "sha_disposable_income": N_("no household income"),
}
SUPPLIED_AT_PROVINCE_LEVEL: dict[str, str] = {
    "inn_rd_expenditure": "rd_intensity",
    "inn_invention_patents": "invention_patents_valid_per_10k",
    "sha_education_spending": "education_spending_per_capita",
}
CENSUS_FILE = "china-census-city/census_city_2010-2020_v1.csv"
# Every file compute_china_indicators reads, relative to the shared data folder.
SOURCE_FILES: tuple[str, ...] = (
    *sorted({f"china-province-tech/{file}.csv" for _, file, *_ in _SERIES}),
    CENSUS_FILE,
)


@dataclass
class ChinaIndicators:
    """Province indicators, Beijing : Tianjin : Hebei ratios and the framework gap.

    Attributes
    ----------
    indicators
        province_code, province, year, indicator, value, unit, population_basis, source.
    ratios
        indicator, year, beijing, tianjin, hebei, ratio_text.
    unsupplied
        code, reason: framework indicators these data cannot supply.
    """

    indicators: pd.DataFrame
    ratios: pd.DataFrame
    unsupplied: pd.DataFrame


def read_census_population(census_dir: Path) -> pd.DataFrame:
    """Province populations by year from the prefecture census rows.

    Returns
    -------
    pandas.DataFrame
        Columns: province_code, province_full, year, population, population_basis.
    """
    path = census_dir / Path(CENSUS_FILE).name
    if not path.is_file():
        raise SourceError(f"{path}: census file not found")
    cols = ["province", "province_code", "popu_2010", "popu_2020"]
    census = pd.read_csv(path, usecols=cols)
    prov = census.groupby(["province_code", "province"], as_index=False)[cols[2:]].sum()
    rows = []
    for _, p in prov.iterrows():
        for year in range(2000, 2031):
            frac = min(max((year - 2010) / 10, 0.0), 1.0)
            pop = p["popu_2010"] + frac * (p["popu_2020"] - p["popu_2010"])
            basis = (
                "census"
                if year in (2010, 2020)
                else "interpolated"
                if 2010 < year < 2020
                else "nearest census"
            )
            rows.append((str(p["province_code"]), p["province"], year, pop, basis))
    return pd.DataFrame(
        rows, columns=["province_code", "province_full", "year", "population", "population_basis"]
    )


def _read_series(tech_dir: Path, file: str, block: str) -> pd.DataFrame:
    path = tech_dir / f"{file}.csv"
    if not path.is_file():
        raise SourceError(f"{path}: table not found")
    table = pd.read_csv(path)
    return table[table["chn_block4"] == block][["province", "year", "value"]]


def compute_china_indicators(data_dir: Path, framework: Framework | None = None) -> ChinaIndicators:
    """Compute what the real data supports of the five concepts, for every province.

    Parameters
    ----------
    data_dir
        The shared data folder holding ``china-province-tech`` and ``china-census-city``.
    framework
        The framework to report gaps against (the shipped Jing-Jin-Ji one by default).
    """
    pop = read_census_population(data_dir / "china-census-city")
    names = pop.drop_duplicates("province_code")[["province_code", "province_full"]]
    parts = []
    for code, file, block, unit, mult, per_capita in _SERIES:
        s = _read_series(data_dir / "china-province-tech", file, block)
        s = s[s["province"] != "全国"].copy()
        s["province_code"] = s["province"].map(lambda p: _match_code(p, names))
        s = s.dropna(subset=["province_code"]).merge(pop, on=["province_code", "year"], how="left")
        s["value"] = s["value"] * mult
        if per_capita is not None:
            s["value"] = s["value"] * per_capita / s["population"]
        else:
            s["population_basis"] = "not used"
        s["indicator"], s["unit"], s["source"] = code, unit, f"techme {file}: {block}"
        parts.append(s)
    ind = pd.concat(parts, ignore_index=True)
    ind = pd.concat([ind, _compute_net_flows(ind)], ignore_index=True)
    cols = ["province_code", "province", "year", "indicator", "value", "unit"]
    ind = ind[[*cols, "population_basis", "source"]].sort_values(cols[:4], ignore_index=True)
    return ChinaIndicators(ind, compute_jjj_ratios(ind), get_unsupplied(framework))


def _match_code(short: str, names: pd.DataFrame) -> str | None:
    hit = names[names["province_full"].str.startswith(short)]
    return None if hit.empty else str(hit["province_code"].iloc[0])


def _compute_net_flows(ind: pd.DataFrame) -> pd.DataFrame:
    keys = ["province_code", "province", "year"]
    wide = ind[ind["indicator"].str.startswith("tech_contracts")].pivot_table(
        index=keys, columns="indicator", values="value"
    )
    out = []
    net = (wide["tech_contracts_outflow"] - wide["tech_contracts_inflow"]).rename("value")
    out.append(
        net.reset_index().assign(indicator="tech_contracts_net_outflow", unit="100 million yuan")
    )
    ratio = (wide["tech_contracts_outflow"] / wide["tech_contracts_inflow"]).rename("value")
    out.append(ratio.reset_index().assign(indicator="tech_contracts_out_in_ratio", unit="ratio"))
    return pd.concat(out).assign(population_basis="not used", source="derived from MarketPush/Pull")


def compute_jjj_ratios(ind: pd.DataFrame) -> pd.DataFrame:
    """Beijing : Tianjin : Hebei ratio of every indicator in every year all three report.

    Returns
    -------
    pandas.DataFrame
        Columns: indicator, year, beijing, tianjin, hebei, ratio_text.
    """
    jjj = ind[ind["province_code"].isin(list(JJJ))]
    wide = jjj.pivot_table(index=["indicator", "year"], columns="province_code", values="value")
    rows = []
    for (code, year), v in wide.iterrows():
        v = v.reindex(list(JJJ))
        if v.isna().any() or v.iloc[-1] <= 0 or (v < 0).any():
            continue  # a ratio to a missing or non-positive Hebei value means nothing
        r = compute_ratio(v, list(JJJ))
        rows.append(
            {
                "indicator": code,
                "year": int(year),
                "beijing": v.iloc[0],
                "tianjin": v.iloc[1],
                "hebei": v.iloc[2],
                "ratio_text": get_ratio_text(r),
            }
        )
    return pd.DataFrame(
        rows, columns=["indicator", "year", "beijing", "tianjin", "hebei", "ratio_text"]
    )


def get_unsupplied(
    framework: Framework | None = None, *, stored: set[str] | None = None
) -> pd.DataFrame:
    """Framework indicators the province tables cannot supply, with the reason.

    Parameters
    ----------
    framework
        The framework to report gaps against (the shipped Jing-Jin-Ji one by default).
    stored
        Province indicator codes actually at hand (say, in the lake); a framework
        indicator counts as supplied only when its province series is among them.
        All series are assumed present when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns: code, reason.
    """
    if framework is None:
        from urbanpulse.indices.monitor import read_default_framework

        framework = read_default_framework()
    rows = [
        {"code": c, "reason": _get_gap_reason(c)}
        for c in framework.indicators
        if c not in SUPPLIED_AT_PROVINCE_LEVEL
        or (stored is not None and SUPPLIED_AT_PROVINCE_LEVEL[c] not in stored)
    ]
    return pd.DataFrame(rows, columns=["code", "reason"])


def _get_gap_reason(code: str) -> str:
    if code in SUPPLIED_AT_PROVINCE_LEVEL:
        return f"{SUPPLIED_AT_PROVINCE_LEVEL[code]} is not loaded"
    return UNSUPPLIED.get(code, "not in the province tables")


def get_latest_values(ind: pd.DataFrame, indicator: str) -> pd.Series:
    """The latest year's values of one indicator, by province code."""
    sub = ind[ind["indicator"] == indicator]
    latest = sub[sub["year"] == sub["year"].max()]
    return latest.set_index("province_code")["value"].astype(float).replace(np.inf, np.nan)
