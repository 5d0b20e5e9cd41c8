"""One fingerprint for every writer: a source read the same way is recognised, whoever
wrote it and whichever version of the product recorded it."""

from __future__ import annotations

from pathlib import Path

from urbanpulse.store import Commit, Lake, new_batch_id
from urbanpulse.store.sources import (
    describe_sources,
    fingerprint_file,
    hash_file,
    read_fingerprints,
)


def _commit(lake: Lake, operation: str, info: dict[str, object]) -> None:
    with lake.write_lock():
        lake.commit(Commit(operation, new_batch_id(), [], [], info))


def test_a_source_is_known_by_its_bytes_and_how_they_are_read(tmp_path: Path) -> None:
    lake, source = Lake(tmp_path / "lake"), tmp_path / "taps.csv"
    source.write_text("card,station\n1,A\n")
    as_taps = fingerprint_file(source, "taps")
    assert as_taps not in read_fingerprints(lake)
    _commit(lake, "ingest_taps", {"sources": describe_sources([(source, as_taps)])})
    held = read_fingerprints(lake)
    assert as_taps in held
    # The same bytes read another way (as indicators) are another source.
    assert fingerprint_file(source, "indicators") not in held
    source.write_text("card,station\n1,B\n")  # new content: new source
    assert fingerprint_file(source, "taps") not in read_fingerprints(lake)
    assert hash_file(tmp_path / "absent.csv") == "missing"


def test_sources_recorded_by_earlier_versions_are_still_recognised(tmp_path: Path) -> None:
    lake, source = Lake(tmp_path / "lake"), tmp_path / "source.csv"
    source.write_text("region,year,value\n110000,2020,1\n")
    digest = hash_file(source)
    _commit(lake, "load_indicators", {"indicator_sources": [{"path": "x", "fingerprint": digest}]})
    _commit(lake, "ingest_taps", {"files": [digest], "taps": 1})
    _commit(lake, "purge_taps", {"files": 3})  # a count, not a list of sources
    held = read_fingerprints(lake)
    assert fingerprint_file(source, "indicators") in held
    assert fingerprint_file(source, "taps") in held
