"""The Parquet lake: tables as Parquet files, made visible only by an append-only commit log.

Why a commit log: a query must never see half of an ingest. Writers put new files in
place first and then publish them with one atomic step, the creation of the next
``_log/NNNNNNNNNN.json`` entry. Readers list live files from the log, never by globbing,
so files of an ingest killed before its commit stay invisible (``vacuum`` removes them)
and a re-run simply does the work again.

Layout::

    <root>/_log/0000000001.json          one entry per commit: files added and removed
    <root>/_log/0000000100.checkpoint.json   the live files as of version 100 (see below)
    <root>/_log/_last_checkpoint         {"version": 100}: where opening starts
    <root>/_lock                         advisory write lock (one writer at a time)
    <root>/_id                           the lake's stable random id (see Lake.get_id)
    <root>/_staging/<batch>/...          files being written, not yet moved in place
    <root>/observations/metric=<m>/month=<YYYY-MM>/<batch>_<n>.parquet
    <root>/quarantine/<batch>.parquet
    <root>/sites/<batch>.parquet          one snapshot file, replaced on each change
    <root>/indicators/<batch>.parquet
    <root>/lines/network_id=<id>/<batch>.parquet   and the other network tables
    <root>/rollups_hourly/metric=<m>/month=<YYYY-MM>/layer=<live|archive>/<batch>.parquet
                                          and rollups_daily: see urbanpulse.store.maintenance
    <root>/retired_keys/metric=<m>/month=<YYYY-MM>/<batch>.parquet   keys of removed raw rows

Checkpoints: every ``checkpoint_interval`` versions the writer that claims the version
also writes the live file list as of it, as Delta Lake does, so opening a lake reads the
latest checkpoint and the few entries after it instead of replaying all history. A
checkpoint is written to a temporary file and renamed into place, and carries a checksum
of its content: one that cannot be read whole is ignored (the previous one, or a full
replay, is used), since the log entries stay the truth and are never deleted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from urbanpulse.errors import LakeError, LakeLockedError

# Transit networks (one partition folder per network) sit beside the observations.
NETWORK_TABLES = (
    "networks",
    "lines",
    "line_stops",
    "line_service",
    "transfers",
    "service_days",
    "trips",
    "trip_stops",
    "trip_frequencies",
    "service_dates",
)
# Smart-card taps (pseudonymised) and the public tables derived from them: urbanpulse.privacy.
TAP_TABLES = ("taps", "tap_counts", "tap_flows")
# GTFS-Realtime snapshots read, the alerts and vehicle positions they held: urbanpulse.transit.realtime.
REALTIME_TABLES = (
    "realtime_snapshots",
    "realtime_alerts",
    "realtime_vehicles",
    "realtime_predictions",
)
# Hourly and daily aggregates of observations, kept after raw ones age out.
ROLLUP_TABLES = ("rollups_hourly", "rollups_daily")
TABLES = (
    "observations",
    "quarantine",
    "sites",
    "indicators",
    *NETWORK_TABLES,
    *TAP_TABLES,
    *REALTIME_TABLES,
    *ROLLUP_TABLES,
    "retired_keys",  # keys of raw rows retention removed: urbanpulse.store.retention
)
# Versions between two checkpoints of the live file list (Delta Lake also uses 100).
CHECKPOINT_INTERVAL = 100
# Refusals of the disk or the folder, told in one line instead of a traceback.
WRITE_FAILURES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


@dataclass(frozen=True, slots=True)
class LakeFile:
    """One live Parquet file of a table, with its partition values."""

    table: str
    path: str  # relative to the lake root, with forward slashes
    rows: int
    partition: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Commit:
    """What one atomic commit adds to and removes from the lake."""

    operation: str
    batch_id: str
    added: list[LakeFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def new_batch_id() -> str:
    """Return a sortable, unique id for a write batch."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:10]}"


def partition_of(relative_path: str) -> dict[str, str]:
    """Read hive-style ``key=value`` folders of a relative file path (URL-decoded, as
    DuckDB encodes characters such as spaces in partition folders)."""
    parts = relative_path.split("/")[1:-1]
    return dict(tuple(unquote(x) for x in p.split("=", 1)) for p in parts if "=" in p)  # type: ignore[misc]


class Lake:
    """A folder of Parquet tables with an atomic commit log.

    Parameters
    ----------
    root
        Folder of the lake; created on first write.
    checkpoint_interval
        Write a checkpoint of the live file list at every version that is a multiple of
        this (0: never); settings field ``lake_checkpoint_interval``.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, checkpoint_interval: int = CHECKPOINT_INTERVAL
    ) -> None:
        self.root = Path(root).resolve()
        self.checkpoint_interval = checkpoint_interval
        self._log_dir = self.root / "_log"
        self._seen_version = 0
        self._live: dict[str, dict[str, LakeFile]] = {t: {} for t in TABLES}
        # Entries replayed after the checkpoint the state started from (version
        # _base_version); the older ones are read from the log only when asked for.
        self._history: list[dict[str, Any]] = []
        self._base_version = 0
        self._early_history: list[dict[str, Any]] | None = None
        self._opened = False
        # API workers share one Lake across request threads; replaying the log must
        # not interleave.
        self._replay_lock = threading.Lock()

    # -- reading the log -------------------------------------------------------------

    def refresh(self) -> int:
        """Replay log entries not seen yet; return the current version."""
        with self._replay_lock:
            return self._replay()

    def _replay(self) -> int:
        if not self._opened:
            self._opened = True
            self._start_from_checkpoint()
        # Versions are claimed one after another with no gaps, so probing for the next
        # file costs one stat per call instead of listing the whole log folder.
        while True:
            path = self._log_dir / f"{self._seen_version + 1:010d}.json"
            try:
                text = path.read_text("utf-8")
            except FileNotFoundError:
                return self._seen_version
            self._apply(json.loads(text))
            self._seen_version += 1

    def _apply(self, entry: dict[str, Any]) -> None:
        for path in entry.get("removed", []):
            table = path.split("/", 1)[0]
            self._live.get(table, {}).pop(path, None)
        for item in entry.get("added", []):
            lake_file = LakeFile(item["table"], item["path"], item["rows"], item["partition"])
            self._live.setdefault(lake_file.table, {})[lake_file.path] = lake_file
        self._history.append(entry)

    def _start_from_checkpoint(self) -> None:
        checkpoint = read_checkpoint(self._log_dir)
        if checkpoint is None:
            return
        version, files = checkpoint
        for lake_file in files:
            self._live.setdefault(lake_file.table, {})[lake_file.path] = lake_file
        self._seen_version = self._base_version = version

    @property
    def checkpoint_version(self) -> int:
        """Version of the checkpoint this lake was opened from (0: replayed from the start)."""
        self.refresh()
        return self._base_version

    @property
    def version(self) -> int:
        """The last committed version (0 for an empty lake)."""
        return self.refresh()

    def get_files(self, table: str, **partition: str | list[str] | set[str]) -> list[LakeFile]:
        """Return the live files of a table, optionally only some partitions.

        ``get_files("observations", metric="pm25", month=["2013-03"])`` lists only the
        files of that metric and month: this is how a query touches only its files.
        """
        wanted = {
            key: {value} if isinstance(value, str) else set(value)
            for key, value in partition.items()
        }
        with self._replay_lock:  # request threads replay and read at the same time
            self._replay()
            files = list(self._live.get(table, {}).values())
        return [f for f in files if all(f.partition.get(k) in v for k, v in wanted.items())]

    def get_paths(self, table: str, **partition: str | list[str] | set[str]) -> list[str]:
        """Absolute paths of :meth:`get_files`, sorted for stable query plans."""
        return sorted(str(self.root / f.path) for f in self.get_files(table, **partition))

    def get_paths_relative(self, table: str) -> list[str]:
        """Relative paths of a table's live files, as the commit log names them."""
        return sorted(f.path for f in self.get_files(table))

    def get_history(self) -> list[dict[str, Any]]:
        """Every commit entry, oldest first.

        Entries from before the checkpoint the lake was opened from are read from the
        log on the first call (one file each, so it costs what opening without a
        checkpoint did) and kept.
        """
        with self._replay_lock:
            self._replay()
            if self._early_history is None:
                self._early_history = self._read_entries(1, self._base_version)
            return self._early_history + self._history

    def _read_entries(self, first: int, last: int) -> list[dict[str, Any]]:
        entries = []
        for version in range(first, last + 1):
            with contextlib.suppress(FileNotFoundError):
                entries.append(
                    json.loads((self._log_dir / f"{version:010d}.json").read_text("utf-8"))
                )
        return entries

    def get_id(self) -> str:
        """A stable id of this lake, for namespaces shared by several lakes (Redis keys).

        A random id kept in ``<root>/_id``, written on first use, so it survives moving
        the folder and two lakes with the same folder name never share it. A lake not
        created yet, or that cannot be written, is named by a hash of its absolute path.
        """
        path = self.root / "_id"
        with contextlib.suppress(FileNotFoundError):
            return path.read_text("utf-8").strip()
        try:
            tmp = self.root / f"._id.{uuid.uuid4().hex}.tmp"
            tmp.write_text(uuid.uuid4().hex, "utf-8")
            try:
                os.link(tmp, path)  # the first of racing workers wins; others read it
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
            return path.read_text("utf-8").strip()
        except OSError:
            return "path-" + hashlib.sha256(str(self.root).encode()).hexdigest()[:16]

    # -- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def write_lock(self, *, wait: bool = True) -> Iterator[None]:
        """Hold the lake's single-writer lock (released even if the process dies).

        Every write happens under it, so a full disk or a read-only folder met by any
        write inside raises one :class:`LakeError` naming the folder.
        """
        with self.naming_write_errors():
            self._make_private_root()
            with self._locked(wait=wait):
                yield

    def _make_private_root(self) -> None:
        """Create the lake folder readable by its owner alone (0700), whatever the
        umask: it holds pseudonymised smart-card taps and raw readings, which other
        users of the machine have no business reading. Files inside inherit the
        protection, as nobody else can enter the folder."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.root.stat().st_mode & 0o077:
            os.chmod(self.root, 0o700)

    @contextlib.contextmanager
    def naming_write_errors(self) -> Iterator[None]:
        """Turn a refusal of the disk or folder inside into one :class:`LakeError`, for
        work that writes outside the write lock (compaction and rollups stage there)."""
        try:
            yield
        except Exception as exc:
            reason = get_write_failure(exc)
            if reason is None:
                raise
            raise LakeError(f"cannot write to the lake at {self.root}: {reason}") from exc

    @contextlib.contextmanager
    def _locked(self, *, wait: bool) -> Iterator[None]:
        with open(self.root / "_lock", "a+") as handle:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(handle, flags)
            except BlockingIOError:
                raise LakeLockedError(f"another process is writing to {self.root}") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def staging_dir(self, batch_id: str) -> Path:
        """A private folder where a batch writes files before they are published."""
        path = self.root / "_staging" / batch_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def place_file(self, staged: Path, relative_path: str) -> None:
        """Move a staged file to its final place (still invisible until commit)."""
        target = self.root / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        _fsync_file(staged)
        os.replace(staged, target)

    def place_folder(self, staged: Path, relative_path: str) -> bool:
        """Move a staged folder of new files to its final place in one rename when the
        lake has no folder there yet (a new partition); False, moving nothing, when it
        has (its files are then placed one by one). Still invisible until commit."""
        target = self.root / relative_path
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        for path in staged.iterdir():
            _fsync_file(path)
        os.replace(staged, target)  # commit syncs the folder and the one holding it
        return True

    def commit(self, commit: Commit) -> int:
        """Publish a commit atomically and return its version.

        The entry is written to a temporary file and hard-linked to the next version
        number; ``link`` fails if that number exists, so two writers can never both
        claim one version.
        """
        self._log_dir.mkdir(parents=True, exist_ok=True)
        for lake_file in commit.added:
            if not (self.root / lake_file.path).is_file():
                raise LakeError(f"cannot commit missing file {lake_file.path}")
        # The files' folder entries reach the disk before the entry that publishes them,
        # and so do the entries of folders placed whole (place_folder) in their parent.
        folders = {(self.root / f.path).parent for f in commit.added}
        for folder in folders | {folder.parent for folder in folders}:
            _fsync_dir(folder)
        entry = {
            "operation": commit.operation,
            "batch_id": commit.batch_id,
            "committed_at": datetime.now(UTC).isoformat(),
            "added": [
                {"table": f.table, "path": f.path, "rows": f.rows, "partition": f.partition}
                for f in commit.added
            ],
            "removed": commit.removed,
            "info": commit.info,
        }
        tmp = self._log_dir / f".{commit.batch_id}.tmp"
        tmp.write_text(json.dumps(entry, ensure_ascii=False, default=str), "utf-8")
        _fsync_file(tmp)
        for _attempt in range(1000):
            version = self.refresh() + 1
            try:
                os.link(tmp, self._log_dir / f"{version:010d}.json")
            except FileExistsError:
                continue
            tmp.unlink()
            _fsync_dir(self._log_dir)
            self.refresh()
            shutil.rmtree(self.root / "_staging" / commit.batch_id, ignore_errors=True)
            if self.checkpoint_interval > 0 and version % self.checkpoint_interval == 0:
                # The commit stands without it: a checkpoint only saves replay time.
                with contextlib.suppress(OSError):
                    self.write_checkpoint(version=version)
            return version
        raise LakeError("could not claim a log version after 1000 attempts")

    def write_checkpoint(self, *, version: int | None = None) -> int:
        """Write a checkpoint of the live file list and point ``_last_checkpoint`` at it.

        ``version`` (default: the current one) must be the state held now; a writer that
        has already seen later commits skips it. Returns the version checkpointed, 0 when
        nothing was written.
        """
        with self._replay_lock:
            current = self._replay()
            if current == 0 or (version is not None and version != current):
                return 0
            files = [f for table in self._live.values() for f in table.values()]
        write_checkpoint_file(self._log_dir, current, files)
        return current

    def vacuum(self, *, grace: timedelta) -> list[str]:
        """Delete files no commit made visible (left by killed writers) and files that
        left the live set at least ``grace`` ago; return what was deleted.

        A reader lists live files and then opens them, so a file that a commit removed
        (replaced sites, a compacted month) moments ago may still be being read; files
        removed less than ``grace`` ago are kept for a later vacuum.
        """
        with self.write_lock():
            self.refresh()
            live = {path for table in self._live.values() for path in table}
            keep = live | self._get_removed_since(datetime.now(UTC) - grace)
            removed: list[str] = []
            for table in TABLES:
                for path in (self.root / table).rglob("*.parquet"):
                    relative = path.relative_to(self.root).as_posix()
                    if relative not in keep:
                        path.unlink()
                        removed.append(relative)
            self._remove_staging(older_than=grace)
            for tmp in self._log_dir.glob(".*.tmp") if self._log_dir.is_dir() else []:
                tmp.unlink()
            return removed

    def _remove_staging(self, *, older_than: timedelta) -> None:
        """Delete staging folders of batches begun at least ``older_than`` ago.

        Compaction and rollups stage their files without the write lock (so as not to
        hold up ingest); a vacuum must not pull a folder from under one still running.
        """
        staging = self.root / "_staging"
        if not staging.is_dir():
            return
        begun_before = datetime.now(UTC).timestamp() - older_than.total_seconds()
        for folder in staging.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if folder.stat().st_mtime <= begun_before:
                    shutil.rmtree(folder, ignore_errors=True)

    def _get_removed_since(self, since: datetime) -> set[str]:
        """Paths that commits made at or after ``since`` removed from the live set."""
        recent: set[str] = set()
        for entry in reversed(self.get_history()):
            committed = datetime.fromisoformat(entry["committed_at"])
            if committed < since:
                break  # entries are in commit order
            recent.update(entry.get("removed", []))
        return recent


def write_checkpoint_file(log_dir: Path, version: int, files: list[LakeFile]) -> None:
    """Write ``<version>.checkpoint.json`` atomically, then move the pointer to it."""
    listed = [
        {"table": f.table, "path": f.path, "rows": f.rows, "partition": f.partition}
        for f in sorted(files, key=lambda f: f.path)
    ]
    body = json.dumps(listed, ensure_ascii=False, separators=(",", ":"))
    checkpoint = {
        "version": version,
        "files": listed,
        "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest(),
        "written_at": datetime.now(UTC).isoformat(),
    }
    _write_atomically(log_dir / f"{version:010d}.checkpoint.json", json.dumps(checkpoint))
    pointer = log_dir / "_last_checkpoint"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if int(json.loads(pointer.read_text("utf-8"))["version"]) >= version:
            return  # a later checkpoint is already the starting point
    _write_atomically(pointer, json.dumps({"version": version}))


def read_checkpoint(log_dir: Path) -> tuple[int, list[LakeFile]] | None:
    """The latest checkpoint that reads whole: (version, live files), or None.

    Tries the one ``_last_checkpoint`` names, then every other from the newest, so a
    torn or missing checkpoint or pointer costs only time, never correctness.
    """
    tried: set[Path] = set()
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        version = int(json.loads((log_dir / "_last_checkpoint").read_text("utf-8"))["version"])
        path = log_dir / f"{version:010d}.checkpoint.json"
        tried.add(path)
        found = _read_checkpoint_file(path, version)
        if found is not None:
            return version, found
    if not log_dir.is_dir():
        return None
    for path in sorted(log_dir.glob("*.checkpoint.json"), reverse=True):
        if path in tried:
            continue
        with contextlib.suppress(ValueError):
            version = int(path.name.split(".", 1)[0])
            found = _read_checkpoint_file(path, version)
            if found is not None:
                return version, found
    return None


def _read_checkpoint_file(path: Path, version: int) -> list[LakeFile] | None:
    try:
        checkpoint = json.loads(path.read_text("utf-8"))
        listed = checkpoint["files"]
        body = json.dumps(listed, ensure_ascii=False, separators=(",", ":"))
        if checkpoint["version"] != version:
            return None
        if hashlib.sha256(body.encode("utf-8")).hexdigest() != checkpoint["sha256"]:
            return None
        return [LakeFile(f["table"], f["path"], f["rows"], f["partition"]) for f in listed]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(text, "utf-8")
    _fsync_file(tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def get_write_failure(exc: BaseException) -> str | None:
    """Why a write failed, in words, when the disk or folder refused it (full,
    read-only, no permission); None for any other error. DuckDB reports these as its
    own IOException, with the system's message in the text."""
    if isinstance(exc, OSError) and exc.errno in WRITE_FAILURES:
        return WRITE_FAILURES[exc.errno]
    if "duckdb" in type(exc).__module__:
        text = str(exc)
        for code, reason in WRITE_FAILURES.items():
            if os.strerror(code) in text:
                return reason
    return None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
