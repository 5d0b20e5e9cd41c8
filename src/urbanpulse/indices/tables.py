"""Input tables for the index engine: reading, reshaping, ranking."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from urbanpulse.errors import ConfigurationError, SourceError
from urbanpulse.i18n import N_
from urbanpulse.indices.framework import Framework

UNIT_COLUMNS = ("region_code", "uCode", "unit", "code")
TIME_COLUMNS = ("year", "Time", "time")
LONG_COLUMNS = ("indicator", "value")


@dataclass(frozen=True)
class IndexData:
    """Indicator values plus the denominators and groups that go with them.

    All three tables share one index: the unit code, or (unit, time) for a panel.
    """

    values: pd.DataFrame
    denominators: pd.DataFrame
    groups: pd.DataFrame

    @property
    def is_panel(self) -> bool:
        """True when rows are (unit, time) pairs."""
        return self.values.index.nlevels == 2

    def get_group(self, name: str) -> pd.Series:
        """One group column, or the time level of a panel when ``name`` is the time."""
        if name in self.groups.columns:
            return self.groups[name]
        if self.is_panel and name == self.values.index.names[-1]:
            return pd.Series(self.values.index.get_level_values(-1), index=self.values.index)
        raise ConfigurationError(f"no group column {name!r} in the data")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel table.

    Raises
    ------
    SourceError
        If the file is missing or of an unknown type.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path, dtype={c: str for c in UNIT_COLUMNS})
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path)
    raise SourceError(f"{path}: data must be .csv, .parquet or .xlsx")


def build_index_data(data: pd.DataFrame, framework: Framework) -> IndexData:
    """Split a wide or long table into values, denominators and groups.

    A long table has columns ``indicator`` and ``value`` (plus unit and time);
    a wide table has one column per indicator. The unit column is the first of
    ``UNIT_COLUMNS`` present; a time column (``TIME_COLUMNS``) makes a panel when it
    holds more than one distinct value.
    """
    unit = next((c for c in UNIT_COLUMNS if c in data.columns), None)
    if unit is None:
        raise ConfigurationError(f"data needs a unit column, one of {UNIT_COLUMNS}")
    if all(c in data.columns for c in LONG_COLUMNS):
        data = _pivot_long(data, unit)
    tcol = next((c for c in TIME_COLUMNS if c in data.columns), None)
    keys = [unit]
    if tcol is not None and data[tcol].nunique() > 1:
        keys.append(tcol)
    if data.duplicated(keys).any():
        raise ConfigurationError(f"data has duplicate rows for {keys}")
    table = data.assign(**{unit: data[unit].astype(str)}).set_index(keys).sort_index()
    missing = [c for c in framework.indicators if c not in table.columns]
    if missing:
        raise ConfigurationError(N_("data lacks framework indicators: {missing}", missing=missing))
    values = table[framework.indicators].apply(pd.to_numeric, errors="coerce")
    denoms = [c for c in framework.denominators if c in table.columns]
    groups = [c for c in framework.groups if c in table.columns]
    return IndexData(
        values=values.astype(float),
        denominators=table[denoms].apply(pd.to_numeric, errors="coerce"),
        groups=table[groups],
    )


def _pivot_long(data: pd.DataFrame, unit: str) -> pd.DataFrame:
    tcol = next((c for c in TIME_COLUMNS if c in data.columns), None)
    index = [unit] + ([tcol] if tcol else [])
    if data.duplicated([*index, "indicator"]).any():
        raise ConfigurationError("long data has more than one value per unit, time, indicator")
    wide = data.pivot(index=index, columns="indicator", values="value")
    wide.columns.name = None
    return wide.reset_index()


def compute_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank every column, 1 = highest, ties sharing the lowest rank (COINr's ``rank_df``).

    In a panel, units are ranked within each period.

    Returns
    -------
    pandas.DataFrame
        Same shape and index as ``scores``; integer-valued float ranks (NaN stays NaN).
    """
    if scores.index.nlevels == 2:
        time_level = scores.index.names[-1] or -1
        return scores.groupby(level=time_level).rank(ascending=False, method="min")
    return scores.rank(ascending=False, method="min")
