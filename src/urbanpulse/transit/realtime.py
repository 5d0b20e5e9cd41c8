"""GTFS-Realtime in: one feed snapshot into the lake, resolved against its static network.

A snapshot (one ``FeedMessage``, decoded with the official ``gtfs-realtime-bindings``)
is read against a network loaded with ``urbanpulse transit load``:

- TripUpdates: each stop time update is a prediction of its trip, kept in
  ``realtime_predictions`` per (trip, stop, event, scheduled time) as versions: a newer
  snapshot that changes the delay adds a version with its feed time (the newest is the
  prediction in force, the older ones stay as history), one that repeats it adds
  nothing. Each also becomes ``arrival_delay`` and/or ``departure_delay`` observations
  (seconds, see :mod:`urbanpulse.catalog.metrics`) of the stop's site, stamped at the
  stop's scheduled time: the stop's series holds the first value heard for a time. The
  delay is the feed's own ``delay``, else its predicted ``time`` minus its
  ``scheduled_time``, else the predicted time minus the static schedule
  (``trip_stops``) on the trip's service day.
- VehiclePositions: every position is kept in ``realtime_vehicles``; its
  ``occupancy_status`` and ``occupancy_percentage`` become observations of the stop
  the vehicle is at (``stop_id``, else ``current_stop_sequence`` on its trip, else the
  nearest stop of its trip, or of the network, within ``NEAREST_STOP_METRES``).
- Alerts: kept in ``realtime_alerts`` with cause, effect, texts, active period and the
  lines and sites they inform.

An entity that cannot be resolved (a trip or stop the static feed does not know, a stop
time update with no time to measure) goes to quarantine with the feed, its position
(entity index) and the reason. The snapshot's SHA-256 is its key: reading the same
bytes again stores nothing; an observation key (site, metric, ts) the lake already
holds (a later snapshot repeating a prediction) is counted as ``already_stored``.

Tables (types in ``urbanpulse.store.engine.SCHEMAS``): realtime_snapshots (one row per
snapshot read: snapshot_id, network_id, source, feed_ts, counts, read_at),
realtime_alerts (snapshot_id, network_id, alert_id, feed_ts, cause, effect, header,
description, url, active_start, active_end, line_ids, site_ids and agency_ids as JSON
lists), realtime_vehicles (snapshot_id, network_id, entity_id, vehicle_id, trip_id,
line_id, site_id, ts, lat, lon, bearing, speed, occupancy_status (enum name),
occupancy_percentage), realtime_predictions (snapshot_id, network_id, trip_id, site_id,
event, scheduled_ts, delay_s, feed_ts).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow as pa

from urbanpulse.catalog.metrics import METRICS
from urbanpulse.errors import SourceError
from urbanpulse.store.lake import Commit, Lake, LakeFile, new_batch_id
from urbanpulse.store.quarantine import build_reject, stage_rejects
from urbanpulse.store.queries import read_file_rows, read_observation_keys, read_rows
from urbanpulse.store.tables import write_table_file
from urbanpulse.store.writes import stage_new_observations
from urbanpulse.transit.realtime_index import NetworkIndex, read_network_index

__all__ = [
    "RealtimeSummary",
    "UnreadableSnapshotError",
    "decode_feed",
    "quarantine_snapshot",
    "read_realtime_feed",
    "read_realtime_feeds",
]

KINDS = ("stop_time_updates", "vehicle_positions", "alerts")
# An occupancy_percentage above this is taken for a feed error, not crowding: GTFS-RT
# lets it pass 100 for an overloaded vehicle, and crush loads reach about twice the
# rated load at most; one agency's feed sent 320-520 %.
MAX_OCCUPANCY_PERCENT = 250
# Snapshots of a folder replay committed together: each commit costs about as much as
# reading tens of snapshots, and a crash re-reads at most this many.
SNAPSHOTS_PER_COMMIT = 250


@dataclass
class RealtimeSummary:
    """What one snapshot held and what became of it.

    ``trip_updates``, ``stop_time_updates``, ``vehicle_positions`` and ``alerts`` count
    the decoded entities; ``stored``, ``already_stored`` and ``quarantined`` count them
    per kind (a stop time update is stored when one of its delays is new; one whose
    delays the lake already holds is already stored), so per kind they add up to the
    decoded count. ``observations`` counts observation rows written.
    """

    source: str
    network_id: str
    snapshot_id: str
    feed_ts: datetime | None = None
    already_read: bool = False
    trip_updates: int = 0
    stop_time_updates: int = 0
    vehicle_positions: int = 0
    alerts: int = 0
    observations: int = 0
    stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    already_stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    quarantined: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    reasons: dict[str, int] = field(default_factory=dict)
    # Values kept aside from entities that are stored (an implausible occupancy).
    values_quarantined: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values, with totals of stored and quarantined."""
        body = asdict(self)
        body["feed_ts"] = self.feed_ts.isoformat() if self.feed_ts else None
        body["stored_total"] = sum(self.stored.values())
        body["quarantined_total"] = sum(self.quarantined.values()) + self.values_quarantined
        return body


class UnreadableSnapshotError(SourceError):
    """The bytes are not a full GTFS-Realtime snapshot (the file is at fault, not the
    lake or the network), so a folder reader quarantines it and goes on."""


def decode_feed(data: bytes, source: str) -> Any:
    """A ``FeedMessage`` from protobuf bytes.

    Raises
    ------
    UnreadableSnapshotError
        When the bytes are not a GTFS-Realtime FeedMessage, or are a DIFFERENTIAL one.
    """
    from google.protobuf.message import DecodeError
    from google.transit import gtfs_realtime_pb2

    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise UnreadableSnapshotError(f"{source} is not a GTFS-Realtime feed: {exc}") from None
    if not message.HasField("header"):
        raise UnreadableSnapshotError(f"{source} is not a GTFS-Realtime feed: it has no header")
    if message.header.incrementality == gtfs_realtime_pb2.FeedHeader.DIFFERENTIAL:
        # A differential message holds only what changed since an earlier one; read
        # as a whole snapshot it would pass for the full state of the network.
        raise UnreadableSnapshotError(
            f"{source} is a DIFFERENTIAL GTFS-Realtime feed; only FULL_DATASET snapshots are read"
        )
    return message


def read_realtime_feed(
    lake: Lake, data: bytes, *, source: str, network_id: str | None = None
) -> RealtimeSummary:
    """Read one GTFS-Realtime snapshot into the lake (see the module docstring).

    ``network_id`` names the static network to resolve against; without it, the lake
    must hold exactly one GTFS network.

    Returns
    -------
    RealtimeSummary
        Counts of what the snapshot held, stored and quarantined.

    Raises
    ------
    UnreadableSnapshotError
        When the bytes are not a full GTFS-Realtime snapshot.
    """
    message = decode_feed(data, source)
    return _read_batch(lake, [(source, data, message)], network_id)[0]


def read_realtime_feeds(
    lake: Lake,
    snapshots: Iterable[tuple[str, bytes]],
    *,
    network_id: str | None = None,
    on_unreadable: Callable[[UnreadableSnapshotError], None] | None = None,
    per_commit: int = SNAPSHOTS_PER_COMMIT,
) -> Iterator[RealtimeSummary]:
    """Read many snapshots, (source, bytes) in order, ``per_commit`` to a commit: a
    replay of a folder costs one commit per batch instead of one per file.

    Each snapshot is judged as :func:`read_realtime_feed` judges it, in order, against
    the lake and the snapshots before it in its batch (a prediction revised in the next
    snapshot is a new version; a snapshot seen twice is read once). A crash loses no
    more than the batch it was in, which is read again on the next run, and stores
    nothing twice. An unreadable snapshot is quarantined by its hash, reported through
    ``on_unreadable``, and the rest is read.

    Yields
    ------
    RealtimeSummary
        One per readable snapshot, in order, once its batch is committed.
    """
    batch: list[tuple[str, bytes, Any]] = []
    for source, data in snapshots:
        try:
            message = decode_feed(data, source)
        except UnreadableSnapshotError as exc:
            yield from _read_batch(lake, batch, network_id)
            batch = []
            quarantine_snapshot(lake, data, source=source, reason=str(exc))
            if on_unreadable is not None:
                on_unreadable(exc)
            continue
        batch.append((source, data, message))
        if len(batch) >= per_commit:
            yield from _read_batch(lake, batch, network_id)
            batch = []
    yield from _read_batch(lake, batch, network_id)


def _read_batch(
    lake: Lake, batch: list[tuple[str, bytes, Any]], network_id: str | None
) -> list[RealtimeSummary]:
    """Decoded snapshots, judged in order and stored in one commit."""
    if not batch:
        return []
    index = read_network_index(lake, network_id)
    readings = []
    for source, data, message in batch:
        summary = RealtimeSummary(source, index.network_id, hashlib.sha256(data).hexdigest())
        header_ts = int(message.header.timestamp or 0)
        summary.feed_ts = datetime.fromtimestamp(header_ts, UTC) if header_ts else None
        reading = _Reading(index, source, summary)
        for position, entity in enumerate(message.entity):
            reading.add_entity(position, entity, header_ts)
        readings.append(reading)
    with lake.write_lock():
        read_before = get_snapshot_index(lake).read(lake)
        # The stored versions, and the ones this batch adds as it goes (looked up first).
        stored = get_prediction_index(lake).read(lake)
        added: dict[tuple[Any, ...], tuple[datetime, float]] = {}
        held = _get_held_keys(lake, [row for r in readings for row in r.observations])
        taken: set[str] = set()
        kept = []
        for reading in readings:
            summary = reading.summary
            if summary.snapshot_id in taken or (summary.snapshot_id, summary.network_id) in read_before:  # fmt: skip
                _as_read_before(summary)
                continue
            taken.add(summary.snapshot_id)
            reading.classify_predictions(added, stored)
            for p in reading.predictions:
                key = (summary.network_id, p["trip_id"], p["site_id"], p["event"], p["scheduled_ts"])  # fmt: skip
                added[key] = (p["feed_ts"], p["delay_s"])
            reading.classify_observations(held)
            kept.append(reading)
        if kept:
            _commit(lake, kept)
    return [r.summary for r in readings]


class _Reading:
    """Rows built from one snapshot before they are stored."""

    def __init__(self, index: NetworkIndex, source: str, summary: RealtimeSummary) -> None:
        self.index, self.source, self.summary = index, source, summary
        self.observations: list[dict[str, Any]] = []  # each with the owner's kind and id
        self.quarantine: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.vehicles: list[dict[str, Any]] = []
        self.predictions: list[dict[str, Any]] = []
        self.owners: dict[tuple[str, int], str] = {}  # (kind, owner) -> state

    def add_entity(self, position: int, entity: Any, header_ts: int) -> None:
        if entity.HasField("trip_update"):
            self.summary.trip_updates += 1
            self._add_trip_update(position, entity, header_ts)
        if entity.HasField("vehicle"):
            self.summary.vehicle_positions += 1
            self._add_vehicle(position, entity, header_ts)
        if entity.HasField("alert"):
            self.summary.alerts += 1
            self.alerts.append(self.index.build_alert(entity, self.summary, header_ts))
            self.summary.stored["alerts"] += 1

    def reject(self, kind: str, position: int, column: str, reason: str, raw: Any) -> None:
        from google.protobuf.json_format import MessageToDict

        text = json.dumps(MessageToDict(raw), ensure_ascii=False, separators=(",", ":"))
        self.quarantine.append(
            {
                "source": self.source,
                "line": position,
                "column_name": column,
                "reason": reason,
                "raw": text[:4000],
            }
        )
        self.summary.quarantined[kind] += 1
        self.summary.reasons[reason] = self.summary.reasons.get(reason, 0) + 1

    def reject_value(self, position: int, column: str, reason: str, raw: Any) -> None:
        """Keep one value of an entity that is otherwise stored aside, with the reason."""
        self.reject("vehicle_positions", position, column, reason, raw)
        self.summary.quarantined["vehicle_positions"] -= 1  # the entity itself is stored
        self.summary.values_quarantined += 1

    def _add_trip_update(self, position: int, entity: Any, header_ts: int) -> None:
        update = entity.trip_update
        updates = list(update.stop_time_update)
        self.summary.stop_time_updates += len(updates)
        trip_id = update.trip.trip_id
        trip = self.index.trips.get(trip_id)
        for number, stop in enumerate(updates):
            column = f"trip_update.stop_time_update[{number}]"
            if trip is None:
                reason = _trip_reason(update.trip)
                self.reject("stop_time_updates", position, f"{column}.trip.trip_id", reason, entity)
                continue
            site_id = self.index.get_stop_site(trip_id, stop.stop_id, stop.stop_sequence)
            if site_id is None:
                reason = "unknown stop" if stop.stop_id else "unknown stop_sequence on its trip"
                self.reject("stop_time_updates", position, f"{column}.stop_id", reason, entity)
                continue
            rows = self.index.build_delays(trip_id, stop, site_id, update, header_ts)
            if not rows:
                reason = _no_time_reason(stop, update)
                self.reject("stop_time_updates", position, column, reason, entity)
                continue
            owner = len(self.owners)
            self.owners[("stop_time_updates", owner)] = "pending"
            for row in rows:  # fresh rows: marked in place, not copied
                row["_kind"], row["_owner"] = "stop_time_updates", owner
            self.observations += rows

    def _add_vehicle(self, position: int, entity: Any, header_ts: int) -> None:
        vehicle = entity.vehicle
        trip_id = vehicle.trip.trip_id if vehicle.HasField("trip") else ""
        if trip_id and trip_id not in self.index.trips:
            reason = _trip_reason(vehicle.trip)
            self.reject("vehicle_positions", position, "vehicle.trip.trip_id", reason, entity)
            return
        site_id = self.index.get_vehicle_site(trip_id, vehicle)
        has_status = vehicle.HasField("occupancy_status")
        has_share = vehicle.HasField("occupancy_percentage")
        if (has_status or has_share) and site_id is None:
            reason = "no stop to place the vehicle's occupancy at"
            self.reject("vehicle_positions", position, "vehicle.stop_id", reason, entity)
            return
        row = self.index.build_vehicle(entity, trip_id, site_id, header_ts)
        if has_share and vehicle.occupancy_percentage > MAX_OCCUPANCY_PERCENT:
            # The position stands; the value is kept aside, never stored as crowding.
            reason = (
                f"occupancy_percentage {vehicle.occupancy_percentage} beyond the plausible "
                f"{MAX_OCCUPANCY_PERCENT} %"
            )
            self.reject_value(position, "vehicle.occupancy_percentage", reason, entity)
            has_share = False
            row["occupancy_percentage"] = None
        self.vehicles.append(row)
        owner = len(self.owners)
        self.owners[("vehicle_positions", owner)] = "pending"
        ts = row["ts"]
        for metric, value, present in (
            ("occupancy_status", float(vehicle.occupancy_status), has_status),
            ("occupancy_percentage", float(vehicle.occupancy_percentage), has_share),
        ):
            if present and ts is not None:
                self.observations.append(
                    {
                        "site_id": site_id,
                        "metric": metric,
                        "ts": ts,
                        "value": value,
                        "unit": METRICS[metric].unit,
                        "_kind": "vehicle_positions",
                        "_owner": owner,
                    }
                )
        if not (has_status or has_share):
            self.owners[("vehicle_positions", owner)] = "stored"  # a position alone

    def classify_predictions(
        self,
        added: Mapping[tuple[Any, ...], tuple[datetime, float]],
        stored: Mapping[tuple[Any, ...], tuple[datetime, float]],
    ) -> None:
        """Keep each trip's prediction that is new or changed since its latest version
        (key -> (feed time, delay): ``added`` earlier in this batch, else ``stored``
        in the lake) and settle the stop time
        updates: stored when any of their predictions is a new version, else already
        stored. A prediction older than the stored one is not a correction."""
        feed_ts = self.summary.feed_ts or datetime.now(UTC)
        network = self.summary.network_id
        chosen: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in self.observations:
            if row["_kind"] != "stop_time_updates":
                continue
            key = (network, row["trip_id"], row["site_id"], row["event"], row["ts"])
            chosen[key] = row  # the last of one snapshot's repeats
        for key, row in chosen.items():
            known = added.get(key)
            if known is None:
                known = stored.get(key)
            owner = (row["_kind"], row["_owner"])
            if known is not None and (known[0] >= feed_ts or known[1] == row["value"]):
                if self.owners[owner] == "pending":
                    self.owners[owner] = "held"
                continue
            self.predictions.append(
                {"trip_id": row["trip_id"], "site_id": row["site_id"], "event": row["event"],
                 "scheduled_ts": row["ts"], "delay_s": row["value"], "feed_ts": feed_ts}
            )  # fmt: skip
            self.owners[owner] = "stored"

    def classify_observations(self, held: set[tuple[str, str, datetime]]) -> None:
        """Drop observations whose key is ``held`` (in the lake, or earlier in this
        snapshot or its batch: kept keys are added to it) and settle each vehicle
        position as stored or already stored.

        A stop's delay series holds the first prediction heard for each scheduled time
        (two trips at one stop and second share it); every trip's every revision is in
        ``realtime_predictions``, which settled the stop time updates."""
        kept, seen = [], held
        for row in self.observations:
            key = (row["site_id"], row["metric"], row["ts"])
            owner = (row["_kind"], row["_owner"])
            decides = row["_kind"] != "stop_time_updates"
            if key in seen:
                if decides and self.owners[owner] == "pending":
                    self.owners[owner] = "held"
                continue
            seen.add(key)
            kept.append(row)
            if decides:
                self.owners[owner] = "stored"
        self.observations = kept
        self.summary.observations = len(kept)
        for (kind, _), state in self.owners.items():
            target = self.summary.stored if state == "stored" else self.summary.already_stored
            target[kind] += 1


def _trip_reason(trip: Any) -> str:
    relation = trip.schedule_relationship
    names = {1: "ADDED", 2: "UNSCHEDULED", 3: "CANCELED", 5: "REPLACEMENT", 6: "DUPLICATED"}
    if not trip.trip_id:
        return "trip without trip_id"
    if relation in names:
        return f"trip not in the static feed ({names[relation]})"
    return "unknown trip"


def _no_time_reason(stop: Any, update: Any) -> str:
    if update.trip.schedule_relationship == 3:
        return "trip canceled: no time to measure"
    if stop.schedule_relationship == 1:
        return "stop skipped and no scheduled time"
    if stop.schedule_relationship == 2:
        return "no data for this stop (NO_DATA)"
    return "no delay, and no scheduled time to measure the predicted time against"


def _get_held_keys(lake: Lake, rows: list[dict[str, Any]]) -> set[tuple[str, str, datetime]]:
    if not rows:
        return set()
    stamps = [r["ts"] for r in rows]
    return read_observation_keys(
        lake, sorted({r["metric"] for r in rows}), min(stamps), max(stamps)
    )


def quarantine_snapshot(lake: Lake, data: bytes, *, source: str, reason: str) -> bool:
    """Keep a snapshot that cannot be read in quarantine, once: its SHA-256, size and
    first bytes (the file itself stays where it was), with the source and the reason.

    Returns
    -------
    bool
        False when the same bytes from the same source were quarantined before.
    """
    digest = hashlib.sha256(data).hexdigest()
    raw = f"sha256={digest} bytes={len(data)} head={data[:48].hex()}"
    with lake.write_lock():
        if lake.get_files("quarantine"):
            held = read_rows(lake, "quarantine", ("source", "=", source), ("raw", "=", raw))
            if not held.empty:
                return False
        batch_id = new_batch_id()
        written = stage_rejects(
            lake, [build_reject(source, None, "snapshot", reason, raw)], batch_id
        )
        details = {"source": source, "observations": 0, "quarantine": 1}
        lake.commit(Commit("gtfs_realtime", batch_id, [written], [], details))
    return True


class StoredFileIndex:
    """What a table of the lake holds, kept per process and grown file by file.

    Asking a stored table afresh for every snapshot scanned every file of it, so a
    replay slowed with each snapshot stored (54 ms at 10 files, 382 ms at 1,624).
    Parquet files of a lake never change once written, so an index reads each live file
    once and afterwards only the files committed since: the thousandth snapshot costs
    what the first did. A compaction's rewritten files are read once more (their rows
    are the same); a file removed leaves its rows in the index, which is right for what
    it records (a snapshot read stays read, a prediction seen stays seen).
    Subclasses name the ``table``, the ``columns`` to read and how rows ``_absorb``.
    """

    table = ""
    columns: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: set[str] = set()

    def _refresh(self, lake: Lake) -> None:
        """Read the files committed since the last call (under the caller's lock)."""
        new = [p for p in lake.get_paths(self.table) if p not in self._files]
        if new:
            self._absorb(read_file_rows(new, self.columns))
            self._files.update(new)

    def add_written(self, lake: Lake, written: LakeFile, rows: list[dict[str, Any]]) -> None:
        """Take in a file this process has just committed from the rows it wrote,
        instead of reading it back (a replay's every batch would read its own writes).
        Taking in a file twice changes nothing: both indexes keep the newest."""
        with self._lock:
            self._absorb_written(rows)
            self._files.add(str(lake.root / written.path))

    def _absorb(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def _absorb_written(self, rows: list[dict[str, Any]]) -> None:
        self._absorb([tuple(row[c] for c in self.columns) for row in rows])


class SnapshotIndex(StoredFileIndex):
    """Which (snapshot, network) pairs the lake has read."""

    table = "realtime_snapshots"
    columns = ("snapshot_id", "network_id")

    def __init__(self) -> None:
        super().__init__()
        self._read: set[tuple[str, str]] = set()

    def read(self, lake: Lake) -> set[tuple[str, str]]:
        """The (snapshot_id, network_id) pairs stored in the lake."""
        with self._lock:
            self._refresh(lake)
            return self._read

    def _absorb(self, rows: list[tuple[Any, ...]]) -> None:
        self._read.update((str(a), str(b)) for a, b in rows)


class PredictionIndex(StoredFileIndex):
    """The latest stored version of every trip's prediction: key (network, trip, site,
    event, scheduled time) -> (feed time, delay)."""

    table = "realtime_predictions"
    columns = ("network_id", "trip_id", "site_id", "event", "scheduled_ts", "feed_ts", "delay_s")

    def __init__(self) -> None:
        super().__init__()
        self._latest: dict[tuple[Any, ...], tuple[datetime, float]] = {}

    def read(self, lake: Lake) -> dict[tuple[Any, ...], tuple[datetime, float]]:
        """The index, brought up to the lake's stored versions."""
        with self._lock:
            self._refresh(lake)
            return self._latest

    def _absorb(self, rows: list[tuple[Any, ...]]) -> None:
        for network, trip, site, event, scheduled, feed, delay in rows:
            key = (network, trip, site, event, scheduled.astimezone(UTC))
            known = self._latest.get(key)
            if known is None or known[0] <= feed:
                self._latest[key] = (feed, delay)

    def _absorb_written(self, rows: list[dict[str, Any]]) -> None:
        # Rows this process built: their times are UTC already, so no conversion.
        latest = self._latest
        for row in rows:
            key = (row["network_id"], row["trip_id"], row["site_id"], row["event"], row["scheduled_ts"])  # fmt: skip
            known, feed = latest.get(key), row["feed_ts"]
            if known is None or known[0] <= feed:
                latest[key] = (feed, row["delay_s"])


IndexT = TypeVar("IndexT", bound=StoredFileIndex)
_INDEXES: dict[tuple[Path, type], StoredFileIndex] = {}
_INDEXES_LOCK = threading.Lock()


def _get_index(lake: Lake, kind: type[IndexT]) -> IndexT:
    """The process's index of ``kind`` over a lake (one per lake folder)."""
    with _INDEXES_LOCK:
        return cast(IndexT, _INDEXES.setdefault((Path(lake.root).resolve(), kind), kind()))


def get_snapshot_index(lake: Lake) -> SnapshotIndex:
    """The process's :class:`SnapshotIndex` of a lake."""
    return _get_index(lake, SnapshotIndex)


def get_prediction_index(lake: Lake) -> PredictionIndex:
    """The process's :class:`PredictionIndex` of a lake."""
    return _get_index(lake, PredictionIndex)


def _as_read_before(summary: RealtimeSummary) -> RealtimeSummary:
    summary.already_read = True
    for counts in (summary.stored, summary.already_stored, summary.quarantined):
        for kind in counts:
            counts[kind] = 0
    summary.reasons = {}
    return summary


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    from urbanpulse.store.networks import get_network_schema

    schema = get_network_schema(name)
    # Column by column: a replay's batch holds hundreds of thousands of rows.
    columns = {c: [r.get(c) for r in rows] for c in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def _commit(lake: Lake, readings: list[_Reading]) -> None:
    """The rows of judged snapshots in one commit, each snapshot's row among them."""
    batch_id = new_batch_id()
    files: list[LakeFile] = []
    observations = [row for r in readings for row in r.observations]
    if observations:
        columns = ("site_id", "metric", "ts", "value", "unit")
        data = pa.Table.from_pydict({c: [r[c] for r in observations] for c in columns})
        files += stage_new_observations(lake, data, batch_id=batch_id)
    stamp = datetime.now(UTC)
    quarantine = [row for r in readings for row in r.quarantine]
    if quarantine:
        files.append(stage_rejects(lake, quarantine, batch_id))
    indexed: list[tuple[StoredFileIndex, LakeFile, list[dict[str, Any]]]] = []
    for name in ("realtime_alerts", "realtime_vehicles", "realtime_predictions"):
        rows = []
        for r in readings:
            own = getattr(r, name.removeprefix("realtime_"))
            for row in own:  # the reading's own rows: marked in place, not copied
                row["snapshot_id"], row["network_id"] = r.summary.snapshot_id, r.summary.network_id  # fmt: skip
            rows += own
        if rows:
            files.append(write_table_file(lake, name, _table(name, rows), batch_id=batch_id))
            if name == "realtime_predictions":
                indexed.append((get_prediction_index(lake), files[-1], rows))
    snapshots = [_build_snapshot_row(r.summary, stamp) for r in readings]
    table = _table("realtime_snapshots", snapshots)
    files.append(write_table_file(lake, "realtime_snapshots", table, batch_id=batch_id))
    indexed.append((get_snapshot_index(lake), files[-1], snapshots))
    first, last = readings[0].summary.source, readings[-1].summary.source
    details = {
        "source": first if first == last else f"{first} .. {last}",
        "snapshots": len(readings),
        "network_id": readings[0].summary.network_id,
        "observations": len(observations),
        "quarantine": len(quarantine),
    }
    lake.commit(Commit("gtfs_realtime", batch_id, files, [], details))
    for index, written, rows in indexed:
        index.add_written(lake, written, rows)


def _build_snapshot_row(summary: RealtimeSummary, stamp: datetime) -> dict[str, Any]:
    return {
        "snapshot_id": summary.snapshot_id,
        "network_id": summary.network_id,
        "source": summary.source,
        "feed_ts": summary.feed_ts,
        **{k: getattr(summary, k) for k in ("trip_updates", "stop_time_updates")},
        **{k: getattr(summary, k) for k in ("vehicle_positions", "alerts")},
        "stored": sum(summary.stored.values()),
        "quarantined": sum(summary.quarantined.values()) + summary.values_quarantined,
        "read_at": stamp,
    }
