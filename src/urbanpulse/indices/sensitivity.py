"""Sobol sensitivity analysis (first and total order) with quasi-random sampling (SALib)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from urbanpulse.indices.uncertainty import ScenarioModel, compute_batch_ranks

# Exact Sobol indices of the Ishigami function with a = 7, b = 0.1 (Ishigami & Homma 1990).
ISHIGAMI_FIRST = (0.3139051827, 0.4424111447, 0.0)
ISHIGAMI_TOTAL = (0.5575888553, 0.4424111447, 0.2436836725)


def compute_ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """The Ishigami test function on rows of x in [-pi, pi]^3."""
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def compute_sobol_indices(
    func: Callable[[np.ndarray], np.ndarray],
    problem: dict[str, Any],
    *,
    n: int = 1024,
    seed: int = 0,
) -> pd.DataFrame:
    """First- and total-order Sobol indices of a scalar model.

    Uses Saltelli's scheme on a scrambled Sobol' sequence (``n`` base samples, a
    power of two; n * (D + 2) model runs).

    Returns
    -------
    pandas.DataFrame
        One row per factor; columns: factor, s1, s1_conf, st, st_conf.
    """
    x = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    y = np.asarray(func(x), dtype=float)
    res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
    return pd.DataFrame(
        {
            "factor": problem["names"],
            "s1": res["S1"],
            "s1_conf": res["S1_conf"],
            "st": res["ST"],
            "st_conf": res["ST_conf"],
        }
    )


def build_index_problem(model: ScenarioModel, *, weight_noise: float = 0.25) -> dict[str, Any]:
    """Sobol factors of an index: every aggregate weight below the root, plus the
    choice of imputation, normalisation and aggregation (uniform [0, 1), cut into equal
    slices, one per option). Indicator weights stay nominal to keep the factor count low.
    """
    fw = model.framework
    agg_nodes = [c for c in model.nodes if fw.get_node(c)["kind"] == "aggregate"]
    names = [f"w_{c}" for c in agg_nodes] + ["imputation", "normalisation", "aggregation"]
    bounds = [[1 - weight_noise, 1 + weight_noise]] * len(agg_nodes) + [[0.0, 1.0]] * 3
    return {"num_vars": len(names), "names": names, "bounds": bounds, "nodes": agg_nodes}


def compute_index_sensitivity(
    model: ScenarioModel, *, n: int = 256, weight_noise: float = 0.25, seed: int = 0
) -> pd.DataFrame:
    """Sobol indices of the mean absolute rank shift of the index against the nominal run.

    Returns
    -------
    pandas.DataFrame
        One row per factor; columns: factor, s1, s1_conf, st, st_conf.
    """
    problem = build_index_problem(model, weight_noise=weight_noise)
    one = np.ones((1, len(model.nodes)), dtype=float)
    zero = np.zeros(1, dtype=int)
    nominal = compute_batch_ranks(model.evaluate(zero, zero, zero, one), model.index)[0]
    cols = [model.nodes.index(c) for c in problem["nodes"]]
    k = len(cols)

    def run(x: np.ndarray) -> np.ndarray:
        mult = np.ones((len(x), len(model.nodes)))
        mult[:, cols] = x[:, :k]
        choice = [
            np.minimum((x[:, k + i] * len(opts)).astype(int), len(opts) - 1)
            for i, opts in enumerate((model.imputations, model.normalisations, model.aggregations))
        ]
        scores = model.evaluate(choice[0], choice[1], choice[2], mult)
        ranks = compute_batch_ranks(scores, model.index)
        return np.abs(ranks - nominal).mean(axis=1)

    clean = {k2: v for k2, v in problem.items() if k2 != "nodes"}
    return compute_sobol_indices(run, clean, n=n, seed=seed)
