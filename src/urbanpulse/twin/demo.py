"""Writing the demo city cluster into a lake, once, with progress along the way."""

from __future__ import annotations

import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from urbanpulse.indices.extract import write_province_extract
from urbanpulse.ingest.pipeline import ingest_files
from urbanpulse.store import Lake, append_observations, upsert_indicators, upsert_sites
from urbanpulse.store.compaction import compact_observations
from urbanpulse.twin.calendar import build_calendar, get_period
from urbanpulse.twin.drop import (
    build_drop_frame,
    build_drop_mapping,
    get_drop_mask,
    write_drop_file,
)
from urbanpulse.twin.indicators import build_indicators
from urbanpulse.twin.network import build_network
from urbanpulse.twin.observations import build_observations

Progress = Callable[[str, int, int], None]
DEMO_OPERATION = "demo"
_STEPS = 7
_CHUNK_ROWS = 1_000_000  # keeps the store's duplicate check small in memory


@dataclass
class DemoSummary:
    """What :func:`build_demo` wrote. Everything in it is synthetic, except the real
    provincial statistics shipped with the package (``real_province_values``), which
    are stored marked as measured and shown apart from the synthetic indices."""

    seed: int
    weeks: int
    first_day: date
    last_day: date
    synthetic: bool = True
    sites_by_kind: dict[str, int] = field(default_factory=dict)
    sites_by_city: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    day_types: dict[str, int] = field(default_factory=dict)
    observations_generated: int = 0
    observations_stored: int = 0
    observations_skipped: int = 0
    observations_by_metric: dict[str, int] = field(default_factory=dict)
    indicators: int = 0
    real_province_values: int = 0
    drop_file: str = ""
    drop_rows_stored: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def sites(self) -> int:
        """Number of demo sites."""
        return sum(self.sites_by_kind.values())

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view of the summary."""
        out = asdict(self)
        out.update(
            first_day=self.first_day.isoformat(),
            last_day=self.last_day.isoformat(),
            sites=self.sites,
        )
        return out


def build_demo(
    lake: Lake,
    *,
    seed: int = 2026,
    weeks: int = 8,
    end: date | None = None,
    progress: Progress | None = None,
    drop_dir: Path | None = None,
    compact: bool = True,
) -> DemoSummary:
    """Generate the synthetic Jing-Jin-Ji city cluster and write it into ``lake``.

    Writes the network's sites (``synthetic=True``), ``weeks`` weeks of observations
    up to ``end`` (default 2026-10-31, so National Day's Golden Week is inside), the
    yearly indicators 2014-2024, the real provincial statistics shipped with the
    package (when the lake has none), and ingests a damaged drop file so that quarantine
    has something to show. Observations end compacted: one file per metric and month,
    sorted by site and time. Running it again with the same arguments stores nothing new.

    Parameters
    ----------
    lake
        The lake to write to.
    seed
        Seed of every random draw: the same seed gives the same demo.
    weeks, end
        Span of the observations: whole weeks of local days ending on ``end``.
    progress
        Called as ``progress(step, done, total)``.
    drop_dir
        Where the drop file is written (default: a folder beside the lake,
        ``<lake>-demo-drop``).
    compact
        Sort and compact the observations at the end (off only to measure the
        layout that plain ingest leaves, as bench/lake.py does).

    Returns
    -------
    DemoSummary
        Counts of what was generated, stored, skipped and quarantined.
    """
    started = clock.perf_counter()
    report = progress or (lambda step, done, total: None)
    first, last = get_period(end, weeks)
    summary = DemoSummary(seed=seed, weeks=weeks, first_day=first, last_day=last)
    report("building network", 0, _STEPS)
    network = build_network(seed)
    _describe_network(summary, network.sites, len(network.lines))
    summary.day_types = build_calendar(first, last)["day_type"].value_counts().to_dict()
    report("generating observations", 1, _STEPS)
    observations = build_observations(network, seed=seed, weeks=weeks, end=end)
    summary.observations_generated = observations.num_rows
    report("writing sites", 2, _STEPS)
    upsert_sites(lake, network.sites)
    report("writing indicators", 3, _STEPS)
    summary.indicators = upsert_indicators(
        lake, pa.Table.from_pandas(build_indicators(seed), preserve_index=False)
    )
    # Real figures (NBS via techme, census; MIT), so the monitor's provincial section is
    # not empty on a fresh clone. Nothing is stored when the lake has some already.
    summary.real_province_values = write_province_extract(lake)
    report("ingesting the drop file", 4, _STEPS)
    in_drop = get_drop_mask(observations)
    _ingest_drop(lake, summary, observations.filter(in_drop), seed, drop_dir)
    report("writing observations", 5, _STEPS)
    direct = observations.filter(pa.array(~in_drop))
    info: dict[str, object] = {
        "demo": {
            "seed": seed,
            "weeks": weeks,
            "first_day": str(first),
            "last_day": str(last),
            "synthetic": True,
        }
    }
    _append_by_metric(lake, direct, summary, info)
    summary.observations_by_metric = _count_by(direct, "metric")
    report("sorting observations for fast reads", 6, _STEPS)
    if compact:
        # One sorted file per partition: a site's week then reads one or two row groups.
        compact_observations(lake, min_files=2, sort_all=True)
    summary.seconds = round(clock.perf_counter() - started, 2)
    report("done", _STEPS, _STEPS)
    return summary


def _append_by_metric(
    lake: Lake, rows: pa.Table, summary: DemoSummary, info: dict[str, object]
) -> None:
    """Append one metric at a time: the duplicate check then holds one metric in memory.

    Only the last commit is the ``demo`` operation, so an interrupted build is not
    taken for a finished one; running it again completes it (stored keys are skipped).
    """
    parts = [
        chunk
        for metric in sorted(pc.unique(rows["metric"]).to_pylist())
        for chunk in _split_rows(rows.filter(pc.equal(rows["metric"], metric)))
    ]
    for k, part in enumerate(parts):
        operation = DEMO_OPERATION if k == len(parts) - 1 else "demo_part"
        stored, skipped = append_observations(lake, part, operation=operation, info=info)
        summary.observations_stored += stored
        summary.observations_skipped += skipped


def _split_rows(rows: pa.Table) -> list[pa.Table]:
    """Slices of at most about ``_CHUNK_ROWS`` rows (rows come grouped by site already)."""
    return [rows.slice(start, _CHUNK_ROWS) for start in range(0, rows.num_rows, _CHUNK_ROWS)]


def is_demo_built(lake: Lake) -> bool:
    """Whether a demo has been written into ``lake`` completely.

    The demo's observations are its last write, so their commit marks a finished build.
    """
    return any(entry.get("operation") == DEMO_OPERATION for entry in lake.get_history())


def get_default_drop_dir(lake: Lake) -> Path:
    """Folder beside the lake where the demo's drop file is written."""
    return lake.root.parent / f"{lake.root.name}-demo-drop"


def _describe_network(summary: DemoSummary, sites: pa.Table, lines: int) -> None:
    summary.sites_by_kind = _count_by(sites, "kind")
    summary.sites_by_city = _count_by(sites, "city_code")
    summary.lines = lines


def _ingest_drop(
    lake: Lake, summary: DemoSummary, rows: pa.Table, seed: int, drop_dir: Path | None
) -> None:
    frame = build_drop_frame(rows, seed=seed)
    path = write_drop_file(frame, drop_dir or get_default_drop_dir(lake))
    result = ingest_files(lake, [path], build_drop_mapping())
    summary.drop_file = str(path)
    summary.drop_rows_stored = result.observations_stored
    summary.observations_stored += result.observations_stored
    summary.observations_skipped += result.duplicates_skipped
    summary.quarantined = dict(sorted(Counter(result.quarantined).items()))


def _count_by(table: pa.Table, column: str) -> dict[str, int]:
    counts = pc.value_counts(table[column]).to_pylist()
    return {
        str(c["values"]): int(c["counts"]) for c in sorted(counts, key=lambda c: str(c["values"]))
    }
