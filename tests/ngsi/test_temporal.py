"""The temporal representation over the demo lake's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.aggregation import parse_aggregation
from urbanpulse.ngsi.entities import format_time
from urbanpulse.ngsi.query import build_entity_query
from urbanpulse.ngsi.temporal import (
    MAX_INSTANCES,
    build_temporal_query,
    find_cut,
    read_temporal_entities,
)
from urbanpulse.store import Lake, build_engine, read_observations

REGION = "jingjinji"
ENGINE = build_engine("duckdb")
ROAD = "urn:ngsi-ld:TrafficFlowObserved:bd-road-01"


def read(lake: Lake, entity_id: str = ROAD, **temporal: Any) -> dict[str, Any]:
    values = temporal.pop("temporal_values", False)
    page = read_temporal_entities(
        lake,
        build_entity_query(id=entity_id, attrs=temporal.pop("attrs", None)),
        build_temporal_query(**temporal),
        region=REGION,
        engine=ENGINE,
        temporal_values=values,
    )
    assert page.total == 1
    return page.entities[0]


def test_between_returns_exactly_the_lakes_rows_in_the_window(demo_lake: Lake) -> None:
    start, end = "2026-10-28T00:00:00Z", "2026-10-28T06:00:00Z"
    entity = read(demo_lake, timerel="between", time_at=start, end_time_at=end)
    rows = read_observations(
        demo_lake, "flow", site_ids=["bd-road-01"], start=pd.Timestamp(start), end=pd.Timestamp(end)
    )
    instances = entity["intensity"]
    assert [i["value"] for i in instances] == [round(v) for v in rows["value"]]
    assert [pd.Timestamp(i["observedAt"]) for i in instances] == list(rows["ts"])
    assert all(i["type"] == "Property" and i["unitCode"] == "C62" for i in instances)
    assert set(entity) == {"id", "type", "intensity", "averageVehicleSpeed"}


def test_before_and_after_split_at_time_at(demo_lake: Lake) -> None:
    at = "2026-10-29T12:00:00Z"
    before = read(demo_lake, timerel="before", time_at=at, attrs="intensity")["intensity"]
    after = read(demo_lake, timerel="after", time_at=at, attrs="intensity")["intensity"]
    # One rule for sites and context entities: before ends at timeAt, after starts there.
    assert max(i["observedAt"] for i in before) < at == min(i["observedAt"] for i in after)


def test_last_n_and_temporal_values(demo_lake: Lake) -> None:
    entity = read(demo_lake, last_n="5", temporal_values=True, attrs="averageVehicleSpeed")
    speeds = entity["averageVehicleSpeed"]
    assert speeds["type"] == "Property" and len(speeds["values"]) == 5
    rows = read_observations(demo_lake, "speed", site_ids=["bd-road-01"]).tail(5)
    assert [v for v, _ in speeds["values"]] == pytest.approx(list(rows["value"]))
    times = [t for _, t in speeds["values"]]
    assert times == sorted(times)


def test_a_long_history_is_cut_and_says_so(demo_lake: Lake) -> None:
    page = read_temporal_entities(
        demo_lake,
        build_entity_query(id=ROAD, attrs="intensity"),
        build_temporal_query(),
        region=REGION,
        engine=ENGINE,
    )
    intensity = page.entities[0]["intensity"]
    assert len(intensity) == MAX_INSTANCES
    cut = page.cut_range
    assert cut is not None and cut.start < cut.end and cut.size is None
    # Read oldest first: the range runs from the first instant to the last one held.
    assert [format_time(cut.start), format_time(cut.end)] == [
        intensity[0]["observedAt"],
        intensity[-1]["observedAt"],
    ]


def test_a_stop_has_no_history_and_q_is_refused(demo_lake: Lake) -> None:
    stop = read(demo_lake, "urn:ngsi-ld:GtfsStop:bj-m1-s01", last_n="3")
    assert set(stop) == {"id", "type"}
    with pytest.raises(InvalidQueryError, match="history is not supported"):
        read_temporal_entities(
            demo_lake,
            build_entity_query(q="intensity>1"),
            build_temporal_query(),
            region=REGION,
            engine=ENGINE,
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timerel": "during", "time_at": "2026-10-28T00:00:00Z"}, "timerel"),
        ({"timerel": "before"}, "needs timeAt"),
        ({"timerel": "between", "time_at": "2026-10-28T00:00:00Z"}, "needs endTimeAt"),
        ({"timerel": "after", "time_at": "yesterday"}, "ISO 8601"),
        ({"timerel": "after", "time_at": "2026-10-28T00:00:00"}, "time zone"),
        ({"time_at": "2026-10-28T00:00:00Z"}, "needs timerel"),
        ({"last_n": "0"}, "lastN"),
        (
            {"timerel": "between", "time_at": "2026-10-28T00:00:00Z", "end_time_at": "2026-10-27T00:00:00Z"},
            "not after",
        ),
    ],
)  # fmt: skip
def test_bad_temporal_queries_say_what_is_wrong(options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        build_temporal_query(**options)


def test_last_n_reaches_back_past_a_long_gap(make_lake: Any) -> None:
    import pyarrow as pa

    from urbanpulse.store import append_observations

    lake = make_lake(days=2)
    times = pd.to_datetime(
        ["2024-05-01T08:00:00Z", "2024-05-01T08:05:00Z", "2026-03-03T15:00:00Z",
         "2026-03-03T15:05:00Z"], utc=True,
    )  # fmt: skip
    rows = {"site_id": ["bd-road-1"] * 4, "metric": ["flow"] * 4, "ts": times,
            "value": [1.0, 2.0, 3.0, 4.0], "unit": ["vehicles"] * 4}  # fmt: skip
    append_observations(lake, pa.Table.from_pydict(rows))
    road = "urn:ngsi-ld:TrafficFlowObserved:bd-road-1"
    entity = read(lake, road, last_n="3", temporal_values=True)
    assert entity["intensity"]["values"] == [
        [2, "2024-05-01T08:05:00Z"], [3, "2026-03-03T15:00:00Z"], [4, "2026-03-03T15:05:00Z"],
    ]  # fmt: skip
    earliest = read(lake, road, timerel="before", time_at="2026-03-03T15:05:00Z")
    assert [i["value"] for i in earliest["intensity"]] == [1, 2, 3]
    assert read(lake, road, timerel="after", time_at="2030-01-01T00:00:00Z") == {
        "id": road, "type": "TrafficFlowObserved",
    }  # fmt: skip


_MINUTE = st.integers(min_value=0, max_value=500)


@given(
    series=st.lists(st.lists(_MINUTE, unique=True, max_size=30), max_size=4),
    limit=st.integers(min_value=1, max_value=12),
    last_n=st.none() | st.integers(min_value=1, max_value=40),
)
def test_a_cut_holds_no_attribute_over_the_limit_and_always_moves_on(
    series: list[list[int]], limit: int, last_n: int | None
) -> None:
    """Whatever the attributes' instants, a cut range holds at most ``limit`` of any
    attribute's, at least one of one that was over it (so reading on from its end gets
    further), and there is a cut exactly when some attribute is over the limit (lastN
    larger than it); lastN's size is named."""
    origin = datetime(2020, 1, 1, tzinfo=UTC)
    instants = [[origin + timedelta(minutes=m) for m in s] for s in series]
    if last_n is not None:
        instants = [sorted(s)[-last_n:] for s in instants]
    temporal = build_temporal_query(last_n=None if last_n is None else str(last_n))
    cut = find_cut(instants, temporal, limit)
    over = [s for s in instants if len(s) > limit]
    assert (cut is not None) == (bool(over) and (last_n is None or last_n > limit))
    if cut is None:
        return
    assert cut.size == last_n
    assert all(sum(cut.holds(t) for t in s) <= limit for s in instants)
    assert any(cut.holds(t) for s in over for t in s)
    first = max if last_n is not None else min  # where reading starts
    assert cut.start == first(t for s in over for t in s)


def test_a_sites_hourly_average_is_the_lakes_own(demo_lake: Lake) -> None:
    """A site's history summed up per hour (aggregatedValues) gives the averages and
    counts the lake's readings give, hour by hour, from the window's start."""
    start, end = "2026-10-28T00:00:00Z", "2026-10-28T06:00:00Z"
    page = read_temporal_entities(
        demo_lake,
        build_entity_query(id=ROAD, attrs="intensity"),
        build_temporal_query(timerel="between", time_at=start, end_time_at=end),
        region=REGION,
        engine=ENGINE,
        aggregation=parse_aggregation("avg,totalCount,max", "PT1H"),
    )
    found = page.entities[0]["intensity"]
    rows = read_observations(
        demo_lake, "flow", site_ids=["bd-road-01"],
        start=pd.Timestamp(start).to_pydatetime(), end=pd.Timestamp(end).to_pydatetime(),
    )  # fmt: skip
    hourly = rows.set_index("ts")["value"].round().resample("1h").agg(["mean", "count", "max"])
    assert [[t for _, t, _ in found["avg"]]] == [[format_time(h) for h in hourly.index]]
    assert [v for v, _, _ in found["avg"]] == pytest.approx(list(hourly["mean"]))
    assert [v for v, _, _ in found["totalCount"]] == list(hourly["count"])
    assert [v for v, _, _ in found["max"]] == pytest.approx(list(hourly["max"]))
