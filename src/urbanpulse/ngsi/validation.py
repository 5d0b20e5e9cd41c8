"""What a written NGSI-LD entity must look like (ETSI GS CIM 009, clause 4.5): ids that
are URIs, names that are terms or IRIs, and each attribute shaped as its type says
(a Property has a value, a Relationship an object, a GeoProperty a GeoJSON geometry...).
A writer's mistake is refused with the reason instead of being kept and served back.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from urbanpulse.errors import InvalidQueryError

# An IRI (RFC 3987, as JSON-LD takes them): a URI's characters, and letters of any
# script beyond ASCII (urn:ngsi-ld:Ciudad:París). Never spaces, controls, markup,
# noncharacters, or the invisible characters that would let two ids that look the same
# differ: no-break and zero-width spaces, bidi marks, soft hyphen, BOM, variation
# selectors, Hangul fillers, the blank Braille pattern, tags.
_INVISIBLE = (
    "\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f"
    "\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff"
    "\U000e0000-\U000e0fff"
)
_URI_CHARACTERS = "-._~:/?#[]@!$&'()*+,;=%"
# RFC 3987's ucschar: letters beyond ASCII, without the noncharacters ending each plane.
_UCSCHAR = (
    "\u00a1-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    + "".join(f"{chr(plane << 16)}-{chr((plane << 16) + 0xFFFD)}" for plane in range(1, 14))
    + "\U000e1000-\U000efffd"
)
URI = re.compile(
    rf"^(?![^\n]*[{_INVISIBLE}])[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9{re.escape(_URI_CHARACTERS)}{_UCSCHAR}]+\Z"
)


# A term: a letter of any script (拥挤度, Škola) or _, then letters, digits and _.
TERM = re.compile(r"^[^\W\d]\w*\Z")
# Core terms of attributes' own members: never an attribute's name.
RESERVED = frozenset(
    {"id", "type", "value", "object", "datasetId", "instanceId", "observedAt", "unitCode",
     "createdAt", "modifiedAt", "deletedAt", "languageMap", "valueList", "objectList",
     "vocab", "json", "scope", "previousValue", "previousObject", "@context"}
)  # fmt: skip
# The member each attribute type must have, and members it must not.
REQUIRED = {
    "Property": "value",
    "Relationship": "object",
    "GeoProperty": "value",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "JsonProperty": "json",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
}
VALUE_MEMBERS = set(REQUIRED.values())
# Members a server writes and a writer may not send.
OUTPUT_ONLY = {"previousValue", "previousObject", "previousLanguageMap", "previousVocab", "previousJson", "createdAt", "modifiedAt", "deletedAt"}  # fmt: skip
GEOMETRIES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z\Z")


# NGSI-LD's null (JSON null cannot travel through JSON-LD): in a merge, it removes.
NULL_VALUE = "urn:ngsi-ld:null"


def check_entity_id(entity_id: Any) -> str:
    """``entity_id`` if it is a URI; InvalidQueryError otherwise."""
    if not isinstance(entity_id, str) or not URI.match(entity_id):
        raise InvalidQueryError(f"entity id {entity_id!r} is not a URI (e.g. urn:ngsi-ld:Type:id)")
    return entity_id


def parse_utc_time(text: str) -> datetime:
    """An NGSI-LD date-time (UTC, ending in Z) as an aware datetime; ValueError when it
    is not one (the one reader of the times entities carry)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_time(value: Any, what: str) -> str:
    """``value`` if it is a UTC date-time ending in Z that exists on the calendar (not
    month 13 or 30 February); InvalidQueryError otherwise."""
    if not isinstance(value, str) or not UTC_TIME.match(value):
        raise InvalidQueryError(f"{what} {value!r} is not a UTC date-time ending in Z")
    try:
        parse_utc_time(value)
    except ValueError as exc:
        raise InvalidQueryError(f"{what} {value!r} is not a date-time: {exc}") from None
    return value


def check_uri(value: Any, what: str) -> str:
    """``value`` if it is a URI (an instanceId, a datasetId); InvalidQueryError otherwise."""
    if not isinstance(value, str) or not URI.match(value):
        raise InvalidQueryError(f"{what} {value!r} is not a URI")
    return value


def as_uri(iri: str) -> str:
    """An IRI as a URI (RFC 3987 3.1: letters beyond ASCII percent-encoded as UTF-8),
    the form an HTTP header can carry."""
    return quote(iri, safe=_URI_CHARACTERS)


def check_name(name: Any, what: str) -> str:
    """A type or attribute name: a term (letters, digits, _; not a digit first) or an
    IRI."""
    if not isinstance(name, str) or not (TERM.match(name) or URI.match(name)):
        raise InvalidQueryError(f"{what} {name!r} is not a term or an IRI")
    return name


def check_attribute(name: str, attribute: Any, where: str) -> None:
    """One attribute (an instance, or a list of instances told apart by datasetId) in
    normalized form; InvalidQueryError naming what is wrong."""
    check_name(name, f"{where}: attribute")
    if name in RESERVED:
        raise InvalidQueryError(f"{where}: {name!r} is a core term, not an attribute name")
    instances = attribute if isinstance(attribute, list) else [attribute]
    # "@none" names the default instance, as no datasetId does (4.5.5).
    datasets = [(i.get("datasetId") if isinstance(i, dict) else None) or "@none" for i in instances]
    if len(datasets) != len(set(datasets)):
        raise InvalidQueryError(f"{where}, attribute {name!r}: two instances share a datasetId (or both have none)")  # fmt: skip
    for instance in instances:
        check_instance(name, instance, f"{where}, attribute {name!r}")


def check_instance(name: str, instance: Any, where: str) -> None:
    """One instance of an attribute in normalized form; InvalidQueryError naming what
    is wrong."""
    if not isinstance(instance, dict):
        raise InvalidQueryError(f"{where}: an attribute is a JSON object")
    kind = instance.get("type")
    if kind not in REQUIRED:
        raise InvalidQueryError(f"{where}: type {kind!r} is not one of {', '.join(REQUIRED)}")
    member = REQUIRED[kind]
    if member not in instance:
        raise InvalidQueryError(f"{where}: a {kind} has a {member!r}")
    other = (VALUE_MEMBERS - {member}) & instance.keys()
    if other:
        raise InvalidQueryError(f"{where}: a {kind} has no {sorted(other)[0]!r}")
    sent = OUTPUT_ONLY & instance.keys()
    if sent:
        raise InvalidQueryError(f"{where}: {sorted(sent)[0]!r} is written by the server")
    if kind in ("Relationship", "ListRelationship", "JsonProperty") and "unitCode" in instance:
        raise InvalidQueryError(f"{where}: a {kind} has no unitCode")
    if name == "location" and kind != "GeoProperty":
        raise InvalidQueryError(f"{where}: location is a GeoProperty")
    _check_member(kind, instance[member], where)
    if "expiresAt" in instance:  # a transient instance (4.22)
        check_time(instance["expiresAt"], f"{where}: expiresAt")
    if "observedAt" in instance and not (isinstance(instance["observedAt"], str) and UTC_TIME.match(instance["observedAt"])):  # fmt: skip
        raise InvalidQueryError(f"{where}: observedAt is a UTC date-time ending in Z")
    for sub, value in instance.items():
        if sub in ("type", member):
            continue
        if _holds_null(value):
            raise InvalidQueryError(f"{where}: {sub!r} holds a null")


def _check_member(kind: str, value: Any, where: str) -> None:
    if value == NULL_VALUE:  # a merge's "remove this attribute", for every kind
        return
    # A JsonProperty holds raw JSON, nulls included (4.5.24): nothing in it is NGSI-LD's.
    if kind != "JsonProperty" and _holds_null(value):
        raise InvalidQueryError(f"{where}: a {kind}'s value holds a null")
    if kind == "Relationship" and not (isinstance(value, str) and URI.match(value)) and not (isinstance(value, list) and value and all(isinstance(v, str) and URI.match(v) for v in value)):  # fmt: skip
        raise InvalidQueryError(f"{where}: a Relationship's object is a URI")
    if kind == "ListRelationship" and not (isinstance(value, list) and all((isinstance(v, str) and URI.match(v)) or (isinstance(v, dict) and isinstance(v.get("object"), str) and URI.match(v["object"])) for v in value)):  # fmt: skip
        raise InvalidQueryError(f"{where}: a ListRelationship's objectList holds URIs")
    if kind == "GeoProperty" and not _is_geometry(value):
        raise InvalidQueryError(f"{where}: a GeoProperty's value is a GeoJSON geometry ({', '.join(sorted(GEOMETRIES))})")  # fmt: skip
    if kind == "LanguageProperty" and not _is_language_map(value):
        raise InvalidQueryError(f"{where}: a languageMap maps language tags to text")
    if kind == "JsonProperty" and not isinstance(value, dict | list):
        raise InvalidQueryError(f"{where}: a JsonProperty's json is an object or an array")
    if kind == "ListProperty" and not isinstance(value, list):
        raise InvalidQueryError(f"{where}: a ListProperty's valueList is an array")
    if (
        kind == "Property"
        and isinstance(value, list)
        and len({type(v).__name__ for v in value}) > 1
    ):
        raise InvalidQueryError(f"{where}: an array value holds values of one kind")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidQueryError(f"{where}: a value is a finite number")


def _holds_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_holds_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_null(v) for v in value)
    return False


def _is_geometry(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") in GEOMETRIES
        and isinstance(value.get("coordinates"), list)
        and bool(value["coordinates"])
    )


def _is_language_map(value: Any) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    for tag, text in value.items():
        if not tag or not isinstance(tag, str):
            return False
        texts = text if isinstance(text, list) else [text]
        if not texts or not all(isinstance(t, str) for t in texts):
            return False
    return True
