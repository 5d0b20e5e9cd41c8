"""Gate entries and exits along a line, on the real Shenzhen taps (2018-09-01) placed on
their lines by Shenzhen Metro's own station list (Apache-2.0): the operator's line grid
against counts made here straight from the tap file."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from urbanpulse.api import create_app
from urbanpulse.cli import app
from urbanpulse.privacy import SHENZHEN_TAPS
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.transit.network import read_transit_network

pytestmark = pytest.mark.shared_data
TAPS = "szt_records_14_14.csv"
STATIONS = "szmc_net_metro_stations.csv"
K = 10
DIRECTIONS = {"entries": "地铁入站", "exits": "地铁出站"}


@pytest.fixture(scope="module")
def lake_root(shenzhen_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The station list loaded under the taps' site prefix, then the taps, by the CLI."""
    root = tmp_path_factory.mktemp("shenzhen-lines")
    env = {"URBANPULSE_PRIVACY_KEY_DIR": str(root / "keys"), "URBANPULSE_PRIVACY_K": str(K)}
    lake = root / "lake"
    runner = CliRunner()
    for command in (
        ["transit", "load", str(shenzhen_dir / STATIONS), "--network-id", "shenzhen-metro"],
        ["privacy", "ingest-taps", str(shenzhen_dir / TAPS)],
    ):
        result = runner.invoke(app, [*command, "--lake", str(lake)], env=env)
        assert result.exit_code == 0, result.output
    return lake


@pytest.fixture(scope="module")
def client(lake_root: Path, grant) -> TestClient:  # type: ignore[no-untyped-def]
    api = create_app(Settings(lake_path=lake_root, privacy_key_dir=lake_root.parent / "keys"))
    test_client = TestClient(api)
    test_client.headers.update(grant(api, "government"))
    return test_client


def _station_list(folder: Path) -> dict[str, list[str]]:
    """Line number -> its stations in the listed order, read from the file."""
    lines: dict[str, list[tuple[int, str]]] = {}
    with open(folder / STATIONS, encoding="utf-8") as handle:
        for line, _name, sequence, station, _code in csv.reader(handle):
            lines.setdefault(line, []).append((int(sequence), station))
    return {line: [s for _, s in sorted(rows)] for line, rows in lines.items()}


def _raw_counts(folder: Path, known: set[str]) -> Counter[tuple[str, str, str]]:
    """(direction, station, 15-minute period start 'HH:MM') -> taps, from the tap file,
    a station's name read as the station list writes it. A card's repeated tap in the
    same direction at the same station within one bucket of ``privacy_tap_minutes``
    counts once, as stored taps do."""
    bucket = f"{Settings().privacy_tap_minutes}min"
    seen: set[tuple[str, str, str, pd.Timestamp]] = set()
    counts: Counter[tuple[str, str, str]] = Counter()
    kinds = {raw: metric for metric, raw in DIRECTIONS.items()}
    with open(folder / TAPS, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["deal_type"] not in kinds:
                continue
            name = SHENZHEN_TAPS.station_aliases.get(row["station"], row["station"])
            if name not in known and name.endswith("站") and name[:-1] in known:
                name = name[:-1]
            moment = pd.Timestamp(row["deal_date"])
            tap = (row["card_no"], kinds[row["deal_type"]], name, moment.floor(bucket))
            if tap in seen:
                continue
            seen.add(tap)
            counts[tap[1], name, moment.floor("15min").strftime("%H:%M")] += 1
    return counts


def test_every_listed_line_lays_out_its_stations_in_order(
    client: TestClient, shenzhen_dir: Path
) -> None:
    listed = _station_list(shenzhen_dir)
    page = client.get("/operator")
    assert page.status_code == 200
    for number, stations in listed.items():
        day = client.get(
            "/api/operator/line-day",
            params={"line_id": f"shenzhen-metro:{number}", "day": "2018-09-01"},
        )
        assert day.status_code == 200, (number, day.text)
        body = day.json()
        assert [s["name_zh"] for s in body["stations"]] == stations
        assert body["metrics"] == ["entries", "exits"]
        assert body["metric"] == "entries"  # a metro without load readings: gate entries
        assert f"shenzhen-metro:{number}" in page.text


def test_the_grid_holds_the_taps_counted_from_the_file(
    client: TestClient, shenzhen_dir: Path
) -> None:
    listed = _station_list(shenzhen_dir)
    known = {s for stations in listed.values() for s in stations}
    raw = _raw_counts(shenzhen_dir, known)
    compared = suppressed = 0
    # An interchange's gates are the station's, on every line it serves (lines 3 and 5
    # meet at 布吉, 1 and 5 at 前海湾).
    for number in listed:
        for metric in DIRECTIONS:
            body = client.get(
                "/api/operator/line-day",
                params={
                    "line_id": f"shenzhen-metro:{number}", "day": "2018-09-01", "metric": metric,
                },
            ).json()  # fmt: skip
            times = [p[11:16] for p in body["periods"]]
            for station, row in zip(body["stations"], body["observed"], strict=True):
                for when, value in zip(times, row, strict=True):
                    expected = raw[metric, station["name_zh"], when]
                    if expected >= K:
                        assert value == expected, (metric, station["name_zh"], when)
                        compared += 1
                    else:  # fewer than k taps are not published
                        assert value is None, (metric, station["name_zh"], when, value)
                        suppressed += expected > 0
    assert compared > 400 and suppressed > 0, (compared, suppressed)
    assert {"布吉", "前海湾"} <= set(listed["5"]) and "布吉" in listed["3"]


def test_journeys_leave_out_lines_without_run_times(lake_root: Path) -> None:
    network = read_transit_network(Lake(lake_root))
    assert not network.lines["line_id"].str.startswith("shenzhen-metro:").any()
    assert not network.stops["site_id"].str.startswith("shenzhen-metro:").any()


def test_the_operator_opens_on_the_day_the_taps_cover(client: TestClient) -> None:
    """One morning of taps holds no full day: the page, the line grid and the accuracy
    chart open on that morning's day, read from the gate entries (no load is known)."""
    page = client.get("/operator").text
    assert 'id="day" value="2018-09-01"' in page
    grid = client.get("/api/operator/line-day", params={"line_id": "shenzhen-metro:1"})
    assert grid.status_code == 200 and grid.json()["day"] == "2018-09-01"
    accuracy = client.get(
        "/api/operator/accuracy", params={"site_id": "shenzhen-metro:罗湖", "day": "2018-09-01"}
    )
    assert accuracy.status_code == 200, accuracy.text
    assert accuracy.json()["metric"] == "entries"
