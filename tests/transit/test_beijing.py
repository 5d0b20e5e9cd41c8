"""The real Beijing subway file: lines, stations, loops, transfers and run times."""

from __future__ import annotations

import json

import pandas as pd

from urbanpulse.store import Lake, read_sites
from urbanpulse.store.networks import read_network_table, read_networks
from urbanpulse.transit import LoadSummary
from urbanpulse.transit.beijing import AVERAGE_SPEED_KMH, get_line_name_en

NETWORK = "beijing-subway-2017"


def _table(lake: Lake, name: str) -> pd.DataFrame:
    return read_network_table(lake, name, network_id=NETWORK).to_pandas()


def test_beijing_has_22_lines_both_ways_and_313_stations(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    lake, summary = beijing_lake
    lines = _table(lake, "lines")
    assert lines["route_id"].nunique() == 22
    assert len(lines) == 44 and set(lines["direction"]) == {"0", "1"}
    sites = read_sites(lake, kind="metro_station")
    ours = sites[sites["site_id"].str.startswith(f"{NETWORK}:")]
    # 373 places where a line stops; 313 distinct stations once lines share them.
    assert len(ours) == 373 == summary.stored["sites"]
    assert ours["name_zh"].nunique() == 313
    assert summary.missing == ["coordinates", "calendar", "timetable"]
    assert summary.quarantined_total == 0


def test_xizhimen_joins_lines_2_4_and_13(beijing_lake: tuple[Lake, LoadSummary]) -> None:
    lake, _ = beijing_lake
    sites = read_sites(lake, kind="metro_station")
    xizhimen = sites[(sites["name_zh"] == "西直门") & sites["site_id"].str.startswith(NETWORK)]
    lines_of = {row.site_id: json.loads(row.attributes)["line"] for row in xizhimen.itertuples()}
    assert sorted(lines_of.values()) == ["13号线", "2号线", "4号线"]
    transfers = _table(lake, "transfers")
    joined = transfers[transfers["from_site_id"].isin(lines_of)]
    assert set(joined["to_site_id"]) == set(lines_of)
    assert len(joined) == 6 and set(joined["kind"]) == {"same_name"}
    assert (joined["walk_minutes"] == 4.0).all()
    assert set(xizhimen["name_en"]) == {"Xizhimen"}


def test_loop_lines_are_lines_2_and_10(beijing_lake: tuple[Lake, LoadSummary]) -> None:
    lake, _ = beijing_lake
    lines = _table(lake, "lines")
    assert set(lines.loc[lines["loop"], "name_zh"]) == {"2号线", "10号线"}
    stops = _table(lake, "line_stops")
    line2 = stops[(stops["line_id"] == f"{NETWORK}:2") & (stops["direction"] == "0")]
    # A loop's last stop leads back to the first: no stop is the end of the line.
    assert line2["metres_to_next"].notna().all()
    assert len(line2) == 18


def test_directions_run_from_their_first_station(beijing_lake: tuple[Lake, LoadSummary]) -> None:
    lake, _ = beijing_lake
    lines = _table(lake, "lines").set_index(["line_id", "direction"])
    assert lines.loc[(f"{NETWORK}:1", "0"), "headsign"] == "往四惠东方向"
    assert lines.loc[(f"{NETWORK}:1", "1"), "headsign"] == "往苹果园方向"
    assert lines.loc[(f"{NETWORK}:1", "0"), "first_departure"] == "05:10:00"
    stops = _table(lake, "line_stops")
    sites = read_sites(lake).set_index("site_id")["name_zh"]
    first = stops[(stops["line_id"] == f"{NETWORK}:1") & (stops["sequence"] == 0)]
    assert dict(zip(first["direction"], first["site_id"].map(sites), strict=True)) == {
        "0": "苹果园",
        "1": "四惠东",
    }


def test_run_times_follow_distance_at_the_stated_speed(
    beijing_lake: tuple[Lake, LoadSummary],
) -> None:
    lake, _ = beijing_lake
    lines = _table(lake, "lines")
    airport = set(lines.loc[lines["name_zh"] == "机场线", "line_id"])
    assert airport  # the Capital Airport Express runs at its own speed and headway
    stops = _table(lake, "line_stops").dropna(subset=["metres_to_next"])
    speed = stops["line_id"].map(lambda line: 75.0 if line in airport else AVERAGE_SPEED_KMH)
    expected = stops["metres_to_next"] / (speed * 1000 / 60)
    assert (stops["minutes_to_next"] - expected).abs().max() < 0.01
    express = stops[stops["line_id"].isin(airport)].groupby(["line_id", "direction"])
    # Dongzhimen - Terminal 3 (about 25 km) takes about 20 minutes, as published.
    assert 15 <= express["minutes_to_next"].sum().max() <= 30
    service = _table(lake, "line_service")
    peak = service[(service["day_type"] == "weekday") & (service["period_start"] == 480)]
    assert peak.loc[~peak["line_id"].isin(airport), "headway_minutes"].between(2, 3).all()
    assert peak.loc[peak["line_id"].isin(airport), "headway_minutes"].between(9, 11).all()
    assert (peak["capacity"] == peak["departures"] * 1460).all()


def test_networks_lists_beijing_with_its_hash(beijing_lake: tuple[Lake, LoadSummary]) -> None:
    lake, summary = beijing_lake
    networks = read_networks(lake).set_index("network_id")
    assert networks.loc[NETWORK, "feed_hash"] == summary.feed_hash
    assert networks.loc[NETWORK, "timezone"] == "Asia/Shanghai"


def test_line_names_in_english() -> None:
    assert get_line_name_en("1号线") == "Line 1"
    assert get_line_name_en("14号线西段") == "Line 14 West"
    assert get_line_name_en("八通线") == "Batong Line"
    assert get_line_name_en("机场线") == "Airport Express"
    assert get_line_name_en("S1线") == "S1 Line"
