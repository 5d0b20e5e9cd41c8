"""No two published figures of one cell can be subtracted to count fewer than k people:
a day's taps arriving in two files change a published cell only once the change is a
group of k itself, and the entries observations never differ from the published counts
by less than k."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from tests.privacy.conftest import build_tap_line

from urbanpulse.privacy import (
    SHENZHEN_TAPS,
    KeyRing,
    ingest_taps,
    read_public_counts,
    read_public_flows,
)
from urbanpulse.privacy.suppression import hold_small_changes, suppress_small_cells
from urbanpulse.store import Lake, read_observations

K = 5
IN, OUT = "地铁入站", "地铁出站"


def _ingest(lake: Lake, keys: KeyRing, path: Path) -> None:
    ingest_taps(lake, [path], SHENZHEN_TAPS, keys, k=K, period_minutes=15, timezone="Asia/Shanghai")


def _riders(first: int, count: int, minute: int) -> list[str]:
    """``count`` cards entering 罗湖 at 08:0m and leaving at 国贸 at 08:2m."""
    return [
        line
        for n in range(first, first + count)
        for line in (
            build_tap_line(f"CARD{n:04d}", f"2018-09-01 08:0{minute}:00", IN, "罗湖"),
            build_tap_line(f"CARD{n:04d}", f"2018-09-01 08:2{minute}:00", OUT, "国贸"),
        )
    ]


def _cell(lake: Lake) -> tuple[int, float, int]:
    """The 08:00 entries cell at 罗湖 as published: tap_counts, the observation, flows."""
    counts = read_public_counts(lake)
    entries = counts[(counts.station == "罗湖") & (counts.direction == "entry")]
    observed = read_observations(lake, "entries", site_ids=[entries.site_id.iloc[0]])
    (trips,) = read_public_flows(lake).trips
    return int(entries.taps.iloc[0]), float(observed.value.iloc[0]), int(trips)


def test_a_late_file_of_fewer_than_k_taps_changes_nothing_published(
    tap_file: Callable[[list[str]], Path], keys: KeyRing, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    _ingest(lake, keys, tap_file(_riders(0, 12, 1)))
    assert _cell(lake) == (12, 12.0, 12)
    _ingest(lake, keys, tap_file(_riders(100, 3, 2)))  # three more people, same cells
    assert _cell(lake) == (12, 12.0, 12)  # held: 15 - 12 would single out three
    _ingest(lake, keys, tap_file(_riders(200, 2, 3)))  # now 17: 5 more than published
    counts, observed, trips = _cell(lake)
    assert (counts, trips) == (17, 17) and observed == 12.0  # the observation keeps its first
    assert counts - observed >= K


@given(
    published=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    added=st.lists(st.integers(0, 12), min_size=30, max_size=30),
)
def test_any_two_versions_of_a_cell_differ_by_zero_or_at_least_k(
    published: list[int], added: list[int]
) -> None:
    keys = [f"s{i}" for i in range(len(published))]
    before = suppress_small_cells(pd.DataFrame({"cell": keys, "n": published}), "n", k=K)
    fresh_counts = [n + a for n, a in zip(published, added, strict=False)]
    fresh = suppress_small_cells(pd.DataFrame({"cell": keys, "n": fresh_counts}), "n", k=K)
    after = hold_small_changes(fresh, before, keys=["cell"], column="n", k=K)
    for old, new, true in zip(before.itertuples(), after.itertuples(), fresh_counts, strict=True):
        if not old.suppressed:
            assert not new.suppressed and (new.n == old.n or new.n - old.n >= K)
        else:
            assert new.suppressed == (true < K)
