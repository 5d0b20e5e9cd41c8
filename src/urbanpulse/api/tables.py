"""Turning the domains' tables into plain records the response schemas accept."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from urbanpulse.errors import NotFoundError
from urbanpulse.store import Lake, get_site, get_site_metrics, read_sites
from urbanpulse.store.cache import read_cached
from urbanpulse.store.interface import Engine


def get_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, with missing values (NaN, NaT, NA) as None."""
    if table.empty:
        return []
    clean = table.astype(object).where(table.notna(), None)
    return clean.to_dict("records")  # type: ignore[return-value]


def get_utc_texts(times: pa.ChunkedArray | pa.Array) -> list[str]:
    """Timestamps as the API writes them: ISO 8601 in UTC with a Z, microseconds only
    when there are any (as the response schemas serialise one time)."""
    if len(times) == 0:
        return []
    # NumPy formats in C; pandas' strftime took 5 microseconds a time.
    utc = pc.cast(times, pa.timestamp("us", tz="UTC")).to_numpy().astype("datetime64[us]")
    seconds = np.datetime_as_string(utc, unit="s").tolist()
    whole = (utc.astype("int64") % 1_000_000 == 0).tolist()
    if all(whole):
        return [f"{text}Z" for text in seconds]
    micro = np.datetime_as_string(utc, unit="us").tolist()
    return [f"{s if w else m}Z" for s, m, w in zip(seconds, micro, whole, strict=True)]


def get_utc_text(moment: datetime | None) -> str | None:
    """One aware time as :func:`get_utc_texts` writes it."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    micro = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return f"{utc:%Y-%m-%dT%H:%M:%S}{micro}Z"


def get_site_record(lake: Lake, site_id: str) -> dict[str, Any]:
    """One site as a record with parsed attributes; NotFoundError when unknown.

    Every data route asks first, so the whole sites table is read once per lake
    version (reading one site cost more than a site's week of observations).
    """
    records = read_cached(
        lake,
        "site records",
        build=lambda: {r["site_id"]: r for r in get_site_records(read_sites(lake))},
    )
    if site_id not in records:
        get_site(lake, site_id)  # raises the store's NotFoundError
    return copy.deepcopy(records[site_id])


def get_site_records(sites: pd.DataFrame) -> list[dict[str, Any]]:
    """Sites as records; ``attributes`` JSON text becomes a dict, ``synthetic`` a bool."""
    records = get_records(sites)
    for record in records:
        record["attributes"] = json.loads(record.get("attributes") or "{}")
        record["synthetic"] = bool(record.get("synthetic"))
    return records


def get_metric_unit(lake: Lake, site_id: str, metric: str, *, engine: Engine) -> str | None:
    """Unit of a site's metric; NotFoundError naming the metrics it does have.

    Reads only that metric's files, once per lake version: the data routes ask on
    every request, and the whole observations table is far too much to scan for it.
    """
    found, unit = read_cached(
        lake, "metric unit", site_id, metric, engine.name,
        build=lambda: engine.get_metric_unit(lake, site_id, metric),
    )  # fmt: skip
    if not found:
        metrics = get_site_metrics(lake, site_id)  # the full scan, on this error path only
        known = ", ".join(metrics["metric"]) or "none"
        raise NotFoundError(f"site {site_id!r} has no metric {metric!r}; it has: {known}")
    return unit
