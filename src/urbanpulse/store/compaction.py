"""Compaction: the many small observation files of a partition rewritten as few sorted ones.

Live ingest commits a micro-batch every second or so, each adding a small file to the
partition (metric, month) it falls in; reads then open hundreds of files. Compaction
rewrites the files of one partition into few, sorted by site_id and ts in row groups
of :data:`ROW_GROUP_ROWS`, so a read of one site's range touches one or two row groups
(DuckDB skips the others by their min/max statistics).

It runs beside writers without holding them up: the files are listed at the start,
rewritten without the lake's write lock, and the commit (under the lock) removes exactly
the files that were read, and only if every one of them is still live. Files appended
meanwhile stay as they are for the next round, and a partition another compaction or
retention changed meanwhile is left alone; readers see the old files or the new ones,
never both and never neither.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from urbanpulse.errors import LakeError
from urbanpulse.store.engine import SCHEMAS, connect, quote_sql_text
from urbanpulse.store.lake import Commit, Lake, LakeFile, new_batch_id, partition_of

# Rows per row group: measured on the 1x demo (bench/lake.py), one site's week read in
# 2.4 ms at 65,536 against 2.7 ms at 16,384 and 5.3 ms at 4,096 (footers cached): small
# groups cost more in footer work than they save in rows skipped.
ROW_GROUP_ROWS = 65_536
# Rows per compacted file (64 row groups): a month of one metric at the 1x demo fits one.
TARGET_ROWS = 64 * ROW_GROUP_ROWS
# A partition is compacted once it holds this many files.
MIN_FILES = 8
# Key of the Parquet footer entry that marks a file as sorted.
SORTED_KEY = "urbanpulse.sorted_by"
# Key of the footer entry naming the files a compacted file was made from (JSON list),
# so rollups that covered those cover it too (urbanpulse.store.retention).
COMPACTED_FROM_KEY = "urbanpulse.compacted_from"
SORT_ORDER = "site_id,ts"

Progress = Callable[[str, int, int], None]


@dataclass
class CompactionSummary:
    """What :func:`compact_observations` did."""

    partitions: int = 0
    files_removed: int = 0
    files_added: int = 0
    rows: int = 0
    partitions_changed_meanwhile: int = 0
    seconds: float = 0.0


def compact_observations(
    lake: Lake,
    *,
    min_files: int = MIN_FILES,
    target_rows: int = TARGET_ROWS,
    sort_all: bool = False,
    metrics: Iterable[str] | None = None,
    only: Container[str] | None = None,
    progress: Progress | None = None,
) -> CompactionSummary:
    """Rewrite the small files of each observations partition (metric, month) as few
    files sorted by site_id, ts, once there are ``min_files`` of them; one commit per
    partition.

    Big files are left as they are: those of half ``target_rows`` or more, and any
    holding twice the rows of all smaller files together. Under live ingest the month's
    sorted file is then not rewritten each time a few micro-batches arrive, only the
    small files beside it, which merge into ever bigger tiers (so each row is rewritten
    a few times, not once per compaction).

    Parameters
    ----------
    min_files
        Compact a partition once it has at least this many small files.
    target_rows
        Rows per output file, rounded to whole row groups.
    sort_all
        Also rewrite fewer small files, and big ones, when they are not sorted (a lake
        written before compaction existed, or a demo just built).
    metrics
        Only these metrics (default: all).
    only
        Only files among these paths. Maintenance passes the files rollups already
        cover, so that a compacted file replaces covered files only and rollups stay
        incremental (urbanpulse.store.retention).
    progress
        Called as ``progress(partition, done, total)``.

    Returns
    -------
    CompactionSummary
        Partitions compacted, files removed and added, rows rewritten.
    """
    started = time.perf_counter()
    summary = CompactionSummary()
    is_sorted = _is_sorted(lake)
    chosen: list[list[LakeFile]] = []
    for files in get_observation_partitions(lake, metrics=metrics).values():
        candidates = [f for f in files if only is None or f.path in only]
        small = _pick_small(candidates, target_rows=target_rows)
        # sort_all: big files left out of the merge are still rewritten when unsorted.
        unsorted = [f for f in candidates if sort_all and f not in small and not is_sorted(f)]
        if len(small) >= max(min_files, 2) or unsorted:
            chosen.append(sorted([*small, *unsorted], key=lambda f: f.path))
        elif sort_all and not all(map(is_sorted, small)):
            chosen.append(small)
    for done, files in enumerate(chosen):
        if progress:
            progress(files[0].path.rsplit("/", 1)[0], done, len(chosen))
        added = compact_partition(lake, files, target_rows=target_rows)
        if added is None:
            summary.partitions_changed_meanwhile += 1
            continue
        summary.partitions += 1
        summary.files_removed += len(files)
        summary.files_added += len(added)
        summary.rows += sum(f.rows for f in added)
    if progress:
        progress("done", len(chosen), len(chosen))
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _pick_small(files: list[LakeFile], *, target_rows: int) -> list[LakeFile]:
    """The files worth merging: all but the big ones (see compact_observations)."""
    picked = sorted(files, key=lambda f: f.rows, reverse=True)
    rest = sum(f.rows for f in picked)
    while picked:
        rest -= picked[0].rows
        if picked[0].rows < target_rows // 2 and picked[0].rows < 2 * rest:
            break
        picked.pop(0)
    return sorted(picked, key=lambda f: f.path)


def get_observation_partitions(
    lake: Lake, *, metrics: Iterable[str] | None = None
) -> dict[tuple[str, str], list[LakeFile]]:
    """Live observation files grouped by partition (metric, month), files sorted by path."""
    wanted = set(metrics) if metrics is not None else None
    groups: dict[tuple[str, str], list[LakeFile]] = {}
    for lake_file in lake.get_files("observations"):
        key = (lake_file.partition.get("metric", ""), lake_file.partition.get("month", ""))
        if wanted is None or key[0] in wanted:
            groups.setdefault(key, []).append(lake_file)
    return {key: sorted(files, key=lambda f: f.path) for key, files in sorted(groups.items())}


def compact_partition(
    lake: Lake, files: list[LakeFile], *, target_rows: int = TARGET_ROWS
) -> list[LakeFile] | None:
    """Rewrite ``files`` (all of one partition) as sorted files in one commit.

    Returns the files added, or None when some of ``files`` left the live set before
    the commit (another compaction or retention got there first; nothing changes).
    """
    folder = files[0].path.rsplit("/", 1)[0]
    if any(f.path.rsplit("/", 1)[0] != folder for f in files):
        raise LakeError(f"files to compact span several partitions, first {folder}")
    batch_id = new_batch_id()
    with lake.naming_write_errors():
        staging = lake.staging_dir(batch_id) / "compacted"
        _write_sorted(lake, files, staging, batch_id, target_rows)
    with lake.write_lock():
        live = {f.path for f in lake.get_files("observations", **files[0].partition)}
        if not {f.path for f in files} <= live:
            shutil.rmtree(staging.parent, ignore_errors=True)
            return None
        added = _place(lake, staging, folder)
        rows_in, rows_out = sum(f.rows for f in files), sum(f.rows for f in added)
        if rows_in != rows_out:  # never publish a rewrite that lost or made up rows
            raise LakeError(f"compaction of {folder} wrote {rows_out} rows, read {rows_in}")
        info = {"partition": files[0].partition, "rows": rows_out, "files_in": len(files)}
        lake.commit(Commit("compact", batch_id, added, [f.path for f in files], info))
    return added


def _write_sorted(
    lake: Lake, files: list[LakeFile], staging: Path, batch_id: str, target_rows: int
) -> None:
    columns = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in SCHEMAS["observations"].items())
    listed = ", ".join(quote_sql_text(str(lake.root / f.path)) for f in files)
    groups_per_file = max(1, target_rows // ROW_GROUP_ROWS)
    sources = json.dumps(sorted(f.path for f in files))
    con = get_upkeep_connection()
    con.execute(
        f"""COPY (SELECT {columns} FROM read_parquet([{listed}], hive_partitioning = false)
                  ORDER BY site_id, ts)
        TO {quote_sql_text(str(staging))} (FORMAT parquet, COMPRESSION zstd,
            ROW_GROUP_SIZE {ROW_GROUP_ROWS}, ROW_GROUPS_PER_FILE {groups_per_file},
            FILENAME_PATTERN {quote_sql_text(batch_id + "_{i}")},
            KV_METADATA {{{quote_sql_text(SORTED_KEY)}: {quote_sql_text(SORT_ORDER)}, {quote_sql_text(COMPACTED_FROM_KEY)}: {quote_sql_text(sources)}}})"""
    )


_upkeep = threading.local()


def get_upkeep_connection() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection for compaction and rollups, kept between calls.

    A new connection costs about 12 ms, more than rewriting a small partition, and a
    lake of years holds hundreds of partitions. Its sorts spill to a private temporary
    folder, so a month of a city-scale metric need not fit in memory.
    """
    con = getattr(_upkeep, "con", None)
    if con is not None and _upkeep.pid == os.getpid():
        return con  # type: ignore[no-any-return]
    con = connect()
    spill = tempfile.mkdtemp(prefix="urbanpulse-spill-")
    # Removed when the process ends: one folder per process and thread otherwise stayed
    # behind in the temporary directory for good.
    atexit.register(shutil.rmtree, spill, ignore_errors=True)
    con.execute(f"SET temp_directory = {quote_sql_text(spill)}")
    # Insertion order is what keeps an ORDER BY through the writer into the files.
    con.execute("SET preserve_insertion_order = true")
    _upkeep.con, _upkeep.pid = con, os.getpid()
    return con


def _place(lake: Lake, staging: Path, folder: str) -> list[LakeFile]:
    placed: list[LakeFile] = []
    for path in sorted(staging.glob("*.parquet")):
        relative = f"{folder}/{path.name}"
        rows = pq.read_metadata(path).num_rows
        lake.place_file(path, relative)
        placed.append(LakeFile("observations", relative, rows, partition_of(relative)))
    return placed


def _is_sorted(lake: Lake) -> Callable[[LakeFile], bool]:
    def check(lake_file: LakeFile) -> bool:
        metadata = pq.read_metadata(lake.root / lake_file.path).metadata or {}
        return metadata.get(SORTED_KEY.encode()) == SORT_ORDER.encode()

    return check
