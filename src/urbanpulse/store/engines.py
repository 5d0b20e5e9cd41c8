"""Which engine answers: built by name from the settings, once per process.

Apart from :mod:`urbanpulse.store.interface` (the questions) so that the engines, which
implement that interface, are imported by no module they import.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from urbanpulse.errors import InvalidQueryError
from urbanpulse.store.interface import ENGINES, Engine

if TYPE_CHECKING:
    from urbanpulse.settings import Settings


def get_engine(settings: Settings) -> Engine:
    """The engine the settings name (``engine``: duckdb or spark), built once per process.

    Raises
    ------
    MissingExtraError
        When Spark is asked for and ``pyspark`` is not installed.
    """
    return build_engine(settings.engine, master=settings.spark_master, remote=settings.spark_remote)


@lru_cache(maxsize=4)
def build_engine(name: str, *, master: str = "local[*]", remote: str | None = None) -> Engine:
    """An engine by name; Spark connects to ``remote`` (Spark Connect) or ``master``."""
    if name == "duckdb":
        from urbanpulse.store.duckdb_engine import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from urbanpulse.store.spark_engine import SparkEngine

        return SparkEngine(master=master, remote=remote)
    raise InvalidQueryError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
