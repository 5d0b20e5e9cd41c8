"""NGSI-LD (ETSI GS CIM 009) out: sites and their observations as Smart Data Models
entities, with the query language, geo filters and temporal representation."""

from __future__ import annotations

from urbanpulse.ngsi.vocabulary import (
    ENTITY_TYPES,
    build_entity_id,
    get_attribute_for_metric,
    get_entity_types,
    get_metric_for_attribute,
    parse_entity_id,
)

__all__ = [
    "ENTITY_TYPES",
    "build_entity_id",
    "get_attribute_for_metric",
    "get_entity_types",
    "get_metric_for_attribute",
    "parse_entity_id",
]
