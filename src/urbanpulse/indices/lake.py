"""The monitor over the lake's indicators table, computed once per lake version.

The Monte Carlo rank intervals make a monitor run take about a second, so the result
is kept per (lake, version, draws, seed): pages and API calls after the first are
instant, and a new commit to the lake (say ``urbanpulse indices load``) is picked up
on the next request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd

from urbanpulse.errors import ConfigurationError, NotFoundError
from urbanpulse.i18n import N_
from urbanpulse.indices.framework import Framework
from urbanpulse.indices.monitor import MonitorResult, compute_monitor, read_default_framework
from urbanpulse.store import Lake, read_indicators

PAGE_DRAWS = 500  # enough for stable 5-95 % rank intervals of 13 cities, under a second
PAGE_SEED = 0
_CACHE_SIZE = 8


@dataclass(frozen=True)
class LakeMonitor:
    """A monitor result plus where its data came from."""

    result: MonitorResult
    indicators: pd.DataFrame
    synthetic: bool
    version: int
    sources: tuple[str, ...]


_cache: dict[tuple[str, int, int, int], LakeMonitor] = {}
_lock = threading.Lock()


def read_monitor(
    lake: Lake,
    *,
    framework: Framework | None = None,
    n_draws: int = PAGE_DRAWS,
    seed: int = PAGE_SEED,
) -> LakeMonitor:
    """The monitor of the lake's indicators (cached per lake version).

    Raises
    ------
    NotFoundError
        When the lake holds no usable indicators for the framework.
    """
    version = lake.version
    key = (str(lake.root), version, n_draws, seed)
    with _lock:
        if framework is None and key in _cache:
            return _cache[key]
    fw = framework or read_default_framework()
    indicators = get_latest_vintage(read_indicators(lake), fw)
    try:
        result = compute_monitor(indicators, fw, n_draws=n_draws, seed=seed)
    except ConfigurationError as exc:
        raise NotFoundError(
            N_(
                "the lake has no indicators the monitor can use ({problem}); build the demo "
                "(urbanpulse demo) or load a statistics table (urbanpulse indices load)",
                problem=exc.args[0] if exc.args else str(exc),
            )
        ) from exc
    monitor = LakeMonitor(
        result=result,
        indicators=indicators,
        synthetic=bool(indicators["synthetic"].fillna(False).any()),
        version=version,
        sources=tuple(sorted(indicators["source"].dropna().astype(str).unique())),
    )
    if framework is None:
        with _lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = monitor
    return monitor


def get_latest_vintage(indicators: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """The framework's indicators and denominators, one value per city, year and code.

    Where a value exists several times, measured values win over synthetic ones (so a
    loaded statistics table overrides the demo), then the latest vintage (compared as
    text, so "2023" beats "2022" and ISO dates work too).

    Returns
    -------
    pandas.DataFrame
        Columns as ``read_indicators``: region_code, year, indicator, value, unit,
        source, vintage, synthetic.
    """
    wanted = {*framework.indicators, *framework.denominators}
    table = indicators[indicators["indicator"].isin(wanted)].copy()
    table["_measured"] = ~table["synthetic"].fillna(False).astype(bool)
    table["_order"] = table["vintage"].fillna("")
    table = table.sort_values(["region_code", "year", "indicator", "_measured", "_order"])
    table = table.drop_duplicates(["region_code", "year", "indicator"], keep="last")
    return table.drop(columns=["_measured", "_order"]).reset_index(drop=True)
