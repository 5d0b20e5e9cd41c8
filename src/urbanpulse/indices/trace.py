"""Tracing a number back to its inputs: every stage of an indicator, every weight.

A trace of an aggregate lists its children with their values and weights, and the
weighted mean that gives the number; a trace of an indicator lists its value after
each pipeline step, from the raw statistic to the normalised score, with the
parameters of the normalisation. The numbers in a trace reproduce the traced number.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.errors import NotFoundError
from urbanpulse.indices.pipeline import PipelineResult

# Pipeline tables in the order a value passes through them.
STAGES = ("raw", "denominated", "imputed", "imputed_2", "treated", "normalised")


def compute_trace(
    result: PipelineResult,
    region_code: str,
    year: int,
    code: str,
    *,
    denominators: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The inputs behind one number of a pipeline result.

    Parameters
    ----------
    result
        The pipeline run (the monitor's scores or its base-year index).
    region_code, year, code
        Which number: a city, a year and an indicator, concept or the index.
    denominators
        The data's denominators (population, gdp) to show beside denominated indicators.

    Returns
    -------
    dict
        ``region_code``, ``year``, ``code``, ``name``, ``kind``, ``value``,
        ``aggregation`` and ``children`` (code, name, value, weight) for an aggregate;
        ``stages`` (stage, value), ``normalisation`` and the framework entry for an
        indicator. ``formula`` says in words how the value is computed.

    Raises
    ------
    NotFoundError
        For a code, city or year the result does not hold.
    """
    fw = result.framework
    node = fw.get_node(code) if code in set(fw.nodes["code"]) else None
    key = (str(region_code), int(year))
    if node is None or key not in result.aggregated.index:
        raise NotFoundError(f"nothing to trace for {code!r}, city {region_code}, year {year}")
    value = _get(result.aggregated, key, code)
    base = {
        "region_code": key[0],
        "year": key[1],
        "code": code,
        "name": str(node["name"]),
        "kind": str(node["kind"]),
        "value": value,
    }
    if node["kind"] == "aggregate":
        return {**base, **_trace_aggregate(result, key, code)}
    return {**base, **_trace_indicator(result, key, code, denominators)}


def _trace_aggregate(result: PipelineResult, key: tuple[str, int], code: str) -> dict[str, Any]:
    fw = result.framework
    weights = result.weights if result.weights is not None else fw.get_weights()
    children: list[dict[str, Any]] = [
        {
            "code": kid,
            "name": str(fw.get_node(kid)["name"]),
            "kind": str(fw.get_node(kid)["kind"]),
            "value": _get(result.aggregated, key, kid),
            "weight": float(weights[kid]),
        }
        for kid in fw.get_children(code)
    ]
    pairs = [(float(c["value"]), float(c["weight"])) for c in children if c["value"] is not None]
    total_weight = sum(w for _, w in pairs)
    reproduced = sum(v * w for v, w in pairs) / total_weight if total_weight else None
    return {
        "aggregation": _get_step_params(result, "aggregate").get("method", "arithmetic"),
        "children": children,
        "reproduced": reproduced,
        "formula": "weighted mean of the children: sum(weight x value) / sum(weight)"
        " over the children with a value",
    }


def _trace_indicator(
    result: PipelineResult,
    key: tuple[str, int],
    code: str,
    denominators: pd.DataFrame | None,
) -> dict[str, Any]:
    fw = result.framework
    node = fw.get_node(code)
    stages = [
        {"stage": name, "value": _get(result.tables[name], key, code)}
        for name in STAGES
        if name in result.tables
    ]
    entry = {
        "unit": node["unit"],
        "direction": int(node["direction"]),
        "denominator": node["denominator"],
        "scale": float(node["scale"]),
        "weight": float(result.weights[code]) if result.weights is not None else None,
    }
    if denominators is not None and node["denominator"] in denominators.columns:
        entry["denominator_value"] = _get(denominators, key, node["denominator"])
    treat = result.details.get("treat_details")
    if treat is not None and code in set(treat["indicator"]):
        entry["treatment"] = str(treat.set_index("indicator").at[code, "treatment"])
    normalisation, formula = _describe_normalisation(result, key, code)
    return {
        "framework": entry,
        "stages": stages,
        "normalisation": normalisation,
        "formula": formula,
    }


def _describe_normalisation(
    result: PipelineResult, key: tuple[str, int], code: str
) -> tuple[dict[str, Any], str]:
    params = _get_step_params(result, "normalise")
    method = params.get("method", "minmax")
    before = _get_previous_table(result)[code]
    direction = int(result.framework.get_node(code)["direction"])
    if method == "base_year":
        shift = float(result.framework.get_node(code)["base_shift"])
        base_value = _get(before.to_frame(), (key[0], int(params["base_year"])), code)
        info = {"method": method, "base_year": int(params["base_year"]), "shift": shift}
        info["base_value"] = base_value
        ratio = "(value + shift) / (base + shift)" if shift else "value / base"
        if direction < 0:
            ratio = "(base + shift) / (value + shift)" if shift else "base / value"
        return info, f"100 x {ratio}, with base the {params['base_year']} value"
    lower, upper = float(params.get("lower", 0.0)), float(params.get("upper", 100.0))
    info = {
        "method": method,
        "min": float(before.min()),
        "max": float(before.max()),
        "lower": lower,
        "upper": upper,
    }
    if direction > 0:
        return info, f"{lower:g} + {upper - lower:g} x (value - min) / (max - min)"
    return info, f"{lower:g} + {upper - lower:g} x (max - value) / (max - min)"


def _get_previous_table(result: PipelineResult) -> pd.DataFrame:
    """The table normalisation was applied to (the last one before it)."""
    names = [n for n in result.tables if n not in ("normalised", "aggregated")]
    return result.tables[names[-1]]


def _get_step_params(result: PipelineResult, step: str) -> dict[str, Any]:
    for record in result.log:
        if record.step == step:
            return dict(record.params)
    return {}


def _get(table: pd.DataFrame, key: tuple[str, int], column: str) -> float | None:
    try:
        value = table.at[key, column]
    except KeyError:
        return None
    return None if value is None or np.isnan(value) else float(value)
