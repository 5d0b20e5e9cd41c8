"""The auth matrix: which scopes may call each route, read from ``matrix.toml``.

The matrix is data so that adding a route means adding one line, and a test can hold
every route of the app against it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal, get_args

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
