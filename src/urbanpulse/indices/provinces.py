"""Real provincial statistics in the lake: stored from the NBS tables, read back for the monitor.

``write_china_indicators`` computes :mod:`urbanpulse.indices.china` over a user's copy
of the shared data and stores every province, year and indicator in the lake's
indicators table, keyed by the province's 6-digit code and marked as measured
(``synthetic`` false). Their indicator codes are not framework codes, so the 13-city
monitor never picks them up: the two stay apart. ``build_province_summary`` is what
the monitor page and ``/api/monitor/provinces`` show of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from urbanpulse.errors import NotFoundError, SourceError
from urbanpulse.i18n import N_
from urbanpulse.indices.china import (
    JJJ,
    SOURCE_FILES,
    compute_china_indicators,
    compute_jjj_ratios,
    get_unsupplied,
)
from urbanpulse.indices.framework import Framework
from urbanpulse.store import Lake, read_indicators, upsert_indicators

LOAD_HINT = "load them with `urbanpulse indices load-china ../shared/data`"
RANKED = "rd_intensity"

PROVINCES: dict[str, tuple[str, str]] = {
    "110000": ("北京", "Beijing"),
    "120000": ("天津", "Tianjin"),
    "130000": ("河北", "Hebei"),
    "140000": ("山西", "Shanxi"),
    "150000": ("内蒙古", "Inner Mongolia"),
    "210000": ("辽宁", "Liaoning"),
    "220000": ("吉林", "Jilin"),
    "230000": ("黑龙江", "Heilongjiang"),
    "310000": ("上海", "Shanghai"),
    "320000": ("江苏", "Jiangsu"),
    "330000": ("浙江", "Zhejiang"),
    "340000": ("安徽", "Anhui"),
    "350000": ("福建", "Fujian"),
    "360000": ("江西", "Jiangxi"),
    "370000": ("山东", "Shandong"),
    "410000": ("河南", "Henan"),
    "420000": ("湖北", "Hubei"),
    "430000": ("湖南", "Hunan"),
    "440000": ("广东", "Guangdong"),
    "450000": ("广西", "Guangxi"),
    "460000": ("海南", "Hainan"),
    "500000": ("重庆", "Chongqing"),
    "510000": ("四川", "Sichuan"),
    "520000": ("贵州", "Guizhou"),
    "530000": ("云南", "Yunnan"),
    "540000": ("西藏", "Tibet"),
    "610000": ("陕西", "Shaanxi"),
    "620000": ("甘肃", "Gansu"),
    "630000": ("青海", "Qinghai"),
    "640000": ("宁夏", "Ningxia"),
    "650000": ("新疆", "Xinjiang"),
}

# Indicator code -> (name, concept), in the order the monitor lists them; names marked N_
# are shown in the reader's language.
INDICATORS: dict[str, tuple[str, str]] = {
    "rd_intensity": (N_("R&D intensity (R&D spending / GDP)"), "innovation"),
    "rd_expenditure": (N_("R&D spending"), "innovation"),
    "invention_patents_valid_per_10k": (
        N_("Valid invention patents per 10,000 residents"),
        "innovation",
    ),
    "patents_granted_per_10k": (N_("Patents granted per 10,000 residents"), "innovation"),
    "st_spending_per_capita": (N_("Public S&T spending per resident"), "innovation"),
    "tech_contracts_outflow": (N_("Technology contracts sold (outflow)"), "openness"),
    "tech_contracts_inflow": (N_("Technology contracts bought (inflow)"), "openness"),
    "tech_contracts_net_outflow": (N_("Net technology-contract outflow"), "openness"),
    "tech_contracts_out_in_ratio": (N_("Technology contracts sold / bought"), "openness"),
    "education_spending_per_capita": (N_("Public education spending per resident"), "sharing"),
    "residents_census": (N_("Permanent residents (census)"), "population"),
}
RESIDENTS = "residents_census"
# Licences of the two sources (see indices/data/LICENSES.txt), told apart by the source text.
TECHME_LICENCE = N_("MIT licence: techme (Hu Huaping)")
CENSUS_LICENCE = N_("MIT licence: china-census-city (Lei Dong)")

_BASIS = {
    "census": "census count",
    "interpolated": "interpolated between the 2010 and 2020 censuses",
    "nearest census": "nearest census (2010 or 2020)",
}


@dataclass(frozen=True)
class ProvinceLoadSummary:
    """What ``write_china_indicators`` stored."""

    values_stored: int
    values_skipped: int
    indicators: tuple[str, ...]
    provinces: int
    years: tuple[int, int]
    vintage: str
    ratios: pd.DataFrame  # Beijing : Tianjin : Hebei in each indicator's latest year
    unsupplied: pd.DataFrame


def check_china_data(data_dir: Path) -> None:
    """Raise ``SourceError`` naming every file ``load-china`` needs that is missing."""
    missing = [f for f in SOURCE_FILES if not (data_dir / f).is_file()]
    if missing:
        raise SourceError(
            f"{data_dir} lacks {', '.join(missing)}: give the shared data folder that "
            "holds china-province-tech/ and china-census-city/"
        )


def build_province_rows(indicators: pd.DataFrame, *, vintage: str) -> pd.DataFrame:
    """Lake rows from ``compute_china_indicators(...).indicators``; no value, no row.

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, indicator, value, unit, source, vintage, synthetic.
    """
    table = indicators.replace([np.inf, -np.inf], np.nan).dropna(subset=["value"])
    basis = table["population_basis"].map(_BASIS)
    raw = table["source"].astype(str)
    # china.py names its derived rows "derived from ..."; the rest are techme tables.
    source = ("NBS yearbook via " + raw).where(
        raw.str.startswith("techme"), raw + " (NBS yearbook via techme)"
    )
    per_resident = "; residents: " + basis.fillna("")
    return pd.DataFrame(
        {
            "region_code": table["province_code"].astype(str),
            "year": table["year"].astype(int),
            "indicator": table["indicator"],
            "value": table["value"].astype(float),
            "unit": table["unit"],
            "source": source.where(basis.isna(), source + per_resident),
            "vintage": vintage,
            "synthetic": False,
        }
    ).reset_index(drop=True)


def write_china_indicators(
    lake: Lake, data_dir: Path, *, vintage: str | None = None
) -> ProvinceLoadSummary:
    """Compute the real provincial indicators from ``data_dir`` and store them in the lake.

    Parameters
    ----------
    data_dir
        The shared data folder holding ``china-province-tech`` and ``china-census-city``.
    vintage
        Label of this release; by default ``techme-<yearbook>``, the yearbook edition
        being the latest data year + 1 (NBS yearbooks report the year before).
    """
    check_china_data(data_dir)
    china = compute_china_indicators(data_dir)
    years = (int(china.indicators["year"].min()), int(china.indicators["year"].max()))
    label = vintage or f"techme-{years[1] + 1}"
    rows = build_province_rows(china.indicators, vintage=label)
    upsert_indicators(
        lake,
        pa.Table.from_pandas(rows, preserve_index=False),
        info={"source": str(data_dir), "vintage": label, "province_values": len(rows)},
    )
    return ProvinceLoadSummary(
        values_stored=len(rows),
        values_skipped=len(china.indicators) - len(rows),
        indicators=tuple(c for c in INDICATORS if c in set(rows["indicator"])),
        provinces=int(rows["region_code"].nunique()),
        years=years,
        vintage=label,
        ratios=_get_latest_ratios(china.ratios),
        unsupplied=get_unsupplied(stored=set(rows["indicator"])),
    )


def _get_latest_ratios(ratios: pd.DataFrame) -> pd.DataFrame:
    latest = ratios[ratios["year"] == ratios.groupby("indicator")["year"].transform("max")]
    order = {code: i for i, code in enumerate(INDICATORS)}
    return latest.sort_values("indicator", key=lambda c: c.map(order)).reset_index(drop=True)


def read_province_indicators(lake: Lake) -> pd.DataFrame:
    """The lake's measured provincial statistics, the latest vintage of each value.

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, indicator, value, unit, source, vintage, synthetic.
        Empty when none are loaded.
    """
    table = read_indicators(lake)
    keep = (
        table["indicator"].isin(list(INDICATORS))
        & table["region_code"].isin(list(PROVINCES))
        & ~table["synthetic"].fillna(False).astype(bool)
    )
    table = table[keep].assign(_order=lambda t: t["vintage"].fillna(""))
    table = table.sort_values(["indicator", "region_code", "year", "_order"])
    table = table.drop_duplicates(["indicator", "region_code", "year"], keep="last")
    return table.drop(columns="_order").reset_index(drop=True)


def build_province_summary(lake: Lake, *, framework: Framework | None = None) -> dict[str, Any]:
    """Everything the monitor shows of the real provincial statistics.

    Returns
    -------
    dict
        synthetic (always False), version, years, vintages, sources, licences, areas
        (the three Jing-Jin-Ji areas), indicators (per indicator: latest year, the three
        values with source, vintage and licence, ratio_text and the first year's ratio for the trend),
        series ({indicator: {region_code: {years, values}}} for the three), ratios
        (indicator, year, beijing, tianjin, hebei, ratio_text), ranking (all provinces
        on R&D intensity in its latest year) and unsupplied (code, name, concept,
        reason).

    Raises
    ------
    NotFoundError
        When the lake holds no measured provincial statistics.
    """
    table = read_province_indicators(lake)
    if table.empty:
        raise NotFoundError(f"the lake holds no real provincial statistics; {LOAD_HINT}")
    ratios = compute_jjj_ratios(table.rename(columns={"region_code": "province_code"}))
    return {
        "synthetic": False,
        "version": lake.version,
        "years": sorted(int(y) for y in table["year"].unique()),
        "vintages": sorted(str(v) for v in table["vintage"].dropna().unique()),
        "sources": sorted(str(s) for s in table["source"].dropna().unique()),
        "licences": sorted({get_licence(str(s)) for s in table["source"].dropna()} - {""}),
        "areas": [_get_area(code) for code in JJJ],
        "indicators": [_build_indicator(table, ratios, code) for code in _present(table)],
        "series": {code: _build_series(table, code) for code in _present(table)},
        "ratios": _get_records(ratios),
        "ranking": _build_ranking(table, RANKED),
        "unsupplied": _build_unsupplied(set(table["indicator"]), framework),
    }


def get_licence(source: str) -> str:
    """The licence of a value from its source text: techme's, the census's, or both (a
    value per resident uses both)."""
    parts = [TECHME_LICENCE] if "techme" in source else []
    return "; ".join([*parts, CENSUS_LICENCE] if "census" in source else parts)


def _present(table: pd.DataFrame) -> list[str]:
    found = set(table["indicator"])
    return [code for code in INDICATORS if code in found]


def _get_area(code: str) -> dict[str, str]:
    zh, en = PROVINCES[code]
    return {"region_code": code, "name_zh": zh, "name_en": en}


def _build_indicator(table: pd.DataFrame, ratios: pd.DataFrame, code: str) -> dict[str, Any]:
    """One row of the Beijing : Tianjin : Hebei table: latest values, ratio and its trend."""
    rows = table[(table["indicator"] == code) & table["region_code"].isin(list(JJJ))]
    name, concept = INDICATORS[code]
    own = ratios[ratios["indicator"] == code].sort_values("year")
    latest = int(rows["year"].max()) if len(rows) else None
    current = rows[rows["year"] == latest].set_index("region_code")
    values = {
        area: {
            "value": float(current.at[area, "value"]),
            "source": str(current.at[area, "source"]),
            "vintage": str(current.at[area, "vintage"]),
            "licence": get_licence(str(current.at[area, "source"])),
        }
        for area in JJJ
        if area in current.index
    }
    last_ratio = own[own["year"] == latest]
    return {
        "code": code,
        "name": name,
        "concept": concept,
        "unit": str(rows["unit"].iloc[0]) if len(rows) else "",
        "year": latest,
        "values": values,
        "ratio_text": str(last_ratio["ratio_text"].iloc[0]) if len(last_ratio) else None,
        "first_ratio_year": int(own["year"].iloc[0]) if len(own) else None,
        "first_ratio_text": str(own["ratio_text"].iloc[0]) if len(own) else None,
    }


def _build_series(table: pd.DataFrame, code: str) -> dict[str, dict[str, list[Any]]]:
    rows = table[(table["indicator"] == code) & table["region_code"].isin(list(JJJ))]
    out: dict[str, dict[str, list[Any]]] = {}
    for area, part in rows.sort_values("year").groupby("region_code"):
        out[str(area)] = {
            "years": [int(y) for y in part["year"]],
            "values": [float(v) for v in part["value"]],
        }
    return out


def _build_ranking(table: pd.DataFrame, code: str) -> dict[str, Any]:
    """All provinces on one indicator in its latest year, highest first."""
    rows = table[table["indicator"] == code]
    if rows.empty:
        return {"indicator": code, "name": INDICATORS[code][0], "year": None, "items": []}
    year = int(rows["year"].max())
    rows = rows[rows["year"] == year].sort_values("value", ascending=False)
    items = [
        {
            "rank": rank,
            **_get_area(str(r.region_code)),
            "value": float(r.value),
            "unit": str(r.unit),
            "source": str(r.source),
            "vintage": str(r.vintage),
            "licence": get_licence(str(r.source)),
        }
        for rank, r in enumerate(rows.itertuples(), start=1)
    ]
    return {"indicator": code, "name": INDICATORS[code][0], "year": year, "items": items}


def _build_unsupplied(stored: set[str], framework: Framework | None) -> list[dict[str, str]]:
    if framework is None:
        from urbanpulse.indices.monitor import read_default_framework

        framework = read_default_framework()
    gaps = get_unsupplied(framework, stored=stored)
    return [
        {
            "code": str(g.code),
            "name": str(framework.get_node(str(g.code))["name"]),
            "concept": str(framework.get_node(str(g.code))["parent"]),
            "reason": str(g.reason),
        }
        for g in gaps.itertuples()
    ]


def _get_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    clean = table.astype(object).where(table.notna(), None)
    return [
        {k: (int(v) if k == "year" else v) for k, v in row.items()}
        for row in clean.to_dict(orient="records")
    ]
