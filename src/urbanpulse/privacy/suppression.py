"""k-anonymity suppression of published counts.

A count of 3 people entering a station in a quarter hour can single someone out when
combined with what an observer already knows; cells below ``k`` are therefore blanked
(null) and flagged, never rounded or dropped, so a reader can tell "suppressed" from
"nobody".

A published table is also compared with itself over time: when a day's taps arrive in
two files, the cell published after the first and the same cell after the second differ
by the second file's taps, which may be three people. :func:`hold_small_changes`
therefore keeps a published cell as it was until it has grown by at least ``k``, so
any two versions of a cell, and a cell and the first value published beside it
elsewhere (the entries and exits observations), differ by 0 or by k or more.
"""

from __future__ import annotations

import pandas as pd

from urbanpulse.errors import InvalidQueryError


def suppress_small_cells(frame: pd.DataFrame, column: str, *, k: int) -> pd.DataFrame:
    """Blank the cells of ``column`` below ``k`` and flag them.

    Parameters
    ----------
    frame
        Table with a count column.
    column
        Name of the count column.
    k
        Smallest count that may be shown.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with ``column`` as nullable Int64 (null where suppressed) and a boolean
        column ``suppressed``.
    """
    if k < 1:
        raise InvalidQueryError(f"k must be at least 1, not {k}")
    out = frame.copy()
    counts = out[column].astype("Int64")
    small = counts.lt(k).fillna(False).astype(bool)
    out[column] = counts.mask(small)
    out["suppressed"] = small
    return out


def hold_small_changes(
    fresh: pd.DataFrame, published: pd.DataFrame, *, keys: list[str], column: str, k: int
) -> pd.DataFrame:
    """``fresh`` (suppressed, as :func:`suppress_small_cells` gives) with every cell
    that ``published`` showed kept at its published value unless it grew by ``k`` or
    more since; cells ``published`` did not show follow ``fresh``, and published cells
    that ``fresh`` lacks (their taps deleted after their retention) stay as published.

    Returns
    -------
    pandas.DataFrame
        ``fresh``'s columns, ``column`` held where the change is below ``k``.
    """
    if published.empty:
        return fresh
    gone = published.merge(fresh[keys], on=keys, how="left", indicator=True)
    carried = gone[gone["_merge"] == "left_only"][fresh.columns]
    if fresh.empty:
        return carried.reset_index(drop=True)
    shown = published.loc[~published["suppressed"].astype(bool), [*keys, column]]
    merged = fresh.merge(
        shown.rename(columns={column: "_published"}), on=keys, how="left", validate="one_to_one"
    )
    before = merged["_published"].astype("Int64")
    now = merged[column].astype("Int64")
    held = before.notna() & (now.isna() | (now - before).lt(k).fillna(True))
    merged[column] = now.mask(held, before)
    merged["suppressed"] = merged["suppressed"].astype(bool) & ~held
    held_fresh = merged.drop(columns="_published")[fresh.columns]
    return pd.concat([held_fresh, carried], ignore_index=True) if len(carried) else held_fresh
