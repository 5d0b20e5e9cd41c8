"""Headways are the gaps between departures, however rare the service."""

from __future__ import annotations

import pandas as pd
import pytest

from urbanpulse.transit.schedule import compute_line_service


def test_a_bus_every_40_minutes_has_a_40_minute_headway() -> None:
    starts = [8 * 3600, 8 * 3600 + 2400, 8 * 3600 + 4800, 10 * 3600]
    departures = pd.DataFrame(
        {"line_id": "a", "direction": "0", "day_type": "weekday", "departure_s": starts,
         "run_s": 600.0}
    )  # fmt: skip
    service = compute_line_service(departures, {"a": 80.0})
    assert service["headway_minutes"].tolist() == [40.0, 40.0, 40.0, 40.0]
    assert service["capacity"].tolist() == [80.0] * 4


def test_a_train_every_3_minutes_has_a_3_minute_headway() -> None:
    starts = [7 * 3600 + 180 * k for k in range(20)]
    departures = pd.DataFrame(
        {"line_id": "m", "direction": "1", "day_type": "weekday", "departure_s": starts,
         "run_s": 1200.0}
    )  # fmt: skip
    service = compute_line_service(departures, {"m": 1460.0})
    assert service["headway_minutes"].tolist() == pytest.approx([3.0] * len(service))
    assert service["departures"].sum() == 20
