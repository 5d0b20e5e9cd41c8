"""Rollups and retention: raw observations age out, hourly and daily aggregates stay.

Rollups summarise each observations partition (metric, month): per site, metric, unit
and hour (UTC) in ``rollups_hourly``, per local day (the time zone passed down from
``settings.local_timezone``) in ``rollups_daily``, with count, sum, mean, min and max of
the values. Each rollup file names, in its Parquet footer, the raw files it summarises,
so anyone can tell whether it is up to date. When only files were added, the new ones
are aggregated and added to the live rollups; a compacted file whose sources (named in
its own footer) were all covered counts as covered; anything else (a covered file gone
some other way, a new time zone) recomputes the partition from its raw files.

Rollup files live in one of two layers (a ``layer=`` folder):

* ``live``: summaries of raw files still in the lake, replaced whenever those change;
* ``archive``: summaries of raw files that retention removed; never recomputed.

Retention removes a partition's raw files only when all of them are summarised by the
partition's committed live rollups, and in the same commit moves those rollups to the
archive layer (a hard link, no rewrite): the raw values and their summary leave and
arrive together, so no value is ever without one or the other. The keys of the removed
rows stay (``retired_keys``), so a value sent again later is known as stored and not
counted twice. A crash between the rollup commit and the retention commit leaves raw
files and live rollups, both complete; the next run finishes the job.

A day or an hour is summarised in each partition that holds part of it (a local day
straddles two UTC months); :func:`read_rollups` adds the parts up. Live daily rollups
follow a change of the time zone setting; archived ones keep the days they were made with.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from urbanpulse.errors import InvalidQueryError
from urbanpulse.store.compaction import (
    COMPACTED_FROM_KEY,
    get_observation_partitions,
    get_upkeep_connection,
)
from urbanpulse.store.engine import SCHEMAS, quote_sql_text, scan_sql
from urbanpulse.store.lake import Commit, Lake, LakeFile, new_batch_id, partition_of
from urbanpulse.store.queries import get_month_range, get_months, get_reader

GRAINS = {"hourly": "rollups_hourly", "daily": "rollups_daily"}
# Parquet footer key of a rollup file: the raw files it covers and the day's time zone.
ROLLUP_KEY = "urbanpulse.rollup"


@dataclass
class RetentionSummary:
    """What :func:`retain_observations` did."""

    cutoff: dict[str, str] = field(default_factory=dict)  # metric -> oldest kept instant
    partitions_rolled_up: int = 0
    partitions_removed: list[str] = field(default_factory=list)
    rows_removed: int = 0
    seconds: float = 0.0


def compute_rollups(
    lake: Lake, *, timezone: str, partitions: Iterable[tuple[str, str]] | None = None
) -> int:
    """Recompute the live hourly and daily rollups of partitions whose raw files changed.

    Parameters
    ----------
    timezone
        Time zone of the daily buckets (``settings.local_timezone``).
    partitions
        (metric, month) pairs to look at (default: every observations partition).

    Returns
    -------
    int
        Partitions whose rollups were written (in one commit).
    """
    raw_by_partition = get_observation_partitions(lake)
    wanted = set(partitions) if partitions is not None else set(raw_by_partition)
    stale = {
        key: _plan(lake, key, raw, timezone)
        for key, raw in raw_by_partition.items()
        if key in wanted and not _rollups_cover(lake, key, raw, timezone)
    }
    if not stale:
        return 0
    batch_id = new_batch_id()
    with lake.naming_write_errors():
        staged = {k: _stage_rollups(lake, k, plan, batch_id, timezone) for k, plan in stale.items()}
    with lake.write_lock():
        added: list[LakeFile] = []
        removed: list[str] = []
        for key, plan in stale.items():
            live_raw = {f.path for f in lake.get_files("observations", metric=key[0], month=key[1])}
            if not set(plan.covers) <= live_raw:
                continue  # compacted or retained meanwhile: the next run recomputes it
            removed += [f.path for f in _live_rollups(lake, key, grain=None)]
            added += [_place(lake, path, table) for table, path in staged[key]]
        if added:
            partitions_done = sorted(
                {f"{f.partition['metric']}/{f.partition['month']}" for f in added}
            )
            info = {"partitions": partitions_done, "timezone": timezone}
            lake.commit(Commit("rollup", batch_id, added, removed, info))
    shutil.rmtree(lake.root / "_staging" / batch_id, ignore_errors=True)
    return len({(f.partition["metric"], f.partition["month"]) for f in added})


def retain_observations(
    lake: Lake, *, raw_days: float, timezone: str, now: datetime | None = None
) -> RetentionSummary:
    """Remove raw observations of whole months older than ``raw_days``, after their
    hourly and daily rollups are committed.

    Age counts back from the newest observation of the same metric (or from ``now``
    when that is earlier), so a historical dataset loaded today keeps its last
    ``raw_days`` raw instead of losing them all to the wall clock.

    Returns
    -------
    RetentionSummary
        The cutoff per metric, partitions rolled up and removed, raw rows removed.
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    summary = RetentionSummary()
    due: list[tuple[str, str]] = []
    for metric, months in _months_by_metric(lake).items():
        cutoff = min(now, _newest(lake, metric, months[-1])) - timedelta(days=raw_days)
        summary.cutoff[metric] = cutoff.isoformat()
        due += [(metric, m) for m in months if _month_end(m) <= cutoff]
    if not due:
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary
    summary.partitions_rolled_up = compute_rollups(lake, timezone=timezone, partitions=due)
    _remove_summarised(lake, due, timezone, summary)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _remove_summarised(
    lake: Lake, due: list[tuple[str, str]], timezone: str, summary: RetentionSummary
) -> None:
    """One commit: raw files of due partitions out, their live rollups into the archive."""
    batch_id = new_batch_id()
    with lake.write_lock():
        raw_by_partition = get_observation_partitions(lake)
        added: list[LakeFile] = []
        removed: list[str] = []
        for key in due:
            raw = raw_by_partition.get(key, [])
            if not raw or not _rollups_cover(lake, key, raw, timezone):
                continue  # no raw left, or changed since its rollup: kept for the next run
            for rollup in _live_rollups(lake, key, grain=None):
                added.append(_archive(lake, rollup, batch_id))
                removed.append(rollup.path)
            added.append(_retire_keys(lake, key, raw, batch_id))
            removed += [f.path for f in raw]
            summary.partitions_removed.append(f"{key[0]}/{key[1]}")
            summary.rows_removed += sum(f.rows for f in raw)
        if removed:
            info = {"partitions": summary.partitions_removed, "rows": summary.rows_removed}
            lake.commit(Commit("retain", batch_id, added, removed, info))
    shutil.rmtree(lake.root / "_staging" / batch_id, ignore_errors=True)


def read_rollups(
    lake: Lake,
    metric: str,
    *,
    grain: str = "hourly",
    site_ids: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pa.Table:
    """Hourly or daily aggregates of one metric, optionally for some sites and buckets
    starting in [start, end); raw values already removed by retention included.

    Returns
    -------
    pyarrow.Table
        Columns: site_id, metric, bucket_start (UTC; an hour, or local midnight for
        days), count, sum, mean, min, max, unit; sorted by site_id, bucket_start.
    """
    if grain not in GRAINS:
        raise InvalidQueryError(f"grain must be one of {sorted(GRAINS)}, not {grain!r}")
    partition: dict[str, str | list[str]] = {"metric": metric}
    if start is not None and end is not None:
        # A local day starting before a UTC month begins is partly in the month before.
        partition["month"] = get_months(start - timedelta(days=1), end + timedelta(days=1))
    where: list[str] = ["true"]
    params: list[object] = []
    if site_ids is not None:
        where.append("site_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(site_ids))
    for bound, op in ((start, ">="), (end, "<")):
        if bound is not None:
            where.append(f"bucket_start {op} ?")
            params.append(bound)
    sql = (
        "SELECT site_id, metric, bucket_start, sum(count)::BIGINT AS count, sum(sum) AS sum, "
        "sum(sum) / nullif(sum(count), 0) AS mean, min(min) AS min, max(max) AS max, unit "
        f"FROM ({scan_sql(lake, GRAINS[grain], **partition)}) WHERE {' AND '.join(where)} "
        "GROUP BY site_id, metric, unit, bucket_start ORDER BY site_id, bucket_start, unit"
    )
    return get_reader().sql(sql, params=params).to_arrow_table()


def _months_by_metric(lake: Lake) -> dict[str, list[str]]:
    months: dict[str, list[str]] = {}
    for metric, month in get_observation_partitions(lake):
        months.setdefault(metric, []).append(month)
    return {metric: sorted(found) for metric, found in months.items()}


def _newest(lake: Lake, metric: str, month: str) -> datetime:
    """The newest observation time of a metric (Parquet statistics answer it)."""
    sql = f"SELECT max(ts) FROM ({scan_sql(lake, 'observations', metric=metric, month=month)})"
    newest = get_reader().execute(sql).fetchall()[0][0]  # whole: the cursor is shared
    return newest.astimezone(UTC) if newest is not None else datetime.now(UTC)


def _month_end(month: str) -> datetime:
    following = get_month_range(month, month)[0]
    year, number = map(int, following.split("-"))
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)


def _live_rollups(lake: Lake, key: tuple[str, str], *, grain: str | None) -> list[LakeFile]:
    tables = GRAINS.values() if grain is None else [GRAINS[grain]]
    return [
        f
        for table in tables
        for f in lake.get_files(table, metric=key[0], month=key[1], layer="live")
    ]


def _rollups_cover(lake: Lake, key: tuple[str, str], raw: list[LakeFile], timezone: str) -> bool:
    """Whether the live hourly and daily rollups summarise exactly these raw files."""
    wanted = sorted(f.path for f in raw)
    for grain in GRAINS:
        files = _live_rollups(lake, key, grain=grain)
        if len(files) != 1:
            return False
        stamp = _read_stamp(lake.root / files[0].path)
        if stamp.get("covers") != wanted or stamp.get("timezone") != timezone:
            return False
    return True


def _read_stamp(path: Path) -> dict[str, Any]:
    metadata = pq.read_schema(path).metadata or {}
    stamp: dict[str, Any] = json.loads(metadata.get(ROLLUP_KEY.encode(), b"{}"))
    return stamp


@dataclass
class _Plan:
    """How to bring one partition's live rollups up to date."""

    covers: list[str]  # raw files the new rollups summarise
    read: list[str]  # raw files to aggregate
    base: str | None = None  # live hourly rollup to add them to (None: from scratch)


def _plan(lake: Lake, key: tuple[str, str], raw: list[LakeFile], timezone: str) -> _Plan:
    """Add only the new raw files to the live rollups when nothing they cover has left.

    Under live ingest a month's rollups would otherwise be recomputed from all its raw
    rows after every micro-batch. A compacted file names the files it was made from in
    its footer: when all of those were covered, it is covered too.
    """
    everything = _Plan(covers=sorted(f.path for f in raw), read=[f.path for f in raw])
    hourly, daily = (_live_rollups(lake, key, grain=g) for g in GRAINS)
    if len(hourly) != 1 or len(daily) != 1:
        return everything
    stamp = _read_stamp(lake.root / hourly[0].path)
    if stamp != _read_stamp(lake.root / daily[0].path) or stamp.get("timezone") != timezone:
        return everything
    covered = set(stamp.get("covers") or [])
    new = []
    for lake_file in raw:
        if lake_file.path in covered:
            continue
        sources = _read_compacted_from(lake.root / lake_file.path)
        if sources and sources <= covered:
            covered = (covered - sources) | {lake_file.path}  # same rows, new file
        else:
            new.append(lake_file.path)
    if not covered <= {f.path for f in raw}:
        return everything  # something summarised has left the lake: start again
    return _Plan(covers=sorted(covered | set(new)), read=new, base=hourly[0].path)


def get_rolled_up_paths(lake: Lake) -> set[str]:
    """Raw observation files that the live rollups summarise (read from their footers)."""
    covered: set[str] = set()
    for rollup in lake.get_files("rollups_hourly", layer="live"):
        covered.update(_read_stamp(lake.root / rollup.path).get("covers") or [])
    return covered


def _read_compacted_from(path: Path) -> set[str]:
    metadata = pq.read_schema(path).metadata or {}
    return set(json.loads(metadata.get(COMPACTED_FROM_KEY.encode(), b"[]")))


def _stage_rollups(
    lake: Lake, key: tuple[str, str], plan: _Plan, batch_id: str, timezone: str
) -> list[tuple[str, Path]]:
    """Write the hourly and daily rollup files of one partition into staging."""
    metric, month = key
    parts = []
    if plan.read:
        listed = ", ".join(quote_sql_text(str(lake.root / p)) for p in plan.read)
        parts.append(
            f"""SELECT site_id, metric, date_trunc('hour', ts) AS bucket_start,
                   count(value) AS count, sum(value) AS sum, min(value) AS min,
                   max(value) AS max, unit
            FROM read_parquet([{listed}], hive_partitioning = false)
            GROUP BY site_id, metric, unit, date_trunc('hour', ts)"""
        )
    if plan.base is not None:
        parts.append(
            "SELECT site_id, metric, bucket_start, count, sum, min, max, unit "
            f"FROM read_parquet({quote_sql_text(str(lake.root / plan.base))})"
        )
    con = get_upkeep_connection()
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE hourly AS
        SELECT site_id, metric, bucket_start, sum(count)::BIGINT AS count, sum(sum) AS sum,
               sum(sum) / nullif(sum(count), 0) AS mean, min(min) AS min, max(max) AS max,
               unit, {quote_sql_text(month)} AS month
        FROM ({" UNION ALL ".join(parts)})
        GROUP BY site_id, metric, unit, bucket_start"""
    )
    local_day = f"date_trunc('day', bucket_start AT TIME ZONE {quote_sql_text(timezone)})"
    daily_sql = f"""SELECT site_id, metric, {local_day} AT TIME ZONE {quote_sql_text(timezone)} AS bucket_start,
               sum(count)::BIGINT AS count, sum(sum) AS sum,
               sum(sum) / nullif(sum(count), 0) AS mean, min(min) AS min, max(max) AS max,
               unit, month
        FROM hourly GROUP BY site_id, metric, unit, month, {local_day}"""
    stamp = json.dumps({"covers": plan.covers, "timezone": timezone})
    staged = []
    for table, sql in (("rollups_hourly", "SELECT * FROM hourly"), ("rollups_daily", daily_sql)):
        data = con.sql(f"{sql} ORDER BY site_id, bucket_start").to_arrow_table()
        schema = pa.schema([(c, _ARROW[t]) for c, t in SCHEMAS[table].items()])
        data = data.select(schema.names).cast(schema).replace_schema_metadata({ROLLUP_KEY: stamp})
        folder = lake.staging_dir(batch_id) / table
        path = folder / f"metric={metric}/month={month}/layer=live/{batch_id}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, path, compression="zstd")
        staged.append((table, path))
    con.execute("DROP TABLE hourly")
    return staged


def _place(lake: Lake, staged: Path, table: str) -> LakeFile:
    relative = "/".join((table, *staged.parts[-4:]))  # metric=/month=/layer=/file
    rows = pq.read_metadata(staged).num_rows
    lake.place_file(staged, relative)
    return LakeFile(table, relative, rows, partition_of(relative))


def _retire_keys(lake: Lake, key: tuple[str, str], raw: list[LakeFile], batch_id: str) -> LakeFile:
    """Keep the keys (site_id, metric, ts) of raw files about to leave.

    Their values live on in the archived rollups; without the keys, the same value sent
    again (a file ingested twice, a replayed feed) would be stored as new and counted
    twice there. Sorted keys without values compress to a small part of the raw files.
    """
    metric, month = key
    listed = ", ".join(quote_sql_text(str(lake.root / f.path)) for f in raw)
    relative = f"retired_keys/metric={metric}/month={month}/{batch_id}.parquet"
    staged = lake.staging_dir(batch_id) / relative
    staged.parent.mkdir(parents=True, exist_ok=True)
    get_upkeep_connection().execute(
        f"""COPY (SELECT site_id, metric, ts::TIMESTAMPTZ AS ts, {quote_sql_text(month)} AS month
                  FROM read_parquet([{listed}], hive_partitioning = false) ORDER BY site_id, ts)
        TO {quote_sql_text(str(staged))} (FORMAT parquet, COMPRESSION zstd)"""
    )
    rows = pq.read_metadata(staged).num_rows
    lake.place_file(staged, relative)
    return LakeFile("retired_keys", relative, rows, partition_of(relative))


def _archive(lake: Lake, rollup: LakeFile, batch_id: str) -> LakeFile:
    """The same file under the archive layer: a hard link (a copy where links fail)."""
    folder = rollup.path.rsplit("/", 2)[0]
    relative = f"{folder}/layer=archive/{batch_id}-{rollup.path.rsplit('/', 1)[1]}"
    target = lake.root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(lake.root / rollup.path, target)
    except OSError:
        shutil.copyfile(lake.root / rollup.path, target)
    return LakeFile(rollup.table, relative, rollup.rows, partition_of(relative))


_ARROW = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}
