from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.privacy import suppress_small_cells


@given(counts=st.lists(st.integers(min_value=0, max_value=200), max_size=60), k=st.integers(2, 50))
def test_suppression_never_leaves_a_cell_below_k(counts: list[int], k: int) -> None:
    out = suppress_small_cells(pd.DataFrame({"taps": counts}), "taps", k=k)
    shown = out["taps"].dropna()
    assert (shown >= k).all()
    assert out["suppressed"].tolist() == [c < k for c in counts]
    assert out.loc[~out.suppressed, "taps"].tolist() == [c for c in counts if c >= k]


def test_suppression_keeps_columns_and_adds_the_flag() -> None:
    frame = pd.DataFrame({"site_id": ["a", "b"], "taps": [3, 12]})
    out = suppress_small_cells(frame, "taps", k=10)
    assert list(out.columns) == ["site_id", "taps", "suppressed"]
    assert out["taps"].isna().tolist() == [True, False]
