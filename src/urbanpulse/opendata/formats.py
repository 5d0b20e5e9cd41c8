"""Writing dataset rows as JSON records, CSV, NDJSON, Parquet and GeoJSON.

Every encoder takes Arrow; the streaming ones take record batches and yield bytes as
each batch is written, so an export never holds more than one batch.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from urbanpulse.errors import InvalidQueryError
from urbanpulse.opendata.datasets import Dataset

FORMAT_MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "geojson": "application/geo+json",
}
# Columns that carry geometry for GeoJSON only; tables never show them.
GEOMETRY_COLUMNS = ("path",)


def get_records(rows: pa.Table | pa.RecordBatch) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times as ISO 8601, NaN as None, geometry left out."""
    return [_plain_record(r) for r in _drop_geometry(rows).to_pylist()]


def encode_table(rows: pa.Table, fmt: str) -> bytes:
    """A whole (page of a) table as CSV, NDJSON or Parquet bytes."""
    return b"".join(encode_batches(rows.schema, rows.to_batches(), fmt))


def encode_batches(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], fmt: str
) -> Iterator[bytes]:
    """Stream batches as ``fmt`` (json: one JSON array; csv, ndjson, parquet).

    Raises
    ------
    InvalidQueryError
        For a format that is not a table format.
    """
    keep = [n for n in schema.names if n not in GEOMETRY_COLUMNS]
    schema = pa.schema([schema.field(n) for n in keep])
    batches = (b.select(keep) for b in batches)
    if fmt == "csv":
        return _write_csv(schema, batches)
    if fmt == "ndjson":
        return (_ndjson(b) for b in batches)
    if fmt == "json":
        return _write_json_array(batches)
    if fmt == "parquet":
        return _write_parquet(schema, batches)
    raise InvalidQueryError(
        f"format {fmt!r} is not a table format; use json, csv, ndjson or parquet"
    )


def build_geojson(rows: pa.Table, dataset: Dataset) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: points at [lon, lat] for sites and stations, a
    LineString through its stations for a line (null geometry with fewer than two
    located stations).

    Raises
    ------
    InvalidQueryError
        When the dataset has no geometry.
    """
    if dataset.geometry is None:
        raise InvalidQueryError(
            f"dataset {dataset.dataset_id!r} has no geometry; use a table format"
        )
    features = []
    for row in rows.to_pylist():
        features.append(
            {
                "type": "Feature",
                "id": "/".join(str(row[k]) for k in dataset.key),
                "geometry": _geometry(row, dataset.geometry),
                "properties": _plain_record({k: v for k, v in row.items() if k != "path"}),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _geometry(row: dict[str, Any], kind: str) -> dict[str, Any] | None:
    if kind == "point":
        lon, lat = row.get("lon"), row.get("lat")
        if not _finite(lon) or not _finite(lat):
            return None
        return {"type": "Point", "coordinates": [lon, lat]}
    path = [list(p) for p in (row.get("path") or []) if _finite(p[0]) and _finite(p[1])]
    return {"type": "LineString", "coordinates": path} if len(path) >= 2 else None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _drop_geometry(rows: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    return rows.select([n for n in rows.schema.names if n not in GEOMETRY_COLUMNS])


def _plain_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in record.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _ndjson(batch: pa.RecordBatch) -> bytes:
    lines = (json.dumps(r, ensure_ascii=False) for r in get_records(batch))
    return "".join(f"{line}\n" for line in lines).encode()


def _write_json_array(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    yield b"["
    first = True
    for batch in batches:
        records = get_records(batch)
        if not records:
            continue
        text = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
        yield (text if first else ",\n" + text).encode()
        first = False
    yield b"]\n"


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out as they are written."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def _write_parquet(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    sink = _Drain()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for batch in batches:
            if batch.num_rows:
                writer.write_batch(batch)
                yield sink.take()
    yield sink.take()


def _write_csv(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    sink = _Drain()
    with pacsv.CSVWriter(sink, schema) as writer:
        yield sink.take()  # the header, even for no rows
        for batch in batches:
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()
