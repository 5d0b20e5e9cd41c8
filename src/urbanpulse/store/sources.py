"""Which source files a lake already holds: one fingerprint for every writer.

A source's fingerprint is the SHA-256 of its bytes and a name for how they are read (a
mapping's hash for the batch ingest, ``indicators``, ``taps``): the same file read the
same way is recognised when it comes again, and its rejected rows are not quarantined
twice. Every writer records what it committed with :func:`describe_sources` under
``info["sources"]`` of its commit and asks :func:`read_fingerprints` what the lake
holds. Networks keep their own feed hash in the networks table, since a changed feed
replaces the network rather than adding to it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from urbanpulse.store.lake import Lake

CHUNK_BYTES = 1 << 20
# Where writers of earlier versions recorded their sources, and how they read them:
# lakes written then are still recognised.
_LEGACY = {"indicator_sources": "indicators"}
_LEGACY_TAPS_OPERATION = "ingest_taps"


def hash_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks; ``missing`` when there is no file
    (the reader then reports it as unreadable)."""
    if not path.is_file():
        return "missing"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_file(path: Path, reading: str) -> str:
    """A source's fingerprint: its bytes and how they are read."""
    return f"{hash_file(path)}:{reading}"


def describe_sources(found: Iterable[tuple[Path, str]]) -> list[dict[str, str]]:
    """What a commit records of its sources: (path, fingerprint) pairs as its
    ``info["sources"]``."""
    return [{"source": str(path), "fingerprint": fingerprint} for path, fingerprint in found]


def read_fingerprints(lake: Lake) -> set[str]:
    """The fingerprints of every source any commit of the lake recorded."""
    found: set[str] = set()
    for entry in lake.get_history():
        info = entry.get("info", {})
        found.update(source["fingerprint"] for source in info.get("sources", []))
        for key, reading in _LEGACY.items():
            found.update(f"{s['fingerprint']}:{reading}" for s in info.get(key, []))
        if entry.get("operation") == _LEGACY_TAPS_OPERATION and "sources" not in info:
            found.update(f"{digest}:taps" for digest in info.get("files", []))
    return found
