"""Yearly indicators 2014-2024 of the 13 demo cities, in the regional monitor's codes.

Codes and raw units follow ``urbanpulse/indices/frameworks/jingjinji.toml`` (its data
contract), so the monitor runs on the demo as it would on official statistics. Values
are made up but shaped like the real ones: Beijing ahead of Tianjin ahead of Hebei on
most per-capita measures, energy use per unit of GDP down by more than a quarter from
2014 to 2020 (NBS: Beijing -28.7 %, Tianjin -25.0 %, Hebei -26.1 %), PM2.5 more than
halved, Zhangjiakou 187 rail minutes from Beijing until the 2019 line brought it to 47.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbanpulse.catalog.cities import get_cities
from urbanpulse.store.interface import INDICATORS_SCHEMA

YEARS = range(2014, 2025)
SOURCE = "UrbanPulse synthetic demo"
VINTAGE = "synthetic-demo"
INDICATOR_COLUMNS = list(INDICATORS_SCHEMA.names)  # as the lake stores them
UNITS = {
    "population": "persons",
    "gdp": "100 million yuan",
    "gdp_growth": "%",
    "inn_rd_expenditure": "100 million yuan",
    "inn_invention_patents": "patents",
    "inn_hightech_value_added": "100 million yuan",
    "inn_nev_output": "vehicles",
    "inn_industrial_robots": "sets",
    "inn_solar_cells": "MW",
    "coo_gdp": "100 million yuan",
    "coo_gdp_growth_gap": "percentage points",
    "coo_urban_rural_income_ratio": "ratio",
    "coo_rail_minutes_to_beijing": "minutes",
    "gre_energy_consumption": "10,000 tonnes of standard coal equivalent",
    "gre_pm25": "ug/m3",
    "gre_green_coverage": "%",
    "gre_sewage_treatment": "%",
    "ope_trade": "100 million yuan",
    "ope_fdi": "100 million yuan",
    "ope_investment_from_region": "100 million yuan",
    "ope_tech_contracts_inflow": "10,000 yuan",
    "ope_tech_contracts_outflow": "10,000 yuan",
    "sha_education_spending": "10,000 yuan",
    "sha_social_security_spending": "10,000 yuan",
    "sha_health_spending": "10,000 yuan",
    "sha_disposable_income": "yuan",
}

# Per city: GDP 2014 (100 million yuan), mean real growth (%), population change a year,
# energy per GDP 2014 (tce / 10,000 yuan) and its 2020/2014 ratio, PM2.5 2014 and 2024,
# R&D intensity 2014 (%), per-capita factor against the Hebei average, high-tech share.
# fmt: off
_CITY = pd.DataFrame(
    [
        ("110000", 21331, 6.0, 0.001, 0.32, 0.713, 85.9, 30.5, 5.95, 1.00, 0.230),
        ("120000", 12000, 5.0, -0.002, 0.58, 0.750, 83.0, 40.0, 2.96, 1.00, 0.130),
        ("130100", 4800, 6.0, 0.006, 0.95, 0.720, 124.0, 46.0, 1.80, 1.10, 0.100),
        ("130200", 5600, 5.8, 0.002, 1.85, 0.730, 102.0, 41.0, 0.90, 1.15, 0.050),
        ("130300", 1200, 6.2, 0.001, 0.85, 0.725, 60.0, 31.0, 1.00, 1.10, 0.055),
        ("130400", 3000, 5.5, -0.001, 1.60, 0.730, 116.0, 47.0, 0.80, 0.95, 0.045),
        ("130500", 1650, 6.0, -0.002, 1.20, 0.725, 131.0, 47.0, 0.60, 0.85, 0.050),
        ("130600", 2900, 5.5, -0.003, 0.65, 0.720, 126.0, 44.0, 1.90, 0.95, 0.090),
        ("130700", 1300, 5.2, -0.005, 1.10, 0.715, 34.0, 22.0, 0.60, 0.90, 0.045),
        ("130800", 1300, 5.0, -0.003, 1.30, 0.725, 46.0, 27.0, 0.50, 0.90, 0.040),
        ("130900", 3000, 5.8, 0.001, 0.80, 0.725, 87.0, 39.0, 0.60, 0.95, 0.050),
        ("131000", 2000, 7.0, 0.012, 0.55, 0.720, 92.0, 37.0, 1.40, 1.20, 0.090),
        ("131100", 1100, 6.5, -0.004, 0.75, 0.725, 107.0, 42.0, 0.60, 0.85, 0.045),
    ],
    columns=["code", "gdp_2014", "growth", "pop_change", "energy_2014", "energy_ratio",
             "pm25_2014", "pm25_2024", "rd_2014", "per_capita", "hightech"],
).set_index("code")
# Output of new-energy vehicles, robots and solar cells: (plateau, middle year) per city;
# most cities make none of some of them.
_NEV = {"110000": (180_000, 2021), "120000": (60_000, 2022), "130600": (120_000, 2022),
        "130900": (40_000, 2021), "130100": (20_000, 2022), "130400": (10_000, 2022),
        "130200": (5_000, 2022)}
_ROBOTS = {"120000": (25_000, 2019), "110000": (12_000, 2019), "130200": (8_000, 2020),
           "131000": (3_000, 2020), "130600": (2_000, 2020), "130100": (2_000, 2020)}
_SOLAR = {"130500": (12_000, 2019), "120000": (8_000, 2019), "130600": (4_000, 2016),
          "131000": (2_000, 2020), "131100": (1_000, 2020), "130900": (500, 2020),
          "110000": (300, 2018)}
# Fastest rail minutes to Beijing: (minutes in 2014, {year it changed: new minutes}).
_RAIL = {"110000": (0, {}), "120000": (33, {2015: 30}), "130100": (67, {}),
         "130200": (92, {2023: 60}), "130300": (138, {2021: 117}), "130400": (109, {}),
         "130500": (94, {}), "130600": (41, {}), "130700": (187, {2020: 47}),
         "130800": (270, {2021: 56}), "130900": (67, {2017: 57}), "131000": (21, {}),
         "131100": (120, {2024: 88})}
# Per-capita (yuan) levels of each area in 2014 and 2024: BJ, TJ, Hebei average.
_PER_CAPITA = {
    "sha_education_spending": ((3400, 5300), (2900, 3300), (1500, 2400)),
    "sha_social_security_spending": ((2900, 5900), (2500, 4800), (1200, 2100)),
    "sha_health_spending": ((1550, 3000), (1000, 1800), (650, 1250)),
    "sha_disposable_income": ((44489, 85415), (28832, 53581), (16647, 35000)),
}
# fmt: on
_AREA = {"110000": 0, "120000": 1}


def build_indicators(seed: int = 2026) -> pd.DataFrame:
    """Yearly indicators 2014-2024 of the 13 cities, deterministic by ``seed``.

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, indicator, value, unit, source, vintage, synthetic
        (always True); one row per city, year and code of ``UNITS``.
    """
    rng = np.random.default_rng([seed, 6])
    codes = [c.code for c in get_cities()]
    years = np.array(YEARS)
    tables: dict[str, np.ndarray] = {}
    tables["population"] = _build_population(codes, years, rng)
    growth, gdp = _build_gdp(codes, years, rng)
    tables.update(gdp=gdp, coo_gdp=gdp, gdp_growth=growth)
    tables["coo_gdp_growth_gap"] = growth - (growth * gdp).sum(0) / gdp.sum(0)
    tables.update(_build_innovation(codes, years, gdp, tables["population"], rng))
    tables.update(_build_green(codes, years, gdp, rng))
    tables.update(_build_openness(codes, years, gdp, rng))
    tables.update(_build_sharing(codes, years, tables["population"], rng))
    tables["coo_rail_minutes_to_beijing"] = _build_rail(codes, years)
    return _to_long(tables, codes, years)


def _build_population(codes: list[str], years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    census = np.array([c.population_2020 for c in get_cities()], dtype=float)[:, None]
    change = _CITY.loc[codes, "pop_change"].to_numpy()[:, None]
    noise = rng.normal(0.0, 0.002, size=(len(codes), len(years)))
    return np.round(census * (1.0 + change) ** (years - 2020) * (1.0 + noise))


def _build_gdp(
    codes: list[str], years: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Real growth (%) and current-price GDP; 2020 and 2022 hit every city."""
    slowdown = np.linspace(1.0, -1.0, len(years))
    shock = {2020: -4.8, 2021: 2.8, 2022: -3.8, 2023: -0.5}
    year_shock = np.array([shock.get(int(y), 0.0) for y in years])
    trend = _CITY.loc[codes, "growth"].to_numpy()[:, None] + slowdown + year_shock
    growth = np.round(trend + rng.normal(0.0, 0.5, size=trend.shape), 1)
    prices = 1.0 + rng.normal(0.015, 0.008, size=len(years))
    factor = np.cumprod((1.0 + growth / 100.0) * prices, axis=1) / (
        (1.0 + growth[:, :1] / 100) * prices[0]
    )
    return growth, np.round(_CITY.loc[codes, "gdp_2014"].to_numpy()[:, None] * factor, 1)


def _build_innovation(
    codes: list[str],
    years: np.ndarray,
    gdp: np.ndarray,
    population: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    t = (years - 2014) / 10.0
    rd_share = _CITY.loc[codes, "rd_2014"].to_numpy()[:, None] * (
        1.0 + _uplift(codes, 0.1, 0.9) * t
    )
    patents_pc = np.array(
        [62.0 if c == "110000" else 11.0 if c == "120000" else 2.0 for c in codes]
    )
    patents_pc = patents_pc * _CITY.loc[codes, "per_capita"].to_numpy() ** 2
    growth = np.array([0.14 if c == "110000" else 0.15 if c == "120000" else 0.17 for c in codes])
    per_10k = patents_pc[:, None] * (1.0 + growth[:, None]) ** (years - 2014)
    hightech = _CITY.loc[codes, "hightech"].to_numpy()[:, None] + 0.05 * t
    return {
        "inn_rd_expenditure": np.round(gdp * rd_share / 100.0 * _noise(rng, gdp.shape, 0.03), 1),
        "inn_invention_patents": np.round(
            per_10k * population / 1e4 * _noise(rng, gdp.shape, 0.03)
        ),
        "inn_hightech_value_added": np.round(gdp * hightech * _noise(rng, gdp.shape, 0.03), 1),
        "inn_nev_output": _build_output(_NEV, codes, years, rng, 1.2),
        "inn_industrial_robots": _build_output(_ROBOTS, codes, years, rng, 1.0),
        "inn_solar_cells": _build_output(_SOLAR, codes, years, rng, 0.9),
    }


def _uplift(codes: list[str], beijing: float, others: float) -> np.ndarray:
    return np.array([beijing if c == "110000" else others for c in codes])[:, None]


def _build_output(
    plants: dict[str, tuple[int, int]],
    codes: list[str],
    years: np.ndarray,
    rng: np.random.Generator,
    speed: float,
) -> np.ndarray:
    """Output that grows along an S-curve where there are plants, and is 0 elsewhere."""
    out = np.zeros((len(codes), len(years)))
    for i, code in enumerate(codes):
        if code in plants:
            plateau, middle = plants[code]
            # Plants already made some in 2014: the curve starts from a twentieth.
            curve = plateau * (0.05 + 0.95 / (1.0 + np.exp(-speed * (years - middle))))
            out[i] = np.round(curve * _noise(rng, len(years), 0.08))
    return out


def _build_green(
    codes: list[str], years: np.ndarray, gdp: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    city = _CITY.loc[codes]
    # Energy per current-price GDP: the path of the official 2014-2020 ratios, then on.
    yearly = city["energy_ratio"].to_numpy()[:, None] ** (1.0 / 6.0)
    steps = np.where(years <= 2020, years - 2014, 6)[None, :]
    intensity = city["energy_2014"].to_numpy()[:, None] * yearly**steps
    intensity *= 0.97 ** np.clip(years - 2020, 0, None)[None, :]
    energy = np.round(intensity * gdp * _noise(rng, gdp.shape, 0.01), 1)
    t = (years - 2014) / 10.0
    pm_start, pm_end = city["pm25_2014"].to_numpy()[:, None], city["pm25_2024"].to_numpy()[:, None]
    weather = _noise(rng, len(years), 0.05)[None, :]  # a stagnant winter hits every city
    pm25 = np.round(pm_start * (pm_end / pm_start) ** t * weather * _noise(rng, gdp.shape, 0.03), 1)
    green = np.array([47.4 if c == "110000" else 34.9 if c == "120000" else 41.0 for c in codes])
    sewage = np.array([86.0 if c == "110000" else 91.0 if c == "120000" else 95.0 for c in codes])
    return {
        "gre_energy_consumption": energy,
        "gre_pm25": pm25,
        "gre_green_coverage": np.round(green[:, None] + 3.0 * t + rng.normal(0, 0.4, gdp.shape), 1),
        "gre_sewage_treatment": np.round(
            np.minimum(
                99.5, sewage[:, None] + (99.0 - sewage[:, None]) * t + rng.normal(0, 0.3, gdp.shape)
            ),
            1,
        ),
    }


def _build_openness(
    codes: list[str], years: np.ndarray, gdp: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    t = (years - 2014) / 10.0
    hebei = np.array([c not in _AREA for c in codes])[:, None]
    trade_share = np.array(
        [1.2 if c == "110000" else 0.68 if c == "120000" else 0.12 for c in codes]
    )
    fdi_share = np.array(
        [0.026 if c == "110000" else 0.08 if c == "120000" else 0.012 for c in codes]
    )
    trade = gdp * trade_share[:, None] * (1.0 - 0.25 * t)
    fdi = (
        gdp * fdi_share[:, None] * np.where(codes_is(codes, "120000"), 1.0 - 0.6 * t, 1.0 + 0.1 * t)
    )
    # Hebei absorbs Beijing's capital and know-how; Tianjin less; Beijing little.
    received = np.where(hebei, 0.12, 0.02) * gdp * (1.0 + 0.5 * t)
    inflow = (
        np.where(hebei, 40.0, np.where(codes_is(codes, "120000"), 60.0, 6.0))
        * gdp
        * (1.0 + 5.0 * t)
    )
    outflow = np.where(codes_is(codes, "110000"), 40.0, 5.0) * gdp * (1.0 + 4.0 * t)
    return {
        "ope_trade": np.round(trade * _noise(rng, gdp.shape, 0.05), 1),
        "ope_fdi": np.round(fdi * _noise(rng, gdp.shape, 0.08), 1),
        "ope_investment_from_region": np.round(received * _noise(rng, gdp.shape, 0.08), 1),
        "ope_tech_contracts_inflow": np.round(inflow * _noise(rng, gdp.shape, 0.1)),
        "ope_tech_contracts_outflow": np.round(outflow * _noise(rng, gdp.shape, 0.1)),
    }


def codes_is(codes: list[str], code: str) -> np.ndarray:
    """Column mask of one city among ``codes``."""
    return np.array([c == code for c in codes])[:, None]


def _build_sharing(
    codes: list[str], years: np.ndarray, population: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    t = (years - 2014) / 10.0
    factor = np.array([1.0 if c in _AREA else _CITY.loc[c, "per_capita"] for c in codes])[:, None]
    area = [_AREA.get(c, 2) for c in codes]
    covid = np.array([1.15 if y in (2020, 2021, 2022) else 1.0 for y in years])[None, :]
    out: dict[str, np.ndarray] = {}
    for code, levels in _PER_CAPITA.items():
        start = np.array([levels[a][0] for a in area], dtype=float)[:, None]
        end = np.array([levels[a][1] for a in area], dtype=float)[:, None]
        per_capita = factor * start * (end / start) ** t * _noise(rng, population.shape, 0.02)
        if code == "sha_health_spending":
            per_capita = per_capita * covid
        if code == "sha_disposable_income":
            out[code] = np.round(per_capita)
        else:
            out[code] = np.round(per_capita * population / 1e4, 1)
    ratio = np.array([2.57 if c == "110000" else 1.85 if c == "120000" else 2.37 for c in codes])[
        :, None
    ]
    out["coo_urban_rural_income_ratio"] = np.round(
        ratio * (1.0 - 0.12 * t) / factor**0.3 * _noise(rng, population.shape, 0.01), 2
    )
    return out


def _build_rail(codes: list[str], years: np.ndarray) -> np.ndarray:
    out = np.zeros((len(codes), len(years)))
    for i, code in enumerate(codes):
        minutes, changes = _RAIL[code]
        for j, year in enumerate(years):
            minutes = changes.get(int(year), minutes)
            out[i, j] = minutes
    return out


def _noise(rng: np.random.Generator, shape: tuple[int, ...] | int, sigma: float) -> np.ndarray:
    return rng.lognormal(0.0, sigma, size=shape)


def _to_long(tables: dict[str, np.ndarray], codes: list[str], years: np.ndarray) -> pd.DataFrame:
    frames = []
    for code, values in tables.items():
        frames.append(
            pd.DataFrame(
                {
                    "region_code": np.repeat(codes, len(years)),
                    "year": np.tile(years, len(codes)).astype("int32"),
                    "indicator": code,
                    "value": values.ravel().astype(float),
                    "unit": UNITS[code],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True).assign(
        source=SOURCE, vintage=VINTAGE, synthetic=True
    )
    return out.sort_values(["indicator", "region_code", "year"], ignore_index=True)[
        INDICATOR_COLUMNS
    ]
