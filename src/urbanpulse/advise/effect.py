"""What advice changed: riders counted against the holdout group, kept across restarts.

Every advice request is counted per line (or single site) at its preferred slot, in
its group: ``advised`` or ``holdout`` (the random share that gets no recommendation).
Advised requests sent elsewhere are also counted as ``moved_out`` of the preferred slot
and ``moved_in`` to the advised one. The measured effect is the difference, between
the groups, in the share of riders leaving in the peak slot (the slot most requests
preferred), with a 95 % interval (Newcombe's hybrid score interval from two Wilson
intervals), and the sample size of each group.

The counts are where advice sent people, not where they rode. Where the line's
stations count riders (entries, boardings), :func:`estimate_compliance` compares the
peak slot's observed riders with the same slot on earlier same weekdays: the drop,
against the requests advice moved off the peak, bounds the share that followed it, and
says so plainly when day-to-day variation is larger than the requests moved. The counts
survive an API restart: with the Redis backend they live in
Redis (a namespace of their own, kept ``EFFECT_RETENTION``); in memory, every count is
also appended to a small journal file under the lake folder, replayed (and compacted)
when the next service starts.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbanpulse.advise.counters import (
    Counters,
    FallbackCounters,
    MemoryCounters,
    RedisCounters,
    build_redis_client,
)
from urbanpulse.i18n import gettext as _
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

EFFECT_PREFIX = "_effect"
EFFECT_NAMES = ("advised", "holdout", "moved_out", "moved_in")
# Effect counts are evidence an operator may look back on; spreading counts are not.
EFFECT_RETENTION = timedelta(days=400)
JOURNAL_PATH = Path("_advice") / "effect.tsv"
Z_95 = 1.959963984540054
# Requests each group needs before the interval of the effect is given: 20, below which
# one request more moves a share by five points or more.
MIN_GROUP_REQUESTS = 20
# Earlier same weekdays needed to know a slot's usual riders and its day-to-day spread.
MIN_HISTORY_DAYS = 3
logger = logging.getLogger(__name__)


def get_effect_key(line_or_site: str) -> str:
    """Counter segment prefix of a line's (or a single site's) effect counts."""
    return f"{EFFECT_PREFIX}:{line_or_site}"


class EffectJournal:
    """An append-only file of counts, one ``segment<TAB>slot epoch<TAB>n`` per line.

    Written line by line (one small append per request, so a killed server loses
    nothing it answered); compacted to one line per (segment, slot) when replayed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: Any = None

    def replay(self, counters: Counters) -> int:
        """Add the journal's counts to ``counters``, rewrite it compacted, and return
        how many (segment, slot) counts it held."""
        totals: dict[tuple[str, int], int] = defaultdict(int)
        if self.path.is_file():
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) == 3 and parts[1].lstrip("-").isdigit():
                        totals[(parts[0], int(parts[1]))] += int(parts[2])
        for (segment, slot), n in totals.items():
            counters.increment(datetime.fromtimestamp(slot, UTC), segment, n)
        self._rewrite(totals)
        return len(totals)

    def append(self, rows: Sequence[tuple[str, datetime, int]]) -> None:
        """Append counts (segment, tz-aware slot, n); a failure is logged, not raised:
        advice goes on, only its memory of this request would be lost."""
        text = "".join(f"{s}\t{int(slot.timestamp())}\t{n}\n" for s, slot, n in rows)
        try:
            with self._lock:
                if self._handle is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                self._handle.write(text)
                self._handle.flush()
        except OSError as error:
            logger.warning("advice effect journal %s not written: %s", self.path, error)

    def close(self) -> None:
        """Close the file (appending again reopens it)."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def _rewrite(self, totals: dict[tuple[str, int], int]) -> None:
        if not totals:
            return
        tmp = self.path.with_suffix(".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                for (segment, slot), n in sorted(totals.items()):
                    if n:
                        handle.write(f"{segment}\t{slot}\t{n}\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as error:
            logger.warning("advice effect journal %s not compacted: %s", self.path, error)


class EffectStore:
    """Effect counts per line and slot, with the journal that keeps them (memory only)."""

    def __init__(self, counters: Counters, journal: EffectJournal | None = None) -> None:
        self.counters = counters
        self.journal = journal

    def record(
        self, line_or_site: str, preferred: datetime, chosen: datetime | None, *, holdout: bool
    ) -> None:
        """Count one request: its group at its preferred slot and, when advice sent it
        elsewhere (``chosen``), the move."""
        key = get_effect_key(line_or_site)
        rows = [(f"{key}:{'holdout' if holdout else 'advised'}", preferred, 1)]
        if not holdout and chosen is not None and chosen != preferred:
            rows += [(f"{key}:moved_out", preferred, 1), (f"{key}:moved_in", chosen, 1)]
        for segment, slot, n in rows:
            self.counters.increment(slot, segment, n)
        if self.journal is not None:
            self.journal.append(rows)

    def get_counts(self, line_or_site: str, slots: Sequence[datetime]) -> dict[str, np.ndarray]:
        """Counts of ``EFFECT_NAMES`` at each slot."""
        key = get_effect_key(line_or_site)
        return {
            name: np.asarray(self.counters.get(list(slots), f"{key}:{name}"), dtype=int)
            for name in EFFECT_NAMES
        }

    def close(self) -> None:
        """Release the journal file."""
        if self.journal is not None:
            self.journal.close()


def build_effect_store(settings: Settings, *, namespace: str | None = None) -> EffectStore:
    """Redis counters of their own at ``settings.redis_url`` under ``namespace`` (by
    default the lake's stable id; in the process while Redis fails), or memory counters
    with a journal under the lake folder, replayed now."""
    if settings.counters_backend == "redis":
        namespace = namespace or Lake(settings.lake_path).get_id()
        prefix = f"urbanpulse:effect:{namespace}"
        redis_counters = RedisCounters(
            build_redis_client(settings), prefix=prefix, retention=EFFECT_RETENTION
        )
        return EffectStore(
            FallbackCounters(redis_counters, retry_seconds=settings.redis_retry_seconds)
        )
    counters = MemoryCounters(retention=EFFECT_RETENTION)
    journal = EffectJournal(Path(settings.lake_path) / JOURNAL_PATH)
    journal.replay(counters)
    return EffectStore(counters, journal)


def describe_effect_source(settings: Settings) -> str:
    """Where the counts come from, in words (in the language of the request)."""
    if settings.counters_backend == "redis":
        return _(
            "Counted by this server's workers in Redis, kept {days} days across restarts."
        ).format(days=EFFECT_RETENTION.days)
    return _(
        "Counted by this server and kept in {path} under its lake folder, so restarts keep them."
    ).format(path=JOURNAL_PATH.as_posix())


def compute_wilson_interval(
    successes: float, n: float, *, z: float = Z_95
) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; None without a sample."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def compute_difference_interval(
    x1: float, n1: float, x2: float, n2: float, *, z: float = Z_95
) -> tuple[float, float, float] | None:
    """``p1 - p2`` with Newcombe's hybrid score interval (his method 10), which keeps
    its coverage for small samples and shares near 0 or 1; None without both samples.

    Returns
    -------
    tuple
        (difference, lower, upper).
    """
    first, second = compute_wilson_interval(x1, n1, z=z), compute_wilson_interval(x2, n2, z=z)
    if first is None or second is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = first, second
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lower, upper


@dataclass(frozen=True)
class LineFlows:
    """Riders counted at a line's stations per slot: on the day, and on earlier
    comparable days (one row each, NaN for a day without counts)."""

    metric: str
    site_ids: list[str]
    observed: np.ndarray
    history: np.ndarray


def summarise_effect(
    slots: pd.DatetimeIndex, counts: dict[str, np.ndarray], *, flows: LineFlows | None = None
) -> dict[str, Any]:
    """Totals, shares moved, the peak's share in each group and their difference with a
    95 % interval, plus the non-empty slots (fields of ``EffectPublic``); with the line's
    counted ``flows``, what they show of compliance at the peak (:func:`estimate_compliance`)."""
    advised, holdout = counts["advised"], counts["holdout"]
    moved_out, moved_in = counts["moved_out"], counts["moved_in"]
    asked = advised + holdout
    total_a, total_h = int(advised.sum()), int(holdout.sum())
    peak = int(np.argmax(asked)) if asked.any() else None
    after = advised - moved_out + moved_in  # where advised requests were sent
    keep = np.flatnonzero(asked + moved_in)
    in_peak_h = None if peak is None else int(holdout[peak])
    in_peak_a = None if peak is None else int(after[peak])
    diff = (
        None
        if peak is None
        else compute_difference_interval(in_peak_h or 0, total_h, in_peak_a or 0, total_a)
    )
    # An interval from a handful of requests reads as a finding in a meeting; below the
    # minimum the cut is given alone, and the page says how many more are needed.
    sure = min(total_a, total_h) >= MIN_GROUP_REQUESTS
    return {
        "advised": total_a,
        "holdout": total_h,
        "moved": int(moved_out.sum()),
        "moved_share": _share(moved_out.sum(), total_a),
        "peak": None if peak is None else slots[peak].strftime("%H:%M"),
        "peak_moved_share": None if peak is None else _share(moved_out[peak], advised[peak]),
        "peak_holdout": in_peak_h,
        "peak_advised": in_peak_a,
        "peak_share_holdout": None if peak is None else _share(holdout[peak], total_h),
        "peak_share_advised": None if peak is None else _share(after[peak], total_a),
        "peak_share_cut": None if diff is None else diff[0],
        "peak_share_cut_low": None if diff is None or not sure else diff[1],
        "peak_share_cut_high": None if diff is None or not sure else diff[2],
        "confidence": 0.95,
        "min_requests_per_group": MIN_GROUP_REQUESTS,
        "compliance": None
        if flows is None or peak is None
        else {
            "metric": flows.metric,
            "sites": len(flows.site_ids),
            **estimate_compliance(flows.observed, flows.history, moved_out, peak),
        },
        "items": [
            {"slot": slots[i].isoformat(), "label": slots[i].strftime("%H:%M"),
             "advised": int(advised[i]), "holdout": int(holdout[i]),
             "moved_out": int(moved_out[i]), "moved_in": int(moved_in[i])}
            for i in keep
        ],
    }  # fmt: skip


def estimate_compliance(
    observed: np.ndarray, history: np.ndarray, moved_out: np.ndarray, peak: int
) -> dict[str, Any]:
    """How many of the requests moved off the ``peak`` slot show in the riders counted.

    ``observed`` holds the riders counted per slot of the day, ``history`` the same
    slots on earlier comparable days (one row each), ``moved_out`` the advised requests
    sent away from each slot. Without advice the peak would have carried about the
    earlier days' mean; each rider who followed advice off it lowers the count by one.
    So ``(expected - observed) / moved`` estimates the share that followed, and the
    earlier days' spread (a new day's deviation from a k-day mean has variance
    s^2 (1 + 1/k)) gives its 95 % interval. Shares are clipped to [0, 1]; ``measurable``
    is False when that interval spans half of [0, 1] or more: day-to-day variation then
    hides the requests moved, and the page says so instead of a figure. Other causes of
    a drop (weather, an event) are not separated: the estimate bounds compliance from
    the flows, it does not prove it.

    Returns
    -------
    dict
        observed, expected, spread (one day's standard deviation), days (k), moved,
        share, share_low, share_high (null without requests moved or with fewer than
        :data:`MIN_HISTORY_DAYS` earlier days) and measurable.
    """
    days = int(np.isfinite(history[:, peak]).sum()) if history.size else 0
    moved = int(moved_out[peak])
    result: dict[str, Any] = {
        "observed": float(observed[peak]), "expected": None, "spread": None, "days": days,
        "moved": moved, "share": None, "share_low": None, "share_high": None,
        "measurable": False,
    }  # fmt: skip
    if days < MIN_HISTORY_DAYS:
        return result
    earlier = history[np.isfinite(history[:, peak]), peak]
    expected, spread = float(earlier.mean()), float(earlier.std(ddof=1))
    result.update(expected=expected, spread=spread)
    if moved == 0:
        return result
    drop, half = expected - float(observed[peak]), Z_95 * spread * math.sqrt(1 + 1 / days)
    low, share, high = (
        float(np.clip(x / moved, 0.0, 1.0)) for x in (drop - half, drop, drop + half)
    )
    result.update(share=share, share_low=low, share_high=high, measurable=high - low < 0.5)
    return result


def _share(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None
