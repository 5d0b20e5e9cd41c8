"""NGSI-LD provisioning: entities pushed by an IoT agent or a FIWARE component, kept in
the lake through the live ingest core.

An entity of a type UrbanPulse publishes (:data:`vocabulary.ENTITY_TYPES`) is a site
and its observations: ``name``, ``alternateName`` and ``location`` describe the site;
each observed attribute (one the vocabulary maps to a metric, or a numeric Property
named like a metric code, the same rule MQTT fragments follow) becomes an observation
at its ``observedAt`` (else the entity's ``dateObserved``, else the time the request
arrived), judged, deduplicated and quarantined by :func:`stream.batches.commit_items`.
Any other attribute (``laneDirection``, ``refDevice``, ...) is context: kept with the
site as it was sent and published back with the entity. Attributes the product computes
(``dataProvider``, ``synthetic``, ``hasStop``, ``congested``) are not taken from a writer.

Observations are history: a value sent again for a time already stored with another
value is a correction, kept in quarantine with both values (never applied in place),
and a deleted entity's site leaves the sites table while its observations stay in the
lake. One request is one commit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

import pyarrow as pa

from urbanpulse.catalog import get_cities, get_city
from urbanpulse.errors import (
    AlreadyExistsError,
    InvalidQueryError,
    MalformedRequestError,
    NotFoundError,
    UrbanPulseError,
)
from urbanpulse.ngsi.documents import (
    SYSTEM_KEYS,
    TABLE,
    build_document_table,
    get_types,
)
from urbanpulse.ngsi.entities import CONTEXT_KEY, read_current_documents, read_site_context
from urbanpulse.ngsi.history import TABLE as HISTORY_TABLE
from urbanpulse.ngsi.history import HistoryWrite
from urbanpulse.ngsi.query import get_short_type
from urbanpulse.ngsi.validation import (
    GEOMETRIES,
    NULL_VALUE,
    RESERVED,
    check_attribute,
    check_entity_id,
    check_name,
    check_time,
)
from urbanpulse.ngsi.vocabulary import (
    AIR_QUALITY,
    CROWD_FLOW,
    ENTITY_TYPES,
    GTFS_STOP,
    TRAFFIC_FLOW,
    URN_PREFIX,
    get_entity_types,
    parse_entity_id,
)
from urbanpulse.store import Lake
from urbanpulse.stream.batches import BatchResult, SiteBook, SiteChanges, commit_items
from urbanpulse.stream.payloads import Items, decode_entity, is_observed_attribute
from urbanpulse.transit.transfers import get_metres

ChangeT = TypeVar("ChangeT")
# The kind of site a new entity of each type registers.
NEW_SITE_KINDS = {
    TRAFFIC_FLOW: "road_sensor",
    AIR_QUALITY: "air_monitor",
    CROWD_FLOW: "counter",
    GTFS_STOP: "metro_station",
}
# Attributes the product computes when it publishes an entity.
COMPUTED = frozenset({"dataProvider", "synthetic", "hasStop", "congested", "areaServed"})
# A site without an address is placed in the nearest city whose seat is this close.
CITY_REACH_KM = 50.0
_CJK = re.compile(r"[\u3400-\u9fff]")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.~-]{0,127}$")
_SCOPE = re.compile(r"^(/[A-Za-z_][A-Za-z0-9_]*)+$")


class Mode(Enum):
    """What a write may do to an entity that exists, or does not."""

    CREATE = "create"  # only a new entity
    UPSERT = "upsert"  # a new entity, or its attributes replaced or added
    UPDATE = "update"  # only an existing entity; attributes replaced or added
    APPEND = "append"  # POST .../attrs: attributes added, or replaced unless noOverwrite
    PATCH = "patch"  # PATCH .../attrs: only attributes the entity has
    MERGE = "merge"  # PATCH /entities/{id}: an existing entity's attributes merged member
    # by member, attributes added; an attribute sent as urn:ngsi-ld:null (NULL_VALUE) is removed
    REPLACE = "replace"  # PUT /entities/{id}: an existing entity replaced whole


# Modes that write only an entity that already exists.
EXISTING_ONLY = frozenset({Mode.UPDATE, Mode.APPEND, Mode.PATCH, Mode.MERGE, Mode.REPLACE})
# Writes that state an entity whole, where an NGSI-LD Null has nothing to remove.
WHOLE_WRITES = frozenset({Mode.CREATE, Mode.REPLACE})
# Writes that add or replace attributes, where noOverwrite keeps an existing one.
OVERWRITING = frozenset({Mode.APPEND, Mode.UPDATE})


@dataclass
class EntityWrite:
    """One entity as sent, sorted into site description, context and observations."""

    entity_id: str
    entity_type: str
    site_id: str
    document: dict[str, Any]
    names: list[str] = field(default_factory=list)
    location: tuple[float, float] | None = None  # (lon, lat)
    locality: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)
    date_observed: Any = None
    # A context entity of a type UrbanPulse does not model: kept as sent
    # (urbanpulse.ngsi.documents); ``context`` then holds all its attributes.
    generic: bool = False
    # The JSON-LD @context the entity was sent with (in the body, or a Link header).
    jsonld_context: Any = None
    # A context entity's types when it was sent with several (entity_type is the first).
    types: tuple[str, ...] = ()


@dataclass
class ProvisionOutcome:
    """What a write did: entities created and changed, attributes left as they were
    (with why), entities refused (with the error), and the commit's counts."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    # (entity id, attribute, reason) of each attribute left as it was.
    not_updated: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[tuple[str, UrbanPulseError]] = field(default_factory=list)
    # (entity id, attribute, reason) of each observed value kept in quarantine.
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)
    batch: BatchResult = field(default_factory=BatchResult)


def parse_entity(document: Any, *, entity_id: str | None = None) -> EntityWrite:
    """Sort an NGSI-LD entity (normalized, concise or keyValues attributes) into an
    :class:`EntityWrite`; ``entity_id`` is the id of the URL for an attributes write,
    whose body has no id and type.

    Raises
    ------
    InvalidQueryError
        For anything UrbanPulse could not keep as sent: no id or type, a type it does
        not publish, an id not of the form ``urn:ngsi-ld:<type>:<site id>``, a location
        that is not a GeoJSON Point, an observed attribute that is not a number.
    """
    if not isinstance(document, dict):
        raise MalformedRequestError("an NGSI-LD entity is a JSON object")
    given_id = check_entity_id(entity_id or document.get("id"))
    null = _find_null(document)
    if null is not None:
        # ETSI GS CIM 009 5.5.14 and 4.5.18: JSON null is no value; a merge removes
        # with the text urn:ngsi-ld:null instead.
        raise InvalidQueryError(
            f"entity {given_id}: {null} holds a null; NGSI-LD values are never null "
            f"(a merge removes an attribute sent as {NULL_VALUE!r})"
        )
    parsed = parse_entity_id(given_id)
    given_type = document.get("type")
    if isinstance(given_type, list) and len(given_type) == 1:
        given_type = given_type[0]
    if isinstance(given_type, list) and any(isinstance(t, str) and get_short_type(t) in ENTITY_TYPES for t in given_type):  # fmt: skip
        raise InvalidQueryError(f"entity {given_id}: a site has one type, not {given_type!r}")
    product_type = isinstance(given_type, str) and get_short_type(given_type) in ENTITY_TYPES
    if parsed is None and not product_type:
        return _parse_context_entity(document, given_id, given_type, attributes_only=bool(entity_id))  # fmt: skip
    if parsed is None:
        raise InvalidQueryError(
            f"entity id {given_id!r}: UrbanPulse keeps {given_type} entities under "
            f"{URN_PREFIX}<type>:<site id>"
        )
    entity_type, site_id = parsed
    if entity_id and given_type is None:
        given_type = entity_type
    if not isinstance(given_type, str) or get_short_type(given_type) != entity_type:
        raise InvalidQueryError(
            f"entity {given_id}: type {given_type!r} is not the type its id names ({entity_type})"
        )
    if not _SITE_ID.match(site_id):
        raise InvalidQueryError(
            f"entity id {given_id}: a site id is letters, digits and - _ . ~ (at most 128)"
        )
    write = EntityWrite(given_id, entity_type, site_id, document)
    for name, attribute in document.items():
        if name in ("id", "type", "@context"):
            continue
        _sort_attribute(write, name, attribute)
    return write


def _find_null(document: Any, *, marker: bool = False) -> str | None:
    """The path of the first JSON null in a document, or with ``marker`` of the first
    NGSI-LD Null (urn:ngsi-ld:null); None: there is none. An @context is not looked in.
    Walked with a stack, not recursion: a body may nest as deep as the JSON reader lets
    it. A JsonProperty's json is raw JSON, nulls included (4.5.24): not looked in."""
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        path, value = pending.pop()
        if value is None or (marker and value == NULL_VALUE):
            return path or "the body"
        if isinstance(value, dict) and "json" in value and value.get("type", "JsonProperty") == "JsonProperty":  # fmt: skip
            value = {k: v for k, v in value.items() if k != "json"}  # or its concise form
        members = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()  # fmt: skip
        children = [(f"{path}.{k}" if path else str(k), v) for k, v in members if k != "@context"]
        pending += reversed(children)  # the first member is looked at first
    return None


def _parse_context_entity(
    document: dict[str, Any], entity_id: str, entity_type: Any, *, attributes_only: bool
) -> EntityWrite:
    """A context entity: its type (known from the lake for an attributes write) and
    its attributes in normalized form."""
    if not attributes_only and entity_type is None:
        raise InvalidQueryError(f"entity {entity_id}: a type is a non-empty text")
    # An entity may have several types (ETSI GS CIM 009 4.16): a list of names.
    types = entity_type if isinstance(entity_type, list) and entity_type else [entity_type]
    for name in types if entity_type is not None else []:
        check_name(name, f"entity {entity_id}: type")
        if name in RESERVED:  # "type" is JSON-LD's @type under the core @context
            raise InvalidQueryError(f"entity {entity_id}: type {name!r} is a core term, not a type name")  # fmt: skip
    write = EntityWrite(entity_id, types[0] or "", "", document, generic=True)
    write.types = tuple(types) if entity_type is not None else ()
    write.jsonld_context = document.get("@context")
    for name, attribute in document.items():
        if name in ("id", "type", "@context"):
            continue
        if name == "scope":
            write.context[name] = _check_scope(entity_id, attribute)
            continue
        if name == "expiresAt":  # a transient entity (ETSI GS CIM 009 4.22)
            write.context[name] = check_time(attribute, f"entity {entity_id}: expiresAt")
            continue
        if attribute is None:
            raise InvalidQueryError(f"entity {entity_id}, attribute {name!r}: a value is not null")
        write.context[name] = _normalize(attribute)
        check_attribute(name, write.context[name], f"entity {entity_id}")
    return write


def _check_scope(entity_id: str, scope: Any) -> Any:
    """An entity's scope: levels /A/B of letters, digits and _ (not a digit first)."""
    scopes = scope if isinstance(scope, list) else [scope]
    if not scopes or not all(isinstance(s, str) and _SCOPE.match(s) for s in scopes):
        raise InvalidQueryError(f"entity {entity_id}: scope {scope!r} is not /level[/level...]")
    return scope


def _sort_attribute(write: EntityWrite, name: str, attribute: Any) -> None:
    where = f"entity {write.entity_id}, attribute {name!r}"
    if not _ATTRIBUTE_NAME.match(name):
        raise InvalidQueryError(f"{where}: not an attribute name")
    instance = _normalize(attribute)
    if isinstance(instance, list):
        raise InvalidQueryError(f"{where}: a site's attribute has one instance (no datasetId)")
    value = instance.get("value")
    if name in ("name", "alternateName"):
        if not isinstance(value, str) or not value.strip():
            raise InvalidQueryError(f"{where}: a name is non-empty text")
        write.names.append(value.strip())
    elif name == "location":
        write.location = _read_point(where, value)
    elif name == "address":
        locality = value.get("addressLocality") if isinstance(value, dict) else None
        write.locality = locality if isinstance(locality, str) else None
        write.context[name] = instance
    elif name == "dateObserved":
        write.date_observed = value.get("@value") if isinstance(value, dict) else value
    elif name in COMPUTED:
        return  # computed when published, never taken from a writer
    elif is_observed_attribute(write.entity_type, name, instance):
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise InvalidQueryError(f"{where}: an observed value is a number, not {value!r}")
        write.observed[name] = instance
    else:
        write.context[name] = instance


# The member that names an attribute's type in the concise form.
_CONCISE = {
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "vocab": "VocabProperty",
    "json": "JsonProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "value": "Property",
}


def _normalize(attribute: Any) -> Any:
    """An attribute in normalized form: keyValues and concise values get their type;
    a list of instances (told apart by datasetId) is normalized instance by instance."""
    if isinstance(attribute, list) and attribute and all(isinstance(a, dict) and ("type" in a or "datasetId" in a) for a in attribute):  # fmt: skip
        return [_normalize(a) for a in attribute]
    if isinstance(attribute, dict) and attribute.get("type") in GEOMETRIES:
        return {"type": "GeoProperty", "value": attribute}  # a keyValues location
    if isinstance(attribute, dict) and "type" in attribute:
        return _with_object_entries(attribute)
    if isinstance(attribute, dict):
        kind = next((k for m, k in _CONCISE.items() if m in attribute), None)
        if kind is not None:
            return _with_object_entries({"type": kind, **attribute})
    return {"type": "Property", "value": attribute}


def _with_object_entries(attribute: dict[str, Any]) -> dict[str, Any]:
    """A ListRelationship's objectList as {"object": uri} entries: it may be sent as
    bare URIs, and is stored and answered in one form (ETSI GS CIM 009 4.5.22). A
    datasetId of "@none" is the default instance: kept as none (4.5.5)."""
    if attribute.get("datasetId") == "@none":
        attribute = {k: v for k, v in attribute.items() if k != "datasetId"}
    entries = attribute.get("objectList")
    if not isinstance(entries, list) or all(isinstance(e, dict) for e in entries):
        return attribute
    return attribute | {"objectList": [{"object": e} if isinstance(e, str) else e for e in entries]}


def _read_point(where: str, value: Any) -> tuple[float, float]:
    point = value if isinstance(value, dict) else {}
    coordinates = point.get("coordinates")
    if (
        point.get("type") != "Point"
        or not isinstance(coordinates, list)
        or len(coordinates) != 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
    ):
        raise InvalidQueryError(f"{where}: a site's location is a GeoJSON Point")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidQueryError(f"{where}: [{lon}, {lat}] is not a longitude and latitude")
    return lon, lat


def provision(
    lake: Lake,
    writes: Iterable[EntityWrite],
    mode: Mode,
    *,
    timezone: str,
    region: str,
    received_at: str,
    source: str,
    no_overwrite: bool = False,
    replace_all: bool = True,
    merge_members: bool = False,
) -> ProvisionOutcome:
    """Apply entity writes in one commit: sites registered or described anew, context
    kept, observations judged and stored, quarantine filled, context entities of other
    types kept as sent, as ``mode`` allows (an upsert of a context entity replaces it
    whole unless not ``replace_all``; ``merge_members`` merges an attribute's members
    into the stored ones instead of replacing the attribute).

    ``received_at`` (ISO 8601 UTC) is the time of an observed value sent without one;
    ``source`` names the request in quarantine rows. An entity refused is listed in
    ``errors`` (AlreadyExistsError, NotFoundError, InvalidQueryError) and changes nothing.
    """
    outcome = ProvisionOutcome()
    book = SiteBook()  # read once here, and given to the commit
    known = {row["site_id"]: row for row in book.get(lake).to_pylist()}
    rows: dict[str, dict[str, Any]] = {}
    items = Items()
    documents = ContextEntities(read_current_documents(lake))
    for line, write in enumerate(writes, start=1):
        marker = _find_null(write.document, marker=True) if mode in WHOLE_WRITES else None
        if marker is not None:
            # ETSI GS CIM 009 5.2.1: the NGSI-LD Null removes a member in a merge or a
            # partial update; anywhere else it is an error.
            outcome.errors.append((write.entity_id, InvalidQueryError(
                f"entity {write.entity_id}: {marker} is {NULL_VALUE}, which only a merge "
                "or a partial update may send"
            )))  # fmt: skip
            continue
        if write.generic:
            documents.write(
                write, mode, outcome, no_overwrite=no_overwrite, replace_all=replace_all,
                merge_members=merge_members,
            )  # fmt: skip
            continue
        current = rows.get(write.site_id) or known.get(write.site_id)
        exists = current is not None and write.entity_type in get_entity_types(current["kind"])
        try:
            _check_mode(write, mode, current, exists)
        except UrbanPulseError as exc:
            outcome.errors.append((write.entity_id, exc))
            continue
        base = current if exists else None
        if mode is Mode.PATCH:
            missing = [n for n in write.context if n not in read_site_context(base)]
            outcome.not_updated += [(write.entity_id, n, "the entity has no such attribute") for n in missing]  # fmt: skip
            write = replace(write, context={n: a for n, a in write.context.items() if n not in missing})  # fmt: skip
        if base is None or write.names or write.location or write.locality or write.context:
            keep = no_overwrite and mode in OVERWRITING
            rows[write.site_id], skipped = _describe(
                write, base, region, no_overwrite=keep, replace=mode is Mode.REPLACE
            )
            outcome.not_updated += [(write.entity_id, n, r) for n, r in skipped]
        if write.observed:
            time = write.date_observed if write.date_observed is not None else received_at
            fragment: dict[str, Any] = {"id": write.entity_id, "type": write.entity_type}
            fragment |= {n: {"observedAt": time, **a} for n, a in write.observed.items()}
            decode_entity(fragment, source, line, items)
        (outcome.updated if exists else outcome.created).append(write.entity_id)
    outcome.batch = commit_items(
        lake, items, timezone=timezone, allow_new_sites=False, operation="ngsi_ld_provision",
        sites=book, site_changes=SiteChanges(upserts=tuple(rows.values())),
        extra_tables={TABLE: documents.to_table()},
        info={"mode": mode.value, "created": len(outcome.created), "updated": len(outcome.updated)},
    )  # fmt: skip
    for i, reason in outcome.batch.rejected:
        raw = items.raw[i]  # {"id": ..., <attribute>: <instance>}, as decode_entity keeps it
        outcome.quarantined.append((raw["id"], next(k for k in raw if k != "id"), reason))
    return outcome


def delete_entities(lake: Lake, entity_ids: Iterable[str]) -> ProvisionOutcome:
    """Retire the sites of these entities in one commit (their observations stay in
    the lake as history); an id with no entity is listed in ``errors``."""
    outcome = ProvisionOutcome()
    book = SiteBook()
    known = {row["site_id"]: row for row in book.get(lake).to_pylist()}
    documents = ContextEntities(read_current_documents(lake))
    retired: set[str] = set()
    for entity_id in entity_ids:
        if documents.delete(entity_id):
            outcome.updated.append(entity_id)
            continue
        parsed = parse_entity_id(entity_id)
        site = known.get(parsed[1]) if parsed else None
        if parsed is None or site is None or parsed[0] not in get_entity_types(site["kind"]) or parsed[1] in retired:  # fmt: skip
            outcome.errors.append((entity_id, NotFoundError(f"no entity {entity_id!r}")))
            continue
        retired.add(parsed[1])
        outcome.updated.append(entity_id)
    outcome.batch = commit_items(
        lake, Items(), timezone="UTC", allow_new_sites=False, operation="ngsi_ld_delete", sites=book,
        site_changes=SiteChanges(retired=frozenset(retired)),
        extra_tables={TABLE: documents.to_table()}, info={"deleted": len(outcome.updated)},
    )  # fmt: skip
    return outcome


def delete_attribute(
    lake: Lake, entity_id: str, name: str, *, dataset_id: str | None = None,
    delete_all: bool = False,
) -> None:  # fmt: skip
    """Remove one attribute of an entity in one commit: of a context entity, its
    default instance, the one of ``dataset_id`` or every one (``delete_all``); of a
    site, a context attribute (an observed attribute's values are history and stay).

    Raises
    ------
    NotFoundError
        No such entity, attribute or instance.
    InvalidQueryError
        The attribute is one a site observes.
    """
    delete_attributes(lake, {entity_id: [name]}, dataset_id=dataset_id, delete_all=delete_all)


def delete_attributes(
    lake: Lake, names: dict[str, list[str]], *, dataset_id: str | None = None,
    delete_all: bool = True,
) -> None:  # fmt: skip
    """Remove attributes of entities (entity id -> names) in one commit, as
    :func:`delete_attribute` removes one: a purge's drop and keep.

    Raises
    ------
    NotFoundError
        No such entity, attribute or instance.
    InvalidQueryError
        An attribute is one a site observes.
    """
    documents = ContextEntities(read_current_documents(lake))
    book = SiteBook()
    known: dict[str, dict[str, Any]] | None = None
    upserts = []
    for entity_id, removed in names.items():
        if documents.get(entity_id) is not None:
            for name in removed:
                documents.delete_attribute(entity_id, name, dataset_id=dataset_id, delete_all=delete_all)  # fmt: skip
            continue
        if known is None:
            known = {row["site_id"]: row for row in book.get(lake).to_pylist()}
        upserts.append(_without_site_context(known, entity_id, removed))
    commit_items(
        lake, Items(), timezone="UTC", allow_new_sites=False,
        operation="ngsi_ld_delete_attribute", sites=book,
        site_changes=SiteChanges(upserts=tuple(upserts)),
        extra_tables={TABLE: documents.to_table()},
        info={"entities": len(names), "attributes": sum(map(len, names.values()))},
    )  # fmt: skip


def _without_site_context(
    known: dict[str, dict[str, Any]], entity_id: str, names: list[str]
) -> dict[str, Any]:
    """A site's row without context attributes ``names`` (observed ones are history)."""
    parsed = parse_entity_id(entity_id)
    site = known.get(parsed[1]) if parsed else None
    if parsed is None or site is None or parsed[0] not in get_entity_types(site["kind"]):
        raise NotFoundError(f"no entity {entity_id!r}")
    context = read_site_context(site)
    for name in names:
        if name not in context:
            if is_observed_attribute(parsed[0], name, {"type": "Property", "value": 0.0}):
                raise InvalidQueryError(
                    f"{name!r} of {entity_id} is observed: its values are history and stay"
                )
            raise NotFoundError(f"entity {entity_id!r} has no attribute {name!r}")
        del context[name]
    attributes = json.loads(site.get("attributes") or "{}")
    attributes[CONTEXT_KEY] = context
    return site | {"attributes": json.dumps(attributes, ensure_ascii=False, sort_keys=True)}


def write_history(
    lake: Lake, change: Callable[[HistoryWrite], ChangeT], *, operation: str
) -> ChangeT:
    """Apply ``change`` to the context entities' temporal representation and commit
    the instance versions it wrote in one commit; ``change``'s answer."""
    write = HistoryWrite(lake)
    answer = change(write)
    commit_items(
        lake, Items(), timezone="UTC", allow_new_sites=False, operation=operation,
        extra_tables={HISTORY_TABLE: write.to_table()}, info={"instances": len(write.rows)},
    )  # fmt: skip
    return answer


class ContextEntities:
    """The context entities in force and the versions one request writes."""

    def __init__(self, stored: dict[str, dict[str, Any]]) -> None:
        self.stored = stored
        self.written: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, dict[str, Any]] = {}
        self.now = datetime.now(UTC)

    def get(self, entity_id: str) -> dict[str, Any] | None:
        if entity_id in self.deleted:
            return None
        return self.written.get(entity_id) or self.stored.get(entity_id)

    def write(
        self, write: EntityWrite, mode: Mode, outcome: ProvisionOutcome, *,
        no_overwrite: bool, replace_all: bool, merge_members: bool = False,
    ) -> None:  # fmt: skip
        """Apply one write as ``mode`` allows, into ``outcome``; ``merge_members``: an
        attribute's members are merged into the one stored (a partial attribute
        update) instead of replacing it."""
        current = self.get(write.entity_id)
        if current is None and mode in EXISTING_ONLY:
            outcome.errors.append(
                (write.entity_id, NotFoundError(f"no entity {write.entity_id!r}"))
            )
            return
        if current is not None and mode is Mode.CREATE:
            outcome.errors.append((write.entity_id, AlreadyExistsError(f"entity {write.entity_id!r} exists")))  # fmt: skip
            return
        stored_types = get_types(current["type"]) if current else []
        if current is None or (mode is Mode.UPSERT and replace_all) or mode is Mode.REPLACE:
            types = list(write.types) or stored_types
            entity = {"id": write.entity_id, "type": types[0] if len(types) == 1 else types}
            entity |= {n: a for n, a in write.context.items() if not _is_null(a)}
            if write.jsonld_context is not None:
                entity["@context"] = write.jsonld_context
            if current is not None and "createdAt" in current:  # not when written just now
                entity["createdAt"] = current["createdAt"]
        else:
            entity = dict(current)
            types = stored_types + [t for t in write.types if t not in stored_types]
            entity["type"] = types[0] if len(types) == 1 else types  # types sent are added
            for name, attribute in write.context.items():
                if mode is Mode.PATCH and name not in current:
                    outcome.not_updated.append((write.entity_id, name, "the entity has no such attribute"))  # fmt: skip
                elif no_overwrite and mode in OVERWRITING and name in current:
                    entity[name], kept = _add_new_instances(current[name], attribute)
                    if kept:
                        outcome.not_updated.append((write.entity_id, name, "exists and noOverwrite was asked"))  # fmt: skip
                elif mode in (Mode.MERGE, Mode.PATCH) and _is_null(attribute):
                    _remove_instances(entity, name, attribute)
                elif mode is Mode.MERGE or merge_members:
                    entity[name] = merge_attribute(current.get(name), attribute)
                elif mode is Mode.PATCH or _has_instances(current.get(name)):
                    # an instance replaces its namesake (datasetId), the others stay
                    entity[name] = merge_attribute(current.get(name), attribute, members=False)
                else:
                    entity[name] = attribute
        self.deleted.pop(write.entity_id, None)
        self.written[write.entity_id] = entity
        (outcome.updated if current is not None else outcome.created).append(write.entity_id)

    def delete_attribute(
        self, entity_id: str, name: str, *, dataset_id: str | None, delete_all: bool
    ) -> None:
        """Remove one attribute of a context entity: its default instance, the one of
        ``dataset_id``, or with ``delete_all`` every instance.

        Raises
        ------
        NotFoundError
            No such entity, attribute or instance.
        """
        current = self.get(entity_id)
        if current is None:
            raise NotFoundError(f"no entity {entity_id!r}")
        if name in SYSTEM_KEYS or name not in current:
            raise NotFoundError(f"entity {entity_id!r} has no attribute {name!r}")
        entity = dict(current)
        instances = current[name] if isinstance(current[name], list) else [current[name]]
        # scope is kept as its value (a text or a list of them), not as instances
        kept = [] if delete_all else [i for i in instances if _get_dataset(i) != dataset_id]
        if len(kept) == len(instances):
            which = f"of dataset {dataset_id!r}" if dataset_id else "without a datasetId"
            raise NotFoundError(f"entity {entity_id!r} has no instance of {name!r} {which}")
        if kept:
            entity[name] = kept if len(kept) > 1 else kept[0]
        else:
            del entity[name]
        self.written[entity_id] = entity

    def delete(self, entity_id: str) -> bool:
        """Mark a context entity deleted; False when there is none under that id."""
        current = self.get(entity_id)
        if current is None:
            return False
        self.written.pop(entity_id, None)
        self.deleted[entity_id] = current
        return True

    def to_table(self) -> pa.Table:
        """The versions this request writes."""
        return build_document_table(list(self.written.values()), list(self.deleted.values()), self.now)  # fmt: skip


def merge_attribute(stored: Any, sent: Any, *, members: bool = True) -> Any:
    """An attribute after a merge (ETSI GS CIM 009 5.5.12): each instance sent takes
    the place of the stored one of its datasetId, the others stay; with ``members``
    the members sent replace the stored instance's and the rest of it (a unitCode, an
    observedAt) stays, else the instance sent replaces it whole."""
    if isinstance(stored, list) or isinstance(sent, list) or _get_dataset(sent) != _get_dataset(stored):  # fmt: skip
        merged = {_get_dataset(i): i for i in (stored if isinstance(stored, list) else [stored]) if isinstance(i, dict)}  # fmt: skip
        for instance in sent if isinstance(sent, list) else [sent]:
            key = _get_dataset(instance)
            merged[key] = _merge_instance(merged.get(key), instance, members=members)
        return list(merged.values()) if len(merged) > 1 else next(iter(merged.values()))
    return _merge_instance(stored, sent, members=members)


def _has_instances(stored: Any) -> bool:
    """Whether a stored attribute is instances (scope, say, is a value)."""
    return isinstance(stored, dict) or (isinstance(stored, list) and bool(stored) and all(isinstance(i, dict) for i in stored))  # fmt: skip


def _add_new_instances(stored: Any, sent: Any) -> tuple[Any, bool]:
    """An attribute after a write that may not overwrite (noOverwrite): the instances
    sent of a datasetId it lacks are added, the others keep the stored one. Returns
    the attribute and whether an instance sent was left out."""
    if not _has_instances(stored):
        return stored, True
    held = {_get_dataset(i) for i in (stored if isinstance(stored, list) else [stored])}
    sent_all = sent if isinstance(sent, list) else [sent]
    new = [i for i in sent_all if _get_dataset(i) not in held]
    if not new:
        return stored, True
    return merge_attribute(stored, new, members=False), len(new) < len(sent_all)


def _merge_instance(stored: Any, sent: Any, *, members: bool) -> Any:
    """One instance after a merge with the stored instance of its datasetId (None:
    there is none)."""
    if members and isinstance(stored, dict) and isinstance(sent, dict) and stored.get("type") == sent.get("type"):  # fmt: skip
        return {**stored, **sent}
    return sent


def _remove_instances(entity: dict[str, Any], name: str, sent: Any) -> None:
    """Remove the instance of an attribute that null was sent for (of its datasetId),
    and the attribute when none is left."""
    if name not in entity:
        return
    stored = entity[name] if isinstance(entity[name], list) else [entity[name]]
    gone = {_get_dataset(i) for i in (sent if isinstance(sent, list) else [sent])}
    kept = [i for i in stored if _get_dataset(i) not in gone]
    if kept:
        entity[name] = kept if len(kept) > 1 else kept[0]
    else:
        del entity[name]


def _get_dataset(instance: Any) -> Any:
    return instance.get("datasetId") if isinstance(instance, dict) else None


def _is_null(attribute: Any) -> bool:
    """Whether an attribute sent is NGSI-LD's null (urn:ngsi-ld:null)."""
    if isinstance(attribute, dict):
        if attribute.get("languageMap") == {"@none": NULL_VALUE}:  # a LanguageProperty's null
            return True
        return any(attribute.get(k) == NULL_VALUE for k in ("value", "object", "json", "languageMap", "vocab", "valueList", "objectList"))  # fmt: skip
    return attribute == NULL_VALUE


def _check_mode(
    write: EntityWrite, mode: Mode, current: dict[str, Any] | None, exists: bool
) -> None:
    if current is not None and not exists and mode in (Mode.CREATE, Mode.UPSERT):
        published = ", ".join(get_entity_types(current["kind"])) or "nothing"
        raise AlreadyExistsError(
            f"site {write.site_id!r} exists as a {current['kind']}, published as {published}"
        )
    if exists and mode is Mode.CREATE:
        raise AlreadyExistsError(f"entity {write.entity_id!r} exists")
    if not exists and mode in EXISTING_ONLY:
        raise NotFoundError(f"no entity {write.entity_id!r}")


def _describe(
    write: EntityWrite, base: dict[str, Any] | None, region: str, *,
    no_overwrite: bool = False, replace: bool = False,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:  # fmt: skip
    """The site row after ``write`` (a new one when ``base`` is None), and the
    attributes left as they were because ``no_overwrite`` kept an existing value;
    ``replace``: the context sent replaces the site's (its observations are history
    and stay)."""
    row = dict(base) if base else _new_row(write)
    context = {} if replace else read_site_context(base)
    kept = "exists and noOverwrite was asked"
    skipped = []
    for name, attribute in write.context.items():
        if no_overwrite and name in context:
            skipped.append((name, kept))
        elif _is_null(attribute):
            context.pop(name, None)
        else:
            context[name] = attribute
    if write.names and no_overwrite and base:
        skipped.append(("name", kept))
    elif write.names:
        zh = next((n for n in write.names if _CJK.search(n)), None)
        other = next((n for n in write.names if n != zh), None)
        row["name_zh"], row["name_en"] = zh, other or zh or write.site_id
    if write.location and no_overwrite and base and base.get("lat") is not None:
        skipped.append(("location", kept))
    elif write.location:
        row["lon"], row["lat"] = write.location
    if write.location or write.locality:
        row["city_code"] = _find_city(write, region) or row.get("city_code")
    attributes = json.loads(row.get("attributes") or "{}")
    attributes[CONTEXT_KEY] = context
    row["attributes"] = json.dumps(attributes, ensure_ascii=False, sort_keys=True)
    return row, skipped


def _new_row(write: EntityWrite) -> dict[str, Any]:
    return {
        "site_id": write.site_id,
        "kind": NEW_SITE_KINDS[write.entity_type],
        "name_zh": None,
        "name_en": write.site_id,
        "city_code": None,
        "lat": None,
        "lon": None,
        "capacity": None,
        "attributes": json.dumps({"source": "ngsi-ld"}),
        "synthetic": False,
    }


def _find_city(write: EntityWrite, region: str) -> str | None:
    """The city of the address's locality, else the one whose seat is nearest the
    location (within :data:`CITY_REACH_KM`)."""
    if write.locality:
        try:
            return get_city(write.locality.strip().removesuffix("市"), region).code
        except NotFoundError:
            pass  # a place outside the region's cities: the location may still tell
    if write.location is None:
        return None
    lon, lat = write.location
    cities = get_cities(region)
    metres = get_metres(lat, lon, [c.lat for c in cities], [c.lon for c in cities])
    nearest = int(metres.argmin())
    return cities[nearest].code if metres[nearest] <= CITY_REACH_KM * 1000 else None
