"""Exports of a monitor result: named tables, CSV text and an Excel workbook.

The workbook opens on the published tables (wide, in the reader's language, rounded as
printed; ``indices.published``), followed by every long table behind them.
"""

from __future__ import annotations

import io

import pandas as pd

from urbanpulse.errors import NotFoundError
from urbanpulse.indices.monitor import MonitorResult
from urbanpulse.indices.published import (
    PUBLISHED,
    build_published_tables,
    get_published_title,
)
from urbanpulse.indices.views import get_city_names, get_years

TABLES = (
    "scores",
    "base_year_index",
    "ranks",
    "coupling",
    "pairwise_coupling",
    "disparity",
    "area_ratios",
    "weights",
    "normalised",
    "inputs",
    "log",
)


def get_monitor_tables(result: MonitorResult, inputs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every table of the monitor, by name (see ``TABLES``), cities named in English.

    Parameters
    ----------
    inputs
        The long indicator table the monitor was computed from (``inputs`` sheet), so
        a reader of the export can check every number against its raw statistics.
    """
    names = get_city_names(sorted(result.scores["region_code"].unique()))
    names = names[["region_code", "name_en", "name_zh"]]
    pipeline = result.pipeline
    normalised = pipeline.tables["normalised"].reset_index()
    normalised = normalised.rename(
        columns=dict(zip(normalised.columns[:2], ["region_code", "year"], strict=True))
    )
    tables = {
        "scores": _named(result.scores, names),
        "base_year_index": _named(result.base_year_index, names),
        "ranks": _named(result.ranks, names),
        "coupling": _named(result.coupling, names),
        "pairwise_coupling": result.pairwise_coupling,
        "disparity": result.disparity,
        "area_ratios": result.area_ratios,
        "weights": pipeline.get_weights_table(),
        "normalised": _named(normalised, names),
        "inputs": inputs,
        "log": pipeline.get_log_table(),
    }
    return {name: tables[name].reset_index(drop=True) for name in TABLES}


def get_export_tables(result: MonitorResult, inputs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The latest year's published tables (:data:`PUBLISHED`), then every long table
    (:data:`TABLES`), by name."""
    published = build_published_tables(result, year=get_years(result)[-1])
    return {**published, **get_monitor_tables(result, inputs)}


def get_sheet_titles(result: MonitorResult) -> dict[str, str]:
    """Sheet names of the published tables in the reader's language (the long tables
    keep their names)."""
    year = get_years(result)[-1]
    return {name: get_published_title(name, year=year) for name in PUBLISHED}


def get_table_csv(tables: dict[str, pd.DataFrame], name: str) -> str:
    """One table as CSV text; NotFoundError for an unknown name."""
    if name not in tables:
        raise NotFoundError(f"no table {name!r}; tables are {', '.join(tables)}")
    return str(tables[name].to_csv(index=False))


def build_workbook(
    tables: dict[str, pd.DataFrame], *, titles: dict[str, str] | None = None
) -> bytes:
    """An Excel workbook (.xlsx) with one sheet per table (named by ``titles`` where
    given, else by the table's name), header row frozen."""
    titles = titles or {}
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in tables.items():
            sheet = titles.get(name, name)[:31]
            table.to_excel(writer, sheet_name=sheet, index=False, freeze_panes=(1, 0))
    return buffer.getvalue()


def _named(table: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    if "region_code" not in table.columns:
        return table
    out = names.merge(table, on="region_code", how="right")
    return out[["region_code", "name_en", "name_zh", *table.columns.drop("region_code")]]
