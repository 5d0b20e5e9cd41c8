"""The few lake reads the pages need, shaped for templates."""

from __future__ import annotations

import pandas as pd

RECENT_DAYS = 7


def get_recent_window(last_ts: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last week of data up to (and including) the latest observation."""
    end = last_ts + pd.Timedelta(microseconds=1)
    return end - pd.Timedelta(days=RECENT_DAYS), end
