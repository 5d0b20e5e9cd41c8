"""Loading a statistics table (yearly indicators by city) into the lake's indicators.

A small mapping file says where the region, year and values are. Two layouts:

* ``wide``: one row per region and year, one column per indicator
  (``[indicators.<code>] column = "..."``);
* ``long``: one row per region, year and indicator (``indicator_column``,
  ``value_column``; ``[indicators.<code>] name = "..."`` maps the table's names).

Regions may be given by administrative code or by Chinese or English city name.
Bad cells (an unknown region, a year that is not a year, a value that is not a
number or is out of its range, a repeated value) go to quarantine with their line,
column and reason; good values are upserted (region, year, indicator, vintage), so
loading the same table twice stores nothing new and quarantines nothing twice.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from urbanpulse.catalog.cities import get_city
from urbanpulse.errors import MappingError, NotFoundError
from urbanpulse.ingest.mapping import SourceSpec
from urbanpulse.ingest.readers import LINE, read_source
from urbanpulse.store import Commit, Lake, new_batch_id, upsert_indicators
from urbanpulse.store.quarantine import build_reject, stage_rejects
from urbanpulse.store.sources import describe_sources, fingerprint_file, read_fingerprints

_CODE = re.compile(r"^\d{6}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorSpec(_Strict):
    """One indicator: where it comes from, its unit, a factor and its valid range."""

    column: str | None = Field(default=None, description="wide: the column of values.")
    name: str | None = Field(default=None, description="long: the table's name for it.")
    unit: str = ""
    factor: float = Field(default=1.0, description="Values are multiplied by this.")
    min: float | None = Field(default=None, description="Values below are quarantined.")
    max: float | None = Field(default=None, description="Values above are quarantined.")


class IndicatorMapping(_Strict):
    """A whole indicator mapping file."""

    layout: Literal["wide", "long"]
    region_column: str
    year_column: str
    indicator_column: str | None = None
    value_column: str | None = None
    vintage: str = Field(description="Publication the values come from, e.g. '2025'.")
    source: SourceSpec = Field(default_factory=SourceSpec)
    indicators: dict[str, IndicatorSpec]

    @model_validator(mode="after")
    def _layout_needs(self) -> IndicatorMapping:
        if self.layout == "wide":
            missing = [c for c, s in self.indicators.items() if s.column is None]
            if missing:
                raise ValueError(f"wide layout needs a column for indicators {missing}")
        elif self.indicator_column is None or self.value_column is None:
            raise ValueError("long layout needs indicator_column and value_column")
        return self


@dataclass
class LoadSummary:
    """What a load did."""

    rows_read: int = 0
    values_stored: int = 0
    missing_cells: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    indicators_in_lake: int = 0
    already_loaded: bool = False

    @property
    def quarantined_total(self) -> int:
        """All cells put in quarantine."""
        return sum(self.quarantined.values())


def read_indicator_mapping(path: str | Path) -> IndicatorMapping:
    """Read and check a TOML indicator mapping; MappingError says what is wrong and where."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read mapping {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return IndicatorMapping.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise MappingError(f"{path}: {problems}") from exc


def ingest_indicator_table(
    lake: Lake, path: str | Path, mapping: IndicatorMapping | str | Path
) -> LoadSummary:
    """Load a statistics table into the lake's indicators; bad cells go to quarantine.

    Returns
    -------
    LoadSummary
        Counts of rows, stored values, missing cells and quarantined cells by reason.
    """
    spec = mapping if isinstance(mapping, IndicatorMapping) else read_indicator_mapping(mapping)
    path = Path(path)
    raw = read_source(path, spec.source)
    frame = raw.table.to_pandas()
    _check_columns(frame, spec, path)
    summary = LoadSummary(rows_read=len(frame))
    bad: list[dict[str, object]] = [
        build_reject(path, r.line, None, r.reason, r.raw) for r in raw.rejects
    ]
    cells = _to_cells(frame, spec)
    good, rejected, summary.missing_cells = _check_cells(cells, spec, path)
    bad += rejected
    fingerprint = fingerprint_file(path, "indicators")
    summary.already_loaded = fingerprint in read_fingerprints(lake)
    source = spec.source.name or path.name
    table = good.assign(source=source, vintage=spec.vintage, synthetic=False)
    info = {"sources": describe_sources([(path, fingerprint)])}
    summary.values_stored = len(table)
    summary.indicators_in_lake = upsert_indicators(
        lake, pa.Table.from_pandas(table, preserve_index=False), info=info
    )
    summary.quarantined.update(str(row["reason"]).split(":")[0] for row in bad)
    if bad and not summary.already_loaded:
        _write_quarantine(lake, bad)
    return summary


def _check_columns(frame: pd.DataFrame, spec: IndicatorMapping, path: Path) -> None:
    needed = [spec.region_column, spec.year_column]
    if spec.layout == "wide":
        needed += [s.column for s in spec.indicators.values() if s.column]
    else:
        needed += [c for c in (spec.indicator_column, spec.value_column) if c]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MappingError(f"{path} lacks columns {missing}; it has {list(frame.columns)}")


def _to_cells(frame: pd.DataFrame, spec: IndicatorMapping) -> pd.DataFrame:
    """One row per (line, region, year, indicator, raw value, source column)."""
    keys = {
        "line": frame[LINE],
        "region": frame[spec.region_column],
        "year": frame[spec.year_column],
    }
    if spec.layout == "wide":
        parts = [
            pd.DataFrame({**keys, "indicator": code, "raw": frame[s.column], "column": s.column})
            for code, s in spec.indicators.items()
        ]
        return pd.concat(parts, ignore_index=True)
    names = {(s.name or code): code for code, s in spec.indicators.items()}
    return pd.DataFrame(
        {
            **keys,
            "indicator": frame[spec.indicator_column]
            .map(names)
            .fillna("?" + frame[spec.indicator_column].fillna("").astype(str)),
            "raw": frame[spec.value_column],
            "column": spec.value_column,
        }
    )


def _check_cells(
    cells: pd.DataFrame, spec: IndicatorMapping, path: Path
) -> tuple[pd.DataFrame, list[dict[str, object]], int]:
    missing_tokens = set(spec.source.missing)
    good, bad, missing = [], [], 0
    seen: set[tuple[str, int, str]] = set()
    regions: dict[str, str | None] = {}
    for cell in cells.itertuples(index=False):
        line, raw = int(cell.line), cell.raw
        if raw is None or str(raw).strip() in missing_tokens:
            missing += 1
            continue
        problem, row = _check_cell(cell, spec, regions)
        if problem is None and row is not None:
            key = (str(row["region_code"]), int(str(row["year"])), str(row["indicator"]))
            problem = "repeated value for this region, year and indicator" if key in seen else None
            seen.add(key)
        if problem is not None:
            bad.append(build_reject(path, line, str(cell.column), problem, str(raw)))
        else:
            good.append(row)
    columns = ["region_code", "year", "indicator", "value", "unit"]
    return pd.DataFrame(good, columns=columns), bad, missing


def _check_cell(
    cell: Any, spec: IndicatorMapping, regions: dict[str, str | None]
) -> tuple[str | None, dict[str, object] | None]:
    text = str(cell.region or "").strip()
    if text not in regions:
        regions[text] = _resolve_region(text)
    if regions[text] is None:
        return f"unknown region: {text!r}", None
    try:
        year = int(float(str(cell.year).strip()))
    except ValueError:
        return f"not a year: {cell.year!r}", None
    if not 1949 <= year <= 2100:
        return f"not a year: {year}", None
    code = str(cell.indicator)
    if code.startswith("?"):
        return f"unknown indicator: {code[1:]!r}", None
    ind = spec.indicators[code]
    try:
        value = float(str(cell.raw).replace(",", "").strip()) * ind.factor
    except ValueError:
        return f"not a number: {cell.raw!r}", None
    if ind.min is not None and value < ind.min:
        return f"below minimum: {value} < {ind.min}", None
    if ind.max is not None and value > ind.max:
        return f"above maximum: {value} > {ind.max}", None
    row = {"region_code": regions[text], "year": year, "indicator": code}
    return None, {**row, "value": value, "unit": ind.unit}


def _resolve_region(text: str) -> str | None:
    """A 6-digit administrative code as is, or a catalogue city's code from its name."""
    if _CODE.match(text):
        return text
    try:
        return get_city(text).code
    except NotFoundError:
        return None


def _write_quarantine(lake: Lake, bad: list[dict[str, object]]) -> None:
    batch_id = new_batch_id()
    with lake.write_lock():
        placed = stage_rejects(lake, bad, batch_id)
        lake.commit(Commit("load_indicators_quarantine", batch_id, [placed], [], {}))
