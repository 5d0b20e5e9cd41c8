"""Reading a dataset page by page (opaque keyset cursors) or whole over a time range.

A cursor names the last row's key, the dataset and the query it belongs to. Rows are
ordered by their key, so following ``next`` visits every row exactly once, even when
rows are added meanwhile (new rows land in their place in the order).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from urbanpulse.errors import InvalidQueryError
from urbanpulse.opendata.datasets import Dataset
from urbanpulse.opendata.tables import read_table_of
from urbanpulse.store import Lake, read_observation_batches, read_observation_page

EXPORT_BATCH_ROWS = 65_536


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a dataset: its rows and the cursor of the next page (None at the end)."""

    rows: pa.Table
    next_cursor: str | None


def read_dataset_page(
    lake: Lake,
    dataset: Dataset,
    *,
    limit: int,
    cursor: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Page:
    """Up to ``limit`` rows of a dataset after ``cursor``, in key order.

    Returns
    -------
    Page
        ``rows`` has the dataset's columns (plus ``path`` for transit lines).

    Raises
    ------
    InvalidQueryError
        A cursor from another dataset or query, or not a cursor at all; a time range
        on a dataset without time.
    """
    _check_range(dataset, start, end)
    query = _query_id(dataset, start, end)
    after = None if cursor is None else _decode_cursor(cursor, dataset, query)
    if dataset.metric is not None:
        key = None if after is None else (str(after[0]), _parse_time(after[1]))
        rows = read_observation_page(
            lake, dataset.metric, after=key, limit=limit + 1, start=start, end=end
        )
    else:
        rows = _read_small_page(lake, dataset, after, limit + 1, start, end)
    if rows.num_rows <= limit:
        return Page(rows, None)
    rows = rows.slice(0, limit)
    last = rows.slice(limit - 1, 1).to_pylist()[0]
    return Page(rows, _encode_cursor(dataset, query, [last[k] for k in dataset.key]))


def read_dataset_batches(
    lake: Lake,
    dataset: Dataset,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """A dataset's rows in [start, end) as record batches, in key order, never held
    whole in memory for observations (the small tables are read whole anyway).

    Returns
    -------
    tuple
        (schema of the batches, the batches); columns as in :func:`read_dataset_page`.
    """
    _check_range(dataset, start, end)
    if dataset.metric is not None:
        batches = read_observation_batches(
            lake, dataset.metric, start=start, end=end, batch_rows=EXPORT_BATCH_ROWS
        )
        first = next(batches, None)
        if first is None:  # no rows at all: an empty batch keeps the schema
            first = pa.RecordBatch.from_pylist([], schema=_observation_schema())
        return first.schema, _chain(first, batches)
    rows = _read_small_page(lake, dataset, None, None, start, end)
    return rows.schema, iter(rows.to_batches(max_chunksize=EXPORT_BATCH_ROWS))


def _observation_schema() -> pa.Schema:
    return pa.schema(
        [
            ("site_id", pa.string()),
            ("metric", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("value", pa.float64()),
            ("unit", pa.string()),
        ]
    )


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _read_small_page(
    lake: Lake,
    dataset: Dataset,
    after: list[Any] | None,
    limit: int | None,
    start: datetime | None,
    end: datetime | None,
) -> pa.Table:
    frame = read_table_of(lake, dataset.dataset_id)
    if dataset.time_column is not None and (start is not None or end is not None):
        frame = frame[_in_range(frame[dataset.time_column], start, end)]
    keys = [_sort_key(row) for row in frame[list(dataset.key)].itertuples(index=False)]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    first = 0 if after is None else bisect.bisect_right([keys[i] for i in order], _sort_key(after))
    chosen = order[first:] if limit is None else order[first : first + limit]
    extra = ["path"] if dataset.geometry == "line" else []
    picked = frame.iloc[chosen][[*dataset.columns, *extra]].reset_index(drop=True)
    return pa.Table.from_pandas(picked, preserve_index=False)


def _in_range(values: pd.Series, start: datetime | None, end: datetime | None) -> pd.Series:
    if len(values) and not isinstance(values.iloc[0], pd.Timestamp | datetime):
        # A date column: a day is in the range when it starts inside it.
        values = pd.to_datetime(values).dt.tz_localize("UTC")
    keep = pd.Series(True, index=values.index)
    if start is not None:
        keep &= values >= pd.Timestamp(start)
    if end is not None:
        keep &= values < pd.Timestamp(end)
    return keep


def _sort_key(values: Any) -> tuple[tuple[bool, Any], ...]:
    """A key that orders like the cursor's JSON values: times as UTC ISO text, nulls
    last, and never compares a null with a value."""
    return tuple((v is None, "" if v is None else v) for v in (_plain(x) for x in values))


def _plain(value: Any) -> Any:
    """A key value as the JSON of a cursor holds it."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        moment = pd.Timestamp(value)
        return (moment.tz_convert("UTC") if moment.tzinfo else moment).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _parse_time(text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise InvalidQueryError("the cursor is not one this API gave out") from None
    if moment.tzinfo is None:
        raise InvalidQueryError("the cursor is not one this API gave out")
    return moment


def _check_range(dataset: Dataset, start: datetime | None, end: datetime | None) -> None:
    if dataset.time_column is None and (start is not None or end is not None):
        raise InvalidQueryError(
            f"dataset {dataset.dataset_id!r} has no time; start and end do not apply to it"
        )
    if start is not None and end is not None and end <= start:
        raise InvalidQueryError(f"end {end.isoformat()} must be after start {start.isoformat()}")


def _query_id(dataset: Dataset, start: datetime | None, end: datetime | None) -> str:
    text = json.dumps([dataset.dataset_id, _plain(start), _plain(end)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _encode_cursor(dataset: Dataset, query: str, key: list[Any]) -> str:
    body = json.dumps({"d": dataset.dataset_id, "q": query, "k": [_plain(v) for v in key]})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, dataset: Dataset, query: str) -> list[Any]:
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = body["k"]
        valid = body["d"] == dataset.dataset_id and isinstance(key, list)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidQueryError("the cursor is not one this API gave out") from None
    if not valid or len(key) != len(dataset.key):
        raise InvalidQueryError("the cursor is not one this API gave out for this dataset")
    if body.get("q") != query:
        raise InvalidQueryError("the cursor belongs to another time range; start again without it")
    return key
