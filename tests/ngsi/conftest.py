"""Validators for NGSI-LD payloads: the Smart Data Models JSON Schemas of each entity
type (keyValues form) and the NGSI-LD normalized shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).parent / "schemas"
MODELS = ("TrafficFlowObserved", "AirQualityObserved", "CrowdFlowObserved", "GtfsStop")
# The FIWARE-era TrafficFlowObserved names the common schema by its old address.
ALIASES = {
    "https://smart-data-models.github.io/data-models/common-schema.json": (
        "https://fiware.github.io/dataModels/common-schema.json",
    ),
}

_TIME = {"type": "string", "format": "date-time", "pattern": "Z$"}
_GEOJSON_POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"const": "Point"},
        "coordinates": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {"type": "number"},
            "prefixItems": [
                {"minimum": -180, "maximum": 180},
                {"minimum": -90, "maximum": 90},
            ],
        },
    },
}
# ETSI GS CIM 009: an attribute is a Property (value), a GeoProperty (GeoJSON value)
# or a Relationship (object, a URI); observedAt is a UTC date-time.
NORMALIZED_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": {"type": "string", "pattern": "^urn:ngsi-ld:[A-Za-z]+:.+"},
        "type": {"type": "string"},
        "@context": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "location": {"$ref": "#/$defs/GeoProperty"},
    },
    "additionalProperties": {
        "oneOf": [{"$ref": "#/$defs/Property"}, {"$ref": "#/$defs/Relationship"}]
    },
    "$defs": {
        "Property": {
            "type": "object",
            "required": ["type", "value"],
            "properties": {
                "type": {"const": "Property"},
                "value": {"not": {"type": "null"}},
                "observedAt": _TIME,
                "unitCode": {"type": "string", "pattern": "^[A-Z0-9]{2,3}$"},
            },
            "additionalProperties": False,
        },
        "GeoProperty": {
            "type": "object",
            "required": ["type", "value"],
            "properties": {"type": {"const": "GeoProperty"}, "value": _GEOJSON_POINT},
            "additionalProperties": False,
        },
        "Relationship": {
            "type": "object",
            "required": ["type", "object"],
            "properties": {
                "type": {"const": "Relationship"},
                "object": {"type": "string", "pattern": "^urn:ngsi-ld:"},
            },
            "additionalProperties": False,
        },
    },
}


def _build_registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text("utf-8"))
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        for uri in (contents["$id"], *ALIASES.get(contents["$id"], ())):
            resources.append((uri, resource))
    return Registry().with_resources(resources)


@pytest.fixture(scope="session")
def validate_model() -> Callable[[dict[str, Any]], None]:
    """``validate_model(entity)``: raise unless a keyValues entity satisfies the Smart
    Data Models JSON Schema of its type (formats such as date-time checked)."""
    registry = _build_registry()
    validators = {}
    for model in MODELS:
        schema = json.loads((SCHEMAS / f"{model}.schema.json").read_text("utf-8"))
        validators[model] = jsonschema.Draft202012Validator(
            schema, registry=registry, format_checker=jsonschema.FormatChecker()
        )

    def validate(entity: dict[str, Any]) -> None:
        validators[entity["type"]].validate(entity)

    return validate


@pytest.fixture(scope="session")
def validate_normalized() -> Callable[[dict[str, Any]], None]:
    """``validate_normalized(entity)``: raise unless it has the NGSI-LD normalized shape."""
    validator = jsonschema.Draft202012Validator(
        NORMALIZED_SHAPE, format_checker=jsonschema.FormatChecker()
    )
    return validator.validate
