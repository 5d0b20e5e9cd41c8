"""Real provincial statistics shipped inside the package, so a fresh clone shows them.

``data/china_provinces.csv`` is a small extract (about 800 values, 100 kB) of what
``urbanpulse indices load-china`` computes from the shared data: every indicator for
Beijing, Tianjin and Hebei, R&D intensity for all 31 provinces (the ranking), and the
2010 and 2020 census residents of the three. Both sources are MIT-licensed; their
licences, sources and vintage are in ``data/LICENSES.txt`` and on every value
(:func:`urbanpulse.indices.provinces.get_licence`). ``urbanpulse demo`` loads it into a lake that has no provincial
statistics yet (:func:`write_province_extract`); a full ``load-china`` later adds the
rest. Rebuild the file from a copy of the shared data with
``python -m urbanpulse.indices.extract ../shared/data``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa

from urbanpulse.indices.china import JJJ, compute_china_indicators, read_census_population
from urbanpulse.indices.provinces import (
    RANKED,
    RESIDENTS,
    build_province_rows,
    check_china_data,
    read_province_indicators,
)
from urbanpulse.store import Lake, upsert_indicators

EXTRACT_FILE = Path(__file__).parent / "data" / "china_provinces.csv"
LICENCE_FILE = EXTRACT_FILE.parent / "LICENSES.txt"
COLUMNS = ("region_code", "year", "indicator", "value", "unit", "source", "vintage", "synthetic")
CENSUS_SOURCE = "census via china-census-city"
# The census file has Hebei's 11 prefecture cities only: their sum is 72.3 million in
# 2020, below the province's official total, and the page must not hide that.
HEBEI_NOTE = (
    ", sum of Hebei's 11 prefecture cities (the provincial census total, 74.6 million "
    "in 2020, also counts areas outside them)"
)


def build_province_extract(data_dir: Path) -> pd.DataFrame:
    """The extract computed from the shared data folder (see the module's docstring).

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, indicator, value, unit, source, vintage, synthetic.
    """
    check_china_data(data_dir)
    china = compute_china_indicators(data_dir)
    vintage = f"techme-{int(china.indicators['year'].max()) + 1}"
    rows = build_province_rows(china.indicators, vintage=vintage)
    keep = rows["region_code"].isin(list(JJJ)) | (rows["indicator"] == RANKED)
    census = read_census_population(data_dir / "china-census-city")
    census = census[
        census["province_code"].isin(list(JJJ)) & (census["population_basis"] == "census")
    ]
    residents = pd.DataFrame(
        {
            "region_code": census["province_code"].astype(str),
            "year": census["year"].astype(int),
            "indicator": RESIDENTS,
            "value": census["population"].astype(float).round(),
            "unit": "persons",
            "source": census["year"].astype(str)
            + " "
            + CENSUS_SOURCE
            + census["province_code"].map({"130000": HEBEI_NOTE}).fillna(""),
            "vintage": "census-2020",
            "synthetic": False,
        }
    )
    out = pd.concat([rows[keep], residents], ignore_index=True)
    return out.sort_values(["indicator", "region_code", "year"], ignore_index=True)[list(COLUMNS)]


def read_province_extract(path: Path = EXTRACT_FILE) -> pd.DataFrame:
    """The shipped extract, typed as the lake's indicators table.

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, indicator, value, unit, source, vintage, synthetic.
    """
    table = pd.read_csv(path, dtype={"region_code": str, "unit": str, "source": str})
    return table.astype({"year": int, "value": float, "synthetic": bool})[list(COLUMNS)]


def write_province_extract(lake: Lake, *, path: Path = EXTRACT_FILE) -> int:
    """Store the shipped extract in ``lake`` unless it already holds provincial statistics.

    Returns
    -------
    int
        Values stored (0 when the lake had some already).
    """
    if not read_province_indicators(lake).empty:
        return 0
    rows = read_province_extract(path)
    upsert_indicators(
        lake,
        pa.Table.from_pandas(rows, preserve_index=False),
        info={"source": "urbanpulse package extract", "province_values": len(rows)},
    )
    return len(rows)


def main(argv: list[str]) -> None:
    """Rebuild the shipped extract from the shared data folder named in ``argv``."""
    data_dir = Path(argv[0] if argv else "../shared/data")
    table = build_province_extract(data_dir)
    table.to_csv(EXTRACT_FILE, index=False, float_format="%.10g")
    print(f"wrote {len(table)} values to {EXTRACT_FILE}")


if __name__ == "__main__":
    main(sys.argv[1:])
