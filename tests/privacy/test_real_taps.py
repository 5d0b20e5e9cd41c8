"""The smart-card privacy bar on the real Shenzhen Tong taps (2018-09-01)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.privacy import (
    SHENZHEN_TAPS,
    compute_tap_counts,
    read_public_counts,
    read_public_flows,
)
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.engines import build_engine

pytestmark = pytest.mark.shared_data
FILES = ("szt_records_14_14.csv", "szt_card_data_2920000403601.csv")
UPPER_RUN = re.compile(rb"[A-Z]{8,}")


@pytest.fixture(scope="module")
def ingested(shenzhen_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both files ingested once through the CLI, with every CLI output kept."""
    root = tmp_path_factory.mktemp("shenzhen")
    env = {"URBANPULSE_PRIVACY_KEY_DIR": str(root / "keys"), "URBANPULSE_PRIVACY_K": "10"}
    runner, lake = CliRunner(), root / "lake"
    commands = [
        ["privacy", "ingest-taps", *(str(shenzhen_dir / f) for f in FILES), "--lake", str(lake)],
        ["privacy", "ingest-taps", str(shenzhen_dir / FILES[0]), "--lake", str(lake), "--json"],
        ["privacy", "report", "--lake", str(lake), "--repeats", "1", "--epsilons", "0.5,2"],
        ["privacy", "release", "--epsilon", "0.5", "--lake", str(lake)],
        ["privacy", "budget", "--lake", str(lake), "--json"],
        ["quarantine", "--lake", str(lake)],
    ]
    results = [runner.invoke(app, c, env=env) for c in commands]
    return {"lake": Lake(lake), "root": lake, "results": results}


@pytest.fixture(scope="module")
def card_numbers(shenzhen_dir: Path) -> set[str]:
    cards: set[str] = set()
    for name in FILES:
        with open(shenzhen_dir / name, encoding="utf-8") as handle:
            cards |= {row["card_no"] for row in csv.DictReader(handle) if row["card_no"]}
    return cards


def _windows(text: bytes) -> set[str]:
    """Every 8- and 9-letter window of runs of capitals (card numbers are 8-9 of A-J)."""
    found = set()
    for run in UPPER_RUN.findall(text):
        for size in (8, 9):
            found |= {run[i : i + size].decode() for i in range(len(run) - size + 1)}
    return found


def test_commands_succeed(ingested: dict) -> None:
    release = ingested["results"][3]
    # This lake publishes exact counts above k, so a noised release is refused in one line.
    assert release.exit_code == 2 and "exact station counts" in release.output
    for result in ingested["results"][:3] + ingested["results"][4:]:
        assert result.exit_code == 0, result.output
    summary = json.loads(ingested["results"][1].stdout)
    assert summary["files_already_ingested"] == 1


def test_no_card_number_anywhere_under_the_lake(ingested: dict, card_numbers: set[str]) -> None:
    files = [p for p in ingested["root"].rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    for path in files:
        raw = path.read_bytes()
        assert not _windows(raw) & card_numbers, path.name
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            text = "\n".join(str(v) for col in table.columns for v in col.to_pylist())
            assert not _windows(text.encode()) & card_numbers, path.name


def test_no_card_number_in_cli_output(ingested: dict, card_numbers: set[str]) -> None:
    for result in ingested["results"]:
        assert not _windows(result.output.encode()) & card_numbers


def test_quarantine_is_masked(ingested: dict, card_numbers: set[str]) -> None:
    from urbanpulse.store import read_quarantine

    rejected = read_quarantine(ingested["lake"])
    assert len(rejected) == 1904  # metro taps without a station ('' or '-')
    assert set(rejected.reason) == {"missing station"}
    assert rejected.raw.str.contains("<masked>").all()
    assert not _windows(rejected.to_string().encode()) & card_numbers


def test_no_public_cell_below_k(ingested: dict) -> None:
    counts, flows = read_public_counts(ingested["lake"]), read_public_flows(ingested["lake"])
    assert (counts.taps.dropna() >= 10).all() and (flows.trips.dropna() >= 10).all()
    assert counts.suppressed.any() and (~counts.suppressed).any()
    assert counts.taps.isna().tolist() == counts.suppressed.tolist()


def _count_raw(shenzhen_dir: Path) -> Counter:
    """Entries and exits per (station, local quarter hour, direction), straight from the CSVs.

    Taps of one card, type and station within one stored time bucket (the default
    ``privacy_tap_minutes``) are one tap, as ingest stores them.
    """
    step = Settings.model_fields["privacy_tap_minutes"].default
    seen: set[tuple[str, ...]] = set()
    expected: Counter = Counter()
    directions = {"地铁入站": "entry", "地铁出站": "exit"}
    for name in FILES:
        with open(shenzhen_dir / name, encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                station = row["station"].strip().removesuffix("站")
                if row["deal_type"] not in directions or station in ("", "-"):
                    continue
                station = SHENZHEN_TAPS.station_aliases.get(station, station)
                when = datetime.strptime(row["deal_date"], "%Y-%m-%d %H:%M:%S")
                bucket = when.replace(minute=when.minute // step * step, second=0)
                key = (row["card_no"], str(bucket), row["deal_type"], station)
                if key in seen:
                    continue
                seen.add(key)
                slot = when.replace(minute=when.minute // 15 * 15, second=0)
                expected[(station, slot.strftime("%m-%d %H:%M"), directions[row["deal_type"]])] += 1
    return expected


def _by_cell(counts) -> dict:  # type: ignore[no-untyped-def]
    local = counts.period_start.dt.tz_convert("Asia/Shanghai").dt.strftime("%m-%d %H:%M")
    keys = zip(counts.station, local, counts.direction, strict=True)
    return dict(zip(keys, counts.taps, strict=True))


def test_station_counts_match_an_independent_count(ingested: dict, shenzhen_dir: Path) -> None:
    expected = _count_raw(shenzhen_dir)
    internal = _by_cell(
        compute_tap_counts(
            ingested["lake"],
            engine=build_engine("duckdb"),
            period_minutes=15,
            timezone="Asia/Shanghai",
        )
    )
    assert internal == dict(expected)
    public = _by_cell(read_public_counts(ingested["lake"]))
    assert set(public) == set(expected)
    for key, value in public.items():
        if expected[key] < 10:
            assert pd.isna(value), key
        else:
            assert value == expected[key], key


def test_no_card_number_in_any_api_response(
    ingested: dict, card_numbers: set[str], tmp_path: Path
) -> None:
    """Every GET route of the API and every page, read with the widest scope (admin) and
    anonymously, over the lake holding the real taps: no source card number anywhere."""
    from fastapi.testclient import TestClient

    from urbanpulse.access import issue_key
    from urbanpulse.api import create_app
    from urbanpulse.settings import Settings

    settings = Settings(
        lake_path=ingested["root"], access_db=tmp_path / "access.sqlite3",
        privacy_key_dir=ingested["root"].parent / "keys",
    )  # fmt: skip
    app = create_app(settings)
    _, token = issue_key(app.state.access.store, scope="admin", name="privacy sweep")
    site = str(pd.read_parquet(ingested["lake"].get_paths("sites")[0])["site_id"].iloc[0])
    with (
        TestClient(app) as anonymous,
        TestClient(app, headers={"Authorization": f"Bearer {token}"}) as admin,
    ):
        paths = _get_paths(admin, site)
        assert len(paths) > 20
        # Datasets also in every format, and the public aggregates exported whole.
        for dataset in [p for p in paths if p.startswith("/api/aggregates/")]:
            paths += [f"{dataset}?format=csv", f"{dataset}/export?format=ndjson"]
        for client in (admin, anonymous):
            for path in paths:
                body = client.get(path).content
                assert not (_windows(body) & card_numbers), path


def _get_paths(client: object, site: str) -> list[str]:
    """Concrete GET paths of every route, path parameters filled with real values."""
    schema = client.get("/openapi.json").json()  # type: ignore[attr-defined]
    catalog = client.get("/api/catalog").json()  # type: ignore[attr-defined]
    datasets = [d["dataset_id"] for d in catalog["items"]]
    assert any("tap" in d or "flow" in d for d in datasets), datasets  # the public aggregates
    paths = []
    for template, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        fills = {"site_id": [site], "dataset_id": datasets, "line_id": ["none"], "key_id": ["x"]}
        names = re.findall(r"{(\w+)}", template)
        if not names:
            paths.append(template)
            continue
        for value in fills.get(names[0], ["x"]):
            paths.append(template.replace("{" + names[0] + "}", value))
    return [*paths, "/", "/developers", "/commute", "/operator", "/admin", "/monitor"]


def test_one_known_tap_singles_out_few_cards_in_the_stored_taps(ingested: dict) -> None:
    """Linkage on the real taps as stored: an analyst who knows one tap of a person
    (station, direction and the time to the stored bucket) looks for the pseudonyms
    with that tap. Stored to the second, 92.7 % of cards were the only match
    (bench/linkage.py); in the stored buckets few are."""
    lake: Lake = ingested["lake"]
    taps = pd.concat([pd.read_parquet(p) for p in lake.get_paths("taps")], ignore_index=True)
    taps = taps[taps["station"].notna()]
    place = taps["station"] + "|" + taps["direction"] + "|" + taps["ts"].astype(str)
    sharing = place.map(place.groupby(place).size())  # taps in the same place and bucket
    known = taps.assign(sharing=sharing).sort_values(["pseudonym", "ts", "station"])
    first = known.groupby("pseudonym").head(1)
    singled_out = float((first["sharing"] == 1).mean())
    assert len(first) > 10_000
    assert singled_out < 0.10, f"{singled_out:.1%} of cards singled out by one known tap"
