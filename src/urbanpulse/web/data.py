"""The few lake reads the pages need, shaped for templates."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from urbanpulse.errors import NotFoundError
from urbanpulse.store import Lake, read_sites

RECENT_DAYS = 7


def get_site(lake: Lake, site_id: str) -> dict[str, Any]:
    """One site as a dict with parsed attributes; NotFoundError when unknown."""
    sites = read_sites(lake)
    match = sites[sites["site_id"] == site_id]
    if match.empty:
        raise NotFoundError(f"no site {site_id!r} in the lake")
    row = match.iloc[0]
    site = {k: (None if _missing(v) else v) for k, v in row.items()}
    site["attributes"] = json.loads(site.get("attributes") or "{}")
    site["synthetic"] = bool(site.get("synthetic"))
    return site


def get_recent_window(last_ts: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last week of data up to (and including) the latest observation."""
    end = last_ts + pd.Timedelta(microseconds=1)
    return end - pd.Timedelta(days=RECENT_DAYS), end


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
