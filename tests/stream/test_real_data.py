"""Real readings over MQTT: ten days of the Beijing Aotizhongxin station (PRSA data set)
sent as NGSI-LD AirQualityObserved fragments, as a Smart Data Models device would."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from tests.stream.conftest import publish, read, wait_for
from tests.stream.test_mqtt import Running, _options

from urbanpulse.store import Lake

pytestmark = pytest.mark.shared_data

# CSV column -> NGSI-LD attribute of AirQualityObserved -> lake metric.
ATTRIBUTES = {"PM2.5": "pm25", "NO2": "no2", "TEMP": "temperature", "PRES": "pressure"}
METRICS = {"PM2.5": "pm25", "NO2": "no2", "TEMP": "temp", "PRES": "pres"}
UNIT_CODES = {"PM2.5": "GQ", "NO2": "GQ", "TEMP": "CEL", "PRES": "A97"}
HOURS = 240


def _station_file() -> Path:
    shared = Path(
        os.environ.get("URBANPULSE_SHARED_DATA", Path(__file__).parents[3] / "shared" / "data")
    )
    path = shared / "beijing-air-quality" / "PRSA_Data_Aotizhongxin_20130301-20170228.csv"
    if not path.is_file():
        pytest.skip(f"shared real data not found at {path} (set URBANPULSE_SHARED_DATA)")
    return path


def test_a_real_station_as_ngsi_ld_fragments_is_stored_value_for_value(
    broker_port: int, topic_prefix: str, tmp_path: Path
) -> None:
    with _station_file().open(newline="") as handle:
        rows = [row for _, row in zip(range(HOURS), csv.DictReader(handle), strict=False)]
    messages, expected = [], {}
    for row in rows:
        # The file's clock is Beijing's: sent without an offset, read in local_timezone.
        observed = f"{row['year']}-{int(row['month']):02d}-{int(row['day']):02d}T{int(row['hour']):02d}:00:00"
        entity: dict[str, object] = {
            "id": "urn:ngsi-ld:AirQualityObserved:aotizhongxin",
            "type": "AirQualityObserved",
        }
        for column, attribute in ATTRIBUTES.items():
            if row[column] != "NA":
                entity[attribute] = {
                    "type": "Property",
                    "value": float(row[column]),
                    "observedAt": observed,
                    "unitCode": UNIT_CODES[column],
                }
                expected[(METRICS[column], observed)] = float(row[column])
        messages.append((f"{topic_prefix}/air", json.dumps(entity)))
    lake = Lake(tmp_path / "lake")
    stream = Running(lake, _options(broker_port, (f"{topic_prefix}/#",), allow_new_sites=True))
    wait_for(stream.ready.is_set)
    publish(broker_port, messages)
    wait_for(lambda: sum(b.received for b in stream.batches) >= len(expected))
    total = stream.finish()
    stored = read(
        lake,
        "SELECT metric, strftime(timezone('Asia/Shanghai', ts), '%Y-%m-%dT%H:%M:%S'), value "
        "FROM observations WHERE site_id = 'aotizhongxin'",
    )
    assert {(m, t): v for m, t, v in stored} == expected
    assert total.stored == len(expected) and total.quarantined_total == 0
    assert len(expected) > 3 * HOURS  # the sample holds values of every metric
    first = read(
        lake,
        "SELECT value FROM observations WHERE metric = 'pm25' AND ts = TIMESTAMPTZ '2013-02-28 16:00:00+00'",
    )
    assert first == [(4.0,)]  # the file's first PM2.5, 2013-03-01 00:00 in Beijing
