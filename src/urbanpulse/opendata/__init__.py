"""Open data: the catalogue of published datasets, their pages, exports and formats.

This room gathers what other rooms publish (observations and sites from the store,
transit networks, indicators, the privacy room's k-suppressed smart-card aggregates)
into datasets with a licence, provenance and coverage; the API and the developer page
only call it. It never reads the raw smart-card taps.
"""

from __future__ import annotations

from urbanpulse.opendata.datasets import (
    Coverage,
    Dataset,
    get_catalog,
    get_dataset,
)
from urbanpulse.opendata.dcat import build_dcat_catalog
from urbanpulse.opendata.formats import (
    FORMAT_MEDIA_TYPES,
    build_geojson,
    encode_batches,
    encode_table,
    get_records,
)
from urbanpulse.opendata.pages import Page, read_dataset_batches, read_dataset_page

__all__ = [
    "FORMAT_MEDIA_TYPES",
    "Coverage",
    "Dataset",
    "Page",
    "build_dcat_catalog",
    "build_geojson",
    "encode_batches",
    "encode_table",
    "get_catalog",
    "get_dataset",
    "get_records",
    "read_dataset_batches",
    "read_dataset_page",
]
