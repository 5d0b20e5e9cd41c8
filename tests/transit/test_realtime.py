"""GTFS-Realtime in: every real sample in ../shared/data/gtfs-realtime read against its
static feed, counts checked against the feed decoded here with the official bindings."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from google.transit import gtfs_realtime_pb2
from typer.testing import CliRunner

from urbanpulse.cli import app
from urbanpulse.errors import InvalidQueryError, SourceError
from urbanpulse.store import Lake, read_quarantine
from urbanpulse.store.engine import connect, scan_sql
from urbanpulse.transit import load_network
from urbanpulse.transit.realtime import RealtimeSummary, read_realtime_feed, read_realtime_feeds
from urbanpulse.transit.realtime_sources import follow_realtime_feeds

pytestmark = pytest.mark.shared_data

# network id (as the transit loader names it) -> (static feed, realtime files)
SAMPLES = {
    "bart-rt": (
        "bart-2019/bart-rt.zip",
        ["bart-2019/bart-trip-updates.pb", "bart-2019/example.pb", "bart-2019/bart-alerts.pb"],
    ),
    "ct": (
        "caltrain-2023-11-08/ct.zip",
        ["caltrain-2023-11-08/ct-trip-updates.pb", "caltrain-2023-11-08/ct-vehicle-positions.pb"],
    ),
    "miway-2025-10-26": (
        "miway-2025-10-26/static",
        [
            f"miway-2025-10-26/{snapshot}/{kind}.pb"
            for snapshot in ("rt_2150Z", "rt_2250Z")
            for kind in ("TripUpdates", "VehiclePositions", "Alerts")
        ],
    ),
}
KINDS = ("stop_time_updates", "vehicle_positions", "alerts")


@pytest.fixture(scope="module")
def realtime_dir(shared_data: Path) -> Path:
    folder = shared_data / "gtfs-realtime"
    if not folder.is_dir():
        pytest.skip(f"GTFS-Realtime samples not found in {folder}")
    return folder


@pytest.fixture(scope="module")
def lakes(realtime_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Lake]:
    """One lake per sample network with its static feed loaded by the transit loader."""
    built = {}
    for network_id, (static, _) in SAMPLES.items():
        lake = Lake(tmp_path_factory.mktemp(network_id) / "lake")
        assert load_network(lake, realtime_dir / static).network_id == network_id
        built[network_id] = lake
    return built


@pytest.fixture(scope="module")
def read_lakes(realtime_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Lake]:
    """One lake per sample network with its static feed and every sample read, so a
    test of what was stored holds whichever tests ran before it (alone, or on another
    worker)."""
    built = {}
    for network_id, (static, files) in SAMPLES.items():
        lake = Lake(tmp_path_factory.mktemp(f"read-{network_id}") / "lake")
        load_network(lake, realtime_dir / static)
        for file in files:
            read_realtime_feed(lake, (realtime_dir / file).read_bytes(), source=file)
        built[network_id] = lake
    return built


def decode(path: Path) -> gtfs_realtime_pb2.FeedMessage:
    message = gtfs_realtime_pb2.FeedMessage()
    message.ParseFromString(path.read_bytes())
    return message


def count_entities(message: gtfs_realtime_pb2.FeedMessage) -> dict[str, int]:
    updates = [e.trip_update for e in message.entity if e.HasField("trip_update")]
    return {
        "trip_updates": len(updates),
        "stop_time_updates": sum(len(u.stop_time_update) for u in updates),
        "vehicle_positions": sum(e.HasField("vehicle") for e in message.entity),
        "alerts": sum(e.HasField("alert") for e in message.entity),
    }


CASES = [(network, file) for network, (_, files) in SAMPLES.items() for file in files]


@pytest.mark.parametrize(("network_id", "file"), CASES, ids=[f for _, f in CASES])
def test_every_sample_is_read_and_accounted_for(
    lakes: dict[str, Lake], realtime_dir: Path, network_id: str, file: str
) -> None:
    lake = lakes[network_id]
    data = (realtime_dir / file).read_bytes()
    expected = count_entities(decode(realtime_dir / file))
    quarantined_before = read_quarantine(lake).shape[0]
    summary = read_realtime_feed(lake, data, source=file, network_id=network_id)
    body = summary.to_dict()
    assert {k: body[k] for k in expected} == expected
    assert sum(expected.values()) > 0
    for kind in KINDS:
        accounted = summary.stored[kind] + summary.already_stored[kind]
        assert accounted + summary.quarantined[kind] == expected[kind], kind
    assert read_quarantine(lake).shape[0] - quarantined_before == body["quarantined_total"]
    # The same snapshot again: its key is known, nothing new is stored.
    version = lake.version
    again = read_realtime_feed(lake, data, source=file, network_id=network_id)
    assert again.already_read and again.to_dict()["stored_total"] == 0
    assert lake.version == version


def test_most_trip_updates_resolve_on_every_network(read_lakes: dict[str, Lake]) -> None:
    for network_id, lake in read_lakes.items():
        sql = scan_sql(lake, "realtime_snapshots")
        row = connect().execute(
            f"SELECT sum(stop_time_updates), sum(stored) FROM ({sql}) WHERE stop_time_updates > 0"
        )
        updates, stored = row.fetchall()[0]
        assert updates and stored / updates > 0.5, network_id


def read_rows(lake: Lake, table: str, where: str = "true") -> list[dict]:
    sql = scan_sql(lake, table)
    return connect().execute(f"SELECT * FROM ({sql}) WHERE {where}").fetch_df().to_dict("records")


def test_bart_delays_are_the_feeds_own_at_the_scheduled_time(
    lakes: dict[str, Lake], realtime_dir: Path
) -> None:
    lake = lakes["bart-rt"]
    message = decode(realtime_dir / "bart-2019/bart-trip-updates.pb")
    read_realtime_feed(
        lake, (realtime_dir / "bart-2019/bart-trip-updates.pb").read_bytes(),
        source="bart-trip-updates.pb", network_id="bart-rt",
    )  # fmt: skip
    stored = {
        (r["site_id"], r["ts"].timestamp()): r["value"]
        for r in read_rows(lake, "observations", "metric = 'departure_delay'")
    }
    checked = 0
    for entity in message.entity:
        for stop in entity.trip_update.stop_time_update:
            key = (f"bart-rt:{stop.stop_id}", stop.departure.time - stop.departure.delay)
            if key in stored:
                assert stored[key] == stop.departure.delay
                checked += 1
    assert checked > 500


def test_caltrain_delays_come_from_the_static_schedule(read_lakes: dict[str, Lake]) -> None:
    # The feed gives predicted times only; delays against the static timetable on the
    # right service day and time zone stay within minutes, not hours.
    delays = [
        r["value"] for r in read_rows(read_lakes["ct"], "observations", "metric LIKE '%delay'")
    ]
    assert len(delays) == 408  # 208 arrivals + 200 departures in the feed
    assert all(abs(d) < 3600 for d in delays)
    assert sum(abs(d) < 900 for d in delays) / len(delays) > 0.9


def test_miway_occupancy_becomes_observations_of_stops(
    read_lakes: dict[str, Lake], realtime_dir: Path
) -> None:
    lake = read_lakes["miway-2025-10-26"]
    vehicles = read_rows(lake, "realtime_vehicles")
    decoded = {
        (e.id, e.vehicle.timestamp): e.vehicle
        for snapshot in ("rt_2150Z", "rt_2250Z")
        for e in decode(realtime_dir / f"miway-2025-10-26/{snapshot}/VehiclePositions.pb").entity
    }
    with_status = [v for v in vehicles if v["occupancy_status"]]
    assert len(with_status) > 150
    for row in with_status:
        source = decoded[(row["entity_id"], int(row["ts"].timestamp()))]
        number = gtfs_realtime_pb2.VehiclePosition.OccupancyStatus.Value(row["occupancy_status"])
        assert number == source.occupancy_status
        assert row["site_id"].startswith("miway-2025-10-26:") and row["line_id"]
    statuses = read_rows(lake, "observations", "metric = 'occupancy_status'")
    assert len(statuses) == len(with_status)
    assert {r["value"] for r in statuses} <= set(range(9))


def test_alerts_are_kept_with_what_they_inform(read_lakes: dict[str, Lake]) -> None:
    alerts = read_rows(read_lakes["miway-2025-10-26"], "realtime_alerts")
    assert len(alerts) == 2 * 69
    assert any(json.loads(a["line_ids"]) for a in alerts)
    assert any(json.loads(a["site_ids"]) for a in alerts)
    bart = read_rows(read_lakes["bart-rt"], "realtime_alerts")
    assert bart[0]["effect"] == "SIGNIFICANT_DELAYS" and "Montgomery" in bart[0]["header"]


def test_unknown_trips_go_to_quarantine_with_feed_position_and_reason(
    read_lakes: dict[str, Lake],
) -> None:
    rows = read_quarantine(read_lakes["bart-rt"])
    rows = rows[rows["source"] == "bart-2019/bart-trip-updates.pb"]
    assert len(rows) == 81
    assert set(rows["reason"]) == {"trip not in the static feed (ADDED)", "unknown trip"}
    assert rows["line"].notna().all() and rows["raw"].str.contains("tripId").all()


def test_an_unknown_network_or_a_non_feed_is_one_clear_error(
    lakes: dict[str, Lake], realtime_dir: Path
) -> None:
    data = (realtime_dir / "caltrain-2023-11-08/ct-trip-updates.pb").read_bytes()
    with pytest.raises(InvalidQueryError, match="not in the lake"):
        read_realtime_feed(lakes["ct"], data, source="x", network_id="nowhere")
    with pytest.raises(SourceError, match="not a GTFS-Realtime feed"):
        read_realtime_feed(
            lakes["ct"], (realtime_dir / "caltrain-2023-11-08/ct.zip").read_bytes(), source="ct.zip"
        )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log would mix with the command's output


@pytest.fixture
def feed_server(realtime_dir: Path) -> Iterator[str]:
    """A local HTTP server handing out the BART samples."""
    handler = partial(_QuietHandler, directory=str(realtime_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_feed_url_is_polled(feed_server: str, realtime_dir: Path, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    load_network(lake, realtime_dir / "caltrain-2023-11-08/ct.zip")
    url = f"{feed_server}/caltrain-2023-11-08/ct-trip-updates.pb?api_key=secret"
    waits: list[float] = []
    summaries = follow_realtime_feeds(lake, [url], interval=7.0, polls=2, sleep=waits.append)
    assert [s.already_read for s in summaries] == [False, True]
    assert summaries[0].stop_time_updates == 220 and summaries[0].stored["stop_time_updates"] == 220
    assert waits == [7.0]
    assert "secret" not in summaries[0].source  # an API key in the URL is not kept
    errors: list[str] = []
    missing = f"{feed_server}/nothing.pb"
    follow_realtime_feeds(lake, [missing], polls=1, on_error=errors.append)
    assert len(errors) == 1 and "404" in errors[0]


def test_cli_reads_a_url_once_and_prints_counts(
    feed_server: str, realtime_dir: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    load_network(Lake(lake), realtime_dir / "caltrain-2023-11-08/ct.zip")
    url = f"{feed_server}/caltrain-2023-11-08/ct-vehicle-positions.pb"
    args = ["stream", "gtfs-rt", url, "--once", "--lake", str(lake), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[-1]["total"]["vehicle_positions"] == 14
    assert lines[-1]["total"]["stored"] == 14 and lines[-1]["total"]["quarantined"] == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    folder = CliRunner().invoke(app, ["stream", "gtfs-rt", str(empty), "--lake", str(lake)])
    assert folder.exit_code == 2
    assert "holds no GTFS-Realtime file" in folder.output and "Traceback" not in folder.output


def test_a_folder_goes_on_past_a_corrupt_and_a_differential_snapshot(
    realtime_dir: Path, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    load_network(lake, realtime_dir / "caltrain-2023-11-08/ct.zip")
    folder = tmp_path / "drop"
    folder.mkdir()
    updates = (realtime_dir / "caltrain-2023-11-08/ct-trip-updates.pb").read_bytes()
    positions = (realtime_dir / "caltrain-2023-11-08/ct-vehicle-positions.pb").read_bytes()
    differential = decode(realtime_dir / "caltrain-2023-11-08/ct-trip-updates.pb")
    differential.header.incrementality = gtfs_realtime_pb2.FeedHeader.DIFFERENTIAL
    (folder / "1-updates.pb").write_bytes(updates)
    (folder / "2-corrupt.pb").write_bytes(updates[: len(updates) // 2] + b"\xff\xff\xff")
    (folder / "3-differential.pb").write_bytes(differential.SerializeToString())
    (folder / "4-positions.pb").write_bytes(positions)
    errors: list[str] = []
    summaries = follow_realtime_feeds(lake, [str(folder)], on_error=errors.append)
    assert [s.source for s in summaries] == ["drop/1-updates.pb", "drop/4-positions.pb"]
    assert not any(s.already_read for s in summaries)
    assert len(errors) == 2
    assert "drop/2-corrupt.pb is not a GTFS-Realtime feed" in errors[0]
    assert "DIFFERENTIAL" in errors[1] and "3-differential.pb" in errors[1]
    kept = read_quarantine(lake)
    kept = kept[kept["column_name"] == "snapshot"]
    assert sorted(kept["source"]) == ["drop/2-corrupt.pb", "drop/3-differential.pb"]
    assert all(raw.startswith("sha256=") for raw in kept["raw"])
    # the folder again: everything read is known, and nothing is quarantined twice
    version = lake.version
    again = follow_realtime_feeds(lake, [str(folder)], on_error=errors.append)
    assert all(s.already_read for s in again) and lake.version == version


def test_the_read_index_answers_from_new_files_only(realtime_dir: Path, tmp_path: Path) -> None:
    from urbanpulse.transit.realtime import SnapshotIndex, get_snapshot_index

    lake = Lake(tmp_path / "lake")
    load_network(lake, realtime_dir / "caltrain-2023-11-08/ct.zip")
    message = decode(realtime_dir / "caltrain-2023-11-08/ct-vehicle-positions.pb")
    for second in range(5):  # five distinct snapshots (their header time differs)
        message.header.timestamp += 30
        read_realtime_feed(lake, message.SerializeToString(), source=f"s{second}.pb")
    index = get_snapshot_index(lake)
    # each snapshot's file is taken in from the rows written, never read back
    assert len(index._files) == len(lake.get_files("realtime_snapshots")) == 5
    assert ("0" * 64, "ct") not in index.read(lake)
    assert len(index.read(lake)) == 5
    # a fresh process (a new index) reads the stored table and agrees
    fresh = SnapshotIndex()
    summary = read_realtime_feed(lake, message.SerializeToString(), source="s4-again.pb")
    assert summary.already_read
    assert (summary.snapshot_id, summary.network_id) in fresh.read(lake)
    assert ("0" * 64, summary.network_id) not in fresh.read(lake)


def test_a_replay_in_batches_stores_what_reading_one_by_one_stores(
    realtime_dir: Path, tmp_path: Path
) -> None:
    """Snapshots judged in one commit see the ones before them in it: a revision in the
    next snapshot is a new version, a repeat is already stored, a copy is read once."""
    message = decode(realtime_dir / "caltrain-2023-11-08/ct-trip-updates.pb")
    snapshots = []
    for n in range(6):
        message.header.timestamp += 30
        for entity in message.entity[: 3 + n]:  # some delays revised, the rest repeated
            for stop in entity.trip_update.stop_time_update:
                if stop.arrival.HasField("time"):
                    stop.arrival.time += 20
        snapshots.append((f"s{n}.pb", message.SerializeToString()))
    snapshots.insert(3, ("s1-copy.pb", snapshots[1][1]))
    lakes = {name: Lake(tmp_path / name) for name in ("batched", "one-by-one")}
    for lake in lakes.values():
        load_network(lake, realtime_dir / "caltrain-2023-11-08/ct.zip")
    before = lakes["batched"].version
    batched = list(read_realtime_feeds(lakes["batched"], snapshots, per_commit=4))
    single = [read_realtime_feed(lakes["one-by-one"], d, source=s) for s, d in snapshots]
    assert lakes["batched"].version == before + 2  # seven snapshots, two commits

    def comparable(summary: RealtimeSummary) -> dict[str, object]:
        return {k: v for k, v in summary.to_dict().items() if k != "snapshot_id"}

    assert [comparable(s) for s in batched] == [comparable(s) for s in single]
    assert batched[3].already_read and batched[2].stored["stop_time_updates"] > 0
    for table, columns in (
        ("observations", "site_id, metric, ts, value"),
        ("realtime_predictions", "trip_id, site_id, event, scheduled_ts, delay_s, feed_ts"),
        ("realtime_snapshots", "snapshot_id, source, stored"),
    ):
        rows = [
            connect()
            .execute(f"SELECT {columns} FROM ({scan_sql(lake, table)}) ORDER BY ALL")
            .fetchall()
            for lake in lakes.values()
        ]
        assert rows[0] == rows[1] and rows[0], table
