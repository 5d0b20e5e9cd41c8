"""The auth matrix: which scopes may call each route, read from ``matrix.toml``.

The matrix is data so that adding a route means adding one line, and a test can hold
every route of the app against it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import pandas as pd

from urbanpulse.errors import ConfigurationError

Scope = Literal["public", "business", "government", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
# Scopes an API key may carry (public is the absence of credentials).
KEY_SCOPES: tuple[Scope, ...] = ("business", "government", "admin")
MATRIX_FILE = Path(__file__).with_name("matrix.toml")

Matrix = Mapping[str, frozenset[Scope]]


@cache
def read_matrix(path: Path = MATRIX_FILE) -> Matrix:
    """Route key (``"GET /api/sites/{site_id}"``) -> the scopes that may call it.

    Raises
    ------
    ConfigurationError
        A key is not ``METHOD /path`` or a scope is unknown.
    """
    try:
        with path.open("rb") as file:
            routes = tomllib.load(file).get("routes", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:  # a route listed twice, for one
        raise ConfigurationError(f"cannot read the access matrix {path}: {exc}") from None
    matrix: dict[str, frozenset[Scope]] = {}
    for key, scopes in routes.items():
        method, _, template = key.partition(" ")
        if not method.isupper() or not template.startswith("/"):
            raise ConfigurationError(f"{path.name}: route {key!r} is not 'METHOD /path'")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise ConfigurationError(f"{path.name}: route {key!r} has bad scopes {scopes!r}")
        matrix[key] = frozenset(scopes)
    return matrix


def get_route_key(method: str, template: str) -> str:
    """The matrix key of a route; HEAD is looked up as GET."""
    return f"{'GET' if method == 'HEAD' else method} {template}"


def is_allowed(matrix: Matrix, route_key: str, scope: Scope) -> bool:
    """Whether ``scope`` may call the route; a route not in the matrix admits nobody."""
    allowed = matrix.get(route_key, frozenset())
    return "public" in allowed or scope in allowed


def is_public(matrix: Matrix, route_key: str) -> bool:
    """Whether anyone, without credentials, may call the route."""
    return "public" in matrix.get(route_key, frozenset())


@dataclass(frozen=True, slots=True)
class DataPolicy:
    """How one dataset may be shown: raw to ``raw`` scopes, else only aggregates whose
    cells count at least ``min_count`` rows, over whole ``window`` periods; each site's
    newest value per metric (a live display) to ``latest`` scopes as well."""

    dataset: str
    raw: frozenset[Scope]
    min_count: int
    window: Literal["month"]
    latest: frozenset[Scope] = frozenset()

    def shows_raw(self, scope: Scope) -> bool:
        """Whether a caller of ``scope`` may see single rows."""
        return scope in self.raw

    def shows_latest(self, scope: Scope) -> bool:
        """Whether a caller of ``scope`` may see each site's newest value per metric."""
        return scope in self.raw or scope in self.latest

    def widen_window(
        self, start: datetime | None, end: datetime | None, *, tz: str
    ) -> tuple[datetime | None, datetime | None]:
        """``[start, end)`` widened to whole local months: the windows an aggregate may
        be published over (an open end stays open)."""
        zone = ZoneInfo(tz)

        def month_start(moment: datetime) -> datetime:
            local = moment.astimezone(zone)
            return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

        if start is not None:
            start = month_start(start)
        if end is not None:
            first = month_start(end)
            if first != end.astimezone(zone):
                first = month_start(first + timedelta(days=32))
            end = first
        return start, end

    def drop_small_cells(self, table: pd.DataFrame, *, count_column: str) -> pd.DataFrame:
        """The rows (cells) of an aggregate that summarise at least ``min_count`` rows."""
        return table[table[count_column] >= self.min_count].reset_index(drop=True)


@cache
def get_data_policy(dataset: str, path: Path = MATRIX_FILE) -> DataPolicy:
    """The ``[data.<dataset>]`` policy of the matrix file.

    Raises
    ------
    ConfigurationError
        The dataset has no policy, or its policy is malformed.
    """
    try:
        with path.open("rb") as file:
            declared = tomllib.load(file).get("data", {}).get(dataset)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read the access matrix {path}: {exc}") from None
    if not isinstance(declared, dict):
        raise ConfigurationError(f"{path.name}: no [data.{dataset}] policy")
    raw, min_count, window = declared.get("raw"), declared.get("min_count"), declared.get("window")
    if not isinstance(raw, list) or set(raw) - set(KEY_SCOPES):
        raise ConfigurationError(f"{path.name}: [data.{dataset}] raw has bad scopes {raw!r}")
    if not isinstance(min_count, int) or min_count < 2 or window != "month":
        raise ConfigurationError(
            f"{path.name}: [data.{dataset}] needs min_count >= 2 and window = 'month'"
        )
    latest = declared.get("latest", [])
    if not isinstance(latest, list) or set(latest) - set(SCOPES):
        raise ConfigurationError(f"{path.name}: [data.{dataset}] latest has bad scopes {latest!r}")
    return DataPolicy(dataset, frozenset(raw), min_count, window, frozenset(latest))
