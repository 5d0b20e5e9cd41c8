"""Base-year index, as the official Beijing-Tianjin-Hebei regional development index does it.

Each indicator becomes 100 x value / base-year value (base / value for indicators
where lower is better); each sub-index is the weighted mean of its indicators, so
every sub-index is 100 in the base year; the total is the plain mean of the
sub-indices (the five development concepts).

Ratios only make sense for positive quantities, and the official index is built on
such (outputs, per-capita values, shares). An indicator that crosses zero, like a
growth gap in percentage points, declares a ``base_shift`` in the framework and is
read as value + shift: 100 + gap is about 100 x (1 + city growth) / (1 + region
growth), the city's growth factor relative to the region's, a positive quantity with
the same meaning. We chose this over goalposts (fixed bounds mapped to 0-100) because
it keeps the official reading of every number, "100 = as in the base year", and
needs no bounds that someone would have to defend. Negative values without a shift
are refused with a clear error, and zeros (no output yet, Beijing's rail time to
itself) have no ratio: they stay missing and drop out of their sub-index's mean.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.framework import Framework
from urbanpulse.indices.pipeline import PipelineResult, run_pipeline
from urbanpulse.indices.tables import IndexData


def compute_base_year_index(
    data: IndexData,
    framework: Framework,
    *,
    base_year: int,
    reference: str = "unit",
    impute: str = "linear",
    max_gap: int | None = 2,
) -> PipelineResult:
    """Run the base-year pipeline: denominate, impute, base-year ratios, weights, means.

    The root's children (the sub-indices) get equal weights whatever the framework
    says, because the official total is their arithmetic mean.

    Parameters
    ----------
    reference
        ``unit``: each unit is 100 in the base year (a unit's own progress);
        ``mean``: the base-year mean over units is 100 (units stay comparable).
    impute
        Panel imputation method before the ratios (``linear``, ``locf`` or ``none``).

    Returns
    -------
    PipelineResult
        ``scores`` holds each sub-index and the total by (unit, year).
    """
    if not data.is_panel:
        raise ConfigurationError("a base-year index needs a (unit, year) panel")
    nodes = framework.nodes.copy()
    top = nodes["parent"] == framework.root
    nodes.loc[top, "weight"] = 1.0
    fw = Framework(framework.name, nodes, framework.denominators, framework.groups)
    steps: list[dict[str, Any]] = [
        {"step": "denominate"},
        {"step": "impute", "method": impute, "max_gap": max_gap},
        {
            "step": "normalise",
            "method": "base_year",
            "base_year": base_year,
            "reference": reference,
        },
        {"step": "weight", "method": "framework"},
        {"step": "aggregate", "method": "arithmetic"},
    ]
    if impute == "none":
        steps.pop(1)
    return run_pipeline(fw, data, steps)


def get_base_year_table(result: PipelineResult) -> pd.DataFrame:
    """Sub-indices and total in long form.

    Returns
    -------
    pandas.DataFrame
        Columns: unit, time, code, value (one row per unit, year and sub-index or total).
    """
    fw = result.framework
    codes = [*fw.get_children(fw.root), fw.root]
    wide = result.aggregated[codes]
    long = wide.stack().rename("value").reset_index()
    long.columns = ["unit", "time", "code", "value"]
    return long
