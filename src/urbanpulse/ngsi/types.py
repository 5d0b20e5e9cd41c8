"""NGSI-LD type discovery (``GET /ngsi-ld/v1/types``): which entity types the lake
publishes now, and their attributes."""

from __future__ import annotations

from typing import Any

from urbanpulse.ngsi.entities import render_entity, select_records
from urbanpulse.ngsi.query import EntityQuery
from urbanpulse.ngsi.vocabulary import CONTEXT, ENTITY_TYPES, SUBJECTS
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine


def get_type_iri(entity_type: str) -> str:
    """The Smart Data Models IRI an entity type expands to."""
    return f"https://smartdatamodels.org/dataModel.{SUBJECTS[entity_type]}/{entity_type}"


def read_types(
    lake: Lake,
    *,
    region: str,
    details: bool = False,
    with_context: bool = False,
    engine: Engine,
) -> dict[str, Any] | list[dict[str, Any]]:
    """The types with at least one entity: an ``EntityTypeList``, or with ``details``
    one ``EntityType`` per type with the attribute names its entities have now."""
    records = select_records(lake, EntityQuery(), region=region, latest=True, engine=engine)
    names: dict[str, set[str]] = {}
    for record in records:
        entity = render_entity(record)
        names.setdefault(record.entity_type, set()).update(set(entity) - {"id", "type"})
    present = [t for t in ENTITY_TYPES if t in names]
    context = {"@context": CONTEXT} if with_context else {}
    if not details:
        return {
            "id": "urn:ngsi-ld:EntityTypeList:urbanpulse",
            "type": "EntityTypeList",
            "typeList": present,
        } | context
    return [
        {
            "id": get_type_iri(t),
            "type": "EntityType",
            "typeName": t,
            "attributeNames": sorted(names[t]),
        }
        | context
        for t in present
    ]
