"""Declarative mapping files: how a source's columns become sites, times, metrics, values.

A mapping is TOML or YAML. Three layouts cover the shapes cities hand over:

``wide_metrics``
    one row per site and time, one column per metric (air-quality files);
``wide_sites``
    one column per site, one metric, time from a column or from ``start`` + ``step``
    (loop-detector matrices);
``long``
    one value per row, with site, time and (optionally) metric columns (counts).
"""

from __future__ import annotations

import math
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from urbanpulse.catalog.sites import check_site_kind
from urbanpulse.errors import MappingError

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TIME_PARTS = ("date", "year", "month", "day", "hour", "minute", "time")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSpec(_Strict):
    """How to read the file itself."""

    format: Literal["auto", "csv", "parquet", "excel"] = "auto"
    encoding: str = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    missing: list[str] = Field(default_factory=lambda: ["", "NA", "N/A", "null"])
    sheet: str | int = 0
    name: str | None = Field(default=None, description="Name recorded as the source.")


class TimeSpec(_Strict):
    """Where the timestamp of a row comes from."""

    column: str | None = None
    format: str | None = Field(default=None, description="strptime format of `column`.")
    parts: dict[str, str] | None = Field(
        default=None,
        description="Date parts in separate columns: year, month, day (or one date column), "
        "and hour, minute or one 'HH:MM[:SS]' time column.",
    )
    date_format: str = Field(default="%Y-%m-%d", description="strptime format of parts.date.")
    start: datetime | None = Field(default=None, description="Time of the first data row.")
    step: str | None = Field(default=None, description="Step between rows, e.g. '5min', '1h'.")
    timezone: str = Field(default="UTC", description="Time zone of local times in the source.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
        return zone

    @field_validator("parts")
    @classmethod
    def _known_parts(cls, parts: dict[str, str] | None) -> dict[str, str] | None:
        if parts is None:
            return None
        unknown = set(parts) - set(_TIME_PARTS)
        has_date = {"year", "month", "day"} <= set(parts) or "date" in parts
        both_clocks = "time" in parts and bool({"hour", "minute"} & set(parts))
        if unknown or not has_date or both_clocks:
            raise ValueError(
                "parts needs year, month and day, or date (and optionally hour and minute, "
                f"or one time column); got {sorted(parts)}"
            )
        return parts

    @model_validator(mode="after")
    def _one_way(self) -> TimeSpec:
        ways = [self.column is not None, self.parts is not None, self.start is not None]
        if sum(ways) != 1:
            raise ValueError("time needs exactly one of: column, parts, or start with step")
        if self.start is not None and not self.step:
            raise ValueError("time.start needs time.step, e.g. step = '5min'")
        if self.step is not None:
            self.step_seconds()  # a step nobody can read is a mistake of the mapping
        return self

    def step_seconds(self) -> int:
        """The row step in seconds (for ``start`` + ``step`` sources)."""
        match = re.fullmatch(r"\s*(\d+)\s*(s|sec|min|m|h|hour|d|day)\s*", self.step or "")
        if not match:
            raise MappingError(f"cannot read time.step {self.step!r}; write e.g. '5min' or '1h'")
        factor = {
            "s": 1,
            "sec": 1,
            "min": 60,
            "m": 60,
            "h": 3600,
            "hour": 3600,
            "d": 86400,
            "day": 86400,
        }
        return int(match.group(1)) * factor[match.group(2)]


class SiteNames(_Strict):
    """Names of a site known to the mapping."""

    zh: str | None = None
    en: str | None = None


class SiteSpec(_Strict):
    """Where the site of a row comes from and how unseen sites are handled."""

    column: str | None = Field(default=None, description="Column holding the site code.")
    id_prefix: str = Field(default="", description="Prefix that makes source codes unique ids.")
    allow_new: bool = Field(default=True, description="Register unseen sites (else quarantine).")
    kind: str = "other"
    city_code: str | None = None
    names: dict[str, SiteNames] = Field(default_factory=dict)
    exclude_columns: list[str] = Field(
        default_factory=list, description="wide_sites: columns that are not sites."
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        return check_site_kind(kind)


class MetricSpec(_Strict):
    """One metric: the column it comes from (wide_metrics), its unit and valid range."""

    column: str | None = None
    unit: str = ""
    min: float | None = Field(default=None, description="Values below are quarantined.")
    max: float | None = Field(default=None, description="Values above are quarantined.")

    @field_validator("min", "max")
    @classmethod
    def _finite(cls, bound: float | None) -> float | None:
        if bound is not None and not math.isfinite(bound):
            raise ValueError("a bound must be a finite number; leave it out for no bound")
        return bound


class Mapping(_Strict):
    """A whole mapping file."""

    layout: Literal["wide_metrics", "wide_sites", "long"]
    source: SourceSpec = Field(default_factory=SourceSpec)
    time: TimeSpec
    site: SiteSpec = Field(default_factory=SiteSpec)
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    value_column: str | None = Field(default=None, description="long: column of values.")
    metric_column: str | None = Field(
        default=None, description="long: column naming the metric (else the single metric)."
    )
    sensitive: list[str] = Field(
        default_factory=list,
        description=(
            "Source columns that hold personal data (a card number, a plate): their "
            "values are masked in quarantine, which keeps rejected rows as they came."
        ),
    )

    @field_validator("metrics")
    @classmethod
    def _metric_codes(cls, metrics: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
        for code in metrics:
            if not _CODE.match(code):
                raise ValueError(
                    f"metric code {code!r} must be lowercase letters, digits and _ (e.g. pm25)"
                )
        return metrics

    @model_validator(mode="after")
    def _layout_needs(self) -> Mapping:
        if not self.metrics:
            raise ValueError("at least one metric is needed under [metrics]")
        if self.layout == "wide_metrics":
            if self.site.column is None:
                raise ValueError("wide_metrics needs site.column")
            missing = [code for code, spec in self.metrics.items() if spec.column is None]
            if missing:
                raise ValueError(f"wide_metrics needs a column for metrics {missing}")
        elif self.layout == "wide_sites":
            if len(self.metrics) != 1:
                raise ValueError("wide_sites holds exactly one metric")
        elif self.layout == "long":
            if self.site.column is None or self.value_column is None:
                raise ValueError("long needs site.column and value_column")
            if self.metric_column is None and len(self.metrics) != 1:
                raise ValueError("long with several metrics needs metric_column")
        return self

    def required_columns(self) -> list[str]:
        """Columns the source must have for this mapping to apply."""
        needed: list[str] = []
        if self.time.column:
            needed.append(self.time.column)
        needed += list((self.time.parts or {}).values())
        if self.site.column:
            needed.append(self.site.column)
        if self.layout == "wide_metrics":
            needed += [spec.column for spec in self.metrics.values() if spec.column]
        if self.layout == "long":
            needed += [c for c in (self.value_column, self.metric_column) if c]
        return list(dict.fromkeys(needed))


def read_mapping(path: str | Path) -> Mapping:
    """Read and validate a TOML or YAML mapping file.

    Raises
    ------
    MappingError
        With every problem found, each with its place in the file.
    """
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise MappingError(f"cannot read mapping {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            raw = yaml.safe_load(text) or {}
        else:
            raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"{path} is not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc
    return build_mapping(raw, origin=str(path))


def build_mapping(raw: dict[str, object], *, origin: str = "<mapping>") -> Mapping:
    """Validate a mapping given as a dictionary (as parsed from TOML or YAML)."""
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise MappingError(f"{origin}: {problems}") from exc
