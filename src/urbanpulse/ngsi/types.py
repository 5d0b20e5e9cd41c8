"""NGSI-LD discovery: which entity types and attributes the lake publishes now
(``/ngsi-ld/v1/types``, ``/types/{type}``, ``/attributes``, ``/attributes/{attrId}``,
ETSI GS CIM 009 5.7.5-5.7.10), and the JSON-LD @context the product serves itself."""

from __future__ import annotations

from typing import Any

from urbanpulse.errors import NotFoundError
from urbanpulse.ngsi.contexts import DEFAULT_VOCABULARY
from urbanpulse.ngsi.documents import ENTITY_MEMBERS, get_types
from urbanpulse.ngsi.entities import read_current_documents, render_entity, select_records
from urbanpulse.ngsi.query import EntityQuery
from urbanpulse.ngsi.vocabulary import ATTRIBUTES, CONTEXT, ENTITY_TYPES, SUBJECTS
from urbanpulse.store import Lake
from urbanpulse.store.interface import Engine


def get_type_iri(entity_type: str) -> str:
    """The IRI an entity type expands to: its Smart Data Models IRI for a type UrbanPulse
    models, itself when it is one, else the default vocabulary's."""
    if entity_type in SUBJECTS:
        return f"https://smartdatamodels.org/dataModel.{SUBJECTS[entity_type]}/{entity_type}"
    return _expand(entity_type)


def _expand(term: str) -> str:
    return term if ":" in term else DEFAULT_VOCABULARY + term


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
    inventory = read_inventory(lake, region=region, engine=engine)
    # The product's own types in their order, then the context entities' by name.
    present = [t for t in ENTITY_TYPES if t in inventory]
    present += sorted(t for t in inventory if t not in ENTITY_TYPES)
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
            "attributeNames": sorted(inventory[t]["attributes"]),
        }
        | context
        for t in present
    ]


def read_inventory(lake: Lake, *, region: str, engine: Engine) -> dict[str, dict[str, Any]]:
    """What is published now, the sites' entities and the context entities written
    through the provisioning API: type -> {"count": entities, "attributes": {name:
    {"types": set of attribute types (Property, GeoProperty, ...), "count": entities
    having it}}}."""
    records = select_records(lake, EntityQuery(), region=region, latest=True, engine=engine)
    entities = [render_entity(record) for record in records]
    entities += read_current_documents(lake).values()
    inventory: dict[str, dict[str, Any]] = {}
    for entity in entities:
        for entity_type in get_types(entity["type"]):  # an entity of several types counts in each
            _take_inventory(inventory.setdefault(entity_type, {"count": 0, "attributes": {}}), entity)  # fmt: skip
    return inventory


def _take_inventory(kind: dict[str, Any], entity: dict[str, Any]) -> None:
    kind["count"] += 1
    for name, value in entity.items():
        if name in ENTITY_MEMBERS:
            continue
        seen = kind["attributes"].setdefault(name, {"types": set(), "count": 0})
        seen["count"] += 1
        # An attribute of several instances (datasetId) is a list of them.
        for instance in value if isinstance(value, list) else [value]:
            if isinstance(instance, dict) and "type" in instance:
                seen["types"].add(str(instance["type"]))


def read_type_info(
    lake: Lake, entity_type: str, *, region: str, with_context: bool, engine: Engine
) -> dict[str, Any]:
    """One type's ``EntityTypeInfo``: how many entities, each attribute's types.

    Raises
    ------
    NotFoundError
        The type is not published now.
    """
    inventory = read_inventory(lake, region=region, engine=engine)
    if entity_type not in inventory:
        raise NotFoundError(f"no entity of type {entity_type!r} is published")
    kind = inventory[entity_type]
    details = [
        {
            "id": get_attribute_iri(name, entity_type),
            "type": "Attribute",
            "attributeName": name,
            "attributeTypes": sorted(seen["types"]),
        }
        for name, seen in sorted(kind["attributes"].items())
    ]
    body = {
        "id": get_type_iri(entity_type),
        "type": "EntityTypeInfo",
        "typeName": entity_type,
        "entityCount": kind["count"],
        "attributeDetails": details,
    }
    return body | ({"@context": CONTEXT} if with_context else {})


def read_attributes(
    lake: Lake, *, region: str, details: bool, with_context: bool, engine: Engine
) -> dict[str, Any] | list[dict[str, Any]]:
    """The attributes of the published entities: an ``AttributeList``, or with
    ``details`` one ``Attribute`` per name (count, attribute types, entity types)."""
    merged = _merge_attributes(read_inventory(lake, region=region, engine=engine))
    context = {"@context": CONTEXT} if with_context else {}
    if not details:
        return {
            "id": "urn:ngsi-ld:AttributeList:urbanpulse",
            "type": "AttributeList",
            "attributeList": sorted(merged),
        } | context
    return [_attribute_body(name, merged[name]) | context for name in sorted(merged)]


def read_attribute(
    lake: Lake, name: str, *, region: str, with_context: bool, engine: Engine
) -> dict[str, Any]:
    """One ``Attribute`` with its details.

    Raises
    ------
    NotFoundError
        No published entity has it.
    """
    merged = _merge_attributes(read_inventory(lake, region=region, engine=engine))
    if name not in merged:
        raise NotFoundError(f"no published entity has the attribute {name!r}")
    return _attribute_body(name, merged[name]) | ({"@context": CONTEXT} if with_context else {})


def get_attribute_iri(name: str, entity_type: str) -> str:
    """The IRI of an attribute of a type: the Smart Data Models IRI in the model of a
    type UrbanPulse models, else the attribute's own (itself, or the default
    vocabulary's)."""
    if entity_type in SUBJECTS:
        return f"https://smartdatamodels.org/dataModel.{SUBJECTS[entity_type]}/{name}"
    return _expand(name)


def build_context_document() -> dict[str, Any]:
    """The JSON-LD @context UrbanPulse serves (and links): each entity type and
    attribute it publishes mapped to its Smart Data Models IRI, with the NGSI-LD core
    terms, so a client can expand every term without reaching another host."""
    terms: dict[str, str] = {"ngsi-ld": "https://uri.etsi.org/ngsi-ld/"}
    for core in ("Property", "Relationship", "GeoProperty", "observedAt", "unitCode",
                 "location", "value", "object", "createdAt", "modifiedAt", "datasetId"):  # fmt: skip
        terms[core] = f"ngsi-ld:{core}"
    terms["id"] = "@id"
    terms["type"] = "@type"
    for entity_type in ENTITY_TYPES:
        terms[entity_type] = get_type_iri(entity_type)
    for entity_type, attributes in ATTRIBUTES.items():
        for attribute in attributes:
            terms.setdefault(attribute.name, get_attribute_iri(attribute.name, entity_type))
    for name in COMMON_ATTRIBUTES:  # the properties every Smart Data Model shares
        terms.setdefault(name, f"https://smartdatamodels.org/{name}")
    terms["hasStop"] = "https://smartdatamodels.org/dataModel.UrbanMobility/hasStop"
    # UrbanPulse's own flag: the entity comes from the synthetic demo, not a measurement
    terms["synthetic"] = "urn:ngsi-ld:urbanpulse:synthetic"
    return {"@context": terms}


COMMON_ATTRIBUTES = (
    "name",
    "alternateName",
    "areaServed",
    "dataProvider",
    "dateObserved",
    "congested",
    "address",
    "description",
)


def _merge_attributes(inventory: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for entity_type, kind in inventory.items():
        for name, seen in kind["attributes"].items():
            into = merged.setdefault(name, {"types": set(), "count": 0, "typeNames": set()})
            into["types"] |= seen["types"]
            into["count"] += seen["count"]
            into["typeNames"].add(entity_type)
    return merged


def _attribute_body(name: str, seen: dict[str, Any]) -> dict[str, Any]:
    first_type = sorted(seen["typeNames"])[0]
    return {
        "id": get_attribute_iri(name, first_type),
        "type": "Attribute",
        "attributeName": name,
        "attributeCount": seen["count"],
        "attributeTypes": sorted(seen["types"]),
        "typeNames": sorted(seen["typeNames"]),
    }
