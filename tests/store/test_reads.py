"""Reads through the shared DuckDB reader: right rows from any thread, few row groups."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from urbanpulse.store import Lake, append_observations, read_observations
from urbanpulse.store.compaction import ROW_GROUP_ROWS, compact_observations
from urbanpulse.store.queries import get_reader

START = datetime(2026, 10, 1, tzinfo=UTC)
SITES = [f"s{k:03d}" for k in range(40)]


def _lake(root: Path) -> Lake:
    lake = Lake(root)
    times = [START + timedelta(minutes=5 * k) for k in range(2 * 2016)]  # two weeks
    for half in (SITES[::2], SITES[1::2]):  # two batches, interleaved sites
        append_observations(
            lake,
            pa.table(
                {
                    "site_id": [s for t in times for s in half],
                    "metric": ["flow"] * len(times) * len(half),
                    "ts": pa.array([t for t in times for _ in half], pa.timestamp("us", tz="UTC")),
                    "value": [float(i) for i in range(len(times) * len(half))],
                    "unit": ["veh/h"] * len(times) * len(half),
                }
            ),
        )
    return lake


def test_reads_from_many_threads_each_get_their_own_site(tmp_path: Path) -> None:
    lake = _lake(tmp_path / "lake")
    start, end = START + timedelta(days=7), START + timedelta(days=14)

    def read(site: str) -> tuple[str, int, set[str]]:
        frame = read_observations(lake, "flow", site_ids=[site], start=start, end=end)
        return site, len(frame), set(frame.site_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, SITES * 3))
    assert all(n == 2016 and found == {site} for site, n, found in results)
    assert get_reader() is get_reader()  # one cursor per thread, kept


def test_compacted_files_keep_a_site_in_few_row_groups_with_statistics(tmp_path: Path) -> None:
    lake = _lake(tmp_path / "lake")
    compact_observations(lake, min_files=2)
    (path,) = lake.get_paths("observations")
    metadata = pq.read_metadata(path)
    assert metadata.num_row_groups == -(-metadata.num_rows // ROW_GROUP_ROWS)
    ranges = []
    for k in range(metadata.num_row_groups):
        stats = metadata.row_group(k).column(0).statistics  # site_id
        assert stats is not None and stats.has_min_max
        ranges.append((stats.min, stats.max))
    # Sorted: row groups follow each other by site, so one site spans at most two.
    assert ranges == sorted(ranges)
    assert all(ranges[k][1] <= ranges[k + 1][0] for k in range(len(ranges) - 1))
    frame = read_observations(lake, "flow", site_ids=["s007"])
    assert len(frame) == 2 * 2016 and list(frame.ts) == sorted(frame.ts)
