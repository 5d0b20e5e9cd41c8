from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from urbanpulse.indices.provinces import INDICATORS as PROVINCE_INDICATORS
from urbanpulse.ingest import read_mapping
from urbanpulse.store import Lake, read_indicators, read_observations, read_quarantine, read_sites
from urbanpulse.twin import (
    DROP_MAPPING,
    SOURCE,
    DemoSummary,
    build_demo,
    build_drop_mapping,
    get_default_drop_dir,
    is_demo_built,
)

REPO = Path(__file__).resolve().parents[2]


def test_fresh_lake_has_no_demo(tmp_path: Path) -> None:
    assert not is_demo_built(Lake(tmp_path / "lake"))


def test_build_demo_fills_the_lake_and_says_it_is_synthetic(
    built: tuple[Lake, DemoSummary, list[str]],
) -> None:
    lake, summary, steps = built
    assert is_demo_built(lake)
    assert summary.synthetic and summary.to_dict()["synthetic"] is True
    assert steps[0] == "building network" and steps[-1] == "done"
    sites = read_sites(lake)
    assert len(sites) == summary.sites and sites["synthetic"].all()
    assert all(json.loads(a)["synthetic"] for a in sites["attributes"])
    assert (
        set(sites["city_code"]) == set(summary.sites_by_city) and len(summary.sites_by_city) == 13
    )
    everything = read_indicators(lake)
    indicators = everything[everything["synthetic"]]
    assert len(indicators) == summary.indicators
    assert (indicators["source"] == SOURCE).all()
    # The only measured values: the real provincial statistics shipped with the package.
    real = everything[~everything["synthetic"]]
    assert len(real) == summary.real_province_values > 700
    assert set(real["indicator"]) <= set(PROVINCE_INDICATORS)
    assert (
        summary.observations_stored
        == summary.observations_generated
        - sum(summary.quarantined.values())
        + (summary.quarantined["duplicate key within file"])
    )
    boardings = read_observations(lake, "boardings", site_ids=["bj-m1-s20"])
    assert len(boardings) > 1500


def test_quarantine_shows_the_bad_rows_with_reasons(
    built: tuple[Lake, DemoSummary, list[str]],
) -> None:
    lake, summary, _ = built
    quarantine = read_quarantine(lake)
    assert len(quarantine) == sum(summary.quarantined.values()) > 100
    reasons = set(quarantine["reason"].str.replace(r" [-\d.]+$", "", regex=True))
    assert reasons == {
        "below minimum",
        "above maximum",
        "non-numeric value",
        "unparseable time",
        "unknown site",
        "duplicate key within file",
    }
    assert quarantine["source"].str.endswith("synthetic-demo-baoding-bus-boardings.csv").all()
    assert summary.drop_rows_stored > 0
    assert Path(summary.drop_file).parent == get_default_drop_dir(lake)


def test_building_twice_stores_nothing_new(built: tuple[Lake, DemoSummary, list[str]]) -> None:
    lake, first, _ = built
    before = read_quarantine(lake)
    again = build_demo(lake, seed=first.seed, weeks=first.weeks, end=first.last_day)
    assert again.observations_stored == 0
    assert again.observations_skipped == first.observations_stored
    after = read_quarantine(lake)
    pd.testing.assert_frame_equal(before, after)
    assert len(read_sites(lake)) == first.sites
    assert len(read_indicators(lake)) == first.indicators + first.real_province_values
    assert again.real_province_values == 0


def test_shipped_mapping_file_matches_the_demo_mapping() -> None:
    shipped = read_mapping(REPO / "mappings" / "demo-counts.toml")
    assert shipped == build_drop_mapping()
    assert DROP_MAPPING["site"]["allow_new"] is False  # type: ignore[index]
