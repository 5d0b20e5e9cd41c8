"""Storing taps: pseudonymised taps, public counts and flows, masked quarantine.

One commit per ingest holds the new taps (partitioned by key period), the rebuilt
public snapshots ``tap_counts`` and ``tap_flows`` (suppressed below k, computed from
every stored tap so a second file adds to the first), and the masked rejects. Then
the metro stations are upserted as sites and the public, unsuppressed cells are added
as observations ``entries`` and ``exits`` for forecasts and advice.

Every published table comes from the same pass over the same taps, and a published
cell changes only by k or more (:func:`~urbanpulse.privacy.suppression.hold_small_changes`):
observations are append-only by (site, metric, time), so a period keeps its first
value there, and ``tap_counts`` moves on from it only once the difference is itself a
group of k. Subtracting any two published figures of one cell never counts fewer than
k people.
"""

from __future__ import annotations

import calendar
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from urbanpulse.errors import ConfigurationError
from urbanpulse.privacy.flows import (
    MAX_TRIP_MINUTES,
    compute_public_counts,
    compute_public_flows,
    read_public_counts,
    read_public_flows,
)
from urbanpulse.privacy.keys import KeyRing
from urbanpulse.privacy.suppression import hold_small_changes
from urbanpulse.privacy.taps import TapBatch, TapMapping, read_tap_file
from urbanpulse.store import (
    Commit,
    Lake,
    LakeFile,
    append_observations,
    new_batch_id,
    upsert_sites,
    write_table_file,
)
from urbanpulse.store.engine import connect, quote_sql_text, scan_sql
from urbanpulse.store.lake import partition_of
from urbanpulse.store.networks import get_network_schema
from urbanpulse.store.quarantine import stage_rejects
from urbanpulse.store.sources import describe_sources, fingerprint_file, read_fingerprints
from urbanpulse.store.taps import compute_od_flows, compute_station_counts

OPERATION = "ingest_taps"
# The key of a cell of each published table.
COUNT_KEYS = ["site_id", "station", "period_start", "period_minutes", "direction"]
FLOW_KEYS = ["origin_site_id", "destination_site_id", "date"]


@dataclass(slots=True)
class TapIngestSummary:
    """What an ingest of tap files did; no field holds an identifier."""

    files: int = 0
    files_already_ingested: int = 0
    rows_read: int = 0
    taps_stored: int = 0
    duplicates_skipped: int = 0
    pseudonyms: int = 0
    key_periods: list[str] = field(default_factory=list)
    quarantined: dict[str, int] = field(default_factory=dict)
    count_cells: int = 0
    count_cells_suppressed: int = 0
    flow_cells: int = 0
    flow_cells_suppressed: int = 0
    observations_stored: int = 0
    key_periods_deleted: list[str] = field(default_factory=list)
    taps_past_retention: int = 0
    k: int = 0

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "quarantined_total": self.quarantined_total}


@dataclass(frozen=True, slots=True)
class TapRules:
    """How an ingest stores and publishes taps (the privacy settings, per lake)."""

    k: int
    period_minutes: int
    timezone: str
    tap_minutes: int = 1
    station_counts: Literal["exact", "noised"] = "exact"
    retention_days: int | None = None  # after a month ends, counted to the newest tap


def ingest_taps(
    lake: Lake,
    paths: Sequence[Path],
    mapping: TapMapping,
    keys: KeyRing,
    *,
    k: int,
    period_minutes: int,
    timezone: str,
    tap_minutes: int = 1,
    station_counts: Literal["exact", "noised"] = "exact",
    retention_days: int | None = None,
) -> TapIngestSummary:
    """Pseudonymise and store tap files, and rebuild the public counts and flows.

    Stored times are the start of their ``tap_minutes`` bucket in local time (order
    within a card's bucket is not kept: ties are read entry first), so taps already
    stored (same pseudonym, bucket, direction and station) are not stored twice. Taps
    of a key period (month) are deleted in the same commit once ``retention_days`` have
    passed since the month ended, counted to the newest tap the lake holds (a replay of
    old files keeps its window; a live lake counts to today); what was published from
    them stays. With ``station_counts="noised"`` no exact station
    count is published (neither ``tap_counts`` nor entries and exits observations):
    the lake's counts are published only through noised releases.

    Raises
    ------
    ConfigurationError
        ``tap_minutes`` does not divide ``period_minutes``.
    """
    if period_minutes % tap_minutes:
        raise ConfigurationError(
            f"privacy_tap_minutes ({tap_minutes}) must divide privacy_period_minutes "
            f"({period_minutes}), or a bucket would straddle two published periods"
        )
    rules = TapRules(k, period_minutes, timezone, tap_minutes, station_counts, retention_days)
    summary = TapIngestSummary(files=len(paths), k=k)
    with lake.write_lock():
        held = read_fingerprints(lake)
        fresh = [(p, f) for p in paths if (f := fingerprint_file(p, "taps")) not in held]
        summary.files_already_ingested = len(paths) - len(fresh)
        batches = [read_tap_file(p, mapping, keys) for p, _ in fresh]
        public = _commit_taps(lake, batches, describe_sources(fresh), summary, rules)
    if public is not None:
        _publish_sites_and_observations(lake, public, mapping, summary)
    return summary


def purge_expired_taps(lake: Lake, *, retention_days: int, today: date | None = None) -> list[str]:
    """Delete, in one commit, the trip-level taps of key periods (months) that ended
    more than ``retention_days`` before the newest stored tap's day, or ``today`` when
    that is later; the published counts and flows stay. Returns the periods deleted."""
    with lake.write_lock():
        days = [d for d in (_get_newest_day(connect(), scan_sql(lake, "taps")), today) if d]
        keep_from = max(days) - timedelta(days=retention_days) if days else None
        expired, paths = _get_expired(lake, keep_from)
        if paths:
            info = {"key_periods": expired, "files": len(paths)}
            lake.commit(Commit("purge_taps", new_batch_id(), [], paths, info))
    return expired


def _get_expired(lake: Lake, keep_from: date | None) -> tuple[list[str], list[str]]:
    """Key periods whose month ended before ``keep_from``, and their files' paths."""
    if keep_from is None:
        return [], []
    files = [
        f for f in lake.get_files("taps")
        if _month_end(f.partition.get("key_period", "")) < keep_from
    ]  # fmt: skip
    periods = sorted({f.partition["key_period"] for f in files})
    return periods, sorted(f.path for f in files)


def _get_newest_day(con, relation_sql: str) -> date | None:  # type: ignore[no-untyped-def]
    ((newest,),) = con.execute(f"SELECT max(ts) FROM ({relation_sql})").fetchall()
    return newest.date() if newest is not None else None


def _month_end(period: str) -> date:
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1])


def _commit_taps(
    lake: Lake,
    batches: list[TapBatch],
    sources: list[dict[str, str]],
    summary: TapIngestSummary,
    rules: TapRules,
) -> pd.DataFrame | None:
    if not batches:
        return None
    batch_id = new_batch_id()
    con = connect()
    new = _new_taps(lake, con, batches, batch_id, rules)
    con.register("_new", new)
    keep_from = _get_keep_from(lake, con, rules)
    expired, expired_paths = _get_expired(lake, keep_from)
    late = sorted(
        p
        for p in set(new.column("key_period").to_pylist())
        if keep_from and _month_end(p) < keep_from
    )
    if late:  # taps that arrive after their month's retention are not kept either
        before = new.num_rows
        new = new.filter(pc.invert(pc.is_in(new.column("key_period"), pa.array(late))))
        summary.taps_past_retention = before - new.num_rows
        con.register("_new", new)
    summary.rows_read = sum(b.rows_read for b in batches)
    summary.taps_stored = new.num_rows
    summary.duplicates_skipped = (
        sum(len(b.taps) for b in batches) - new.num_rows - summary.taps_past_retention
    )
    summary.pseudonyms = len(set(new.column("pseudonym").to_pylist()))
    summary.key_periods = sorted(set(new.column("key_period").to_pylist()))
    summary.key_periods_deleted = expired
    added = _write_partitioned(lake, "taps", new, batch_id)
    kept = sorted({f.partition["key_period"] for f in lake.get_files("taps")} - set(expired))
    con.execute(
        f"CREATE VIEW _all AS {scan_sql(lake, 'taps', key_period=kept)} UNION ALL SELECT * FROM _new"
    )
    counts = hold_small_changes(
        compute_public_counts(
            compute_station_counts(
                con, "_all", period_minutes=rules.period_minutes, timezone=rules.timezone
            ),
            k=rules.k,
        ),
        read_public_counts(lake),
        keys=COUNT_KEYS,
        column="taps",
        k=rules.k,
    )
    flows = hold_small_changes(
        compute_public_flows(
            compute_od_flows(
                con, "_all", timezone=rules.timezone, max_trip_minutes=MAX_TRIP_MINUTES
            ),
            k=rules.k,
        ),
        read_public_flows(lake),
        keys=FLOW_KEYS,
        column="trips",
        k=rules.k,
    )
    summary.count_cells, summary.count_cells_suppressed = len(counts), int(counts.suppressed.sum())
    if rules.station_counts == "noised":  # noised releases only: the stations are public
        counts = counts.assign(taps=pd.NA, suppressed=True)
        summary.count_cells_suppressed = len(counts)
    summary.flow_cells, summary.flow_cells_suppressed = len(flows), int(flows.suppressed.sum())
    added += [
        _write_snapshot(lake, t, f, batch_id)
        for t, f in (("tap_counts", counts), ("tap_flows", flows))
    ]
    removed = lake.get_paths_relative("tap_counts") + lake.get_paths_relative("tap_flows")
    removed += expired_paths
    rejects = [r for b in batches for r in b.rejects]
    summary.quarantined = dict(Counter(str(r["reason"]) for r in rejects))
    if rejects:
        added.append(stage_rejects(lake, rejects, batch_id))
    info = {
        "sources": sources,
        "taps": new.num_rows,
        "quarantine": len(rejects),
        "deleted": expired,
    }
    lake.commit(Commit(OPERATION, batch_id, added, removed, info))
    return counts


def _get_keep_from(lake: Lake, con, rules: TapRules) -> date | None:  # type: ignore[no-untyped-def]
    """The first day whose month's taps are kept: retention counted to the newest tap."""
    if rules.retention_days is None:
        return None
    newest = _get_newest_day(con, f"{scan_sql(lake, 'taps')} UNION ALL SELECT * FROM _new")
    return newest - timedelta(days=rules.retention_days) if newest else None


def _new_taps(lake: Lake, con, batches: list[TapBatch], batch_id: str, rules: TapRules) -> pa.Table:  # type: ignore[no-untyped-def]
    """The batches' taps not stored yet, their times coarsened to their bucket, typed
    as the taps table."""
    frame = pd.concat([b.taps for b in batches], ignore_index=True)
    frame["batch_id"] = batch_id
    con.register("_exact", _conform(frame, "taps"))
    zone, step = quote_sql_text(rules.timezone), int(rules.tap_minutes)
    bucket = f"timezone({zone}, time_bucket(INTERVAL '{step} minutes', timezone({zone}, ts)))"
    con.execute(f"CREATE VIEW _incoming AS SELECT * REPLACE ({bucket} AS ts) FROM _exact")
    periods = sorted(frame["key_period"].unique())
    key = "pseudonym, ts, direction, coalesce(station, '')"
    existing = scan_sql(lake, "taps", key_period=periods)
    same = (
        " AND ".join(f"i.{c} = e.{c}" for c in ("pseudonym", "ts", "direction"))
        + " AND coalesce(i.station, '') = coalesce(e.station, '')"
    )
    return (
        con.sql(
            f"""SELECT i.* FROM (SELECT * FROM _incoming
                             QUALIFY row_number() OVER (PARTITION BY {key}) = 1) i
        ANTI JOIN ({existing}) e ON {same}"""
        )
        .to_arrow_table()
        .cast(get_network_schema("taps"))
    )


def _publish_sites_and_observations(
    lake: Lake, counts: pd.DataFrame, mapping: TapMapping, summary: TapIngestSummary
) -> None:
    stations = counts[["site_id", "station"]].drop_duplicates("site_id")
    if stations.empty:
        return
    upsert_sites(lake, _build_sites(stations, mapping))
    shown = counts[~counts.suppressed]
    metric = shown.direction.map({"entry": "entries", "exit": "exits"})
    observations = pd.DataFrame(
        {
            "site_id": shown.site_id,
            "metric": metric,
            "ts": shown.period_start,
            "value": shown.taps.astype(float),
            "unit": "taps/" + shown.period_minutes.astype(str) + "min",
        }
    )
    if len(observations):
        table = pa.Table.from_pandas(observations, preserve_index=False)
        stored, _ = append_observations(lake, table, operation="tap_counts")
        summary.observations_stored = stored


def _build_sites(stations: pd.DataFrame, mapping: TapMapping) -> pa.Table:
    from pypinyin import lazy_pinyin

    rows = [
        {
            "site_id": site_id,
            "kind": "metro_station",
            "name_zh": name,
            "name_en": "".join(lazy_pinyin(name)).title(),
            "attributes": json.dumps({"source": "smart-card taps", "network": mapping.site_prefix}),
            "synthetic": False,
        }
        for site_id, name in zip(stations.site_id, stations.station, strict=True)
    ]
    return pa.Table.from_pylist(rows)


def _conform(frame: pd.DataFrame, table: str) -> pa.Table:
    schema = get_network_schema(table)
    data = pa.Table.from_pandas(frame, preserve_index=False)
    columns = [
        data.column(f.name).cast(f.type)
        if f.name in data.column_names
        else pa.nulls(len(frame), f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _write_snapshot(lake: Lake, table: str, frame: pd.DataFrame, batch_id: str) -> LakeFile:
    return write_table_file(lake, table, _conform(frame, table), batch_id=batch_id)


def _write_partitioned(lake: Lake, table: str, data: pa.Table, batch_id: str) -> list[LakeFile]:
    """One file per key period, so a month's taps can be read (or erased) on their own."""
    files = []
    for period in sorted(set(data.column("key_period").to_pylist())):
        part = data.filter(pa.compute.equal(data.column("key_period"), period))
        relative = f"{table}/key_period={period}/{batch_id}.parquet"
        staged = lake.staging_dir(batch_id) / relative
        staged.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, staged, compression="zstd")
        lake.place_file(staged, relative)
        files.append(LakeFile(table, relative, part.num_rows, partition_of(relative)))
    return files
