"""Response schemas of the open data API: the catalogue and dataset pages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from urbanpulse.api.schemas import SYNTHETIC


class CoveragePublic(BaseModel):
    """Where and when a dataset has data, computed from the stored rows."""

    rows: int
    start: str | None = Field(description="First time covered (ISO 8601), if timed.")
    end: str | None = Field(description="Last time covered (ISO 8601), if timed.")
    bbox: list[float] | None = Field(
        description="[west, south, east, north] in WGS 84 degrees, if located."
    )
    regions: list[str] = Field(description="Region codes covered, for regional tables.")


class DatasetPublic(BaseModel):
    """One dataset of the catalogue and where to read it."""

    dataset_id: str
    title: str
    description: str
    licence: str = Field(description="Licence URL, or the source's terms.")
    provenance: str
    update_frequency: str = Field(description="continuous, daily, annual or irregular.")
    scope: str = Field(description="Least scope that may read it: public or business.")
    formats: list[str]
    columns: list[str]
    time_column: str | None = Field(description="What start and end filter, if anything.")
    synthetic: bool = Field(description=SYNTHETIC)
    coverage: CoveragePublic
    links: dict[str, str] = Field(description="URL of each format, and of the bulk export.")


class CatalogPublic(BaseModel):
    """Every published dataset."""

    synthetic: bool = Field(description="True when any dataset is synthetic.")
    count: int
    jsonld: str = Field(description="The same catalogue as DCAT JSON-LD.")
    items: list[DatasetPublic]


class CatalogLdPublic(BaseModel):
    """The catalogue as a DCAT ``dcat:Catalog`` in JSON-LD."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    context: dict[str, Any] = Field(alias="@context")
    type: str = Field(alias="@type", description="Always 'dcat:Catalog'.")
    synthetic: bool = Field(description="True when any dataset is synthetic.")
    datasets: list[dict[str, Any]] = Field(alias="dcat:dataset")


class DatasetPagePublic(BaseModel):
    """One page of a dataset's rows; follow ``next`` until it is null."""

    dataset_id: str
    synthetic: bool = Field(description=SYNTHETIC)
    count: int
    limit: int
    next: str | None = Field(description="URL of the next page; null on the last page.")
    items: list[dict[str, Any]]


class DatasetExportPublic(BaseModel):
    """A dataset's rows over a time range, streamed as one document."""

    dataset_id: str
    synthetic: bool = Field(description=SYNTHETIC)
    items: list[dict[str, Any]]
