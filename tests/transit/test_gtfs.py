"""GTFS loading: a tiny feed with deliberate bad rows, and every real shared feed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.store import Lake, read_quarantine, read_sites
from urbanpulse.store.networks import read_network_table
from urbanpulse.transit import load_network
from urbanpulse.transit.feed import read_checked_feed
from urbanpulse.transit.gtfs import compute_trip_stats

FEED = {
    "agency.txt": "agency_name,agency_url,agency_timezone\nTiny Transit,http://x,Asia/Shanghai\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,parent_station,location_type\n"
        "S,Central,39.9000,116.4000,,1\n"
        "A,Central,39.9001,116.4001,S,0\n"
        "B,Market,39.9100,116.4000,,0\n"
        "C,Harbour,39.9200,116.4000,,0\n"
        "X,Broken,abc,116.4000,,0\n"  # line 6: latitude is not a number
    ),
    "routes.txt": (
        "route_id,route_short_name,route_long_name,route_type\nM1,1,Metro One,1\nB9,9,Bus Nine,3\n"
    ),
    "trips.txt": (
        "route_id,service_id,trip_id,direction_id,trip_headsign\n"
        "M1,WK,T1,0,Harbour\n"
        "M1,WK,T2,0,Harbour\n"
        "M1,WK,T3,0,Harbour\n"
        "B9,WK,T4,1,Central\n"
        "NOPE,WK,T5,0,Nowhere\n"  # line 6: unknown route
    ),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,A,1\n"
        "T1,08:05:00,08:05:00,B,2\n"
        "T1,08:12:00,08:12:00,C,3\n"
        "T2,24:50:00,24:50:00,A,1\n"
        "T2,24:55:00,24:55:00,B,2\n"
        "T2,25:10:00,25:10:00,C,3\n"  # line 7: past midnight, valid
        "T3,09:00:00,09:00:00,A,1\n"
        "T3,08:30:00,08:30:00,B,2\n"  # line 9: earlier than the stop before
        "T3,09:10:00,09:10:00,C,3\n"
        "T4,10:00:00,10:00:00,C,1\n"
        "T4,10:07:00,10:07:00,ZZZ,2\n"  # line 12: unknown stop
        "T4,10:15:00,10:15:00,A,\n"  # line 13: no stop_sequence
        "T4,10:20:00,10:2x:00,B,4\n"  # line 14: not a time
        "T4,10:30:00,10:30:00,A,5\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260302,20260313\n"
    ),
    "calendar_dates.txt": "service_id,date,exception_type\nWK,20260303,2\nWK,20260307,1\n",
    "frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,07:00:00,08:00:00,600\n",
    "transfers.txt": "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nA,B,2,180\n",
}


@pytest.fixture
def tiny_feed(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name, text in FEED.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_bad_rows_go_to_quarantine_with_file_line_and_reason(
    tiny_feed: Path, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    summary = load_network(lake, tiny_feed, network_id="tiny")
    rows = read_quarantine(lake)
    found = {(Path(r.source).name, int(r.line), r.reason) for r in rows.itertuples()}
    assert found == {
        ("stops.txt", 6, "stop_lat is not a number"),
        ("trips.txt", 6, "unknown route"),
        ("stop_times.txt", 9, "time out of order within its trip"),
        ("stop_times.txt", 12, "unknown stop"),
        ("stop_times.txt", 13, "missing required field stop_sequence"),
        ("stop_times.txt", 14, "departure_time is not a time (H:MM:SS)"),
    }
    assert summary.quarantined_total == 6
    assert summary.quarantined == {
        "tiny/stops.txt": 1,
        "tiny/trips.txt": 1,
        "tiny/stop_times.txt": 4,
    }


def test_tiny_feed_tables(tiny_feed: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    load_network(lake, tiny_feed, network_id="tiny")
    lines = read_network_table(lake, "lines", network_id="tiny").to_pandas().set_index("line_id")
    assert (
        lines.loc["tiny:M1", "mode"] == "metro" and lines.loc["tiny:M1", "vehicle_capacity"] == 1460
    )
    # T2 leaves at 24:50 (past midnight of its service day) and stays on that day.
    assert lines.loc["tiny:M1", "last_departure"] == "24:50:00"
    stops = read_network_table(lake, "line_stops", network_id="tiny").to_pandas()
    metro = stops[stops["line_id"] == "tiny:M1"].sort_values("sequence")
    assert list(metro["site_id"]) == ["tiny:A", "tiny:B", "tiny:C"]
    # Medians over T1 (5, 7 min) and T2 (5, 15 min); T3 lost B to quarantine.
    assert list(metro["minutes_to_next"])[:2] == [5.0, 11.0]
    service = read_network_table(lake, "line_service", network_id="tiny").to_pandas()
    weekday = service[(service["line_id"] == "tiny:M1") & (service["day_type"] == "weekday")]
    # frequencies.txt: T1 every 10 minutes from 07:00 to 08:00 -> six departures.
    assert weekday.loc[weekday["period_start"] < 480, "departures"].sum() == 6
    assert (weekday["capacity"] == weekday["departures"] * 1460).all()
    assert set(service["day_type"]) == {"weekday", "saturday"}  # 7 March is added
    days = read_network_table(lake, "service_days", network_id="tiny").to_pandas()
    metro_days = set(days.loc[days["line_id"] == "tiny:M1", "date"].astype(str))
    assert "2026-03-03" not in metro_days and "2026-03-07" in metro_days and len(metro_days) == 10
    transfers = read_network_table(lake, "transfers", network_id="tiny").to_pandas()
    kinds = transfers.set_index(["from_site_id", "to_site_id"])["kind"]
    assert kinds[("tiny:A", "tiny:B")] == "gtfs"
    walk = transfers.set_index(["from_site_id", "to_site_id"])["walk_minutes"]
    assert walk[("tiny:A", "tiny:B")] == 3.0
    sites = read_sites(lake).set_index("site_id")
    assert (
        sites.loc["tiny:A", "kind"] == "metro_station"
        and sites.loc["tiny:C", "kind"] == "metro_station"
    )
    assert "tiny:X" not in sites.index


def test_loading_twice_stores_nothing_new(tiny_feed: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    first = load_network(lake, tiny_feed, network_id="tiny")
    version = lake.version
    again = load_network(Lake(tmp_path / "lake"), tiny_feed, network_id="tiny")
    assert again.already_loaded and not first.already_loaded
    assert Lake(tmp_path / "lake").version == version
    assert len(read_quarantine(Lake(tmp_path / "lake"))) == 6
    changed = load_network(lake, tiny_feed, network_id="tiny", capacities={"metro": 1000})
    assert not changed.already_loaded


def test_cli_load_json_counts_and_errors(tiny_feed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    lake = str(tmp_path / "lake")
    result = runner.invoke(
        app, ["transit", "load", str(tiny_feed), "--lake", lake, "--json", "--capacity", "bus=90"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["stored"]["lines"] == 2 and body["stored"]["sites"] == 4
    assert body["quarantined_total"] == 6 and body["missing"] == ["shapes.txt"]
    again = runner.invoke(
        app, ["transit", "load", str(tiny_feed), "--lake", lake, "--json", "--capacity", "bus=90"]
    )
    assert json.loads(again.stdout.strip().splitlines()[-1])["already_loaded"] is True
    missing = runner.invoke(app, ["transit", "load", str(tmp_path / "none"), "--lake", lake])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    bad = runner.invoke(
        app, ["transit", "load", str(tiny_feed), "--capacity", "bus", "--lake", lake]
    )
    assert bad.exit_code == 2
    listed = runner.invoke(app, ["transit", "networks", "--lake", lake, "--json"])
    assert [n["network_id"] for n in json.loads(listed.stdout)] == ["tiny"]
    found = runner.invoke(app, ["transit", "stations", "harb", "--lake", lake, "--json"])
    assert json.loads(found.stdout)[0]["name_en"] == "Harbour"


SHARED_FEEDS = {
    "gtfs/cairns_gtfs.zip": ("cairns_gtfs", []),
    "gtfs/sample_gtfs.zip": ("sample_gtfs", []),
    "gtfs/delhi-metro/DMRC_GTFS.zip": ("dmrc_gtfs", []),
    "gtfs-realtime/caltrain-2023-11-08/ct.zip": ("ct", []),
    "gtfs-realtime/bart-2019/bart-rt.zip": ("bart-rt", []),
    "gtfs-realtime/miway-2025-10-26/static": ("miway-2025-10-26", ["stop_times.txt", "shapes.txt"]),
}


@pytest.mark.parametrize("relative", sorted(SHARED_FEEDS))
def test_every_shared_feed_loads(shared_data: Path, tmp_path: Path, relative: str) -> None:
    network_id, missing = SHARED_FEEDS[relative]
    lake = Lake(tmp_path / "lake")
    summary = load_network(lake, shared_data / relative)
    assert summary.network_id == network_id and summary.missing == missing
    assert summary.stored["sites"] > 0 and summary.stored["lines"] > 0
    assert summary.stored["service_days"] > 0
    if "stop_times.txt" not in missing:
        assert summary.stored["line_stops"] > 0 and summary.stored["line_service"] > 0


def test_cairns_trip_stats_equal_gtfs_kit(shared_data: Path) -> None:
    peer = pd.read_csv(shared_data / "gtfs" / "cairns_trip_stats.csv", dtype={"trip_id": str})
    ours = compute_trip_stats(read_checked_feed(shared_data / "gtfs" / "cairns_gtfs.zip"))
    assert len(ours) == len(peer) == 1339
    joined = peer.merge(ours, on="trip_id", suffixes=("_peer", ""))
    assert len(joined) == len(peer)
    assert (joined["num_stops"] == joined["num_stops_peer"]).all()
    assert (joined["duration"] - joined["duration_peer"]).abs().max() < 1e-9
    assert (joined["distance"] - joined["distance_peer"]).abs().max() < 1e-6


def test_cairns_run_times_come_from_those_trip_stats(shared_data: Path, tmp_path: Path) -> None:
    peer = pd.read_csv(shared_data / "gtfs" / "cairns_trip_stats.csv", dtype={"trip_id": str})
    lake = Lake(tmp_path / "lake")
    load_network(lake, shared_data / "gtfs" / "cairns_gtfs.zip")
    service = read_network_table(lake, "line_service", network_id="cairns_gtfs").to_pandas()
    # Every stored period's median run lies within the peer's durations of its route.
    peer["line_id"] = "cairns_gtfs:" + peer["route_id"]
    bounds = peer.groupby("line_id")["duration"].agg(["min", "max"]) * 60
    joined = service.join(bounds, on="line_id")
    assert joined["run_minutes"].between(joined["min"] - 0.01, joined["max"] + 0.01).all()
    # A period with one departure stores that trip's duration exactly as gtfs_kit has it.
    single = service[service["departures"] == 1]
    durations = set((peer["duration"] * 60).round(2))
    assert len(single) > 100 and single["run_minutes"].round(2).isin(durations).all()


def test_transfer_overrides_add_correct_and_forbid_changes(tiny_feed: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    load_network(lake, tiny_feed, network_id="tiny")
    before = _walks(lake)
    assert ("tiny:A", "tiny:B") in before  # transfers.txt: 3 minutes
    assert ("tiny:B", "tiny:C") not in before  # 1.1 km apart: no rule joins them
    overrides = tmp_path / "transfers.csv"
    overrides.write_text(
        "from,to,walk_minutes\nMarket,Harbour,7\nCentral,Market,none\ntiny:A,Harbour,\n",
        encoding="utf-8",
    )
    summary = load_network(lake, tiny_feed, network_id="tiny", transfers_file=overrides)
    assert not summary.already_loaded  # the overrides are part of what was loaded
    after = _walks(lake)
    assert after[("tiny:B", "tiny:C")] == after[("tiny:C", "tiny:B")] == (7.0, "stated")
    assert not {("tiny:A", "tiny:B"), ("tiny:B", "tiny:A"), ("tiny:S", "tiny:B")} & set(after)
    minutes, kind = after[("tiny:A", "tiny:C")]  # empty: estimated from the 2.2 km
    assert kind == "stated" and minutes == pytest.approx(2224 / 1.2 / 60, abs=0.5)


def test_a_transfer_override_naming_no_stop_is_one_line(tiny_feed: Path, tmp_path: Path) -> None:
    overrides = tmp_path / "transfers.csv"
    overrides.write_text("from,to,walk_minutes\nMarket,Nowhere,3\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["transit", "load", str(tiny_feed), "--transfers", str(overrides),
              "--lake", str(tmp_path / "lake")],
    )  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "transfers.csv:2: no stop 'Nowhere'" in result.output
    overrides.write_text("from,to,walk_minutes\nMarket,Harbour,soon\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["transit", "load", str(tiny_feed), "--transfers", str(overrides),
              "--lake", str(tmp_path / "lake")],
    )  # fmt: skip
    assert result.exit_code == 2 and "walk_minutes" in result.output


def _walks(lake: Lake) -> dict[tuple[str, str], tuple[float, str]]:
    rows = read_network_table(lake, "transfers", network_id="tiny").to_pylist()
    return {(r["from_site_id"], r["to_site_id"]): (r["walk_minutes"], r["kind"]) for r in rows}
