"""Readers and mappings: files, feeds and brokers -> validated rows + quarantine."""

from __future__ import annotations

from urbanpulse.ingest.mapping import Mapping, build_mapping, read_mapping
from urbanpulse.ingest.pipeline import IngestSummary, ingest_files
from urbanpulse.ingest.readers import RawSource, read_source

__all__ = [
    "IngestSummary",
    "Mapping",
    "RawSource",
    "build_mapping",
    "ingest_files",
    "read_mapping",
    "read_source",
]
