"""The demo at city scale: N copies of its sites, for benchmarks and sizing a deployment.

``scale`` copies of the demo network's sites (copy k > 0 gets the id suffix ``-xNNN``
and its own random draws) over ``weeks`` weeks: at 8 weeks, 1x is about 6.2 million
observations and 100x about 620 million. Memory stays bounded whatever the size: one
copy and a window of at most ``CHUNK_WEEKS`` weeks is generated at a time and written
straight away, sorted by site and time in each (metric, month) partition with the
lake's own file placement and one commit per chunk. A build stopped half-way resumes
where it stopped: committed chunks are named in the log and skipped.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from urbanpulse.store import Lake, upsert_indicators, upsert_sites
from urbanpulse.store.lake import Commit, LakeFile, new_batch_id, partition_of
from urbanpulse.twin.calendar import get_period
from urbanpulse.twin.indicators import build_indicators
from urbanpulse.twin.network import build_network
from urbanpulse.twin.observations import build_observations

Progress = Callable[[str, int, int], None]
SCALE_OPERATION = "demo_scale"
CHUNK_WEEKS = 4
ROW_GROUP_ROWS = 65_536


@dataclass
class ScaleSummary:
    """What :func:`build_scaled_demo` wrote (all of it synthetic)."""

    scale: int
    weeks: int
    first_day: date
    last_day: date
    sites: int = 0
    observations: int = 0
    chunks_written: int = 0
    chunks_skipped: int = 0
    seconds: float = 0.0
    synthetic: bool = True


def get_copy_suffix(copy: int) -> str:
    """Suffix of copy ``copy``'s site ids: none for the demo's own sites (copy 0)."""
    return "" if copy == 0 else f"-x{copy:03d}"


def build_scaled_demo(
    lake: Lake,
    *,
    scale: int,
    seed: int = 2026,
    weeks: int = 8,
    end: date | None = None,
    progress: Progress | None = None,
) -> ScaleSummary:
    """Write ``scale`` copies of the demo's sites with ``weeks`` weeks of observations.

    Parameters
    ----------
    lake
        The lake to write to (keep it apart from the demo's own lake).
    scale
        Copies of the demo's sites (1 or more).
    seed, weeks, end
        As for :func:`urbanpulse.twin.build_demo`; copy k draws from seed (seed, k).
    progress
        Called as ``progress(step, done, total)`` with done and total in chunks.

    Returns
    -------
    ScaleSummary
        Sites, observations and chunks written or skipped (already committed).
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    started = clock.perf_counter()
    report = progress or (lambda step, done, total: None)
    first, last = get_period(end, weeks)
    summary = ScaleSummary(scale=scale, weeks=weeks, first_day=first, last_day=last)
    network = build_network(seed)
    windows = list(_windows(first, last))
    done_chunks = _committed_chunks(lake)
    if not done_chunks:
        upsert_sites(lake, pa.concat_tables(_copy_sites(network.sites, k) for k in range(scale)))
        upsert_indicators(lake, pa.Table.from_pandas(build_indicators(seed), preserve_index=False))
    summary.sites = network.sites.num_rows * scale
    total = scale * len(windows)
    for k in range(scale):
        for w, (window_end, window_weeks) in enumerate(windows):
            key = f"{k}:{window_end.isoformat()}:{window_weeks}:{seed}"
            report(f"copy {k + 1} of {scale}", k * len(windows) + w, total)
            if key in done_chunks:
                summary.chunks_skipped += 1
                continue
            rows = build_observations(
                network, seed=seed * 1000 + k, weeks=window_weeks, end=window_end
            )
            summary.observations += _write_chunk(lake, _copy_rows(rows, k), key)
            summary.chunks_written += 1
    summary.seconds = round(clock.perf_counter() - started, 2)
    report("done", total, total)
    return summary


def _windows(first: date, last: date) -> Iterator[tuple[date, int]]:
    """(end, weeks) of consecutive windows of at most CHUNK_WEEKS weeks, first to last."""
    weeks_left = ((last - first).days + 1) // 7
    window_end = last
    while weeks_left > 0:
        size = min(CHUNK_WEEKS, weeks_left)
        yield window_end, size
        window_end -= timedelta(days=7 * size)
        weeks_left -= size


def _copy_sites(sites: pa.Table, copy: int) -> pa.Table:
    if copy == 0:
        return sites
    suffix = get_copy_suffix(copy)
    ids = pc.binary_join_element_wise(sites["site_id"], pa.scalar(suffix), "")
    return sites.set_column(sites.schema.get_field_index("site_id"), "site_id", ids)


def _copy_rows(rows: pa.Table, copy: int) -> pa.Table:
    return _copy_sites(rows, copy)


def _write_chunk(lake: Lake, rows: pa.Table, key: str) -> int:
    """Write one chunk sorted by site and time, a file per (metric, month), one commit."""
    batch_id = new_batch_id()
    month = pc.strftime(rows["ts"], format="%Y-%m", locale="C")
    rows = rows.append_column("batch_id", pa.array([batch_id] * rows.num_rows, pa.string()))
    rows = rows.append_column("month", month)
    staging = lake.staging_dir(batch_id)
    added: list[LakeFile] = []
    for part in rows.group_by(["metric", "month"]).aggregate([]).to_pylist():
        mask = pc.and_(
            pc.equal(rows["metric"], part["metric"]), pc.equal(rows["month"], part["month"])
        )
        piece = rows.filter(mask).sort_by([("site_id", "ascending"), ("ts", "ascending")])
        relative = f"observations/metric={part['metric']}/month={part['month']}/{batch_id}.parquet"
        staged = staging / f"{part['metric']}_{part['month']}.parquet"
        pq.write_table(
            piece, staged, compression="zstd", row_group_size=ROW_GROUP_ROWS, write_statistics=True
        )
        lake.place_file(staged, relative)
        added.append(LakeFile("observations", relative, piece.num_rows, partition_of(relative)))
    with lake.write_lock():
        lake.commit(Commit(SCALE_OPERATION, batch_id, added, [], {"chunk": key, "synthetic": True}))
    return rows.num_rows


def _committed_chunks(lake: Lake) -> set[str]:
    return {
        str(entry.get("info", {}).get("chunk"))
        for entry in lake.get_history()
        if entry.get("operation") == SCALE_OPERATION
    }
