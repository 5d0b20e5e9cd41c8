"""A third-party NGSI-LD client, ngsildclient (from PyPI), reads and writes UrbanPulse.

The client pins libraries the product has newer versions of (httpx 0.23, rich 12), so it
lives in an environment of its own that scripts/ensure-test-tools.sh makes
(var/clients); this test drives it over a real socket with a government key (reads of the
temporal API and writes need one).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi import FastAPI

from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PYTHON = ROOT / "var" / "clients" / "bin" / "python"
SESSION = Path(__file__).with_name("ngsildclient_session.py")
ENTITY = "urn:ngsi-ld:TrafficFlowObserved:bd-road-01"


def test_ngsildclient_reads_and_writes_every_operation(
    demo_lake: Lake,
    tmp_path: Path,
    app_server: Callable[[FastAPI], AbstractContextManager[str]],
    grant: Callable[..., dict[str, str]],
) -> None:
    if not CLIENT_PYTHON.exists():
        pytest.skip(f"no {CLIENT_PYTHON}: scripts/ensure-test-tools.sh installs ngsildclient there")
    root = tmp_path / "lake"
    shutil.copytree(demo_lake.root, root, ignore=shutil.ignore_patterns("_advice"))
    app = create_app(Settings(lake_path=root, access_db=tmp_path / "access.sqlite3"))
    # Government: the temporal API and writes need it (access/matrix.toml).
    token = grant(app, "government")["Authorization"].removeprefix("Bearer ")
    with app_server(app) as base:
        run = subprocess.run(
            [str(CLIENT_PYTHON), str(SESSION), base, token, ENTITY, "TrafficFlowObserved"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    failed = {name: outcome for name, outcome in results.items() if outcome != "ok"}
    assert not failed, json.dumps(failed, indent=1, ensure_ascii=False)
    assert len(results) == 30  # 19 reads, 11 writes and read-backs
