"""Upkeep of a lake under live ingest, in one call: compaction, rollups, retention.

Services that write continuously (the MQTT and GTFS-Realtime streams) call
:func:`maintain_lake` every few minutes; ``urbanpulse lake compact`` and
``urbanpulse lake retain`` run the same steps by hand. Every step commits on its own and
may run beside writers; checkpoints of the log come with the commits themselves
(``Lake(checkpoint_interval=...)``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from urbanpulse.settings import Settings
from urbanpulse.store.compaction import CompactionSummary, compact_observations
from urbanpulse.store.lake import Lake
from urbanpulse.store.retention import (
    RetentionSummary,
    compute_rollups,
    get_rolled_up_paths,
    retain_observations,
)


@dataclass
class MaintenanceSummary:
    """What :func:`maintain_lake` did, step by step."""

    compaction: CompactionSummary = field(default_factory=CompactionSummary)
    partitions_rolled_up: int = 0
    retention: RetentionSummary | None = None
    version: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the summary."""
        return asdict(self)


def open_lake(settings: Settings) -> Lake:
    """The lake of the settings, writing checkpoints at the configured interval."""
    return Lake(settings.lake_path, checkpoint_interval=settings.lake_checkpoint_interval)


def maintain_lake(
    lake: Lake, settings: Settings, *, sort_all: bool = False, rollups: bool = True
) -> MaintenanceSummary:
    """Bring rollups up to date, compact partitions with many small files and, when
    ``settings.lake_retention`` is on, remove raw months older than
    ``settings.lake_raw_retention_days`` whose rollups are committed.

    Parameters
    ----------
    sort_all
        Also rewrite partitions of few but unsorted files (after a bulk load).
    rollups
        Recompute stale rollups of every partition, not only of those retention removes
        (the current month's are recomputed each time new data arrived).

    Returns
    -------
    MaintenanceSummary
        Per step: partitions compacted, partitions rolled up, what retention removed.
    """
    started = time.perf_counter()
    summary = MaintenanceSummary()
    timezone = settings.local_timezone
    if rollups:
        # Rollups first, and compaction of rolled-up files only: a compacted file then
        # replaces files the rollups cover, and the next rollup adds only new files
        # instead of reading the month again.
        summary.partitions_rolled_up = compute_rollups(lake, timezone=timezone)
    summary.compaction = compact_observations(
        lake,
        min_files=settings.lake_compact_min_files,
        sort_all=sort_all,
        only=get_rolled_up_paths(lake) if rollups else None,
    )
    if settings.lake_retention:
        summary.retention = retain_observations(
            lake, raw_days=settings.lake_raw_retention_days, timezone=timezone
        )
    summary.version = lake.version
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
