"""GET /api/datasets/{dataset_id} and its bulk export: the rows of a catalogued dataset
(business and government scopes) as JSON, CSV, NDJSON, Parquet or GeoJSON."""

from __future__ import annotations

from urbanpulse.api.access import PrincipalDep
from urbanpulse.api.deps import LakeDep
from urbanpulse.api.opendata import build_rows_router
from urbanpulse.opendata import Dataset, get_dataset
from urbanpulse.opendata.datasets import check_dataset_access


def find_permitted(dataset_id: str, lake: LakeDep, principal: PrincipalDep) -> Dataset:
    """A catalogued dataset the caller's scope may read (403 otherwise)."""
    dataset = get_dataset(lake, dataset_id)
    check_dataset_access(dataset, principal.scope)
    return dataset


router = build_rows_router("/api/datasets", find_permitted, "a dataset")
