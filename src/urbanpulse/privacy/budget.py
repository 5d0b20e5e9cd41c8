"""The privacy accountant: epsilon spent per dataset and key period, never beyond budget.

Every noised release spends some epsilon; releases of the same people add up, so the
accountant records each one in an append-only ledger under the lake folder
(``<lake>/_privacy/budget.jsonl``) and refuses a release that would take a dataset's
total for a period past the budget. Checking and recording happen under the lake's
write lock, so two releases at once cannot both squeeze under the limit.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from urbanpulse.errors import InvalidQueryError, PrivacyBudgetError
from urbanpulse.store import Lake

# Float sums of epsilons such as 0.1 + 0.2 must not refuse a release that exactly fills
# the budget.
_TOLERANCE = 1e-9


def get_ledger_path(lake: Lake) -> Path:
    """Where the ledger of a lake lives."""
    return lake.root / "_privacy" / "budget.jsonl"


def read_budget(lake: Lake, *, budget: float) -> pd.DataFrame:
    """Epsilon spent per dataset and key period.

    Returns
    -------
    pandas.DataFrame
        Columns dataset, period, releases, spent, budget, remaining; one row per
        dataset and period that has had a release, sorted by dataset and period.
    """
    columns = ["dataset", "period", "releases", "spent", "budget", "remaining"]
    entries = _read_entries(lake)
    if not entries:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(entries)
    table = frame.groupby(["dataset", "period"], as_index=False).agg(
        releases=("epsilon", "size"), spent=("epsilon", "sum")
    )
    table["budget"] = budget
    table["remaining"] = (budget - table["spent"]).clip(lower=0.0)
    return table[columns].sort_values(["dataset", "period"]).reset_index(drop=True)


def get_spent(lake: Lake, dataset: str, period: str) -> float:
    """Epsilon already spent on one dataset in one period."""
    return sum(
        e["epsilon"]
        for e in _read_entries(lake)
        if (e["dataset"], e["period"]) == (dataset, period)
    )


def charge_budget(lake: Lake, dataset: str, period: str, epsilon: float, *, budget: float) -> float:
    """Record a release of ``epsilon``, or refuse it when the budget would be exceeded.

    Returns
    -------
    float
        Epsilon remaining for the dataset and period after this release.
    """
    if not epsilon > 0:
        raise InvalidQueryError(f"epsilon must be positive, not {epsilon}")
    with lake.write_lock():
        spent = get_spent(lake, dataset, period)
        if spent + epsilon > budget + _TOLERANCE:
            raise PrivacyBudgetError(
                f"privacy budget exceeded: {dataset} for {period} has spent epsilon "
                f"{spent:g} of {budget:g}; a release of {epsilon:g} is refused"
            )
        _append_entry(lake, dataset, period, epsilon)
        return max(budget - spent - epsilon, 0.0)


def _read_entries(lake: Lake) -> list[dict]:
    path = get_ledger_path(lake)
    if not path.is_file():
        return []
    lines = path.read_text("utf-8").splitlines()
    # A torn last line (crash mid-write) is ignored, not fatal.
    return [json.loads(line) for line in lines if line.strip().endswith("}")]


def _append_entry(lake: Lake, dataset: str, period: str, epsilon: float) -> None:
    path = get_ledger_path(lake)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "dataset": dataset,
        "period": period,
        "epsilon": float(epsilon),
        "released_at": datetime.now(UTC).isoformat(),
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
