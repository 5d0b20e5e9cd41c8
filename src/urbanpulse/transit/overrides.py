"""Transfers that a network's own people know better than any rule: walks to add, to
correct, or to forbid, from a small CSV given when the network is loaded.

Columns ``from``, ``to`` and ``walk_minutes``. ``from`` and ``to`` name stops by id or
by name (Chinese or English: every stop of that name); ``walk_minutes`` is the walk
(empty: from the straight-line distance, as the rules estimate it), or ``none`` for a
change that looks close but has no passage. An override holds both ways and replaces
whatever a rule found for the pair (kind ``stated``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from urbanpulse.catalog.sites import Site
from urbanpulse.errors import SourceError
from urbanpulse.transit.transfers import (
    COLUMNS,
    SAME_NAME_WALK_MINUTES,
    get_metres,
    get_walk_minutes,
)

FORBIDDEN = "none"


@dataclass(frozen=True, slots=True)
class TransferOverride:
    """One line of an override file: stop names or ids, the walk (None: estimate it;
    ``forbidden``: no change there) and the line it came from."""

    origin: str
    destination: str
    walk_minutes: float | None
    forbidden: bool
    line: int


def read_transfer_overrides(path: Path) -> list[TransferOverride]:
    """The overrides of a CSV file.

    Raises
    ------
    SourceError
        Missing columns, an empty stop, or a walk that is neither minutes nor 'none',
        with the file and line.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"cannot read the transfer file {path}: {exc}") from None
    if rows and not {"from", "to", "walk_minutes"} <= set(rows[0]):
        raise SourceError(f"{path}: the columns are from, to, walk_minutes")
    return [_parse_row(row, path, number) for number, row in enumerate(rows, start=2)]


def _parse_row(row: dict[str, str], path: Path, line: int) -> TransferOverride:
    origin, destination = (row.get("from") or "").strip(), (row.get("to") or "").strip()
    if not origin or not destination:
        raise SourceError(f"{path}:{line}: a transfer needs both from and to")
    walk = (row.get("walk_minutes", "") or "").strip().lower()
    if walk == FORBIDDEN:
        return TransferOverride(origin, destination, None, True, line)
    if not walk:
        return TransferOverride(origin, destination, None, False, line)
    try:
        minutes = float(walk)
    except ValueError:
        minutes = float("nan")
    if not 0 <= minutes <= 60:  # NaN fails too
        raise SourceError(
            f"{path}:{line}: walk_minutes is minutes (0-60), empty or 'none', not {walk!r}"
        )
    return TransferOverride(origin, destination, minutes, False, line)


def apply_transfer_overrides(
    transfers: pd.DataFrame, sites: list[Site], overrides: list[TransferOverride], *, source: str
) -> pd.DataFrame:
    """``transfers`` (columns of ``transfers.COLUMNS``) with the overrides applied.

    Raises
    ------
    SourceError
        A stop that names nothing in this network, with the file and line.
    """
    if not overrides:
        return transfers
    stops = _index_stops(sites)
    where = {s.site_id: (s.lat, s.lon) for s in sites}
    set_pairs: dict[tuple[str, str], float] = {}
    dropped: set[tuple[str, str]] = set()
    for override in overrides:
        for a in _resolve(stops, override.origin, source, override.line):
            for b in _resolve(stops, override.destination, source, override.line):
                if a == b:
                    continue
                dropped |= {(a, b), (b, a)}
                if not override.forbidden:
                    walk = override.walk_minutes
                    minutes = _estimate(where[a], where[b]) if walk is None else walk
                    set_pairs[(a, b)] = set_pairs[(b, a)] = minutes
    pairs = list(zip(transfers["from_site_id"], transfers["to_site_id"], strict=True))
    kept = transfers[[p not in dropped for p in pairs]]
    stated = pd.DataFrame([(a, b, m, "stated") for (a, b), m in set_pairs.items()], columns=COLUMNS)
    return pd.concat([kept[COLUMNS], stated], ignore_index=True)


def _index_stops(sites: list[Site]) -> dict[str, list[str]]:
    """Stop id, Chinese name and English name (case-folded) -> the stops' ids."""
    index: dict[str, list[str]] = {}
    for site in sites:
        for key in {site.site_id, site.name_zh, site.name_en} - {None, ""}:
            index.setdefault(str(key).casefold(), []).append(site.site_id)
    return index


def _resolve(stops: dict[str, list[str]], name: str, source: str, line: int) -> list[str]:
    found = stops.get(name.casefold())
    if not found:
        raise SourceError(f"{source}:{line}: no stop {name!r} in this network (an id or a name)")
    return sorted(set(found))


def _estimate(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> float:
    """The walk the rules would estimate: from the distance, else a usual change."""
    metres = get_metres(*_coords(a), *_coords(b))
    walk = get_walk_minutes(metres)
    return float(SAME_NAME_WALK_MINUTES if np.isnan(walk) else walk)


def _coords(point: tuple[float | None, float | None]) -> tuple[float, float]:
    lat, lon = point
    return (np.nan if lat is None else lat, np.nan if lon is None else lon)
