"""Readers: turn a source file into a table of text cells with line numbers.

Every reader keeps the position of each record (the physical line of a CSV file, the
sheet row of an Excel file, the row of a Parquet file) so that any value rejected later
can be traced back. Records that cannot even be split into the header's columns are
returned as rejects instead of raising: one bad line never stops a file.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from urbanpulse.errors import SourceError
from urbanpulse.ingest.mapping import SourceSpec

LINE = "_line"  # physical position of the record in its source
ROW = "_row"  # ordinal of the record among data records (0-based), for start+step times
SITE = "_site"  # worked out by the mapping
TS = "_ts"  # worked out by the mapping
FILE = "_file"  # which file of a batch a row comes from
RESERVED = (LINE, ROW, SITE, TS, FILE)


@dataclass(frozen=True, slots=True)
class Reject:
    """A record rejected before mapping (wrong field count, binary noise, bad encoding)."""

    line: int
    reason: str
    raw: str


@dataclass(slots=True)
class RawSource:
    """A source as text cells: one column per source column plus ``_line`` and ``_row``."""

    path: Path
    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    blank_lines: int = 0

    @property
    def columns(self) -> list[str]:
        """Source column names, without the bookkeeping columns."""
        return [c for c in self.table.column_names if c not in (LINE, ROW)]


def read_source(path: str | Path, spec: SourceSpec) -> RawSource:
    """Read a CSV, Excel or Parquet file as text cells with positions.

    Returns
    -------
    RawSource
        ``table`` has one string column per source column plus ``_line`` (int64) and
        ``_row`` (int64); ``rejects`` lists records that could not be split.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    kind = spec.format if spec.format != "auto" else _guess_format(path)
    if kind == "csv":
        return _read_csv(path, spec)
    if kind == "parquet":
        return _read_parquet(path)
    return _read_excel(path, spec)


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    return "csv"


def _read_csv(path: Path, spec: SourceSpec) -> RawSource:
    data = path.read_bytes()
    encoding = _python_encoding(spec.encoding)
    # UTF-16 and UTF-32 text holds NUL bytes and multi-byte newlines by nature: only
    # whole-text decoding reads it, so neither shortcut below applies.
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    if b"\x00" not in data and not wide:
        try:
            return _read_csv_fast(path, data, spec)
        except (pa.ArrowInvalid, UnicodeDecodeError, csv.Error):
            pass  # bad bytes or odd line ends: the careful reader below handles them
    rejects: list[Reject] = []
    try:
        if b"\x00" in data and not wide:
            raise UnicodeError("NUL bytes")
        lines: list[tuple[int, str]] | None = None
        text = data.decode(encoding)
    except UnicodeError:
        lines = _decode_lines(data, encoding, rejects)
        text = ""
    records = _split_records(text, lines, spec.delimiter, rejects)
    return _records_to_source(path, records, rejects)


def _python_encoding(name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise SourceError(f"unknown encoding {name!r}") from None
    return "utf-8-sig" if codecs.lookup(name).name == "utf-8" else name


def _read_csv_fast(path: Path, data: bytes, spec: SourceSpec) -> RawSource:
    """Arrow's CSV parser, with physical line numbers recovered from newline positions.

    Arrow numbers records among non-empty lines; mapping them back through the list of
    non-empty physical lines gives the same line numbers a text editor shows.
    """
    import pyarrow.csv as pacsv

    encoding = _python_encoding(spec.encoding)
    nonblank = _nonblank_line_numbers(np.frombuffer(data, dtype=np.uint8))
    if len(nonblank) == 0:
        raise SourceError(f"{path} has no header line (empty file?)")
    header_text = _nth_line(data, int(nonblank[0])).decode(encoding)
    header = next(csv.reader([header_text], delimiter=spec.delimiter))
    names = [h.strip() for h in header]
    _check_header(path, names)
    invalid: list[tuple[int, str, int]] = []

    def keep_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=False, encoding=encoding.replace("-sig", "")),
        parse_options=pacsv.ParseOptions(
            delimiter=spec.delimiter, invalid_row_handler=keep_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    ).rename_columns(names)
    rejected_index = {number - 1 for number, _, _ in invalid}
    rejects = [
        Reject(
            int(nonblank[number - 1]),
            f"wrong number of fields: expected {len(names)}, found {found}",
            text[:500],
        )
        for number, text, found in invalid
    ]
    kept = [i for i in range(1, len(nonblank)) if i not in rejected_index]
    if len(kept) != table.num_rows:
        raise pa.ArrowInvalid("line bookkeeping disagrees; use the careful reader")
    table = table.append_column(LINE, pa.array([int(nonblank[i]) for i in kept], pa.int64()))
    # A rejected line still stands for its step in start+step sources: rows are numbered
    # over every data line, so one bad line does not shift the times after it.
    table = table.append_column(ROW, pa.array([i - 1 for i in kept], pa.int64()))
    blank = int(data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - len(nonblank))
    return RawSource(path, table, rejects, blank)


def _nonblank_line_numbers(raw: np.ndarray) -> np.ndarray:
    """1-based numbers of lines holding anything but an optional carriage return."""

    ends = np.flatnonzero(raw == 10)
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(raw)]))
    if len(raw) and raw[-1] == 10:  # a final newline does not open another line
        starts, stops = starts[:-1], stops[:-1]
    length = stops - starts
    lone_cr = (length == 1) & (raw[np.minimum(starts, max(len(raw) - 1, 0))] == 13)
    return np.flatnonzero((length > 0) & ~lone_cr) + 1


def _nth_line(data: bytes, number: int) -> bytes:
    return data.split(b"\n", number)[number - 1].rstrip(b"\r")


def _decode_lines(data: bytes, encoding: str, rejects: list[Reject]) -> list[tuple[int, str]]:
    """Decode line by line, rejecting lines with binary noise or another encoding."""
    kept: list[tuple[int, str]] = []
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()  # a final newline does not open another line
    shown_encoding = encoding.removesuffix("-sig")
    for number, raw in enumerate(pieces, start=1):
        shown = raw[:200].decode("utf-8", errors="replace")
        if b"\x00" in raw:
            rejects.append(Reject(number, "binary data (NUL bytes) in line", shown))
            continue
        try:
            kept.append((number, raw.decode(encoding).rstrip("\r")))
        except UnicodeDecodeError:
            rejects.append(
                Reject(number, f"text is not valid {shown_encoding} (wrong encoding?)", shown)
            )
    return kept


def _split_records(
    text: str, lines: list[tuple[int, str]] | None, delimiter: str, rejects: list[Reject]
) -> list[tuple[int, list[str]]]:
    """Split CSV records, remembering the physical line where each starts."""
    if lines is None:
        source: io.StringIO | list[str] = io.StringIO(text, newline="")
        numbers = None
    else:
        source = [line for _, line in lines]
        numbers = [n for n, _ in lines]
    reader = csv.reader(source, delimiter=delimiter, strict=False)
    records: list[tuple[int, list[str]]] = []
    consumed = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start = numbers[consumed] if numbers else consumed + 1
            rejects.append(Reject(start, f"unreadable CSV record: {exc}", ""))
            consumed = reader.line_num
            continue
        start = numbers[consumed] if numbers else consumed + 1
        consumed = reader.line_num
        records.append((start, record))
    return records


def _records_to_source(
    path: Path, records: list[tuple[int, list[str]]], rejects: list[Reject]
) -> RawSource:
    blank = header_line = 0
    header: list[str] | None = None
    rows: list[list[str]] = []
    positions: list[int] = []
    for line, record in records:
        if not record or (len(record) == 1 and not record[0].strip()):
            blank += 1
            continue
        if header is None:
            header = [name.strip() for name in record]
            header_line = line
            _check_header(path, header)
            continue
        if len(record) != len(header):
            shown = ",".join(record)[:500]
            reason = f"wrong number of fields: expected {len(header)}, found {len(record)}"
            rejects.append(Reject(line, reason, shown))
            continue
        rows.append(record)
        positions.append(line)
    if header is None:
        raise SourceError(f"{path} has no header line (empty file?)")
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    arrays = [pa.array(col, pa.string()) for col in columns]
    arrays += [
        pa.array(positions, pa.int64()),
        pa.array(_row_ordinals(positions, rejects, header_line), pa.int64()),
    ]
    table = pa.Table.from_arrays(arrays, names=[*header, LINE, ROW])
    rejects.sort(key=lambda r: r.line)
    return RawSource(path, table, rejects, blank)


def _row_ordinals(positions: list[int], rejects: list[Reject], header_line: int) -> list[int]:
    """Ordinal of each kept record among all data records, rejected ones included, so a
    bad line keeps its step in start+step sources."""
    kept = np.asarray(positions, dtype=np.int64)
    bad = np.asarray(sorted({r.line for r in rejects if r.line > header_line}), dtype=np.int64)
    return (np.arange(len(kept)) + np.searchsorted(bad, kept)).tolist()


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise SourceError(f"{path}: column {name!r} appears twice in the header")
        if name in RESERVED:
            raise SourceError(f"{path}: column name {name!r} is reserved")
        seen.add(name)


def _read_parquet(path: Path) -> RawSource:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"{path} is not a readable Parquet file: {exc}") from exc
    return _typed_to_source(path, table, first_position=1)


def _read_excel(path: Path, spec: SourceSpec) -> RawSource:
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=spec.sheet, dtype=str, engine="openpyxl")
    except (ValueError, OSError, KeyError) as exc:
        raise SourceError(f"{path} is not a readable Excel sheet: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # Sheet row 1 is the header, so data row i sits on sheet row i + 2.
    return _typed_to_source(path, table, first_position=2)


def _typed_to_source(path: Path, table: pa.Table, *, first_position: int) -> RawSource:
    import pyarrow.compute as pc

    names = [str(n) for n in table.column_names]
    _check_header(path, names)
    arrays = [_as_text(col) for col in table.columns]
    count = table.num_rows
    arrays += [
        pa.array(range(first_position, first_position + count), pa.int64()),
        pa.array(range(count), pa.int64()),
    ]
    full = pa.Table.from_arrays(arrays, names=[*names, LINE, ROW])
    # Rows with no value at all (blank sheet rows) are counted like blank CSV lines.
    empty = np.ones(count, dtype=bool)
    for column in arrays[: len(names)]:
        empty &= np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
    kept = full.filter(pa.array(~empty))
    return RawSource(path, kept, blank_lines=int(empty.sum()))


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    if pa.types.is_timestamp(column.type):
        # ISO text keeps the offset of aware timestamps for the time parser.
        return pc.strftime(
            column, format="%Y-%m-%dT%H:%M:%S%z" if column.type.tz else "%Y-%m-%dT%H:%M:%S"
        )
    return column.cast(pa.string())
