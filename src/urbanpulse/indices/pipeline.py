"""The index pipeline: steps applied in order, every parameter and effect recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from urbanpulse.errors import ConfigurationError
from urbanpulse.indices.aggregate import compute_aggregated
from urbanpulse.indices.framework import Framework
from urbanpulse.indices.impute import compute_imputed
from urbanpulse.indices.normalise import compute_normalised
from urbanpulse.indices.screen import compute_denominated, compute_screened
from urbanpulse.indices.tables import IndexData, compute_ranks
from urbanpulse.indices.treat import compute_treated
from urbanpulse.indices.weights import compute_effective_weights, compute_weights

DEFAULT_STEPS: tuple[dict[str, Any], ...] = (
    {"step": "denominate"},
    {"step": "impute", "method": "mean"},
    {"step": "treat"},
    {"step": "normalise", "method": "minmax", "lower": 0.0, "upper": 100.0},
    {"step": "weight", "method": "framework"},
    {"step": "aggregate", "method": "arithmetic"},
)


@dataclass(frozen=True)
class StepRecord:
    """What one step did: its parameters, its measured effect and its run time."""

    step: str
    params: dict[str, Any]
    effect: dict[str, Any]
    seconds: float


@dataclass
class PipelineResult:
    """Everything a pipeline run produced.

    Attributes
    ----------
    tables
        Every intermediate wide table, by step output name (raw, denominated,
        screened, imputed, treated, normalised, aggregated), in run order.
    details
        Per-step detail tables (e.g. ``treat_details``, ``treat_points``).
    weights
        The normalised weight of every node (within its parent).
    log
        One ``StepRecord`` per step.
    """

    framework: Framework
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    details: dict[str, pd.DataFrame] = field(default_factory=dict)
    weights: pd.Series | None = None
    log: list[StepRecord] = field(default_factory=list)

    @property
    def aggregated(self) -> pd.DataFrame:
        """The aggregated table (normalised indicators plus every aggregate)."""
        if "aggregated" not in self.tables:
            raise ConfigurationError("the pipeline has no aggregate step")
        return self.tables["aggregated"]

    @property
    def scores(self) -> pd.DataFrame:
        """Scores of every aggregate (pillars ... index), one column each."""
        codes = self.framework.nodes.loc[self.framework.nodes["kind"] == "aggregate", "code"]
        return self.aggregated[codes.tolist()]

    @property
    def ranks(self) -> pd.DataFrame:
        """Ranks of every aggregate (1 = best; ties share the lowest rank; per period)."""
        return compute_ranks(self.scores)

    def get_log_table(self) -> pd.DataFrame:
        """The step log as a table.

        Returns
        -------
        pandas.DataFrame
            Columns: order, step, params, effect, seconds (params and effect as text).
        """
        return pd.DataFrame(
            [
                {
                    "order": i + 1,
                    "step": r.step,
                    "params": repr(r.params),
                    "effect": repr(r.effect),
                    "seconds": r.seconds,
                }
                for i, r in enumerate(self.log)
            ],
            columns=["order", "step", "params", "effect", "seconds"],
        )

    def get_weights_table(self) -> pd.DataFrame:
        """Weights as a table.

        Returns
        -------
        pandas.DataFrame
            Columns: code, parent, level, weight, effective_weight.
        """
        nodes = self.framework.nodes
        w = self.weights if self.weights is not None else self.framework.get_weights()
        eff = compute_effective_weights(self.framework, w)
        return pd.DataFrame(
            {
                "code": nodes["code"].to_numpy(),
                "parent": nodes["parent"].to_numpy(),
                "level": nodes["level"].to_numpy(),
                "weight": w.reindex(nodes["code"]).to_numpy(),
                "effective_weight": eff.reindex(nodes["code"]).to_numpy(),
            }
        )


StepFunction = Callable[["_State", dict[str, Any]], dict[str, Any]]


@dataclass
class _State:
    framework: Framework
    data: IndexData
    current: pd.DataFrame
    result: PipelineResult


class Pipeline:
    """An ordered list of steps over a framework.

    Parameters
    ----------
    framework
        The hierarchy; its ``steps`` are used when ``steps`` is not given.
    steps
        Step dicts, each with a ``step`` name (denominate, screen, impute, treat,
        normalise, weight, aggregate) and that step's parameters.
    """

    def __init__(self, framework: Framework, steps: list[dict[str, Any]] | None = None) -> None:
        self.framework = framework
        chosen = steps if steps is not None else list(framework.steps or DEFAULT_STEPS)
        for s in chosen:
            if s.get("step") not in _STEPS:
                raise ConfigurationError(f"unknown pipeline step {s.get('step')!r}")
        self.steps = [dict(s) for s in chosen]

    def run(self, data: IndexData) -> PipelineResult:
        """Run every step on ``data`` and return all tables and the log."""
        result = PipelineResult(framework=self.framework)
        result.tables["raw"] = data.values.copy()
        state = _State(self.framework, data, data.values.copy(), result)
        for spec in self.steps:
            params = {k: v for k, v in spec.items() if k != "step"}
            started = time.perf_counter()
            effect = _STEPS[spec["step"]](state, params)
            result.log.append(
                StepRecord(spec["step"], params, effect, time.perf_counter() - started)
            )
        return result


def run_pipeline(
    framework: Framework, data: IndexData, steps: list[dict[str, Any]] | None = None
) -> PipelineResult:
    """Build a ``Pipeline`` and run it once."""
    return Pipeline(framework, steps).run(data)


def _store(state: _State, name: str, table: pd.DataFrame, *, detail: bool = False) -> None:
    """Keep a step's output; a repeated step (two imputations, say) gets ``name_2``."""
    target = state.result.details if detail else state.result.tables
    key, k = name, 1
    while key in target:
        k += 1
        key = f"{name}_{k}"
    target[key] = table


def _step_denominate(state: _State, params: dict[str, Any]) -> dict[str, Any]:
    out, details = compute_denominated(state.current, state.data.denominators, state.framework)
    state.current = out
    _store(state, "denominated", out)
    _store(state, "denominate_details", details, detail=True)
    return {"indicators_denominated": len(details)}


def _step_screen(state: _State, params: dict[str, Any]) -> dict[str, Any]:
    out, details = compute_screened(state.current, **params)
    removed = details.loc[~details["kept"], "item"].tolist()
    state.current = out
    _store(state, "screened", out)
    _store(state, "screen_details", details, detail=True)
    return {"removed": removed, "n_removed": len(removed)}


def _step_impute(state: _State, params: dict[str, Any]) -> dict[str, Any]:
    p = dict(params)
    group = p.pop("group", None)
    groups = None
    if group is not None:
        groups = state.data.get_group(group)
    out, details = compute_imputed(
        state.current, groups=groups, directions=state.framework.get_directions(), **p
    )
    state.current = out
    _store(state, "imputed", out)
    _store(state, "impute_details", details, detail=True)
    return {
        "n_imputed": int(details["n_imputed"].sum()),
        "n_still_missing": int(out.isna().to_numpy().sum()),
    }


def _step_treat(state: _State, params: dict[str, Any]) -> dict[str, Any]:
    out, details, points = compute_treated(state.current, **params)
    state.current = out
    _store(state, "treated", out)
    state.result.details["treat_details"] = details
    state.result.details["treat_points"] = points
    counts = details["treatment"].value_counts().to_dict()
    return {"winsorised": counts.get("winsorise", 0), "log_transformed": counts.get("log", 0)}


def _step_normalise(state: _State, params: dict[str, Any]) -> dict[str, Any]:
    nodes = state.framework.nodes.set_index("code")
    targets = nodes["target"].astype(float)
    out = compute_normalised(
        state.current,
        state.framework.get_directions(),
        targets=targets,
        shifts=nodes["base_shift"].astype(float),
        **params,
    )
    state.current = out
    _store(state, "normalised", out)
    return {"min": float(out.min().min()), "max": float(out.max().max())}


def _step_weight(state: _State, params: dict[str, Any]) -> dict[str, Any]:
    w = compute_weights(state.framework, state.current, **params)
    state.result.weights = w
    state.result.details["weights"] = state.result.get_weights_table()
    ind = state.framework.indicators
    return {
        "min_indicator_weight": float(w[ind].min()),
        "max_indicator_weight": float(w[ind].max()),
    }


def _step_aggregate(state: _State, params: dict[str, Any]) -> dict[str, Any]:
    if state.result.weights is None:
        state.result.weights = compute_weights(state.framework)
    out = compute_aggregated(state.current, state.framework, state.result.weights, **params)
    state.current = out
    state.result.tables["aggregated"] = out
    root = state.framework.root
    return {"index_min": float(out[root].min()), "index_max": float(out[root].max())}


_STEPS: dict[str, StepFunction] = {
    "denominate": _step_denominate,
    "screen": _step_screen,
    "impute": _step_impute,
    "treat": _step_treat,
    "normalise": _step_normalise,
    "weight": _step_weight,
    "aggregate": _step_aggregate,
}
