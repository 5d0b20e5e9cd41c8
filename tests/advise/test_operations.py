"""The operator's line day: stations by period, the same weekday a week before, and the
runs in which a station's load left its predicted band."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.access import issue_key
from urbanpulse.access.service import build_access_store
from urbanpulse.advise.counters import MemoryCounters
from urbanpulse.advise.operations import compute_line_day, find_band_alerts
from urbanpulse.advise.service import AdviceService
from urbanpulse.api import create_app
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.writes import append_observations, upsert_sites

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 11)  # a Wednesday


def test_a_run_of_two_periods_beyond_the_band_is_an_alert_and_one_is_not() -> None:
    low, high = np.full(8, 10.0), np.full(8, 20.0)  # width 10: alert past 25 or below 5
    observed = np.array([15, 26, 15, 26, 27, 15, 4, 3.0])
    alerts = find_band_alerts(observed, low, high)
    assert [(a.first, a.last, a.side) for a in alerts] == [(3, 4, "above"), (6, 7, "below")]
    above = alerts[0]
    assert (above.extreme, above.edge, above.excess) == (27.0, 20.0, 13.0)
    # within half a width of the edge: missed by a hair, no alert
    assert find_band_alerts(np.array([24, 24, 24.0]), low[:3], high[:3]) == []
    # a narrow band (width 0.2 at 10) missed by less than a tenth of its edge: no alert
    assert find_band_alerts(np.array([10.9, 10.9]), np.full(2, 9.8), np.full(2, 10.0)) == []
    assert len(find_band_alerts(np.array([11.1, 11.1]), np.full(2, 9.8), np.full(2, 10.0))) == 1
    # a period without a reading ends the run
    assert find_band_alerts(np.array([30, np.nan, 30.0]), low[:3], high[:3]) == []


@given(
    st.lists(
        st.tuples(st.floats(0, 100) | st.just(float("nan")), st.floats(0, 50), st.floats(0, 50)),
        max_size=40,
    )
)
def test_alerts_are_exactly_the_long_runs_beyond_the_margin(cells: list) -> None:
    observed = np.array([c[0] for c in cells], dtype=float)
    low = np.array([min(c[1], c[2]) for c in cells], dtype=float)
    high = np.array([max(c[1], c[2]) for c in cells], dtype=float)
    alerts = find_band_alerts(observed, low, high, min_periods=2, margin=0.5, min_share=0.1)

    def side_of(o: float, lo: float, h: float) -> int:
        if o > h + max(0.5 * (h - lo), 0.1 * h):
            return 1
        return -1 if o < lo - max(0.5 * (h - lo), 0.1 * lo) else 0

    sides = [side_of(*cell) for cell in zip(observed, low, high, strict=True)]
    flagged = set()
    for alert in alerts:
        assert alert.last - alert.first + 1 >= 2
        for k in range(alert.first, alert.last + 1):
            assert sides[k] == (1 if alert.side == "above" else -1)
            flagged.add(k)
    # every period beyond the band whose neighbour is beyond it on the same side is flagged
    for k, side in enumerate(sides):
        paired = any(0 <= j < len(sides) and sides[j] == side for j in (k - 1, k + 1))
        assert (k in flagged) == (side != 0 and paired)
    assert [a.excess for a in alerts] == sorted((a.excess for a in alerts), reverse=True)


@pytest.fixture
def bus_lake(tmp_path: Path) -> Lake:
    """A bus line of two stops with 5-minute boardings on DAY and on the Wednesday before."""
    lake = Lake(tmp_path / "lake")
    sites = [
        {"site_id": f"t-b1-s0{k}", "kind": "bus_stop", "name_en": f"Stop {k}",
         "name_zh": f"站{k}", "capacity": 100.0, "synthetic": False,
         "attributes": json.dumps({"line_id": "t-b1", "sequence": k, "minutes_to_next": 3})}
        for k in (1, 2)
    ]  # fmt: skip
    upsert_sites(lake, pa.Table.from_pylist(sites))
    rows = []
    for day, value in ((DAY, 2.0), (DAY - timedelta(days=7), 1.0)):
        times = pd.date_range(
            datetime.combine(day, datetime.min.time(), TZ), periods=288, freq="5min"
        )
        for k, site in enumerate(("t-b1-s01", "t-b1-s02")):
            rows += [{"site_id": site, "metric": "boardings", "ts": t.tz_convert("UTC"),
                      "value": value * (k + 1), "unit": "passengers"} for t in times]  # fmt: skip
    append_observations(lake, pa.Table.from_pylist(rows))
    return lake


def test_a_line_day_sums_each_period_and_sets_last_week_beside_it(bus_lake: Lake) -> None:
    settings = Settings(lake_path=bus_lake.root, local_timezone="Asia/Shanghai")
    service = AdviceService(bus_lake, settings, MemoryCounters())
    try:
        found = compute_line_day(service, "t-b1", DAY)
    finally:
        service.close()
    assert (found["metric"], found["aggregation"]) == ("boardings", "sum")
    assert found["compare_day"] == "2026-03-04"
    assert [s["site_id"] for s in found["stations"]] == ["t-b1-s01", "t-b1-s02"]
    assert found["periods"][0] == "2026-03-11T00:00:00+08:00" and len(found["periods"]) == 96
    # three 5-minute readings to a 15-minute period, each stop its own value
    assert found["observed"] == [[6.0] * 96, [12.0] * 96]
    assert found["last_week"] == [[3.0] * 96, [6.0] * 96]


def test_a_line_id_from_a_source_never_breaks_the_export_header(tmp_path: Path) -> None:
    """A line id is data (a GTFS route_id): quotes, spaces or a line break in it must
    not reach the Content-Disposition header as they are."""
    lake = Lake(tmp_path / "lake")
    hostile = 'r"1 \r\nSet-Cookie: x=1'
    sites = [
        {"site_id": f"t-s0{k}", "kind": "bus_stop", "name_en": f"Stop {k}", "capacity": 100.0,
         "synthetic": False,
         "attributes": json.dumps({"line_id": hostile, "sequence": k, "minutes_to_next": 3})}
        for k in (1, 2)
    ]  # fmt: skip
    upsert_sites(lake, pa.Table.from_pylist(sites))
    times = pd.date_range(datetime.combine(DAY, datetime.min.time(), TZ), periods=288, freq="5min")
    rows = [{"site_id": s["site_id"], "metric": "boardings", "ts": t.tz_convert("UTC"),
             "value": 2.0, "unit": "passengers"} for s in sites for t in times]  # fmt: skip
    append_observations(lake, pa.Table.from_pylist(rows))
    app = create_app(Settings(lake_path=lake.root, access_db=tmp_path / "access.sqlite3"))
    _, token = issue_key(build_access_store(app.state.settings), scope="government", name="t")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.get(
            "/api/operator/line-day.csv", params={"line_id": hostile, "day": DAY.isoformat()}
        )
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    assert disposition == 'attachment; filename="r_1___Set-Cookie__x_1-boardings-2026-03-11.csv"'
    assert "set-cookie" not in answer.headers
