"""k-anonymity suppression of published counts.

A count of 3 people entering a station in a quarter hour can single someone out when
combined with what an observer already knows; cells below ``k`` are therefore blanked
(null) and flagged, never rounded or dropped, so a reader can tell "suppressed" from
"nobody".
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
