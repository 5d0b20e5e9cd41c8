"""NGSI-LD discovery: which entity types and attributes the lake publishes now
(``/ngsi-ld/v1/types``, ``/types/{type}``, ``/attributes``, ``/attributes/{attrId}``,
ETSI GS CIM 009 5.7.5-5.7.10), and the JSON-LD @context the product serves itself."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from urbanpulse.errors import NotFoundError
from urbanpulse.ngsi.contexts import CORE_VOCABULARY, DEFAULT_VOCABULARY, Terms
from urbanpulse.ngsi.documents import CORE_MEMBERS, ENTITY_MEMBERS, get_types
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
    terms: Terms,
    *,
    region: str,
    details: bool = False,
    with_context: bool = False,
    engine: Engine,
) -> dict[str, Any] | list[dict[str, Any]]:
    """The types with at least one entity: an ``EntityTypeList``, or with ``details``
    one ``EntityType`` per type with the attribute names its entities have now; each
    named in the request's @context (``terms``)."""
    inventory = read_inventory(lake, terms, region=region, engine=engine)
    name_of = _get_namer(terms)
    # The product's own types in their order, then the context entities' by name.
    own = [get_type_iri(t) for t in ENTITY_TYPES]
    present = [t for t in own if t in inventory]
    present += sorted((t for t in inventory if t not in own), key=name_of)
    context = {"@context": _get_context(terms)} if with_context else {}
    if not details:
        return {
            "id": "urn:ngsi-ld:EntityTypeList:urbanpulse",
            "type": "EntityTypeList",
            "typeList": [name_of(t) for t in present],
        } | context
    return [
        {
            "id": t,
            "type": "EntityType",
            "typeName": name_of(t),
            "attributeNames": sorted(map(name_of, inventory[t]["attributes"])),
        }
        | context
        for t in present
    ]


def read_inventory(
    lake: Lake, terms: Terms, *, region: str, engine: Engine
) -> dict[str, dict[str, Any]]:
    """What is published now, the sites' entities and the context entities written
    through the provisioning API, by the IRIs their names expand to: type IRI ->
    {"count": entities, "attributes": {attribute IRI: {"types": set of attribute types
    (Property, GeoProperty, ...), "count": entities having it}}}."""
    records = select_records(lake, EntityQuery(), region=region, latest=True, engine=engine)
    inventory: dict[str, dict[str, Any]] = {}
    for record in records:
        entity = render_entity(record)
        entity_type = str(entity["type"])
        kind = inventory.setdefault(get_type_iri(entity_type), {"count": 0, "attributes": {}})
        _take_inventory(kind, entity, partial(get_attribute_iri, entity_type=entity_type))
    for document in read_current_documents(lake).values():
        context = document.get("@context")

        def expand(name: str, context: Any = context) -> str:
            return terms.book.expand(name, context)

        for entity_type in get_types(document["type"]):  # an entity of several types counts in each
            kind = inventory.setdefault(expand(entity_type), {"count": 0, "attributes": {}})
            _take_inventory(kind, document, expand)
    return inventory


def _take_inventory(kind: dict[str, Any], entity: dict[str, Any], expand: Callable[[str], str]) -> None:  # fmt: skip
    kind["count"] += 1
    for name, value in entity.items():
        if name in ENTITY_MEMBERS:
            continue
        iri = CORE_VOCABULARY + name if name in CORE_MEMBERS else expand(name)
        seen = kind["attributes"].setdefault(iri, {"types": set(), "count": 0})
        seen["count"] += 1
        # An attribute of several instances (datasetId) is a list of them.
        for instance in value if isinstance(value, list) else [value]:
            if isinstance(instance, dict) and "type" in instance:
                seen["types"].add(str(instance["type"]))


def _get_target(terms: Terms) -> Any:
    """The @context names are given in: the request's, else UrbanPulse's own (which
    the answer's Link header names)."""
    return terms.context if terms.context is not None else terms.book.default


def _get_namer(terms: Terms) -> Callable[[str], str]:
    target = _get_target(terms)
    return lambda iri: terms.book.compact(iri, target)


def _get_context(terms: Terms) -> Any:
    return terms.context if terms.context is not None else CONTEXT


def read_type_info(
    lake: Lake, terms: Terms, entity_type: str, *, region: str, with_context: bool, engine: Engine
) -> dict[str, Any]:
    """One type's ``EntityTypeInfo``: how many entities, each attribute's types; the
    type is a term of the request's @context or its IRI.

    Raises
    ------
    NotFoundError
        The type is not published now.
    """
    inventory = read_inventory(lake, terms, region=region, engine=engine)
    iri = terms.book.expand(entity_type, _get_target(terms))
    if iri not in inventory:
        raise NotFoundError(f"no entity of type {entity_type!r} is published")
    name_of, kind = _get_namer(terms), inventory[iri]
    details = [
        {
            "id": attribute,
            "type": "Attribute",
            "attributeName": name_of(attribute),
            "attributeTypes": sorted(seen["types"]),
        }
        for attribute, seen in sorted(kind["attributes"].items(), key=lambda a: name_of(a[0]))
    ]
    body = {
        "id": iri,
        "type": "EntityTypeInfo",
        "typeName": name_of(iri),
        "entityCount": kind["count"],
        "attributeDetails": details,
    }
    return body | ({"@context": _get_context(terms)} if with_context else {})


def read_attributes(
    lake: Lake, terms: Terms, *, region: str, details: bool, with_context: bool, engine: Engine
) -> dict[str, Any] | list[dict[str, Any]]:
    """The attributes of the published entities: an ``AttributeList``, or with
    ``details`` one ``Attribute`` per name (count, attribute types, entity types)."""
    merged = _merge_attributes(read_inventory(lake, terms, region=region, engine=engine))
    name_of = _get_namer(terms)
    context = {"@context": _get_context(terms)} if with_context else {}
    if not details:
        return {
            "id": "urn:ngsi-ld:AttributeList:urbanpulse",
            "type": "AttributeList",
            "attributeList": sorted(map(name_of, merged)),
        } | context
    bodies = [_attribute_body(iri, merged[iri], name_of) | context for iri in merged]
    return sorted(bodies, key=lambda b: str(b["attributeName"]))


def read_attribute(
    lake: Lake, terms: Terms, name: str, *, region: str, with_context: bool, engine: Engine
) -> dict[str, Any]:
    """One ``Attribute`` with its details; ``name`` is a term of the request's
    @context or its IRI.

    Raises
    ------
    NotFoundError
        No published entity has it.
    """
    merged = _merge_attributes(read_inventory(lake, terms, region=region, engine=engine))
    iri = terms.book.expand(name, _get_target(terms))
    if iri not in merged:
        raise NotFoundError(f"no published entity has the attribute {name!r}")
    body = _attribute_body(iri, merged[iri], _get_namer(terms))
    return body | ({"@context": _get_context(terms)} if with_context else {})


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
        for iri, seen in kind["attributes"].items():
            into = merged.setdefault(iri, {"types": set(), "count": 0, "typeNames": set()})
            into["types"] |= seen["types"]
            into["count"] += seen["count"]
            into["typeNames"].add(entity_type)
    return merged


def _attribute_body(iri: str, seen: dict[str, Any], name_of: Callable[[str], str]) -> dict[str, Any]:  # fmt: skip
    return {
        "id": iri,
        "type": "Attribute",
        "attributeName": name_of(iri),
        "attributeCount": seen["count"],
        "attributeTypes": sorted(seen["types"]),
        "typeNames": sorted(map(name_of, seen["typeNames"])),
    }
