"""The aggregated temporal representation (ETSI GS CIM 009 4.5.19): periods, methods
and the bad requests, checked against sums worked out here by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.aggregation import Window, aggregate, parse_aggregation

ORIGIN = datetime(2020, 8, 1, 12, 3, tzinfo=UTC)


def _instances(*pairs: tuple[Any, datetime]) -> tuple[list[dict[str, Any]], list[datetime]]:
    return [{"type": "Property", "value": v, "observedAt": t.isoformat()} for v, t in pairs], [t for _, t in pairs]  # fmt: skip


def test_hours_start_at_the_window_and_empty_ones_are_left_out() -> None:
    instances, times = _instances((67, ORIGIN), (53, ORIGIN + timedelta(hours=1, minutes=2)), (40, ORIGIN + timedelta(hours=3, minutes=4)))  # fmt: skip
    found = aggregate(instances, times, parse_aggregation("avg,totalCount", "PT1H"), Window(ORIGIN, None))  # fmt: skip
    assert found == {
        "type": "Property",
        "avg": [[67.0, "2020-08-01T12:03:00Z", "2020-08-01T13:03:00Z"],
                [53.0, "2020-08-01T13:03:00Z", "2020-08-01T14:03:00Z"],
                [40.0, "2020-08-01T15:03:00Z", "2020-08-01T16:03:00Z"]],
        "totalCount": [[1, "2020-08-01T12:03:00Z", "2020-08-01T13:03:00Z"],
                       [1, "2020-08-01T13:03:00Z", "2020-08-01T14:03:00Z"],
                       [1, "2020-08-01T15:03:00Z", "2020-08-01T16:03:00Z"]],
    }  # fmt: skip


def test_months_follow_the_calendar_and_p0d_is_the_whole_window() -> None:
    start = datetime(2020, 1, 31, tzinfo=UTC)
    instances, times = _instances((1, start), (2, datetime(2020, 2, 29, tzinfo=UTC)), (4, datetime(2020, 3, 30, tzinfo=UTC)))  # fmt: skip
    monthly = aggregate(instances, times, parse_aggregation(["sum"], "P1M"), Window(start, None))
    # 31 January + 1 month is 29 February (2020 is a leap year), + 2 months 31 March:
    # each period counts from the start, so the month's end does not drift to the 29th.
    assert monthly["sum"] == [[1.0, "2020-01-31T00:00:00Z", "2020-02-29T00:00:00Z"],  # type: ignore[call-overload]
                              [6.0, "2020-02-29T00:00:00Z", "2020-03-31T00:00:00Z"]]  # fmt: skip
    whole = aggregate(instances, times, parse_aggregation("sum,max", None), Window(start, datetime(2020, 4, 1, tzinfo=UTC)))  # fmt: skip
    assert whole["sum"] == [[7.0, "2020-01-31T00:00:00Z", "2020-04-01T00:00:00Z"]]  # type: ignore[call-overload]
    assert whole["max"] == [[4.0, "2020-01-31T00:00:00Z", "2020-04-01T00:00:00Z"]]  # type: ignore[call-overload]


def test_a_method_that_does_not_apply_gives_null_not_a_made_up_figure() -> None:
    instances, times = _instances(("red", ORIGIN), ("blue", ORIGIN + timedelta(minutes=1)), ("red", ORIGIN + timedelta(minutes=2)))  # fmt: skip
    found = aggregate(instances, times, parse_aggregation(METHODS_TEXT, "P1D"), Window(ORIGIN, None))  # fmt: skip
    values = {m: found[m][0][0] for m in METHODS_TEXT.split(",")}  # type: ignore[call-overload]
    assert values == {"totalCount": 3, "distinctCount": 2, "sum": None, "avg": None,
                      "min": "blue", "max": "red", "stddev": None, "sumsq": None}  # fmt: skip
    one, when = _instances((True, ORIGIN))
    assert aggregate(one, when, parse_aggregation("sum,stddev", "P1D"), Window(ORIGIN, None))["sum"][0][0] is None  # type: ignore[call-overload]  # fmt: skip


METHODS_TEXT = "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq"


def test_each_dataset_is_a_series_of_its_own() -> None:
    instances, times = _instances((1, ORIGIN), (3, ORIGIN + timedelta(minutes=5)))
    instances[1]["datasetId"] = "urn:ngsi-ld:Dataset:gps"
    found = aggregate(instances, times, parse_aggregation("sum", "PT1H"), Window(ORIGIN, None))
    assert isinstance(found, list) and [s.get("datasetId") for s in found] == [None, "urn:ngsi-ld:Dataset:gps"]  # fmt: skip
    assert [s["sum"][0][0] for s in found] == [1.0, 3.0]


@pytest.mark.parametrize(
    ("methods", "duration", "message"),
    [
        (None, "PT1H", "needs aggrMethods"),
        ("avg,median", "PT1H", "'median'"),
        ("avg", "1H", "ISO 8601 duration"),
        ("avg", "PT", "ISO 8601 duration"),
        ("avg", "P", "ISO 8601 duration"),
        ("avg", "PT1H\n", "ISO 8601 duration"),
        ([1], "PT1H", "a list of methods"),
    ],
)
def test_bad_aggregations_say_what_is_wrong(methods: Any, duration: str, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        parse_aggregation(methods, duration)


@given(
    minutes=st.lists(st.integers(min_value=-100, max_value=10_000), max_size=40),
    period_minutes=st.integers(min_value=1, max_value=600),
)
def test_fixed_periods_hold_every_instance_once_in_its_own_period(
    minutes: list[int], period_minutes: int
) -> None:
    """Periods of a fixed length start at the window's start plus whole periods, do
    not overlap, and each instance from the start on is counted once, in the period
    holding its instant."""
    instances, times = _instances(*((m, ORIGIN + timedelta(minutes=m)) for m in minutes))
    found = aggregate(instances, times, parse_aggregation("totalCount,sum", f"PT{period_minutes}M"), Window(ORIGIN, None))  # fmt: skip
    counted = found["totalCount"] if instances else []  # type: ignore[call-overload]
    assert sum(c for c, _, _ in counted) == sum(1 for m in minutes if m >= 0)
    step = timedelta(minutes=period_minutes)
    starts = [datetime.fromisoformat(s.replace("Z", "+00:00")) for _, s, _ in counted]
    assert starts == sorted(set(starts)) and all((s - ORIGIN) % step == timedelta(0) for s in starts)  # fmt: skip
    for (total, start_text, _), (summed, _, _) in zip(counted, found["sum"] if instances else [], strict=True):  # type: ignore[call-overload]  # fmt: skip
        start = datetime.fromisoformat(start_text.replace("Z", "+00:00"))
        held = [m for m in minutes if start <= ORIGIN + timedelta(minutes=m) < start + step]
        assert total == len(held) and summed == float(sum(held))
