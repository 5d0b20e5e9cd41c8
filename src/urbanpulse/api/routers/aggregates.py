"""GET /api/aggregates/{dataset_id}: the published smart-card aggregates (k-suppressed),
open to everyone; the same formats, paging and export as /api/datasets."""

from __future__ import annotations

from urbanpulse.api.deps import LakeDep
from urbanpulse.api.opendata import build_rows_router
from urbanpulse.errors import NotFoundError
from urbanpulse.opendata import Dataset, get_catalog, get_dataset


def find_public(dataset_id: str, lake: LakeDep) -> Dataset:
    """A public dataset; any other is not found here, with where to read it instead."""
    dataset = get_dataset(lake, dataset_id)
    if dataset.scope != "public":
        public = ", ".join(d.dataset_id for d in get_catalog(lake) if d.scope == "public")
        raise NotFoundError(
            f"{dataset_id!r} is not a public aggregate (read it at /api/datasets/{dataset_id} "
            f"with a key); public aggregates: {public or 'none'}"
        )
    return dataset


router = build_rows_router("/api/aggregates", find_public, "a published aggregate")
