"""Where GTFS-Realtime snapshots come from: files, folders of them, and feed URLs polled
at an interval. Each source yields (name, bytes) for :func:`read_realtime_feed`."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from urbanpulse.errors import SourceError
from urbanpulse.store.lake import Lake
from urbanpulse.transit.realtime import (
    RealtimeSummary,
    read_realtime_feed,
    read_realtime_feeds,
)

__all__ = ["follow_realtime_feeds", "get_source_name", "is_url", "read_url", "walk_feed_files"]

FEED_SUFFIXES = {".pb", ".pbf", ".bin"}
FETCH_TIMEOUT_SECONDS = 30.0


def is_url(source: str) -> bool:
    """Whether a source is an http(s) URL rather than a path."""
    return source.startswith(("http://", "https://"))


def get_source_name(source: str) -> str:
    """A URL without its query and credentials (feeds often carry API keys there)."""
    parts = urlsplit(source)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def walk_feed_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """A file, or every feed file under a folder (``*.pb``, ``*.pbf``, ``*.bin``, sorted),
    as (name, bytes); the name keeps the folder a snapshot sits in.

    Raises
    ------
    SourceError
        When the path does not exist or a folder holds no feed file.
    """
    if not path.exists():
        raise SourceError(f"no such file or folder: {path}")
    if path.is_file():
        yield f"{path.parent.name}/{path.name}", path.read_bytes()
        return
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in FEED_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise SourceError(f"{path} holds no GTFS-Realtime file (*.pb)")
    for file in files:
        yield f"{file.parent.name}/{file.name}", file.read_bytes()


def read_url(url: str, *, timeout: float = FETCH_TIMEOUT_SECONDS) -> bytes:
    """The body of a feed URL.

    Raises
    ------
    SourceError
        When the server cannot be reached or answers with an error.
    """
    request = urllib.request.Request(url, headers={"Accept": "application/x-protobuf"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{get_source_name(url)} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"cannot fetch {get_source_name(url)}: {reason}") from None


def follow_realtime_feeds(
    lake: Lake,
    sources: list[str],
    *,
    network_id: str | None = None,
    interval: float = 30.0,
    polls: int | None = None,
    on_summary: Callable[[RealtimeSummary], None] | None = None,
    on_error: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[RealtimeSummary]:
    """Read file and folder sources once, then poll URL sources every ``interval``
    seconds, ``polls`` times (None: until interrupted).

    A URL that fails is reported through ``on_error`` and tried again at the next
    poll, so a feed's outage never stops the others; a file that is not a readable
    full snapshot (corrupt, not GTFS-Realtime, DIFFERENTIAL) is kept in quarantine by
    its hash and reported through ``on_error``, and the rest of its folder is read.

    Returns
    -------
    list of RealtimeSummary
        One per snapshot read, in order.
    """
    report = on_summary or (lambda summary: None)
    warn = on_error or (lambda message: None)
    summaries: list[RealtimeSummary] = []
    urls = [s for s in sources if is_url(s)]
    for source in sources:
        if is_url(source):
            continue
        # One unreadable file must not stop the rest of its folder: kept in quarantine
        # (by hash, with the reason), reported, and the next read.
        for summary in read_realtime_feeds(
            lake, walk_feed_files(Path(source)), network_id=network_id,
            on_unreadable=lambda exc: warn(f"{exc} (quarantined)"),
        ):  # fmt: skip
            summaries.append(summary)
            report(summary)
    done = 0
    while urls and (polls is None or done < polls):
        if done:
            sleep(interval)
        for url in urls:
            try:
                data = read_url(url)
                summary = read_realtime_feed(
                    lake, data, source=get_source_name(url), network_id=network_id
                )
            except SourceError as exc:
                if on_error is None:
                    raise
                on_error(str(exc))
                continue
            summaries.append(summary)
            report(summary)
        done += 1
    return summaries
