"""Differential-privacy noise on counts through OpenDP.

Counts get discrete Laplace noise from OpenDP's vetted sampler (integer noise, so no
floating-point artefacts leak which neighbouring dataset was used). The noise scale is
``sensitivity / epsilon``; OpenDP's privacy map checks that the measurement really
spends no more than ``epsilon`` for that sensitivity before any noise is drawn.
Negative noised counts are clamped to 0, which is post-processing and costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from urbanpulse.errors import InvalidQueryError, MissingExtraError


def add_count_noise(
    counts: Sequence[int] | np.ndarray, *, epsilon: float, sensitivity: int
) -> np.ndarray:
    """Noise a vector of counts with epsilon-differential privacy.

    Parameters
    ----------
    counts
        True counts (integers >= 0), one per cell.
    epsilon
        Privacy loss of this release.
    sensitivity
        Most that one person can change the counts in total (L1), e.g. the number of
        taps counted per card.

    Returns
    -------
    numpy.ndarray
        Noised counts, integers >= 0, one per input cell.
    """
    if not epsilon > 0:
        raise InvalidQueryError(f"epsilon must be positive, not {epsilon}")
    if sensitivity < 1:
        raise InvalidQueryError(f"sensitivity must be at least 1, not {sensitivity}")
    if not len(counts):
        return np.zeros(0, dtype=np.int64)
    measurement = _build_measurement(epsilon=epsilon, sensitivity=sensitivity)
    noised = measurement([int(c) for c in counts])
    return np.maximum(np.asarray(noised, dtype=np.int64), 0)


def _build_measurement(*, epsilon: float, sensitivity: int):  # type: ignore[no-untyped-def]
    try:
        import opendp.prelude as dp
    except ImportError:  # pragma: no cover - opendp is a core dependency
        raise MissingExtraError("opendp", "privacy") from None
    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    measurement = dp.m.make_laplace(*space, scale=sensitivity / epsilon)
    # The map is OpenDP's own proof of the privacy loss; float rounding in the scale can
    # push it a hair above epsilon, never more.
    spent = measurement.map(sensitivity)
    if spent > epsilon * (1 + 1e-9):
        raise InvalidQueryError(f"noise for epsilon {epsilon} would spend {spent}")
    return measurement
