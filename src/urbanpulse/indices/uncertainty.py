"""Monte Carlo uncertainty: how far ranks move under other defensible modelling choices.

Each draw picks an imputation method, a normalisation and an aggregation, and
multiplies every weight by a factor drawn from U(1 - noise, 1 + noise). Tables
for each (imputation, normalisation) pair are computed once; draws are then
aggregated in vectorised batches, which makes 10,000 draws cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from urbanpulse.indices.framework import Framework
from urbanpulse.indices.impute import compute_imputed
from urbanpulse.indices.normalise import compute_normalised
from urbanpulse.indices.screen import compute_denominated
from urbanpulse.indices.tables import IndexData
from urbanpulse.indices.treat import compute_treated
from urbanpulse.indices.weights import compute_weights

AGGREGATIONS = ("arithmetic", "geometric", "harmonic")


@dataclass
class ScenarioModel:
    """Precomputed normalised tables and the hierarchy, ready for batch evaluation.

    ``tables[i][j]`` is the normalised table for imputation ``imputations[i]`` and
    normalisation ``normalisations[j]``; ``positive`` holds the same shifted to a
    minimum of 1, for geometric and harmonic means, which need positive values.
    """

    framework: Framework
    index: pd.Index
    imputations: tuple[str, ...]
    normalisations: tuple[str, ...]
    aggregations: tuple[str, ...]
    tables: list[list[np.ndarray]]
    positive: list[list[np.ndarray]]
    nominal_weights: pd.Series
    nodes: list[str] = field(default_factory=list)

    def evaluate(
        self, imp: np.ndarray, norm: np.ndarray, agg: np.ndarray, mult: np.ndarray
    ) -> np.ndarray:
        """Index scores for a batch of scenarios.

        Parameters
        ----------
        imp, norm, agg
            Integer choices per scenario (length B).
        mult
            Weight multipliers, shape (B, len(self.nodes)).

        Returns
        -------
        numpy.ndarray
            Shape (B, rows): the root score of every row in every scenario.
        """
        out = np.empty((len(imp), len(self.index)))
        combos = np.stack([imp, norm, agg], axis=1)
        for key in np.unique(combos, axis=0):
            sel = np.flatnonzero((combos == key).all(axis=1))
            i, j, a = (int(k) for k in key)
            how = self.aggregations[a]
            x = self.tables[i][j] if how == "arithmetic" else self.positive[i][j]
            out[sel] = self._aggregate(x, how, mult[sel])
        return out

    def _aggregate(self, x: np.ndarray, how: str, mult: np.ndarray) -> np.ndarray:
        fw = self.framework
        pos = {c: k for k, c in enumerate(self.nodes)}
        w = self.nominal_weights.reindex(self.nodes).to_numpy() * mult  # (B, nodes)
        cols = {c: k for k, c in enumerate(fw.indicators)}
        values: dict[str, np.ndarray] = {}
        for level in range(2, fw.max_level + 1):
            for code in fw.get_codes(level):
                kids = fw.get_children(code)
                wk = w[:, [pos[k] for k in kids]]  # (B, k)
                if all(k in cols for k in kids):
                    v = np.broadcast_to(x[:, [cols[k] for k in kids]], (len(w), len(x), len(kids)))
                else:
                    v = np.stack(
                        [
                            values[k]
                            if k in values
                            else np.broadcast_to(x[:, cols[k]], (len(w), len(x)))
                            for k in kids
                        ],
                        axis=2,
                    )
                values[code] = _batch_mean(v, wk, how)
        return values[fw.root]


def _batch_mean(v: np.ndarray, w: np.ndarray, how: str) -> np.ndarray:
    """Weighted mean over the last axis of v (B, rows, k) with weights w (B, k)."""
    ok = ~np.isnan(v)
    ww = np.where(ok, w[:, None, :], 0.0)
    wsum = ww.sum(axis=2)
    vv = np.where(ok, v, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if how == "arithmetic":
            return (vv * ww).sum(axis=2) / wsum
        if how == "geometric":
            return np.exp((np.log(vv) * ww).sum(axis=2) / wsum)
        return wsum / (ww / vv).sum(axis=2)


def build_scenario_model(
    framework: Framework,
    data: IndexData,
    *,
    imputations: tuple[str, ...] = ("mean", "median"),
    normalisations: tuple[str, ...] = ("minmax", "zscore", "rank"),
    aggregations: tuple[str, ...] = ("arithmetic", "geometric"),
    treat: bool = True,
) -> ScenarioModel:
    """Compute the table of every (imputation, normalisation) pair once."""
    values, _ = compute_denominated(data.values, data.denominators, framework)
    directions = framework.get_directions()
    tables, positive = [], []
    for method in imputations:
        imputed, _ = compute_imputed(values, method=method)
        treated = compute_treated(imputed)[0] if treat else imputed
        row, prow = [], []
        for norm in normalisations:
            upper = 1.0 if norm == "zscore" else 100.0
            n = compute_normalised(treated, directions, method=norm, lower=0.0, upper=upper)
            arr = n.to_numpy(dtype=float)
            row.append(arr)
            # Shift each column so its minimum is 1: geometric/harmonic need positives.
            prow.append(arr - np.nanmin(arr, axis=0) + 1.0)
        tables.append(row)
        positive.append(prow)
    nodes = [c for c in framework.nodes["code"] if c != framework.root]
    return ScenarioModel(
        framework=framework,
        index=values.index,
        imputations=tuple(imputations),
        normalisations=tuple(normalisations),
        aggregations=tuple(aggregations),
        tables=tables,
        positive=positive,
        nominal_weights=compute_weights(framework),
        nodes=nodes,
    )


def compute_batch_ranks(scores: np.ndarray, index: pd.Index) -> np.ndarray:
    """Rank rows within each period (1 = best, ties share the lowest) for every scenario."""
    ranks = np.empty_like(scores)
    if index.nlevels == 2:
        periods = index.get_level_values(-1).to_numpy()
        for t in np.unique(periods):
            sel = periods == t
            ranks[:, sel] = rankdata(-scores[:, sel], method="min", axis=1)
    else:
        ranks[:] = rankdata(-scores, method="min", axis=1)
    return ranks


@dataclass
class UncertaintyResult:
    """Monte Carlo output: per-row rank and score intervals plus the draws themselves."""

    summary: pd.DataFrame
    draws: pd.DataFrame
    ranks: np.ndarray
    scores: np.ndarray


def compute_monte_carlo(
    model: ScenarioModel,
    *,
    n_draws: int = 1000,
    weight_noise: float = 0.25,
    seed: int = 0,
    batch: int = 2000,
) -> UncertaintyResult:
    """Draw scenarios and summarise each row's rank and score distribution.

    Returns
    -------
    UncertaintyResult
        ``summary`` columns: nominal_rank, median_rank, rank_p05, rank_p95,
        rank_min, rank_max (index as the data). Scores are kept per draw but not
        summarised: each draw's scores are on its own normalisation's scale.
        ``draws`` columns: draw, imputation, normalisation, aggregation.
    """
    rng = np.random.default_rng(seed)
    imp = rng.integers(len(model.imputations), size=n_draws)
    norm = rng.integers(len(model.normalisations), size=n_draws)
    agg = rng.integers(len(model.aggregations), size=n_draws)
    mult = rng.uniform(1 - weight_noise, 1 + weight_noise, size=(n_draws, len(model.nodes)))
    scores = np.empty((n_draws, len(model.index)))
    for start in range(0, n_draws, batch):
        sl = slice(start, start + batch)
        scores[sl] = model.evaluate(imp[sl], norm[sl], agg[sl], mult[sl])
    ranks = compute_batch_ranks(scores, model.index)
    zeros = np.zeros(1, dtype=int)
    nominal = compute_batch_ranks(
        model.evaluate(zeros, zeros, zeros, np.ones((1, len(model.nodes)))), model.index
    )[0]
    summary = pd.DataFrame(
        {
            "nominal_rank": nominal,
            "median_rank": np.median(ranks, axis=0),
            "rank_p05": np.percentile(ranks, 5, axis=0),
            "rank_p95": np.percentile(ranks, 95, axis=0),
            "rank_min": ranks.min(axis=0),
            "rank_max": ranks.max(axis=0),
        },
        index=model.index,
    )
    draws = pd.DataFrame(
        {
            "draw": np.arange(n_draws),
            "imputation": np.array(model.imputations)[imp],
            "normalisation": np.array(model.normalisations)[norm],
            "aggregation": np.array(model.aggregations)[agg],
        }
    )
    return UncertaintyResult(summary=summary, draws=draws, ranks=ranks, scores=scores)
