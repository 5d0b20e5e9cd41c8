"""Load a transit network into the lake: a GTFS feed (zip or folder), the Beijing file,
or a station list (lines and their stations in order, no timetable).

One entry point, :func:`load_network`, detects the format, builds the network's tables
and stores them with their stations and rejected rows in one commit. The feed hash
covers the source's bytes and the load options, so loading the same feed again with
the same options stores nothing new.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from urbanpulse.errors import SourceError
from urbanpulse.store.lake import Lake
from urbanpulse.store.networks import get_network_hash, read_network_table, replace_network
from urbanpulse.transit.beijing import build_beijing_network, get_beijing_file
from urbanpulse.transit.build import NetworkBuild
from urbanpulse.transit.overrides import apply_transfer_overrides, read_transfer_overrides
from urbanpulse.transit.schedule import get_capacities
from urbanpulse.transit.station_list import KIND as STATION_LIST
from urbanpulse.transit.station_list import build_station_list_network, is_station_list
from urbanpulse.transit.transfers import NEARBY_METRES

__all__ = ["LoadSummary", "get_network_id", "get_source_format", "load_network"]

Progress = Callable[[str, int, int], None]
# Bump when the loader builds different tables from the same bytes, so feeds reload.
LOADER_VERSION = "5"  # 2: trips and trip_stops for GTFS-Realtime; 3: trip_frequencies;
# 4: English names as station signs write them (天安门东 -> Tian'anmen East); 5: aliases
# travellers search by (Capital Airport for the terminals' stations)
_GENERIC_NAMES = {"static", "gtfs", "feed", "data", "google_transit"}


@dataclass
class LoadSummary:
    """What one load stored and rejected.

    ``stored`` counts rows per table written (networks, lines, line_stops, line_service,
    transfers, service_days, sites: the network's stations); ``quarantined`` counts
    rejected rows per source file and ``reasons`` per reason; ``missing`` names what
    the source lacks. ``already_loaded`` is true when the lake held this very feed.
    """

    network_id: str
    name: str
    kind: str
    source: str
    feed_hash: str
    already_loaded: bool = False
    stored: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lake_version: int = 0
    seconds: float = 0.0

    @property
    def quarantined_total(self) -> int:
        """All rows put in quarantine."""
        return sum(self.quarantined.values())

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values."""
        return {**asdict(self), "quarantined_total": self.quarantined_total}


def get_source_format(path: Path) -> str:
    """'subway_json', 'station_list' or 'gtfs' for a source path.

    Raises
    ------
    SourceError
        When ``path`` does not exist or is neither format.
    """
    if not path.exists():
        raise SourceError(f"no such file or folder: {path}")
    if get_beijing_file(path) is not None:
        return "subway_json"
    if is_station_list(path):
        return STATION_LIST
    names = _list_names(path)
    if {"stops.txt", "routes.txt"} & names:
        return "gtfs"
    raise SourceError(
        f"{path.name} is neither a GTFS feed (a zip or folder with stops.txt and routes.txt), "
        "a Beijing subway.json nor a station list (.csv)"
    )


def get_network_id(path: Path) -> str:
    """A network id from a source path: 'cairns_gtfs.zip' -> 'cairns_gtfs'; a folder
    with a generic name ('static', 'gtfs') takes its parent's name."""
    stem = path.stem if path.is_file() else path.name
    if stem.lower() in _GENERIC_NAMES or (path.is_file() and path.name == "subway.json"):
        stem = path.resolve().parent.name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-").lower() or "network"


def load_network(
    lake: Lake,
    path: Path,
    *,
    network_id: str | None = None,
    capacities: Mapping[str, float] | None = None,
    progress: Progress | None = None,
    walk_metres: float = NEARBY_METRES,
    transfers_file: Path | None = None,
) -> LoadSummary:
    """Load a GTFS feed or the Beijing subway file into the lake.

    ``capacities`` overrides vehicle capacities per mode (see
    :data:`urbanpulse.transit.schedule.DEFAULT_CAPACITIES`); ``walk_metres`` is this
    network's walk radius between stops of other names (see
    :func:`urbanpulse.transit.transfers.build_transfers`); ``transfers_file`` adds,
    corrects or forbids changes between named stops (see
    :mod:`urbanpulse.transit.overrides`). Bad source rows go to the
    quarantine table with file, line and reason, in the same commit as the network.

    Returns
    -------
    LoadSummary
        What was stored and quarantined; ``already_loaded`` when nothing new was stored.
    """
    started = time.perf_counter()
    report = progress or (lambda step, done, total: None)
    kind = get_source_format(path)
    network_id = network_id or get_network_id(path)
    resolved = get_capacities(capacities)
    overrides = read_transfer_overrides(transfers_file) if transfers_file else []
    feed_hash = _get_feed_hash(path, kind, resolved, walk_metres, transfers_file)
    summary = LoadSummary(network_id, "", kind, path.name, feed_hash)
    report("checking what the lake holds", 0, 1)
    if get_network_hash(lake, network_id) == feed_hash:
        stored = read_network_table(lake, "networks", network_id=network_id).to_pylist()[0]
        summary.name = stored["name"] or ""
        summary.missing = json.loads(stored["missing"] or "[]")
        summary.already_loaded = True
        summary.lake_version = lake.version
        summary.seconds = time.perf_counter() - started
        return summary
    build = _build(path, kind, network_id, resolved, report, walk_metres)
    if overrides:
        build.tables["transfers"] = apply_transfer_overrides(
            build.tables["transfers"], build.sites, overrides, source=str(transfers_file)
        )
    network = build.tables["networks"]
    network["feed_hash"] = feed_hash
    network["missing"] = json.dumps(build.missing)
    network["loaded_at"] = datetime.now(UTC)
    report("storing", 0, 1)
    tables = build.get_arrow_tables()
    rejected = pa.Table.from_pylist(build.quarantine) if build.quarantine else None
    info = {
        "source": path.name, "kind": kind, "missing": build.missing, "walk_metres": walk_metres,
        "transfer_overrides": len(overrides),
    }  # fmt: skip
    summary.lake_version = replace_network(
        lake, network_id, tables, sites=build.get_sites_table(), info=info, quarantine=rejected
    )
    report("storing", 1, 1)
    summary.name = str(network["name"].iloc[0])
    summary.stored = {name: table.num_rows for name, table in tables.items()}
    summary.stored["sites"] = len(build.sites)
    summary.quarantined = dict(Counter(str(r["source"]) for r in build.quarantine))
    summary.reasons = dict(Counter(str(r["reason"]) for r in build.quarantine))
    summary.missing, summary.notes = build.missing, build.notes
    summary.seconds = time.perf_counter() - started
    return summary


def _build(
    path: Path,
    kind: str,
    network_id: str,
    capacities: dict[str, float],
    report: Progress,
    walk_metres: float,
) -> NetworkBuild:
    if kind == "subway_json":
        report("reading the subway file", 0, 1)
        source = get_beijing_file(path)
        assert source is not None  # get_source_format found it
        return build_beijing_network(source, network_id, capacities, walk_metres=walk_metres)
    if kind == STATION_LIST:
        return build_station_list_network(path, network_id)
    from urbanpulse.transit.gtfs import build_gtfs_network

    return build_gtfs_network(
        path, network_id, capacities, progress=report, walk_metres=walk_metres
    )


def _list_names(path: Path) -> set[str]:
    if path.is_dir():
        return {p.name for p in path.iterdir() if p.is_file()}
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return {Path(n).name for n in archive.namelist() if not n.startswith("__MACOSX")}
    return set()


def _get_feed_hash(
    path: Path,
    kind: str,
    capacities: dict[str, float],
    walk_metres: float,
    transfers_file: Path | None = None,
) -> str:
    """SHA-256 of the source's bytes, the load options and the loader version."""
    digest = hashlib.sha256(f"{kind}:{LOADER_VERSION}:".encode())
    digest.update(json.dumps(capacities, sort_keys=True).encode())
    if walk_metres != NEARBY_METRES:  # the default leaves earlier hashes as they were
        digest.update(f"walk:{walk_metres:g}".encode())
    if transfers_file is not None:
        digest.update(b"transfers:" + transfers_file.read_bytes())
    files: list[Path | None]
    if kind == "subway_json":
        files = [get_beijing_file(path)]
    elif path.is_dir():
        files = [*sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".txt")]
    else:
        files = [path]
    for file in files:
        assert file is not None
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
