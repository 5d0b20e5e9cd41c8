"""The privacy accountant: epsilon spent per dataset and key period, never beyond budget.

Every noised release spends some epsilon; releases of the same people add up, so the
accountant records each one and refuses a release that would take a dataset's total for
a period past the budget. Checking and recording happen under the lake's write lock, so
two releases at once cannot both squeeze under the limit.

The ledger is the lake's own commit history: each release is a commit
(``privacy_charge``, with the dataset, period and epsilon), in the same append-only log
that publishes every file of the lake. A ledger file beside the data could be deleted
to reset the budget (epsilon 2.0 spent of 1.0, and no trace); the history cannot lose
an entry without the lake itself breaking. Entries of the earlier ledger file
(``<lake>/_privacy/budget.jsonl``), where one exists, still count.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from urbanpulse.errors import InvalidQueryError, PrivacyBudgetError
from urbanpulse.store import Lake
from urbanpulse.store.lake import Commit, new_batch_id

# Float sums of epsilons such as 0.1 + 0.2 must not refuse a release that exactly fills
# the budget.
_TOLERANCE = 1e-9


def get_ledger_path(lake: Lake) -> Path:
    """Where the earlier ledger file of a lake lives (read, never written now)."""
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


CHARGE_OPERATION = "privacy_charge"


def _read_entries(lake: Lake) -> list[dict]:
    charges = [
        entry["info"] for entry in lake.get_history() if entry["operation"] == CHARGE_OPERATION
    ]
    path = get_ledger_path(lake)
    if not path.is_file():
        return charges
    lines = path.read_text("utf-8").splitlines()
    # A torn last line (crash mid-write) is ignored, not fatal.
    return [json.loads(line) for line in lines if line.strip().endswith("}")] + charges


def _append_entry(lake: Lake, dataset: str, period: str, epsilon: float) -> None:
    entry = {
        "dataset": dataset,
        "period": period,
        "epsilon": float(epsilon),
        "released_at": datetime.now(UTC).isoformat(),
    }
    lake.commit(Commit(CHARGE_OPERATION, new_batch_id(), [], [], entry))
