"""The aggregated temporal representation (ETSI GS CIM 009 4.5.19): each attribute's
instances summed up period by period, e.g. a vehicle's average speed per hour.

``aggrMethods`` names what is worked out for each period (a count of the instances, of
distinct values, their sum, average, least, greatest, standard deviation or sum of
squares) and ``aggrPeriodDuration`` how long a period is (an ISO 8601 duration, e.g.
PT1H or P1M; P0D, the default, is the whole time asked for as one period). Periods
start where the query's window starts (timeAt) or, without one, at the entity's oldest
instant, so the periods of its attributes line up; a period without an instance is
left out. Each method gives ``[[value, start, end], ...]``; a method that does not apply
to the values (an average of words) gives null rather than a made-up figure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.entities import format_time
from urbanpulse.ngsi.validation import REQUIRED

METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")
DURATION = re.compile(
    r"P(?!\Z)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?\Z"
)
# The longest run of periods one attribute is cut into: a second-long period over
# years of history would otherwise be millions of steps for one request.
MAX_PERIODS = 100_000


@dataclass(frozen=True)
class Aggregation:
    """What to work out (``methods``) over periods of ``period`` (None: the whole
    window as one period)."""

    methods: tuple[str, ...]
    period: relativedelta | None


@dataclass(frozen=True)
class Window:
    """Where an entity's periods start, and where the last one ends when the period
    is the whole window (None: at the newest instant)."""

    start: datetime
    end: datetime | None


def parse_aggregation(methods: Any, duration: Any) -> Aggregation:
    """``aggrMethods`` (a comma-separated text or a list of texts) and
    ``aggrPeriodDuration`` (default P0D) as an :class:`Aggregation`.

    Raises
    ------
    InvalidQueryError
        No method, a method 4.5.19 does not define, or a duration that is not an ISO
        8601 duration.
    """
    if methods in (None, "", []):
        raise InvalidQueryError(f"aggregatedValues needs aggrMethods: {', '.join(METHODS)}")
    names = methods.split(",") if isinstance(methods, str) else methods
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidQueryError("aggrMethods is a list of methods, e.g. avg,max")
    chosen = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not chosen:
        raise InvalidQueryError(f"aggregatedValues needs aggrMethods: {', '.join(METHODS)}")
    unknown = [n for n in chosen if n not in METHODS]
    if unknown:
        raise InvalidQueryError(f"aggrMethods {unknown[0]!r}: use {', '.join(METHODS)}")
    return Aggregation(chosen, _parse_duration("P0D" if duration in (None, "") else duration))


def aggregate(
    instances: Sequence[dict[str, Any]],
    times: Sequence[datetime | None],
    aggregation: Aggregation,
    window: Window | None,
    *,
    kind: str = "Property",
) -> dict[str, Any] | list[dict[str, Any]]:
    """One attribute's instances (each read at ``times``, the same order; ``kind``
    their type) summed up per period: one series per datasetId (the default
    instances' has none), a list when there are several, as temporalValues has them
    (4.5.9). No ``window``: the entity has no instant, so there is no period."""
    by_dataset: dict[str | None, list[tuple[datetime, dict[str, Any]]]] = {}
    for instance, moment in zip(instances, times, strict=True):
        if moment is not None:  # an instance without a time is in no period
            by_dataset.setdefault(instance.get("datasetId"), []).append((moment, instance))
    series = []
    for dataset_id, timed in by_dataset.items() or [(None, [])]:
        dataset = {"datasetId": dataset_id} if dataset_id is not None else {}
        ordered = sorted(timed, key=lambda pair: pair[0])
        periods = _split(ordered, aggregation.period, window) if window else []
        summed = {
            method: [[_WORK[method]([_read_value(i) for i in members]), format_time(start), format_time(end)]
                     for start, end, members in periods]
            for method in aggregation.methods
        }  # fmt: skip
        series.append({"type": kind, **dataset, **summed})
    return series[0] if len(series) == 1 else series


def _parse_duration(text: Any) -> relativedelta | None:
    """An ISO 8601 duration; None for a zero one (the whole window)."""
    found = DURATION.match(text) if isinstance(text, str) else None
    if found is None:
        raise InvalidQueryError(f"aggrPeriodDuration {text!r} is not an ISO 8601 duration, e.g. PT1H or P1D")  # fmt: skip
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in found.groups()[:6])
    seconds = float(found.group(7) or 0)
    period = relativedelta(
        years=years, months=months, weeks=weeks, days=days, hours=hours, minutes=minutes,
        seconds=int(seconds), microseconds=round((seconds % 1) * 1_000_000),
    )  # fmt: skip
    return None if period == relativedelta() else period


def _split(
    timed: list[tuple[datetime, dict[str, Any]]], period: relativedelta | None, window: Window
) -> list[tuple[datetime, datetime, list[dict[str, Any]]]]:
    """(start, end, instances) of each period holding an instance, oldest first."""
    if not timed:
        return []
    if period is None:
        return [(window.start, window.end or timed[-1][0], [i for _, i in timed])]
    fixed = period.years == 0 and period.months == 0
    step = timedelta(
        days=period.days, hours=period.hours, minutes=period.minutes,
        seconds=period.seconds, microseconds=period.microseconds,
    )  # fmt: skip
    found: list[tuple[datetime, datetime, list[dict[str, Any]]]] = []
    index = 0  # period k runs from start + k periods (so 31 January + 2 months is 31 March)
    start, end = window.start, window.start + period
    for moment, instance in timed:
        if moment < window.start:
            continue  # before the first period
        if fixed and moment >= end:  # jump straight to the period holding it
            index = (moment - window.start) // step
        while moment >= window.start + period * (index + 1):  # months, years: step
            index += 1
            if index > MAX_PERIODS:
                raise InvalidQueryError(f"aggrPeriodDuration: more than {MAX_PERIODS:,} periods; ask for longer ones or a shorter window")  # fmt: skip
        start, end = window.start + period * index, window.start + period * (index + 1)
        if found and found[-1][0] == start:
            found[-1][2].append(instance)
        else:
            found.append((start, end, [instance]))
    return found


def _read_value(instance: dict[str, Any]) -> Any:
    """The member holding an instance's value, by its type (a Relationship's object)."""
    return instance.get(REQUIRED.get(instance.get("type", ""), "value"))


def _numbers(values: list[Any]) -> list[float] | None:
    """The values as numbers; None when one is not a number (a boolean is not)."""
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):  # fmt: skip
        return None
    return [float(v) for v in values]


def _sum(values: list[Any]) -> float | None:
    numbers = _numbers(values)
    return None if numbers is None else math.fsum(numbers)


def _avg(values: list[Any]) -> float | None:
    numbers = _numbers(values)
    return None if numbers is None else math.fsum(numbers) / len(numbers)


def _stddev(values: list[Any]) -> float | None:
    """The sample standard deviation (null for one value, as SQL's stddev has it)."""
    numbers = _numbers(values)
    if numbers is None or len(numbers) < 2:
        return None
    mean = math.fsum(numbers) / len(numbers)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in numbers) / (len(numbers) - 1))


def _sumsq(values: list[Any]) -> float | None:
    numbers = _numbers(values)
    return None if numbers is None else math.fsum(v * v for v in numbers)


def _extreme(pick: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """min or max of numbers, or of texts (a date-time compares as its text); null
    for values of mixed or other kinds."""

    def work(values: list[Any]) -> Any:
        numbers = _numbers(values)
        if numbers is not None:
            return pick(numbers)
        if values and all(isinstance(v, str) for v in values):
            return pick(values)
        return None

    return work


def _distinct(values: list[Any]) -> int:
    return len({json.dumps(v, sort_keys=True) for v in values})


_WORK: dict[str, Callable[[list[Any]], Any]] = {
    "totalCount": len,
    "distinctCount": _distinct,
    "sum": _sum,
    "avg": _avg,
    "min": _extreme(min),
    "max": _extreme(max),
    "stddev": _stddev,
    "sumsq": _sumsq,
}
