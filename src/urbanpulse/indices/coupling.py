"""Coupling coordination degree model (C, T, D) and pairwise city-to-city coupling.

For n subsystem scores U_1..U_n in [0, 1]:
C = n * (prod U_i / (sum U_i)^n)^(1/n)   (1 when all equal, 0 when any is 0),
T = sum a_i U_i with weights a_i summing to one, and D = sqrt(C * T).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from urbanpulse.errors import ConfigurationError
from urbanpulse.i18n import N_

# The usual ten equal bands of D used in the Chinese regional-coordination literature
# (marked N_: pages show them in the reader's language).
BANDS: tuple[str, ...] = (
    N_("extreme imbalance"),
    N_("serious imbalance"),
    N_("moderate imbalance"),
    N_("mild imbalance"),
    N_("on the verge of imbalance"),
    N_("barely coordinated"),
    N_("primary coordination"),
    N_("intermediate coordination"),
    N_("good coordination"),
    N_("quality coordination"),
)


def get_coordination_band(d: float) -> str:
    """Name of the band of a coordination degree D in [0, 1] (ten bands of width 0.1)."""
    if np.isnan(d):
        return ""
    return BANDS[min(int(np.floor(d * 10 + 1e-12)), 9)]


def compute_coupling(u: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """C, T and D for each row of ``u`` (rows x subsystems, values in [0, 1]).

    Returns
    -------
    numpy.ndarray
        Shape (rows, 3): columns C, T, D.
    """
    u = np.atleast_2d(np.asarray(u, dtype=float))
    n = u.shape[1]
    if n < 2:
        raise ConfigurationError("coupling needs at least two subsystems")
    if (u < 0).any() or (u > 1).any():
        raise ConfigurationError("coupling needs subsystem scores in [0, 1]; rescale first")
    a = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float)
    a = a / a.sum()
    total = u.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Geometric over arithmetic mean, computed in logs to stay stable for many systems.
        logs = np.log(np.where(u > 0, u, 1.0)).mean(axis=1)
        c = np.exp(logs) / (total / n)
    c = np.where((u == 0).any(axis=1), 0.0, c)
    c = np.clip(np.nan_to_num(c, nan=0.0), 0.0, 1.0)
    t = u @ a
    return np.column_stack([c, t, np.sqrt(c * t)])


def compute_coupling_coordination(
    scores: pd.DataFrame, *, weights: dict[str, float] | None = None, scale: float = 1.0
) -> pd.DataFrame:
    """Coupling coordination of the subsystems in the columns of ``scores``.

    Parameters
    ----------
    scores
        One row per unit (or unit and year), one column per subsystem.
    scale
        Divide scores by this first, e.g. 100 for scores on a 0-100 scale.

    Returns
    -------
    pandas.DataFrame
        Same index as ``scores``; columns: coupling (C), development (T),
        coordination (D), band.
    """
    w = None if weights is None else np.array([weights[c] for c in scores.columns])
    ctd = compute_coupling(scores.to_numpy(dtype=float) / scale, w)
    out = pd.DataFrame(ctd, index=scores.index, columns=["coupling", "development", "coordination"])
    out["band"] = [get_coordination_band(d) for d in out["coordination"]]
    return out


def compute_pairwise_coupling(scores: pd.Series, *, scale: float = 1.0) -> pd.DataFrame:
    """Two-system coupling between every pair of units' composite scores.

    Returns
    -------
    pandas.DataFrame
        Columns: unit_a, unit_b, coupling, development, coordination, band.
    """
    pairs = list(combinations(scores.index, 2))
    u = np.array([[scores[a], scores[b]] for a, b in pairs], dtype=float) / scale
    ctd = compute_coupling(u) if pairs else np.empty((0, 3))
    out = pd.DataFrame(
        {
            "unit_a": [a for a, _ in pairs],
            "unit_b": [b for _, b in pairs],
            "coupling": ctd[:, 0],
            "development": ctd[:, 1],
            "coordination": ctd[:, 2],
        }
    )
    out["band"] = [get_coordination_band(d) for d in out["coordination"]]
    return out
