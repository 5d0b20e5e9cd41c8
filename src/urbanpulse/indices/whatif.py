"""What-if weights: re-aggregate the monitor's normalised indicators and see ranks move.

Only the weights change, so the normalised table of the pipeline is reused as is and
a what-if costs one aggregation (milliseconds), fast enough for a slider.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.indices.aggregate import compute_aggregated
from urbanpulse.indices.pipeline import PipelineResult
from urbanpulse.indices.tables import compute_ranks
from urbanpulse.indices.weights import compute_weights

WHAT_IF_COLUMNS = [
    "region_code",
    "year",
    "score",
    "rank",
    "base_score",
    "base_rank",
    "rank_shift",
]


def build_what_if_weights(
    result: PipelineResult,
    *,
    concept_weights: Mapping[str, float] | None = None,
    indicator_weights: Mapping[str, float] | None = None,
) -> pd.Series:
    """Weights of every node with some concepts and indicators changed.

    Weights are relative within their parent (they are normalised to sum to one
    among siblings), so 2, 1, 1, 1, 1 means the first concept counts double. A node
    not given keeps its current weight on the same scale: 1 when siblings are equal.

    Raises
    ------
    InvalidQueryError
        For an unknown code, a negative weight or all siblings at zero.
    """
    fw = result.framework
    base = result.weights if result.weights is not None else compute_weights(fw)
    concepts = set(fw.get_children(fw.root))
    manual = {**(concept_weights or {}), **(indicator_weights or {})}
    unknown = sorted(set(concept_weights or {}) - concepts) + sorted(
        set(indicator_weights or {}) - set(fw.indicators)
    )
    if unknown:
        raise InvalidQueryError(f"unknown concepts or indicators: {unknown}")
    if any(not math.isfinite(w) for w in manual.values()):
        # inf or nan would pass "zero or more" and turn every score into a null
        raise InvalidQueryError("weights must be finite numbers")
    if any(w < 0 for w in manual.values()):
        raise InvalidQueryError("weights must be zero or more")
    # Current weights on the sliders' scale: the mean weight among siblings is 1, so an
    # unchanged concept of an equally weighted index counts 1 next to a changed one.
    weights = base.copy()
    for parent in fw.nodes["parent"].dropna().unique():
        kids = fw.get_children(parent)
        weights[kids] = weights[kids] * len(kids) / weights[kids].sum()
    for code, value in manual.items():
        weights[code] = float(value)
    for parent in fw.nodes["parent"].dropna().unique():
        kids = fw.get_children(parent)
        total = weights[kids].sum()
        if total <= 0:
            raise InvalidQueryError(f"the weights under {parent!r} are all zero")
        weights[kids] = weights[kids] / total
    return weights


def compute_what_if(
    result: PipelineResult,
    *,
    concept_weights: Mapping[str, float] | None = None,
    indicator_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Total scores and ranks under other weights, beside the framework's.

    Returns
    -------
    pandas.DataFrame
        Columns: region_code, year, score, rank, base_score, base_rank, rank_shift
        (base_rank - rank: positive when a city moves up).
    """
    fw = result.framework
    weights = build_what_if_weights(
        result, concept_weights=concept_weights, indicator_weights=indicator_weights
    )
    aggregated = compute_aggregated(result.tables["normalised"], fw, weights)
    score = aggregated[fw.root]
    base_score = result.aggregated[fw.root]
    out = pd.DataFrame(
        {
            "score": score,
            "rank": compute_ranks(score.to_frame())[fw.root],
            "base_score": base_score,
            "base_rank": compute_ranks(base_score.to_frame())[fw.root],
        }
    )
    out["rank_shift"] = out["base_rank"] - out["rank"]
    out = out.reset_index()
    out.columns = ["region_code", "year", *out.columns[2:]]
    return out[WHAT_IF_COLUMNS]
