"""Crowding now: levels, sections and the live view over a lake."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import write_loads

from urbanpulse.advise.live import (
    CROWDING_LEVELS,
    LEVEL_NAMES,
    SECTION_COLUMNS,
    LiveCrowding,
    compute_sections,
    get_level,
    read_latest_readings,
)
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, append_observations, build_engine, upsert_sites
from urbanpulse.twin import build_network

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
STALE = timedelta(minutes=10)


def _stations(line_id: str, n: int, *, loop: bool = False) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": [f"{line_id}-s{k}" for k in range(n)],
            "kind": "metro_station",
            "name_en": [f"S{k}" for k in range(n)],
            "capacity": 1000.0,
            "line_id": line_id,
            "sequence": list(range(n)),
            "minutes_to_next": 2,
            "loop": loop,
        }
    )


def _readings(rows: list[tuple[str, str, float, datetime]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["site_id", "metric", "value", "ts"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


# -- levels ------------------------------------------------------------------------------


def test_levels_are_the_four_of_the_beijing_view_in_order() -> None:
    assert LEVEL_NAMES == ("comfortable", "normal", "crowded", "very_crowded")
    assert [level.name_zh for level in CROWDING_LEVELS] == ["舒适", "正常", "拥挤", "严重拥挤"]
    for lower, upper in itertools.pairwise(CROWDING_LEVELS):
        assert lower.max_load == upper.min_load  # no gap, no overlap
    assert CROWDING_LEVELS[-1].max_load is None


@pytest.mark.parametrize(
    ("load", "level"),
    [
        (0.0, "comfortable"),
        (0.4999, "comfortable"),
        (0.5, "normal"),
        (0.79, "normal"),
        (0.8, "crowded"),
        (0.999, "crowded"),
        (1.0, "very_crowded"),
        (1.4, "very_crowded"),
        (-0.1, "comfortable"),
    ],
)
def test_a_load_falls_in_the_level_whose_range_holds_it(load: float, level: str) -> None:
    assert get_level(load) == level


@pytest.mark.parametrize("load", [None, float("nan"), float("inf")])
def test_an_unknown_load_has_no_level(load: float | None) -> None:
    assert get_level(load) is None


@given(st.floats(0, 3), st.floats(0, 3))
def test_levels_rise_with_load(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert LEVEL_NAMES.index(get_level(low)) <= LEVEL_NAMES.index(get_level(high))  # type: ignore[arg-type]


@given(st.floats(0, 3))
def test_a_level_holds_its_load(load: float) -> None:
    level = CROWDING_LEVELS[LEVEL_NAMES.index(get_level(load))]  # type: ignore[arg-type]
    assert level.min_load <= load
    assert level.max_load is None or load < level.max_load


# -- sections ----------------------------------------------------------------------------


def test_sections_join_consecutive_stations_with_the_mean_of_their_ends() -> None:
    readings = _readings(
        [("a-s0", "load", 0.2, NOW), ("a-s1", "load", 0.6, NOW), ("a-s2", "load", 1.2, NOW)]
    )
    sections = compute_sections(_stations("a", 3), readings, now=NOW, stale_after=STALE)
    assert list(sections.columns) == SECTION_COLUMNS
    assert list(zip(sections["from_site_id"], sections["to_site_id"], strict=True)) == [
        ("a-s0", "a-s1"),
        ("a-s1", "a-s2"),
    ]
    assert sections["load"].tolist() == pytest.approx([0.4, 0.9])
    assert sections["level"].tolist() == ["comfortable", "crowded"]
    assert set(sections["direction"]) == {"both"}
    assert not sections["stale"].any()


def test_a_loop_line_closes_from_its_last_station_to_its_first() -> None:
    readings = _readings([(f"o-s{k}", "load", 0.3, NOW) for k in range(4)])
    sections = compute_sections(_stations("o", 4, loop=True), readings, now=NOW, stale_after=STALE)
    assert len(sections) == 4
    last = sections.iloc[-1]
    assert (last["from_site_id"], last["to_site_id"], last["position"]) == ("o-s3", "o-s0", 3)


def test_directed_readings_give_each_direction_its_own_sections() -> None:
    readings = _readings(
        [
            ("d-s0", "load_up", 0.9, NOW),
            ("d-s1", "load_up", 0.2, NOW),
            ("d-s1", "load_down", 1.1, NOW),
            ("d-s2", "load_down", 0.3, NOW),
        ]
    )
    sections = compute_sections(_stations("d", 3), readings, now=NOW, stale_after=STALE)
    up = sections[sections["direction"] == "up"].set_index("from_site_id")
    down = sections[sections["direction"] == "down"].set_index("from_site_id")
    # Trains leaving s0 upwards run on s0 -> s1; trains leaving s2 downwards on s2 -> s1.
    assert up.loc["d-s0", "level"] == "crowded" and up.loc["d-s0", "to_site_id"] == "d-s1"
    assert up.loc["d-s1", "level"] == "comfortable"
    assert down.loc["d-s2", "level"] == "comfortable" and down.loc["d-s2", "to_site_id"] == "d-s1"
    assert down.loc["d-s1", "level"] == "very_crowded"


def test_gtfs_realtime_occupancy_counts_where_no_load_is_read() -> None:
    readings = _readings(
        [
            ("g-s0", "occupancy_percentage", 90.0, NOW),
            ("g-s1", "occupancy_percentage", 50.0, NOW),
            ("g-s1", "load", 0.3, NOW),  # a station's own load is preferred
        ]
    )
    sections = compute_sections(_stations("g", 2), readings, now=NOW, stale_after=STALE)
    assert sections["load"].tolist() == pytest.approx([(0.9 + 0.3) / 2])
    assert sections["level"].tolist() == ["normal"]


def test_an_old_reading_is_stale_and_keeps_its_last_level() -> None:
    old = NOW - timedelta(minutes=30)
    readings = _readings(
        [("a-s0", "load", 0.9, old), ("a-s1", "load", 0.9, old), ("a-s2", "load", 0.2, NOW)]
    )
    sections = compute_sections(_stations("a", 3), readings, now=NOW, stale_after=STALE)
    assert sections["stale"].tolist() == [True, True]  # s1 -> s2 uses the old s1 reading
    assert sections["level"].tolist()[0] == "crowded"
    assert sections["ts"].iloc[1] == pd.Timestamp(old)


def test_a_section_without_readings_has_no_level_and_lines_without_any_are_left_out() -> None:
    stations = pd.concat([_stations("a", 4), _stations("b", 3)], ignore_index=True)
    readings = _readings([("a-s0", "load", 0.3, NOW)])
    sections = compute_sections(stations, readings, now=NOW, stale_after=STALE)
    assert set(sections["line_id"]) == {"a"}
    assert sections["level"].tolist() == ["comfortable", None, None]
    assert sections["stale"].tolist() == [False, True, True]


@given(st.lists(st.floats(0, 1.5), min_size=2, max_size=30))
def test_every_section_lies_between_its_ends(loads: list[float]) -> None:
    n = len(loads)
    readings = _readings([(f"a-s{k}", "load", v, NOW) for k, v in enumerate(loads)])
    sections = compute_sections(_stations("a", n), readings, now=NOW, stale_after=STALE)
    assert len(sections) == n - 1
    for k, load in enumerate(sections["load"]):
        assert min(loads[k], loads[k + 1]) - 1e-9 <= load <= max(loads[k], loads[k + 1]) + 1e-9


# -- over a lake -------------------------------------------------------------------------


@pytest.fixture
def network_lake(tmp_path: Path) -> Lake:
    """The demo network's sites (synthetic) without observations."""
    lake = Lake(tmp_path / "lake")
    upsert_sites(lake, build_network(2026).sites)
    return lake


def _metro(lake: Lake, line: str) -> list[str]:
    from urbanpulse.store import read_sites

    sites = read_sites(lake, kind="metro_station")
    attrs = [json.loads(a) for a in sites["attributes"]]
    ordered = sorted(
        (a["sequence"], s)
        for s, a in zip(sites["site_id"], attrs, strict=True)
        if a["line_id"] == line
    )
    return [s for _, s in ordered]


def test_latest_readings_are_each_stations_newest(network_lake: Lake) -> None:
    ids = _metro(network_lake, "bj-m1")[:2]
    write_loads(network_lake, dict.fromkeys(ids, 0.2), NOW - timedelta(minutes=5))
    write_loads(network_lake, {ids[0]: 0.95}, NOW)
    found = read_latest_readings(network_lake, build_engine("duckdb")).set_index("site_id")
    assert list(found.columns) == ["metric", "value", "ts"]
    assert found.loc[ids[0], "value"] == pytest.approx(0.95)
    assert found.loc[ids[1], "value"] == pytest.approx(0.2)
    assert found.loc[ids[1], "ts"] == pd.Timestamp(NOW - timedelta(minutes=5))


def test_the_view_follows_new_data_and_the_clock(network_lake: Lake) -> None:
    ids = _metro(network_lake, "bj-m4")
    write_loads(network_lake, dict.fromkeys(ids, 0.3), NOW)
    live = LiveCrowding(network_lake, Settings(lake_path=network_lake.root))
    first = live.get_snapshot(now=NOW + timedelta(minutes=1))
    line = next(line for line in first["lines"] if line["line_id"] == "bj-m4")
    assert first["synthetic"] is True and first["stale"] is False
    assert [s["level"] for s in line["sections"]] == ["comfortable"] * (len(ids) - 1)
    assert line["name_zh"] == "北京地铁4号线" and line["stations"][0]["name_zh"] == "安河桥北"
    assert first["last_reading"] == "2026-11-30T09:00:00+08:00"  # local time, with its offset
    assert [lvl["level"] for lvl in first["levels"]] == list(LEVEL_NAMES)
    fingerprint = live.get_fingerprint(now=NOW + timedelta(minutes=1))

    write_loads(network_lake, {ids[0]: 1.3, ids[1]: 1.3}, NOW + timedelta(minutes=5))
    later = NOW + timedelta(minutes=6)
    assert live.get_fingerprint(now=later) != fingerprint
    line = next(
        line for line in live.get_snapshot(now=later)["lines"] if line["line_id"] == "bj-m4"
    )
    assert line["sections"][0]["level"] == "very_crowded"
    assert line["sections"][0]["load"] == pytest.approx(1.3)

    # Nothing more arrives: half an hour on, the whole feed is stale since its last reading.
    silent = live.get_snapshot(now=NOW + timedelta(minutes=40))
    assert silent["stale"] is True
    assert silent["stale_since"] == "2026-11-30T09:05:00+08:00"
    assert silent["stale_sections"] == sum(len(line["sections"]) for line in silent["lines"])


def test_an_empty_lake_has_no_lines_and_no_reading(network_lake: Lake) -> None:
    snapshot = LiveCrowding(network_lake, Settings(lake_path=network_lake.root)).get_snapshot()
    assert snapshot["lines"] == [] and snapshot["last_reading"] is None
    assert snapshot["stale"] is False  # nothing to be stale: the page says there is no feed


def test_the_stale_age_is_the_setting(network_lake: Lake) -> None:
    ids = _metro(network_lake, "sjz-m1")
    write_loads(network_lake, dict.fromkeys(ids, 0.6), NOW)
    settings = Settings(lake_path=network_lake.root, live_stale_after_s=60)
    snapshot = LiveCrowding(network_lake, settings).get_snapshot(now=NOW + timedelta(seconds=90))
    assert snapshot["stale"] is True and snapshot["stale_after_s"] == 60
    assert np.isclose(
        LiveCrowding(
            network_lake, Settings(lake_path=network_lake.root)
        ).stale_after.total_seconds(),
        600,
    )


@pytest.mark.shared_data
def test_a_real_network_s_lines_run_one_strip_per_direction(tmp_path: Path) -> None:
    import os

    from urbanpulse.transit import load_network

    shared = Path(
        os.environ.get(
            "URBANPULSE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"
        )
    )
    source = shared / "beijing-subway-2017"
    if not (source / "subway.json").is_file():
        pytest.skip(f"Beijing subway file not found in {source} (set URBANPULSE_SHARED_DATA)")
    lake = Lake(tmp_path / "lake")
    load_network(lake, source)
    from urbanpulse.store.networks import read_network_table

    stops = read_network_table(lake, "line_stops").to_pandas()
    line_1 = stops[stops["line_id"] == "beijing-subway-2017:1"]
    up = line_1[line_1["direction"] == "0"].sort_values("sequence")["site_id"].tolist()
    # GTFS-Realtime style: vehicles' occupancy at the first three stops of direction 0.
    frame = pd.DataFrame(
        {
            "site_id": up[:3],
            "metric": "occupancy_percentage",
            "ts": pd.Timestamp(NOW),
            "value": [30.0, 85.0, 120.0],
            "unit": "%",
        }
    )
    append_observations(lake, pa.Table.from_pandas(frame, preserve_index=False))
    snapshot = LiveCrowding(lake, Settings(lake_path=lake.root)).get_snapshot(now=NOW)
    line = next(line for line in snapshot["lines"] if line["line_id"] == "beijing-subway-2017:1")
    assert line["name_zh"] == "1号线" and line["mode"] == "metro"
    assert {s["direction"] for s in line["sections"]} == {"0", "1"}
    forward = [s for s in line["sections"] if s["direction"] == "0"]
    assert len(forward) == len(up) - 1
    assert [s["level"] for s in forward[:3]] == ["comfortable", "crowded", "very_crowded"]
    assert forward[0]["from_site_id"] == up[0] and forward[0]["to_site_id"] == up[1]
    names = {s["site_id"]: s["name_zh"] for s in line["stations"]}
    assert all(names[s] for s in up)
    json.dumps(snapshot, allow_nan=False)  # plain JSON: no NaN names


def test_streams_share_one_snapshot_of_now(network_lake: Lake) -> None:
    write_loads(network_lake, dict.fromkeys(_metro(network_lake, "tj-m1"), 0.5), datetime.now(UTC))
    live = LiveCrowding(network_lake, Settings(lake_path=network_lake.root))
    first = live.get_current_snapshot()
    assert live.get_current_snapshot() is first  # within SNAPSHOT_TTL_SECONDS
    live._recent = (0.0, first)  # an old one is computed again
    assert live.get_current_snapshot() is not first
