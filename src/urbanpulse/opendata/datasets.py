"""The catalogue: which datasets the lake publishes, under what licence, and what they cover.

Coverage (time span, bounding box, regions, rows) is computed from the stored rows, once
per lake version, so the catalogue never claims data the lake does not hold: a dataset
with no rows is not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from urbanpulse.access.matrix import get_data_policy
from urbanpulse.errors import AccessDeniedError, NotFoundError
from urbanpulse.i18n import N_
from urbanpulse.opendata import tables
from urbanpulse.store import Lake, get_metrics, get_observation_coverage
from urbanpulse.store.cache import read_cached

# What UrbanPulse itself publishes (its own measurements, the demo city, aggregates it
# computes) is open under CC BY 4.0; data from third parties keeps its source's terms.
OPEN_LICENCE = "https://creativecommons.org/licenses/by/4.0/"
NBS_TERMS = "https://www.stats.gov.cn/"
TABLE_FORMATS = ("json", "csv", "ndjson", "parquet")
GEO_FORMATS = (*TABLE_FORMATS, "geojson")


@dataclass(frozen=True, slots=True)
class Coverage:
    """Where and when a dataset has data: computed from the lake, never declared."""

    rows: int
    start: str | None = None  # ISO 8601, inclusive
    end: str | None = None  # ISO 8601, inclusive (the last stored time)
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    regions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dataset:
    """One published dataset and how to read it.

    ``key`` orders its rows for paging (unique per row); ``time_column`` is what a time
    range filters, None when the dataset has no time; ``scope`` is the least scope that
    may read it ('public', 'business' or 'government'; see :func:`check_dataset_access`).
    """

    dataset_id: str
    title: str
    description: str
    licence: str
    provenance: str
    update_frequency: str  # continuous, daily, annual or irregular
    scope: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    time_column: str | None
    geometry: str | None = None  # 'point', 'line' or None
    metric: str | None = None
    synthetic: bool = False
    coverage: Coverage = field(default_factory=lambda: Coverage(rows=0))

    @property
    def formats(self) -> tuple[str, ...]:
        """The formats its rows can be read in."""
        return GEO_FORMATS if self.geometry else TABLE_FORMATS


def get_catalog(lake: Lake) -> list[Dataset]:
    """Every dataset the lake publishes, with coverage, in a stable order.

    Cached per lake version: a new commit (an ingest, a network load) shows at once.
    """
    return list(read_cached(lake, "open data catalogue", build=lambda: _build_catalog(lake)))


def get_dataset(lake: Lake, dataset_id: str) -> Dataset:
    """One dataset of :func:`get_catalog`; NotFoundError naming the ones there are."""
    catalog = get_catalog(lake)
    for dataset in catalog:
        if dataset.dataset_id == dataset_id:
            return dataset
    known = ", ".join(d.dataset_id for d in catalog) or "none"
    raise NotFoundError(f"no dataset {dataset_id!r}; the catalogue has: {known}")


def _build_catalog(lake: Lake) -> tuple[Dataset, ...]:
    """The catalogue at the lake's version."""
    sites = tables.read_table_of(lake, "sites")
    site_boxes = sites.set_index("site_id")[["lon", "lat"]] if len(sites) else None
    found = [_observation_dataset(lake, metric, sites) for metric in get_metrics(lake)]
    for build, table_id in _TABLE_DATASETS:
        data = tables.read_table_of(lake, table_id)
        if len(data):
            found.append(build(data, site_boxes))
    return tuple(d for d in found if d.coverage.rows)


# Scopes in the order of what they may read: each reads every dataset of those before it.
READ_ORDER = ("public", "business", "government", "admin")


def check_dataset_access(dataset: Dataset, scope: str) -> None:
    """The one check of a caller's scope against a dataset's, for every door that serves
    its rows (pages of rows, exports).

    Raises
    ------
    AccessDeniedError
        ``scope`` is below the dataset's (403).
    """
    if READ_ORDER.index(scope) < READ_ORDER.index(dataset.scope):
        raise AccessDeniedError(
            N_(
                "dataset {dataset} is for the {needed} scope and up; this key is {scope}",
                dataset=dataset.dataset_id,
                needed=dataset.scope,
                scope=scope,
            )
        )


def _observation_dataset(lake: Lake, metric: str, sites: pd.DataFrame) -> Dataset:
    cov = get_observation_coverage(lake, metric)
    bbox = None if cov["west"] is None else (cov["west"], cov["south"], cov["east"], cov["north"])
    synthetic = bool(len(sites)) and bool(sites["synthetic"].fillna(False).all())
    return Dataset(
        dataset_id=f"observations-{metric}",
        title=f"Observations: {metric}",
        description=(
            f"Every stored '{metric}' reading of every site: site_id, metric, ts (UTC), "
            "value and unit, as ingested after validation (rejected rows are quarantined)."
        ),
        licence=OPEN_LICENCE,
        provenance=(
            "Synthetic demo data generated by UrbanPulse"
            if synthetic
            else "Sensor and operator feeds ingested by UrbanPulse"
        ),
        update_frequency="continuous",
        # Raw readings: the least scope the data policy shows them to.
        scope=min(get_data_policy("observations").raw, key=READ_ORDER.index),
        columns=tables.OBSERVATION_COLUMNS,
        key=("site_id", "ts"),
        time_column="ts",
        metric=metric,
        synthetic=synthetic,
        coverage=Coverage(
            rows=cov["rows"],
            start=_iso(cov["first_ts"]),
            end=_iso(cov["last_ts"]),
            bbox=bbox,
        ),
    )


def _sites_dataset(data: pd.DataFrame, _boxes: pd.DataFrame | None) -> Dataset:
    return Dataset(
        dataset_id="sites",
        title="Sites",
        description="Stations, monitors and sensors that report data, with coordinates "
        "(WGS 84), kind, city and capacity; GeoJSON points.",
        licence=OPEN_LICENCE,
        provenance="Site lists of the ingested sources and transit networks",
        update_frequency="irregular",
        scope="business",
        columns=tables.SITE_COLUMNS,
        key=("site_id",),
        time_column=None,
        geometry="point",
        synthetic=_all_synthetic(data),
        coverage=Coverage(rows=len(data), bbox=_bbox(data)),
    )


def _lines_dataset(data: pd.DataFrame, _boxes: pd.DataFrame | None) -> Dataset:
    return Dataset(
        dataset_id="transit-lines",
        title="Transit lines",
        description="Metro, bus and rail lines of the loaded networks, one row per line "
        "and direction; GeoJSON LineStrings through the stations that have coordinates.",
        licence=_licence_of(data),
        provenance="Loaded transit networks (GTFS feeds, subway tables, the demo city): "
        + ", ".join(sorted(set(data["network_id"]))),
        update_frequency="irregular",
        scope="business",
        columns=tables.LINE_COLUMNS,
        key=("network_id", "line_id", "direction"),
        time_column=None,
        geometry="line",
        synthetic=_all_synthetic(data),
        coverage=Coverage(rows=len(data), bbox=_path_bbox(data)),
    )


def _stations_dataset(data: pd.DataFrame, _boxes: pd.DataFrame | None) -> Dataset:
    return Dataset(
        dataset_id="transit-stations",
        title="Transit stations",
        description="Stations served by the loaded transit lines, with how many lines "
        "stop there; GeoJSON points.",
        licence=OPEN_LICENCE,
        provenance="Stops of the loaded transit networks",
        update_frequency="irregular",
        scope="business",
        columns=tables.STATION_COLUMNS,
        key=("site_id",),
        time_column=None,
        geometry="point",
        synthetic=_all_synthetic(data),
        coverage=Coverage(rows=len(data), bbox=_bbox(data)),
    )


def _indicators_dataset(data: pd.DataFrame, _boxes: pd.DataFrame | None) -> Dataset:
    return Dataset(
        dataset_id="indicators",
        title="Yearly city indicators",
        description="Yearly indicators of the city cluster's cities (the regional "
        "monitor's inputs), with unit, source and vintage of each value.",
        licence=OPEN_LICENCE,
        provenance="Sources named per value: " + ", ".join(sorted(set(data["source"].dropna()))),
        update_frequency="annual",
        scope="business",
        columns=tables.INDICATOR_COLUMNS,
        key=("indicator", "region_code", "year", "vintage"),
        time_column=None,
        synthetic=_all_synthetic(data),
        coverage=_year_coverage(data),
    )


def _provinces_dataset(data: pd.DataFrame, _boxes: pd.DataFrame | None) -> Dataset:
    vintages = ", ".join(sorted(set(data["vintage"].dropna().astype(str))))
    return Dataset(
        dataset_id="provincial-statistics",
        title="Provincial statistics of China",
        description="Measured yearly statistics of China's provinces (latest vintage of "
        "each value), computed from the National Bureau of Statistics tables.",
        licence=NBS_TERMS,
        provenance=f"National Bureau of Statistics of China, vintage {vintages or 'unknown'}; "
        "sources per value: " + ", ".join(sorted(set(data["source"].dropna()))[:5]),
        update_frequency="annual",
        scope="business",
        columns=tables.INDICATOR_COLUMNS,
        key=("indicator", "region_code", "year", "vintage"),
        time_column=None,
        synthetic=False,
        coverage=_year_coverage(data),
    )


def _counts_dataset(data: pd.DataFrame, boxes: pd.DataFrame | None) -> Dataset:
    return Dataset(
        dataset_id="smartcard-station-counts",
        title="Smart-card station entries and exits",
        description="Entries and exits per station and period from smart-card taps. "
        "Cells below k riders are blanked (taps null, suppressed true); card ids never "
        "leave the privacy room.",
        licence=OPEN_LICENCE,
        provenance="Aggregated by UrbanPulse from pseudonymised smart-card taps",
        update_frequency="daily",
        scope="public",
        columns=tables.COUNT_COLUMNS,
        key=("period_start", "site_id", "station", "direction", "period_minutes"),
        time_column="period_start",
        coverage=Coverage(
            rows=len(data),
            start=_iso(data["period_start"].min()),
            end=_iso(data["period_start"].max()),
            bbox=_sites_bbox(data["site_id"], boxes),
        ),
    )


def _flows_dataset(data: pd.DataFrame, boxes: pd.DataFrame | None) -> Dataset:
    ids = pd.concat([data["origin_site_id"], data["destination_site_id"]])
    return Dataset(
        dataset_id="smartcard-flows",
        title="Smart-card origin-destination flows",
        description="Trips per day between pairs of stations from smart-card taps; "
        "cells below k trips are blanked (trips null, suppressed true).",
        licence=OPEN_LICENCE,
        provenance="Aggregated by UrbanPulse from pseudonymised smart-card taps",
        update_frequency="daily",
        scope="public",
        columns=tables.FLOW_COLUMNS,
        key=("date", "origin_site_id", "destination_site_id"),
        time_column="date",
        coverage=Coverage(
            rows=len(data),
            start=_iso(data["date"].min()),
            end=_iso(data["date"].max()),
            bbox=_sites_bbox(ids, boxes),
        ),
    )


_TABLE_DATASETS = (
    (_sites_dataset, "sites"),
    (_lines_dataset, "transit-lines"),
    (_stations_dataset, "transit-stations"),
    (_indicators_dataset, "indicators"),
    (_provinces_dataset, "provincial-statistics"),
    (_counts_dataset, "smartcard-station-counts"),
    (_flows_dataset, "smartcard-flows"),
)


def _iso(value: Any) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp | pa.TimestampScalar):
        return pd.Timestamp(value).isoformat()
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _all_synthetic(data: pd.DataFrame) -> bool:
    return bool(data["synthetic"].fillna(False).astype(bool).all())


def _licence_of(data: pd.DataFrame) -> str:
    licences = sorted(set(data.get("licence", pd.Series(dtype=str)).dropna()) - {""})
    return licences[0] if len(licences) == 1 else (", ".join(licences) or OPEN_LICENCE)


def _bbox(data: pd.DataFrame) -> tuple[float, float, float, float] | None:
    points = data[["lon", "lat"]].dropna()
    if points.empty:
        return None
    return (
        float(points["lon"].min()),
        float(points["lat"].min()),
        float(points["lon"].max()),
        float(points["lat"].max()),
    )


def _path_bbox(data: pd.DataFrame) -> tuple[float, float, float, float] | None:
    points = [p for path in data["path"] for p in (path if path is not None else [])]
    if not points:
        return None
    return _bbox(pd.DataFrame([list(p) for p in points], columns=["lon", "lat"]))


def _sites_bbox(
    site_ids: pd.Series, boxes: pd.DataFrame | None
) -> tuple[float, float, float, float] | None:
    if boxes is None:
        return None
    return _bbox(boxes[boxes.index.isin(site_ids.dropna())])


def _year_coverage(data: pd.DataFrame) -> Coverage:
    years = data["year"].dropna()
    return Coverage(
        rows=len(data),
        start=f"{int(years.min()):04d}-01-01" if len(years) else None,
        end=f"{int(years.max()):04d}-12-31" if len(years) else None,
        regions=tuple(sorted(set(data["region_code"].dropna()))),
    )
