"""Shared fixtures: a tiny lake builder and a headless Chromium browser."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings

from urbanpulse.catalog import Site, build_sites_table
from urbanpulse.store import (
    SCHEMAS,
    Commit,
    Lake,
    append_observations,
    new_batch_id,
    upsert_indicators,
    upsert_sites,
    write_table_file,
)

# Under CI every test must run: a skip there (a server down, a browser or the shared data
# missing) is a failure, decided here once (pytest_runtest_makereport) for every test.
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The CLI speaks the shell's language (LC_ALL, LC_MESSAGES, LANG); the suite reads its
# English answers whatever the machine's locale (a test asks for Chinese by name).
for _name in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"
# Real third-party data: ../shared/data beside the checkout, or URBANPULSE_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get("URBANPULSE_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)

# Property tests draw the same examples on every CI run (a failure is reproducible, never
# a coin toss); failing examples found elsewhere are kept as @example in the test.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if ON_CI:
    hypothesis_settings.load_profile("ci")

# Debian's Chromium; Playwright's own browser download needs the internet.
CHROMIUM = Path(os.environ.get("URBANPULSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

TEST_SITES = (
    Site(site_id="bj-metro-1", kind="metro_station", name_zh="西直门", name_en="Xizhimen",
         city_code="110000", lat=39.9406, lon=116.3554, capacity=40000,
         attributes={"lines": "2, 4, 13"}),
    Site(site_id="tj-air-1", kind="air_monitor", name_zh="南开区", name_en="Nankai",
         city_code="120000", lat=39.1206, lon=117.1504),
    Site(site_id="bd-road-1", kind="road_sensor", name_zh="保定东", name_en="Baoding East",
         city_code="130600", lat=38.8633, lon=115.5322),
)  # fmt: skip
TEST_START = pd.Timestamp("2026-03-02T00:00:00+08:00")  # a Monday, no holidays nearby


def build_test_lake(
    root: Path, *, days: int = 14, synthetic: bool = True, sites: tuple[Site, ...] = TEST_SITES
) -> Lake:
    """A small lake: sites, 15-minute ``passengers`` (metro) and ``pm25`` data, a couple
    of indicators and quarantined rows; deterministic (seed 7)."""
    lake = Lake(root)
    upsert_sites(
        lake, build_sites_table([s.model_copy(update={"synthetic": synthetic}) for s in sites])
    )
    ts = pd.date_range(TEST_START, periods=days * 96, freq="15min").tz_convert("UTC")
    rng = np.random.default_rng(7)
    hour = ts.tz_convert("Asia/Shanghai").hour + ts.tz_convert("Asia/Shanghai").minute / 60
    peaks = np.exp(-((hour - 8) ** 2) / 2) + np.exp(-((hour - 18) ** 2) / 2)
    frames = []
    for site in sites:
        if site.kind == "metro_station":
            values = 200 + 3000 * peaks + rng.normal(0, 50, len(ts))
            frames.append(_observations(site.site_id, "passengers", ts, values, "persons/15min"))
        values = 40 + 20 * np.sin(np.arange(len(ts)) / 96 * 2 * np.pi) + rng.normal(0, 3, len(ts))
        frames.append(_observations(site.site_id, "pm25", ts, values, "µg/m³"))
    append_observations(lake, pa.Table.from_pandas(pd.concat(frames), preserve_index=False))
    indicators = pd.DataFrame(
        {
            "region_code": ["110000", "110000", "120000"],
            "year": [2020, 2021, 2021],
            "indicator": ["gdp", "gdp", "gdp"],
            "value": [36102.6, 40269.6, 15695.1],
            "unit": ["100m CNY"] * 3,
            "source": ["test"] * 3,
            "vintage": ["2022"] * 3,
            "synthetic": [synthetic] * 3,
        }
    )
    upsert_indicators(lake, pa.Table.from_pandas(indicators, preserve_index=False))
    _quarantine(lake, [("counts.csv", 3, "value", "not a number: 'abc'"),
                       ("counts.csv", 9, "ts", "unparseable time '2026-13-01'"),
                       ("air.csv", 2, "site_id", "unknown site 'zz'")])  # fmt: skip
    return lake


def _observations(
    site_id: str, metric: str, ts: pd.DatetimeIndex, values: Any, unit: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {"site_id": site_id, "metric": metric, "ts": ts, "value": values, "unit": unit}
    )


def _quarantine(lake: Lake, rows: list[tuple[str, int, str, str]]) -> None:
    """Quarantined rows as ingest would leave them (ingest writes them itself)."""
    batch_id = new_batch_id()
    table = pa.table(
        {
            "batch_id": [batch_id] * len(rows),
            "source": [r[0] for r in rows],
            "line": pa.array([r[1] for r in rows], pa.int64()),
            "column_name": [r[2] for r in rows],
            "reason": [r[3] for r in rows],
            "raw": ["raw text"] * len(rows),
            "quarantined_at": pa.array(
                [pd.Timestamp.now(tz="UTC")] * len(rows), pa.timestamp("us", tz="UTC")
            ),
        }
    )
    assert list(table.column_names) == list(SCHEMAS["quarantine"])
    with lake.write_lock():
        placed = write_table_file(lake, "quarantine", table, batch_id=batch_id)
        lake.commit(Commit("test_quarantine", batch_id, [placed], [], {}))


@pytest.fixture
def make_lake(tmp_path: Path) -> Callable[..., Lake]:
    """Factory: ``make_lake(days=3, synthetic=False)`` builds a fresh lake in tmp_path."""
    counter = iter(range(1000))

    def make(**options: Any) -> Lake:
        return build_test_lake(tmp_path / f"lake{next(counter)}", **options)

    return make


@pytest.fixture
def load_feeds(tmp_path: Path) -> Callable[[dict[str, dict[str, str]]], Lake]:
    """Factory: ``load_feeds({"tiny": {"stops.txt": "...", ...}})`` writes each small
    GTFS feed (file name -> text) to a folder and loads them all, under their names as
    network ids, into one fresh lake in tmp_path."""

    def load(feeds: dict[str, dict[str, str]]) -> Lake:
        from urbanpulse.transit import load_network

        lake = Lake(tmp_path / "lake")
        for network_id, files in feeds.items():
            folder = tmp_path / network_id
            folder.mkdir()
            for name, text in files.items():
                (folder / name).write_text(text, encoding="utf-8")
            load_network(lake, folder, network_id=network_id)
        return lake

    return load


@pytest.fixture(scope="session")
def test_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """One shared read-only lake (synthetic) for tests that only read."""
    return build_test_lake(tmp_path_factory.mktemp("lake") / "lake")


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """One small demo lake (one week, 2026-10-25..31) per test session, shared by files."""
    from urbanpulse.twin import build_demo, is_demo_built

    root = tmp_path_factory.getbasetemp() / "advice-demo"
    lake = Lake(root / "lake")
    if not is_demo_built(lake):
        build_demo(lake, weeks=1, drop_dir=root / "drop")
    return lake


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data folder; its tests skip without it (fail under CI)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared real data not found at {SHARED_DATA} (set URBANPULSE_SHARED_DATA)")
    return SHARED_DATA


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a skipped test fails, with the reason it gave for skipping."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if ON_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {reason}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium via Playwright; skipped without it, except on CI."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def write_loads(lake: Lake, loads: dict[str, float], ts: datetime) -> None:
    """Load readings at ``ts``, as a feed would commit them."""
    frame = pd.DataFrame(
        {
            "site_id": list(loads),
            "metric": "load",
            "ts": pd.Timestamp(ts),
            "value": list(loads.values()),
            "unit": "share of capacity",
        }
    )
    append_observations(lake, pa.Table.from_pandas(frame, preserve_index=False))


def get_free_port() -> int:
    """A port free on 127.0.0.1 now (a server started on it may still lose it to
    another; servers that can take a bound socket get one, as :func:`serve_app`)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def serve_app(app: FastAPI, **options: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free 127.0.0.1 port; yield its base URL.
    ``options`` are more of uvicorn's (e.g. the product's ``http`` protocol)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound before uvicorn starts, so no other test grabs it
    port = sock.getsockname()[1]
    # Open event streams (the live view) would keep a graceful shutdown waiting for
    # minutes; the server must really stop, or its threads run DuckDB while the
    # interpreter exits and the process aborts.
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2, **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # generous: a loaded machine starts slowly
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start within 60 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the test server did not stop within 30 s"


@pytest.fixture(scope="session")
def app_server() -> Callable[[FastAPI], AbstractContextManager[str]]:
    """:func:`serve_app`, for test modules that serve an app over a lake of their own."""
    return serve_app


@pytest.fixture(scope="session")
def grant() -> Callable[..., dict[str, str]]:
    """``grant(app, "government")``: request headers carrying a fresh API key of that
    scope, issued in the app's own access store."""
    from urbanpulse.access import issue_key

    def make(app: FastAPI, scope: str) -> dict[str, str]:
        _, token = issue_key(app.state.access.store, scope=scope, name=f"test {scope}")
        return {"Authorization": f"Bearer {token}"}

    return make
