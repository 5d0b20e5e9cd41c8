"""Context entities of types UrbanPulse does not model (a Building, a ParkingSpot):
kept as the NGSI-LD entities their writers sent, so an IoT agent or a FIWARE component
can keep any context here beside the sites and their observations.

Each write appends the entity's whole new version to the lake table
``context_entities`` (a deletion is a version too); the newest version is in force.
They are read with the sites' entities (type, id, idPattern, attrs, q and a point
location's geo-query select them) and listed by the type and attribute discovery;
their history in the temporal API is :mod:`urbanpulse.ngsi.history`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from urbanpulse.ngsi.contexts import Terms
from urbanpulse.ngsi.geo import GeoQuery, match_geometry, read_geometry
from urbanpulse.ngsi.languages import choose_language
from urbanpulse.ngsi.query import (
    LINKED,
    MISSING,
    AnyOf,
    EntityQuery,
    RelationshipObject,
    match_q,
    match_scopes,
)
from urbanpulse.ngsi.validation import parse_utc_time
from urbanpulse.store import Lake
from urbanpulse.store.queries import read_newest_versions

TABLE = "context_entities"
SCHEMA = pa.schema(
    [
        ("entity_id", pa.string()),
        ("entity_type", pa.string()),
        ("document", pa.string()),
        ("deleted", pa.bool_()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("modified_at", pa.timestamp("us", tz="UTC")),
    ]
)


def read_documents(lake: Lake) -> dict[str, dict[str, Any]]:
    """The context entities in force, by id: each ``{"id", "type", attributes...}``
    with its ``createdAt`` and ``modifiedAt``."""
    found: dict[str, dict[str, Any]] = {}
    newest = read_newest_versions(lake, TABLE, key="entity_id", newest_by="modified_at")
    for row in newest.to_pylist():
        if not row["deleted"]:
            entity = {"id": row["entity_id"], "type": row["entity_type"]}
            entity |= json.loads(row["document"])
            entity["createdAt"] = format_system_time(row["created_at"])
            entity["modifiedAt"] = format_system_time(row["modified_at"])
            found[row["entity_id"]] = entity
    return found


def build_document_table(
    entities: list[dict[str, Any]], deleted: list[dict[str, Any]], now: datetime
) -> pa.Table:
    """Rows of new versions: ``entities`` as they now stand (with their ``createdAt``
    when they had one) and ``deleted`` ones (their last version), stamped ``now``."""
    rows = []
    for entity, gone in [(e, False) for e in entities] + [(e, True) for e in deleted]:
        # The @context the entity was written with stays with it: its terms are that
        # context's, and a JSON-LD answer names it.
        attributes = {k: v for k, v in entity.items() if k not in SYSTEM_KEYS or k == "@context"}
        if isinstance(entity["type"], list):  # several types: all kept, the first indexed
            attributes["type"] = entity["type"]
        created = entity.get("createdAt")
        rows.append(
            {
                "entity_id": entity["id"],
                "entity_type": get_types(entity["type"])[0],
                "document": json.dumps(attributes, ensure_ascii=False, separators=(",", ":")),
                "deleted": gone,
                "created_at": datetime.fromisoformat(created) if created else now,
                "modified_at": now,
            }
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


SYSTEM_KEYS = ("id", "type", "@context", "createdAt", "modifiedAt")
# Entity members that are not attributes (ETSI GS CIM 009 4.5.1, 6.3.11).
ENTITY_MEMBERS = frozenset({*SYSTEM_KEYS, "scope", "deletedAt", "expiresAt"})
# Members the core @context names, the same under every context.
CORE_MEMBERS = frozenset({*ENTITY_MEMBERS, "location", "observationSpace", "operationSpace"})


def get_types(entity_type: Any) -> list[str]:
    """An entity's types: its ``type`` is one name or a list of them."""
    return [str(t) for t in entity_type] if isinstance(entity_type, list) else [str(entity_type)]


def select_documents(
    documents: dict[str, dict[str, Any]], query: EntityQuery
) -> list[dict[str, Any]]:
    """The context entities (:func:`read_documents`) ``query`` selects, ordered by id."""
    selected = []
    for entity_id, entity in sorted(documents.items()):
        if query.types and not _has_type(entity, query):
            continue
        if query.ids and entity_id not in query.ids:
            continue
        if query.id_pattern is not None and not query.id_pattern.search(entity_id):
            continue
        # The query's attribute names are terms of its @context, the entity's of its own.
        own_name = get_own_names(query.terms, entity.get("@context"), entity.keys())
        if query.attrs and not any(own_name(a) in entity for a in query.attrs):
            continue
        if query.geo is not None and not _match_location(query.geo, entity, own_name):
            continue
        if query.q is not None and not match_q(query.q, get_q_reader(entity, own_name, documents)):
            continue
        if query.scopes and not match_scopes(query.scopes, entity.get("scope")):
            continue
        selected.append(entity)
    return selected


def _has_type(entity: dict[str, Any], query: EntityQuery) -> bool:
    """Whether the entity has a type the query names, as written or as the IRI both
    expand to under their own @context."""
    types = get_types(entity["type"])
    if set(types) & set(query.types):
        return True
    if query.terms is None:
        return False
    book = query.terms.book
    wanted = {book.expand(t, query.terms.context) for t in query.types}
    return any(book.expand(t, entity.get("@context")) in wanted for t in types)


def render_document(
    entity: dict[str, Any], *, attrs: tuple[str, ...] = (), key_values: bool = False,
    sys_attrs: bool = False, terms: Terms | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A context entity as asked: only ``attrs`` when given, keyValues, system times;
    with ``terms``, its type and attribute names (and ``attrs``) in the request's
    @context instead of the one it was written in."""
    source = entity.get("@context")
    own_name = get_own_names(terms, source, entity.keys())
    asked_name = get_asked_names(terms, source)
    wanted = {own_name(a) for a in attrs}
    types = [asked_name(t) for t in get_types(entity["type"])]
    rendered: dict[str, Any] = {"id": entity["id"], "type": types if isinstance(entity["type"], list) else types[0]}  # fmt: skip
    for name, attribute in entity.items():
        if name in SYSTEM_KEYS or (attrs and name not in wanted):
            continue
        if name == "expiresAt" and not sys_attrs:  # a system time (6.3.11), as createdAt
            continue
        shown = name if name in CORE_MEMBERS else asked_name(name)
        if terms and terms.languages is not None:
            attribute = choose_language(attribute, terms.languages)
        if not sys_attrs:
            attribute = _without_expiry(attribute)
        rendered[shown] = simplify_attribute(attribute) if key_values else attribute
    if sys_attrs:
        rendered["createdAt"], rendered["modifiedAt"] = entity["createdAt"], entity["modifiedAt"]
    return rendered


def _without_expiry(attribute: Any) -> Any:
    """An attribute without its instances' expiresAt, shown only with sysAttrs."""
    if isinstance(attribute, list):
        return [_without_expiry(a) for a in attribute]
    if isinstance(attribute, dict) and "expiresAt" in attribute:
        return {k: v for k, v in attribute.items() if k != "expiresAt"}
    return attribute


# Members a simplified attribute keeps wrapped, so the kind stays readable (ETSI GS
# CIM 009 4.5.4 Examples 4-6): a language map, JSON and a vocabulary term.
WRAPPED_MEMBERS = ("languageMap", "json", "vocab")


def simplify_attribute(attribute: Any) -> Any:
    """An attribute in keyValues form (ETSI GS CIM 009 4.5.4): a Property's value, a
    Relationship's object, a list's items, {"languageMap": ...}, {"json": ...} or
    {"vocab": ...}; several instances as {"dataset": {datasetId or "@none": ...}}."""
    if isinstance(attribute, list):
        if len(attribute) == 1:
            return simplify_attribute(attribute[0])
        return {
            "dataset": {
                (a.get("datasetId") if isinstance(a, dict) else None) or "@none": simplify_attribute(a)
                for a in attribute
            }
        }  # fmt: skip
    if not isinstance(attribute, dict):
        return attribute
    if "object" in attribute:
        return attribute["object"]
    for key in WRAPPED_MEMBERS:
        if key in attribute:
            return {key: attribute[key]}
    if "objectList" in attribute:
        return [o.get("object") if isinstance(o, dict) else o for o in attribute["objectList"]]
    for key in ("value", "valueList"):
        if key in attribute:
            return attribute[key]
    return attribute


def _match_location(geo: GeoQuery, entity: dict[str, Any], own_name: Callable[[str], str]) -> bool:  # fmt: skip
    """Whether the entity's GeoProperty the query is on (any GeoJSON geometry) meets it."""
    place = entity.get(own_name(geo.geoproperty))
    geometry = read_geometry(place.get("value") if isinstance(place, dict) else None)
    return geometry is not None and match_geometry(geo, geometry)


def get_own_names(
    terms: Terms | None, context: Any, names: Collection[str] = ()
) -> Callable[[str], str]:
    """The name an entity written in ``context`` gives each type or attribute a request
    names under ``terms``: one of its ``names`` written the same, else the term of the
    same IRI (the name itself without ``terms``). A name written the same is taken as
    it is, as types are: an entity written in a context UrbanPulse does not know has no
    other way to be asked for."""
    if terms is None:
        return _same_name
    translate = terms.book.translate(terms.context, context)

    def own_name(name: str) -> str:
        return name if name in names else translate(name)

    return own_name


def get_asked_names(terms: Terms | None, context: Any) -> Callable[[str], str]:
    """The name the request's @context gives each name of an entity written in
    ``context`` (the name itself without ``terms``)."""
    return terms.book.translate(context, terms.context) if terms else _same_name


def _same_name(name: str) -> str:
    return name


def get_q_reader(
    entity: dict[str, Any],
    own_name: Callable[[str], str] = _same_name,
    documents: dict[str, dict[str, Any]] | None = None,
) -> Callable[[tuple[str, ...]], Any]:
    """How a q term reads the entity (ETSI GS CIM 009 4.9), or an entity's state at an
    instant (attribute -> instance): an attribute's value, a list's items, a member of
    a compound value, a language of a LanguageProperty (``[*]``: any), a
    Relationship's object, or, through ``{...}``, an attribute of the entity the
    Relationship points at among ``documents``."""

    def get(path: tuple[str, ...]) -> Any:
        found = entity.get(own_name(path[0]))
        if isinstance(found, list):
            found = found[0] if found else None
        if not isinstance(found, dict):
            return MISSING
        if len(path) > 1 and path[1] == LINKED:
            return _get_linked(found.get("object"), path[2], path[3:], documents)
        if "languageMap" in found:
            return _get_language(found["languageMap"], path[1:])
        if found.get("type") == "Relationship" and isinstance(found.get("object"), str):
            return RelationshipObject(found["object"]) if len(path) == 1 else MISSING
        value = found.get("value", found.get("object", found.get("valueList", MISSING)))
        for step in path[1:]:
            if isinstance(value, dict) and step in value:
                value = value[step]
            elif step in found:
                value = found[step]
            else:
                return MISSING
        return value

    return get


def _get_language(languages: Any, path: tuple[str, ...]) -> Any:
    """``color[en]``: that language's value; ``color[*]``: every language's."""
    if not isinstance(languages, dict) or len(path) != 1:
        return MISSING
    if path[0] == "*":
        return AnyOf(languages.values()) if languages else MISSING
    return languages.get(path[0], MISSING)


def _get_linked(
    target: Any, hint: str, path: tuple[str, ...], documents: dict[str, dict[str, Any]] | None
) -> Any:
    """A path read in the entity a Relationship points at (one of ``documents``), when
    it is of the hinted type (any type without a hint)."""
    linked = documents.get(target) if documents and isinstance(target, str) else None
    if linked is None or (hint and hint not in get_types(linked.get("type"))):
        return MISSING
    return get_q_reader(linked, _same_name, documents)(path)


def format_system_time(moment: datetime) -> str:
    """A system time (createdAt, modifiedAt) as NGSI-LD writes it, UTC to the microsecond."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def find_transient(documents: dict[str, dict[str, Any]]) -> frozenset[str]:
    """The ids of context entities that expire, or hold an instance that does."""
    return frozenset(
        entity_id for entity_id, entity in documents.items()
        if "expiresAt" in entity or any(
            isinstance(i, dict) and "expiresAt" in i
            for value in entity.values() for i in (value if isinstance(value, list) else [value])
        )
    )  # fmt: skip


def drop_expired(entity: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """An entity without its attribute instances whose expiresAt has passed at
    ``now``; None when the entity itself has expired."""
    if has_expired(entity.get("expiresAt"), now):
        return None
    kept: dict[str, Any] = {}
    for name, value in entity.items():
        if name in SYSTEM_KEYS or name in ("scope", "expiresAt"):
            kept[name] = value
            continue
        instances = [
            i for i in (value if isinstance(value, list) else [value])
            if not (isinstance(i, dict) and has_expired(i.get("expiresAt"), now))
        ]  # fmt: skip
        if instances:
            kept[name] = (
                instances if isinstance(value, list) and len(instances) > 1 else instances[0]
            )
    return kept


def has_expired(expires_at: Any, now: datetime) -> bool:
    """Whether an expiresAt (a UTC date-time, or None for no end) is not after ``now``."""
    if not isinstance(expires_at, str):
        return False
    try:
        return parse_utc_time(expires_at) <= now
    except ValueError:  # kept by an older version that did not check it: no end known
        return False
