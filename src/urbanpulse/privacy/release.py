"""Noised releases of station counts, charged to the privacy budget, and their utility.

A noised release counts each card at most ``max_taps`` times in a key period
(contribution bounding: later taps of that card are left out), so removing one person
changes the vector of counts by at most ``max_taps`` in L1; OpenDP's Laplace noise is
scaled to that. Cells are every station x period x direction of the release's grid,
zeros included, since leaving empty cells out would show where nobody travelled.
After noise, cells below k are still suppressed (post-processing, free of privacy cost).

The grid's stations and time span are taken from the stored taps of the key period:
in production they are public facts (the station list, service hours), which is why
they are not charged to the budget.

The utility report compares noised counts with the true bounded counts; it reads true
counts, so its figures are for the data steward, not for publication.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from urbanpulse.errors import InvalidQueryError
from urbanpulse.i18n import N_
from urbanpulse.privacy.budget import charge_budget
from urbanpulse.privacy.noise import add_count_noise
from urbanpulse.privacy.suppression import suppress_small_cells
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine
from urbanpulse.store.queries import read_rows

DATASET = "tap_counts"


def compute_bounded_counts(
    lake: Lake,
    *,
    engine: Engine,
    key_period: str,
    max_taps: int,
    period_minutes: int,
    timezone: str,
) -> pd.DataFrame:
    """True station counts of one key period with each card counted at most ``max_taps``
    times, counted by ``engine``.

    Returns
    -------
    pandas.DataFrame
        Columns site_id, period_start (UTC), period_minutes, direction, taps: every
        station x period x direction of the grid, zeros included.
    """
    if not lake.get_files("taps", key_period=key_period):
        raise InvalidQueryError(f"no taps are stored for key period {key_period}")
    counts = engine.count_bounded_taps(
        lake, key_period=key_period, max_taps=max_taps, period_minutes=period_minutes, tz=timezone
    )
    return counts.to_pandas()


def release_noisy_counts(
    lake: Lake,
    *,
    engine: Engine,
    key_period: str,
    epsilon: float,
    budget: float,
    k: int,
    max_taps: int,
    period_minutes: int,
    timezone: str,
) -> pd.DataFrame:
    """Station counts with OpenDP noise, charged to the budget of the key period.

    Raises :class:`~urbanpulse.privacy.budget.PrivacyBudgetError` (nothing released,
    nothing charged) when ``epsilon`` does not fit in what is left of ``budget``, and
    :class:`~urbanpulse.errors.InvalidQueryError` when the lake publishes exact counts
    of the same cells (the noise would protect nothing beside them).

    Returns
    -------
    pandas.DataFrame
        Columns site_id, period_start, period_minutes, direction, taps (noised integer
        >= 0, null where below k), suppressed.
    """
    if publishes_exact_counts(lake):
        raise InvalidQueryError(
            N_(
                "this lake publishes exact station counts above k "
                "(PRIVACY_STATION_COUNTS=exact): a noised release of the same cells would "
                "protect nobody; a lake that releases noised counts is set to 'noised' "
                "before its first ingest"
            )
        )
    counts = compute_bounded_counts(
        lake,
        engine=engine,
        key_period=key_period,
        max_taps=max_taps,
        period_minutes=period_minutes,
        timezone=timezone,
    )
    # Charged before any noise is drawn: a failed release must not have spent nothing
    # while a successful one forgot to record.
    charge_budget(lake, DATASET, key_period, epsilon, budget=budget)
    counts["taps"] = add_count_noise(counts["taps"], epsilon=epsilon, sensitivity=max_taps)
    return suppress_small_cells(counts, "taps", k=k)


def publishes_exact_counts(lake: Lake) -> bool:
    """Whether the lake's public ``tap_counts`` shows any exact count."""
    if not lake.get_files("tap_counts"):
        return False
    return not read_rows(lake, "tap_counts", ("suppressed", "=", False)).empty


def compute_utility_report(
    counts: pd.DataFrame,
    *,
    epsilons: Sequence[float],
    max_taps: int,
    k: int,
    repeats: int = 5,
) -> pd.DataFrame:
    """Error of noised counts against the true ones, for each epsilon (not charged).

    Parameters
    ----------
    counts
        True bounded counts (:func:`compute_bounded_counts`).
    epsilons
        Privacy losses to try.
    max_taps
        Contribution bound, the noise's sensitivity.
    k
        Suppression threshold applied after noise.
    repeats
        Noise draws averaged per epsilon.

    Returns
    -------
    pandas.DataFrame
        Columns epsilon, noise_scale (Laplace scale, max_taps / epsilon), cells, mae
        (mean absolute error per cell), rmse, relative_error (mean |error| / true count
        over cells whose true count is at least k), shown_share (share of cells with a
        noised count >= k, i.e. not suppressed), false_shown (cells shown whose true
        count is below k, per draw).
    """
    true = counts["taps"].to_numpy(dtype=np.int64)
    rows = [_score(true, eps, max_taps=max_taps, k=k, repeats=repeats) for eps in epsilons]
    return pd.DataFrame(rows)


def _score(true: np.ndarray, epsilon: float, *, max_taps: int, k: int, repeats: int) -> dict:
    draws = np.stack(
        [add_count_noise(true, epsilon=epsilon, sensitivity=max_taps) for _ in range(repeats)]
    )
    error = draws - true
    big = true >= k
    relative = np.abs(error[:, big]) / true[big] if big.any() else np.array([np.nan])
    return {
        "epsilon": epsilon,
        "noise_scale": max_taps / epsilon,
        "cells": len(true),
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "relative_error": float(np.mean(relative)),
        "shown_share": float((draws >= k).mean()),
        "false_shown": float(((draws >= k) & ~big).sum(axis=1).mean()),
    }
