from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError
from urbanpulse.privacy import PrivacyBudgetError, add_count_noise, charge_budget, read_budget
from urbanpulse.store import Lake


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 500), min_size=1, max_size=40),
    epsilon=st.floats(0.05, 10),
    sensitivity=st.integers(1, 8),
)
def test_noised_counts_are_integers_at_least_zero(
    counts: list[int], epsilon: float, sensitivity: int
) -> None:
    noised = add_count_noise(counts, epsilon=epsilon, sensitivity=sensitivity)
    assert noised.dtype.kind == "i"
    assert len(noised) == len(counts)
    assert (noised >= 0).all()


def test_noise_shrinks_as_epsilon_grows() -> None:
    true = np.full(4000, 100)
    loose = np.abs(add_count_noise(true, epsilon=5.0, sensitivity=1) - true).mean()
    tight = np.abs(add_count_noise(true, epsilon=0.1, sensitivity=1) - true).mean()
    # Laplace mean absolute error equals its scale, sensitivity / epsilon.
    assert loose < 0.5 < 5 < tight < 15


def test_noise_refuses_nonsense() -> None:
    with pytest.raises(InvalidQueryError):
        add_count_noise([1], epsilon=0, sensitivity=1)
    with pytest.raises(InvalidQueryError):
        add_count_noise([1], epsilon=1, sensitivity=0)


@settings(max_examples=30, deadline=None)
@given(asks=st.lists(st.floats(0.01, 0.7), min_size=1, max_size=12), budget=st.floats(0.1, 2))
def test_the_budget_is_never_exceeded(asks: list[float], budget: float) -> None:
    lake = Lake(tempfile.mkdtemp())
    granted = 0.0
    for epsilon in asks:
        try:
            charge_budget(lake, "tap_counts", "2018-09", epsilon, budget=budget)
            granted += epsilon
        except PrivacyBudgetError:
            assert granted + epsilon > budget
    spent = read_budget(lake, budget=budget)
    total = float(spent["spent"].sum()) if len(spent) else 0.0
    assert total == pytest.approx(granted)
    assert total <= budget + 1e-9


def test_budget_is_per_dataset_and_period(tmp_path) -> None:
    lake = Lake(tmp_path)
    charge_budget(lake, "tap_counts", "2018-09", 1.0, budget=1.0)
    charge_budget(lake, "tap_counts", "2018-08", 1.0, budget=1.0)
    charge_budget(lake, "tap_flows", "2018-09", 1.0, budget=1.0)
    with pytest.raises(PrivacyBudgetError, match="tap_counts for 2018-09 has spent epsilon 1"):
        charge_budget(lake, "tap_counts", "2018-09", 0.01, budget=1.0)
    table = read_budget(lake, budget=1.0)
    assert list(table.columns) == ["dataset", "period", "releases", "spent", "budget", "remaining"]
    assert table["remaining"].tolist() == [0.0, 0.0, 0.0]


def test_deleting_files_beside_the_data_does_not_reset_the_budget(tmp_path: Path) -> None:
    """The ledger is the lake's commit history: removing anything under _privacy (or any
    file an attacker could delete without breaking the lake) leaves the spend counted."""
    import shutil

    lake = Lake(tmp_path / "lake")
    charge_budget(lake, "tap_counts", "2026-11", 0.6, budget=1.0)
    shutil.rmtree(lake.root / "_privacy", ignore_errors=True)
    reopened = Lake(tmp_path / "lake")
    with pytest.raises(PrivacyBudgetError, match=r"spent epsilon 0\.6 of 1"):
        charge_budget(reopened, "tap_counts", "2026-11", 0.6, budget=1.0)
    history = [e for e in reopened.get_history() if e["operation"] == "privacy_charge"]
    assert [e["info"]["epsilon"] for e in history] == [0.6]
    budget = read_budget(reopened, budget=1.0)
    assert budget["spent"].tolist() == [0.6]
