"""GTFS-Realtime out: GET /api/gtfs-rt/crowding decoded with the official bindings, on
the real Caltrain feed with riders counted at four of its stations."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from google.transit import gtfs_realtime_pb2 as rt

from urbanpulse.advise.occupancy_feed import OCCUPANCY_THRESHOLDS, get_occupancy_status
from urbanpulse.api.app import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake, append_observations
from urbanpulse.store.networks import read_network_table
from urbanpulse.transit import load_network

TZ = ZoneInfo("America/Los_Angeles")
START = datetime(2023, 11, 8, 7, 0, tzinfo=TZ)  # a Wednesday morning


def test_thresholds_cover_every_share_in_rising_order() -> None:
    lows = [low for low, _ in OCCUPANCY_THRESHOLDS]
    assert lows[0] == 0.0 and lows == sorted(lows) and len(set(lows)) == len(lows)
    names = [status for _, status in OCCUPANCY_THRESHOLDS]
    numbers = [rt.VehiclePosition.OccupancyStatus.Value(n) for n in names]
    assert numbers == sorted(numbers)  # the enum's own order: emptier first
    for low, status in OCCUPANCY_THRESHOLDS:
        assert get_occupancy_status(low) == status
    assert get_occupancy_status(0.79) == "STANDING_ROOM_ONLY"
    assert get_occupancy_status(3.0) == "FULL"


@pytest.fixture(scope="module")
def caltrain(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, list[str]]:
    env = os.environ.get("URBANPULSE_SHARED_DATA")
    shared = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    feed = shared / "gtfs-realtime" / "caltrain-2023-11-08" / "ct.zip"
    if not feed.is_file():
        pytest.skip(f"Caltrain GTFS feed not found at {feed} (set URBANPULSE_SHARED_DATA)")
    root = tmp_path_factory.mktemp("caltrain")
    lake = Lake(root / "lake")
    load_network(lake, feed)
    stops = read_network_table(lake, "trip_stops").to_pandas()["site_id"].value_counts()
    sites = stops.index[:4].tolist()
    # Four weeks of riders with a morning peak, a different height at each station.
    slots = pd.date_range(
        datetime(2023, 10, 11, tzinfo=TZ), START.replace(hour=0), freq="15min", inclusive="left"
    )
    hours = slots.hour + slots.minute / 60
    frames = [
        pd.DataFrame(
            {
                "site_id": site,
                "metric": "boardings",
                "ts": slots,
                "value": 20 + (k + 1) * 150 * np.exp(-((hours - 8) ** 2) / 2),
                "unit": "passengers",
            }
        )
        for k, site in enumerate(sites)
    ]
    append_observations(lake, pa.Table.from_pandas(pd.concat(frames), preserve_index=False))
    settings = Settings(lake_path=root / "lake", local_timezone="America/Los_Angeles")
    return TestClient(create_app(settings)), sites


pytestmark = pytest.mark.shared_data


def get_feed(client: TestClient, **params: object) -> rt.FeedMessage:
    response = client.get("/api/gtfs-rt/crowding", params={"network": "ct", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    assert response.headers["x-urbanpulse-synthetic"] == "false"
    message = rt.FeedMessage()
    message.ParseFromString(response.content)
    return message


def test_feed_carries_forecast_crowding_per_trip_and_stop(
    caltrain: tuple[TestClient, list[str]],
) -> None:
    client, sites = caltrain
    message = get_feed(client, at="2023-11-08T07:00:00", minutes=60)
    assert message.header.gtfs_realtime_version == "2.0"
    assert message.header.incrementality == rt.FeedHeader.FULL_DATASET
    assert len(message.entity) >= 4
    service = client.app.state.advice  # type: ignore[attr-defined]
    keys, values = service.get_day_forecast(sites[0], START.date())
    forecast = dict(zip(keys.tolist(), values[0].tolist(), strict=True))
    stop_ids = {s.split(":", 1)[1] for s in sites}
    lake = service.lake
    schedule = read_network_table(lake, "trip_stops").to_pandas()
    midnight = START.replace(hour=0).timestamp()
    checked = 0
    for entity in message.entity:
        update = entity.trip_update
        assert update.trip.start_date == "20231108" and update.trip.route_id
        planned = schedule[schedule["trip_id"] == update.trip.trip_id].set_index("stop_sequence")
        for stop in update.stop_time_update:
            assert stop.stop_id in stop_ids
            assert stop.schedule_relationship == rt.TripUpdate.StopTimeUpdate.NO_DATA
            assert not stop.HasField("arrival") and not stop.HasField("departure")
            leave = planned.loc[stop.stop_sequence, "departure_s"]
            assert f"ct:{stop.stop_id}" == planned.loc[stop.stop_sequence, "site_id"]
            moment = midnight + leave
            assert START.timestamp() <= moment < START.timestamp() + 3600
            if f"ct:{stop.stop_id}" == sites[0]:
                share = forecast[int(moment // 900 * 900)]
                expected = rt.VehiclePosition.OccupancyStatus.Value(get_occupancy_status(share))
                assert stop.departure_occupancy_status == expected
                checked += 1
    assert checked >= 2
    statuses = {
        s.departure_occupancy_status for e in message.entity for s in e.trip_update.stop_time_update
    }
    assert len(statuses) >= 2  # the busier stations read fuller


def test_the_morning_peak_reads_fuller_than_the_evening(
    caltrain: tuple[TestClient, list[str]],
) -> None:
    client, _ = caltrain

    def mean_status(at: str) -> float:
        message = get_feed(client, at=at, minutes=120)
        numbers = [
            s.departure_occupancy_status
            for e in message.entity
            for s in e.trip_update.stop_time_update
        ]
        assert numbers
        return float(np.mean(numbers))

    assert mean_status("2023-11-08T07:00:00") > mean_status("2023-11-08T19:00:00")


def test_json_for_debugging_by_query_or_accept(caltrain: tuple[TestClient, list[str]]) -> None:
    client, _ = caltrain
    params = {"network": "ct", "at": "2023-11-08T07:00:00"}
    by_query = client.get("/api/gtfs-rt/crowding", params={**params, "format": "json"})
    by_accept = client.get(
        "/api/gtfs-rt/crowding", params=params, headers={"Accept": "application/json"}
    )
    for response in (by_query, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
    body = json.loads(by_query.text)
    assert body["header"]["gtfs_realtime_version"] == "2.0"
    update = body["entity"][0]["trip_update"]["stop_time_update"][0]
    assert update["schedule_relationship"] == "NO_DATA"
    assert update["departure_occupancy_status"] in {s for _, s in OCCUPANCY_THRESHOLDS}


def test_unknown_network_and_bad_window_are_clear_errors(
    caltrain: tuple[TestClient, list[str]],
) -> None:
    client, _ = caltrain
    missing = client.get("/api/gtfs-rt/crowding", params={"network": "nowhere"})
    assert missing.status_code == 404 and "nowhere" in missing.text
    long = client.get("/api/gtfs-rt/crowding", params={"network": "ct", "minutes": 5000})
    assert long.status_code == 422
