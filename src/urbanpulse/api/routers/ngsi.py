"""NGSI-LD (ETSI GS CIM 009) context data: /ngsi-ld/v1/entities and the temporal API.

Sites and their latest observations are Smart Data Models entities (urbanpulse.ngsi);
this edge only reads parameters, negotiates the media type and writes NGSI-LD's own
headers and ProblemDetails errors, as brokers and their clients expect them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from urbanpulse.access import Principal
from urbanpulse.access.matrix import get_data_policy
from urbanpulse.api.access import PrincipalDep
from urbanpulse.api.deps import LakeDep, SettingsDep
from urbanpulse.api.errors import get_error_status
from urbanpulse.errors import (
    InvalidQueryError,
    MalformedRequestError,
    NotFoundError,
    UrbanPulseError,
)
from urbanpulse.ngsi.aggregation import Aggregation, parse_aggregation
from urbanpulse.ngsi.contexts import ContextBook, Terms, build_context_book
from urbanpulse.ngsi.documents import ENTITY_MEMBERS
from urbanpulse.ngsi.entities import read_entities, read_entity
from urbanpulse.ngsi.geo import build_geometry, split_geo_query
from urbanpulse.ngsi.languages import parse_languages
from urbanpulse.ngsi.links import join_entities, keep_datasets, parse_join, simplify_entity
from urbanpulse.ngsi.query import (
    SYSTEM_ATTRIBUTES,
    EntityQuery,
    Order,
    Projection,
    build_entity_query,
    get_projection_depth,
    get_q_names,
    parse_linked_projection,
    parse_order,
    project,
    sort_entities,
    split_list,
)
from urbanpulse.ngsi.temporal import (
    InstantRange,
    TemporalPage,
    TemporalQuery,
    build_temporal_query,
    join_cuts,
    parse_dataset_ids,
    read_temporal_entities,
)
from urbanpulse.ngsi.types import (
    build_context_document,
    read_attribute,
    read_attributes,
    read_type_info,
    read_types,
)
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.engines import get_engine
from urbanpulse.store.interface import Engine
from urbanpulse.stream.payloads import get_media_type

logger = logging.getLogger(__name__)
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
PROBLEM_TYPES = {
    400: "BadRequestData",
    404: "ResourceNotFound",
    406: "NotAcceptable",
    409: "AlreadyExists",
    422: "OperationNotSupported",
}
DEFAULT_LIMIT, MAX_LIMIT = 20, 1000
# Entities one selector of a query by POST may match before the selectors are merged,
# and selectors in one query.
MAX_SELECTED, MAX_SELECTORS = 10_000, 100
MAX_BODY_DEPTH = 64  # objects and arrays in a body, one inside the other
TOO_DEEP = object()
TENANT_HEADER = "NGSILD-Tenant"
JSON, JSON_LD, GEO_JSON = "application/json", "application/ld+json", "application/geo+json"
# The product's own @context (served below), so a client expands terms without
# reaching another host.
CONTEXT_PATH = "/ngsi-ld/v1/jsonldContexts/urbanpulse"
CONTEXT_LINK = (
    f'<{CONTEXT_PATH}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
)
ENTITY_OPTIONS = {"keyValues", "simplified", "normalized", "sysAttrs", "count"}
TEMPORAL_OPTIONS = {"temporalValues", "aggregatedValues", "sysAttrs", "count"}
# The temporal representations besides the normalized one (format, or one option).
TEMPORAL_FORMATS = ("temporalValues", "aggregatedValues")
FORMATS = ("keyValues", "simplified", "normalized")


class ProblemDetailsPublic(BaseModel):
    """An NGSI-LD error (IETF RFC 7807 ProblemDetails with ETSI type URIs)."""

    type: str = Field(description="e.g. https://uri.etsi.org/ngsi-ld/errors/BadRequestData")
    title: str
    status: int
    detail: str


_ENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {"id": {"type": "string", "format": "uri"}, "type": {"type": "string"}},
    "additionalProperties": True,
}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}, JSON_LD: {"schema": schema}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetailsPublic, "description": HTTPStatus(status).phrase}
    # 422: every parameter is read as text here, so no request fails FastAPI's own
    # validation; documented so the schema names no other error shape.
    for status in (400, 404, 406, 409, 415, 422, 500)
}
_LIST: dict[int | str, dict[str, Any]] = {
    200: {"content": _content({"type": "array", "items": _ENTITY_SCHEMA})}
}
_ONE: dict[int | str, dict[str, Any]] = {200: {"content": _content(_ENTITY_SCHEMA)}}


class NameConvertor(Convertor[str]):
    """A type or attribute name in a path: the rest of the path, not empty, not
    starting with a slash (an IRI's decoded %2F is part of it; an empty name is a
    bad request, answered as an empty segment is)."""

    regex = "[^/].*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("name", NameConvertor())


router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], responses=PROBLEM_RESPONSES)

Text = str | None
TypeQ = Annotated[Text, Query(description="Entity types, comma list: TrafficFlowObserved, AirQualityObserved, CrowdFlowObserved, GtfsStop.")]  # fmt: skip
IdQ = Annotated[Text, Query(description="Entity ids (URNs), comma list.")]
IdPatternQ = Annotated[Text, Query(alias="idPattern", description="Regular expression on ids.")]
QQ = Annotated[Text, Query(description="NGSI-LD query, e.g. intensity>100;occupancy<0.5")]
AttrsQ = Annotated[Text, Query(description="Attributes to return, comma list.")]
GeorelQ = Annotated[Text, Query(description="near;maxDistance==2000, within, intersects, ...")]
GeometryQ = Annotated[Text, Query(description="Point, Polygon, MultiPolygon, LineString, ...")]
CoordinatesQ = Annotated[Text, Query(description="GeoJSON coordinates, e.g. [116.4,39.9]")]
GeopropertyQ = Annotated[Text, Query(description="Only 'location'.")]
LimitQ = Annotated[Text, Query(description=f"Entities per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).")]  # fmt: skip
OffsetQ = Annotated[Text, Query(description="Entities to skip.")]
CountQ = Annotated[Text, Query(description="true: send NGSILD-Results-Count.")]
OptionsQ = Annotated[Text, Query(description="keyValues (simplified) or normalized.")]
FormatQ = Annotated[Text, Query(description="keyValues (simplified) or normalized.")]
TemporalOptionsQ = Annotated[Text, Query(description="temporalValues (simplified), aggregatedValues, sysAttrs, count.")]  # fmt: skip
AggrMethodsQ = Annotated[Text, Query(alias="aggrMethods", description="With aggregatedValues: totalCount, distinctCount, sum, avg, min, max, stddev, sumsq.")]  # fmt: skip
AggrPeriodQ = Annotated[Text, Query(alias="aggrPeriodDuration", description="With aggregatedValues: each period, e.g. PT1H (default P0D: the whole window).")]  # fmt: skip
TimerelQ = Annotated[Text, Query(description="before, after or between.")]
TimeAtQ = Annotated[Text, Query(alias="timeAt", description="ISO 8601 date-time with zone.")]
EndTimeAtQ = Annotated[Text, Query(alias="endTimeAt", description="End for between.")]
# UrbanPulse holds only its own entities (no federation), so local=true changes nothing.
PickQ = Annotated[Text, Query(description="Entity members to keep, comma list (id, type, attributes).")]  # fmt: skip
OmitQ = Annotated[Text, Query(description="Entity members to leave out, comma list.")]
GeometryPropertyQ = Annotated[Text, Query(alias="geometryProperty", description="GeoProperty for a GeoJSON answer's geometry (default location).")]  # fmt: skip
EntityTypeQ = Annotated[Text, Query(description="The entity's type: another type is not found.")]  # fmt: skip
TimePropertyQ = Annotated[Text, Query(alias="timeproperty", description="observedAt (the default), or createdAt or modifiedAt of a context entity's instances.")]  # fmt: skip
TemporalFormatQ = Annotated[Text, Query(description="normalized, temporalValues (simplified) or aggregatedValues.")]  # fmt: skip
ScopeQQ = Annotated[Text, Query(alias="scopeQ", description="Scopes, e.g. /Beijing/# (a context entity's scope; a site has none).")]  # fmt: skip
OrderByQ = Annotated[Text, Query(alias="orderBy", description="Members to order by, e.g. name;desc,id.")]  # fmt: skip
GeoQQ = Annotated[Text, Query(alias="geoQ", description="The geo-query as one text: geometry=Point;coordinates=[116.4,39.9];georel=near;maxDistance==2000.")]  # fmt: skip
LocalQ = Annotated[Text, Query(description="true: only this system's own entities (all are).")]
TemporalOrderByQ = Annotated[Text, Query(alias="orderBy", description="id, or id;desc: the order of the entities (by id only on the temporal API).")]  # fmt: skip
JoinQ = Annotated[Text, Query(description="flat or inline: serve the entities Relationships point at too (4.5.23).")]  # fmt: skip
JoinLevelQ = Annotated[Text, Query(alias="joinLevel", description="How many Relationships deep a join follows (default 1).")]  # fmt: skip
LastNQ = Annotated[Text, Query(alias="lastN", description="Last N instances per attribute.")]
OrderFromQ = Annotated[Text, Query(alias="orderFrom", description="Coordinates an order by distance measures from, e.g. [116.4,39.9] (a Point).")]  # fmt: skip
CollationQ = Annotated[Text, Query(description="A collation for ordering texts (BCP 47 tag): refused, texts are ordered by code point.")]  # fmt: skip
DatasetIdQ = Annotated[Text, Query(alias="datasetId", description="Only instances of these datasets (comma-separated URIs; @none: the default instances).")]  # fmt: skip


@router.get("/entities", summary="Query entities (NGSI-LD)", response_class=Response, responses=_LIST)  # fmt: skip
def query_entities(
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    type: TypeQ = None,
    id: IdQ = None,
    id_pattern: IdPatternQ = None,
    q: QQ = None,
    attrs: AttrsQ = None,
    georel: GeorelQ = None,
    geometry: GeometryQ = None,
    coordinates: CoordinatesQ = None,
    geoproperty: GeopropertyQ = None,
    limit: LimitQ = None,
    offset: OffsetQ = None,
    count: CountQ = None,
    options: OptionsQ = None,
    format: FormatQ = None,
    pick: PickQ = None,
    omit: OmitQ = None,
    geometry_property: GeometryPropertyQ = None,
    local: LocalQ = None,
    join: JoinQ = None,
    join_level: JoinLevelQ = None,
    scope_q: ScopeQQ = None,
    order_by: OrderByQ = None,
    geo_q: GeoQQ = None,
    dataset_id: DatasetIdQ = None,
    order_from: OrderFromQ = None,
    collation: CollationQ = None,
) -> Response:
    """Sites and their latest observations as Smart Data Models entities, filtered by
    type, id, idPattern, q, scopeQ and geo-query, a page at a time; datasetId keeps
    only those instances of each attribute."""

    def run(media: str) -> Response:
        nonlocal georel, geometry, coordinates, geoproperty
        if geo_q is not None:
            if any((georel, geometry, coordinates, geoproperty)):
                raise InvalidQueryError("give the geo-query as geoQ or as georel, geometry and coordinates, not both")  # fmt: skip
            parts = split_geo_query(geo_q)
            georel, geometry = parts.get("georel"), parts.get("geometry")
            coordinates, geoproperty = parts.get("coordinates"), parts.get("geoproperty")
        _check_minimal(type, attrs, q, georel, local)
        _parse_flag(local, "local")  # every entity is local: true and false answer alike
        joined, depth = parse_join(join, join_level)
        picked, omitted, shape = _parse_projection(pick, omit, attrs, joined, depth)
        _check_geometry_property(geometry_property, media)
        query = parse_entity_query(
            type=type, id=id, id_pattern=id_pattern, q=q, attrs=attrs, georel=georel,
            geometry=geometry, coordinates=coordinates, geoproperty=geoproperty,
            scope_q=scope_q, linked_depth=depth if joined else 0,
        )  # fmt: skip
        query = _with_context(query, request, settings)
        chosen = _parse_options(options, ENTITY_OPTIONS, format)
        counted = "true" if _is_true(count) or "count" in chosen else None
        first, size = _parse_paging(offset, limit, counted)
        key_values = bool(chosen & {"keyValues", "simplified"})
        datasets = parse_dataset_ids(dataset_id)
        page = read_entities(
            lake, query, region=settings.region, offset=first, limit=size,
            key_values=key_values and not joined and datasets is None,
            with_context=media != JSON, with_latest=_shows_latest(principal),
            sys_attrs="sysAttrs" in chosen,
            order=_parse_url_ordering(order_by, order_from, collation),
            engine=get_engine(settings),
        )  # fmt: skip
        found = page.entities
        if datasets is not None:
            found = [keep_datasets(e, datasets) for e in found]
        # An entity pick or omit leaves nothing of is left out, as attrs leaves out
        # an entity with none of the attributes named.
        entities = [kept for e in found if set(kept := project(e, picked, omitted)) - {"@context"}]  # fmt: skip
        if joined:
            entities = _join(lake, settings, principal, media, chosen, entities, joined, depth, key_values, shape)  # fmt: skip
        elif key_values and datasets is not None:
            entities = [simplify_entity(e) for e in entities]
        response = _render(entities, media, geometry=geometry_property or "location")
        _add_paging(response, request, first, size, page.total, counted is not None)
        return response

    return _answer(request, run, allow_geo=True)


@router.get("/entities/{entityId}", summary="One entity (NGSI-LD)", response_class=Response, responses=_ONE)  # fmt: skip
def get_entity(
    request: Request,
    entityId: str,  # the standard's own name, kept in the path template
    lake: LakeDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    attrs: AttrsQ = None,
    options: OptionsQ = None,
    format: FormatQ = None,
    pick: PickQ = None,
    omit: OmitQ = None,
    geometry_property: GeometryPropertyQ = None,
    type: EntityTypeQ = None,
    local: LocalQ = None,
    join: JoinQ = None,
    join_level: JoinLevelQ = None,
    dataset_id: DatasetIdQ = None,
) -> Response:
    """One entity by its URN, e.g. urn:ngsi-ld:TrafficFlowObserved:bd-road-01; with
    join, the entities its Relationships point at too; datasetId keeps only those
    instances of each attribute."""

    def run(media: str) -> Response:
        _check_entity_id(entityId)
        _parse_flag(local, "local")
        joined, depth = parse_join(join, join_level)
        picked, omitted, shape = _parse_projection(pick, omit, attrs, joined, depth)
        _check_geometry_property(geometry_property, media)
        chosen = _parse_options(options, ENTITY_OPTIONS, format)
        key_values = bool(chosen & {"keyValues", "simplified"})
        datasets = parse_dataset_ids(dataset_id)
        entity = read_entity(
            lake, entityId, region=settings.region, attrs=split_list(attrs),
            key_values=key_values and not joined and datasets is None,
            with_context=media != JSON, with_latest=_shows_latest(principal),
            sys_attrs="sysAttrs" in chosen, terms=get_request_terms(request, settings),
            engine=get_engine(settings),
        )  # fmt: skip
        if datasets is not None:
            entity = keep_datasets(entity, datasets)
        if type is not None and entity["type"] not in split_list(type):
            raise NotFoundError(f"no entity {entityId!r} of type {type!r}")
        # ETSI GS CIM 009 5.7.1: an entity with none of the attributes (or members)
        # asked for is not found, rather than served empty.
        if attrs and set(entity) <= ENTITY_MEMBERS:
            raise NotFoundError(f"entity {entityId!r} has none of the attributes {attrs!r}")
        entity = project(entity, picked, omitted)
        if (picked or omitted) and set(entity) <= {"@context"}:
            raise NotFoundError(f"entity {entityId!r} keeps no member after pick or omit")
        if joined:
            linked = _join(lake, settings, principal, media, chosen, [entity], joined, depth, key_values, shape)  # fmt: skip
            return _render(linked[0] if joined == "inline" else linked, media)
        if key_values and datasets is not None:
            entity = simplify_entity(entity)
        return _render(entity, media, geometry=geometry_property or "location")

    return _answer(request, run, allow_geo=True)


@router.post("/entityOperations/query", summary="Query entities by a Query body (NGSI-LD)", response_class=Response, responses=_LIST, openapi_extra={"requestBody": {"required": True, "content": _content({"type": "object"})}})  # fmt: skip
async def query_entities_by_body(
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    limit: LimitQ = None,
    offset: OffsetQ = None,
    count: CountQ = None,
    options: OptionsQ = None,
    format: FormatQ = None,
    local: LocalQ = None,
) -> Response:
    """The query of GET /entities sent as an NGSI-LD Query body (ETSI GS CIM 009
    5.7.2 via 6.23): ``entities`` selectors (type, id, idPattern; any one matches),
    ``attrs``, ``q``, ``geoQ``, ``join`` and ``joinLevel``; paging and options in the
    URL."""
    body = await read_body(request)
    if isinstance(body, Response):
        return body

    def run(media: str) -> Response:
        _parse_flag(local, "local")
        joined, depth = parse_join(*(_body_text(body, name) for name in ("join", "joinLevel")))
        selected = parse_query_body(body, linked_depth=depth if joined else 0)
        queries = [_with_context(q, request, settings, body) for q in selected]
        chosen = _parse_options(options, ENTITY_OPTIONS, format)
        counted = "true" if _is_true(count) or "count" in chosen else None
        first, size = _parse_paging(offset, limit, counted)
        key_values = bool(chosen & {"keyValues", "simplified"})
        matches = (
            read_entities(
                lake, query, region=settings.region, offset=0, limit=MAX_SELECTED,
                key_values=key_values and not joined,
                with_context=media != JSON, with_latest=_shows_latest(principal),
                sys_attrs="sysAttrs" in chosen, engine=get_engine(settings),
            ).entities
            for query in queries
        )  # fmt: skip

        order = _parse_ordering(body.get("ordering"))
        pick, omit, attrs = (_body_names(body, name) for name in ("pick", "omit", "attrs"))
        picked, omitted, shape = _parse_projection(pick, omit, attrs, joined, depth)

        def finish(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
            # As the URL's pick and omit: an entity left with nothing is left out.
            page = [kept for e in page if set(kept := project(e, picked, omitted)) - {"@context"}]  # fmt: skip
            if not joined:
                return page
            return _join(lake, settings, principal, media, chosen, page, joined, depth, key_values, shape)  # fmt: skip

        geometry = _body_text(body, "geometryProperty")
        if geometry is not None:
            _check_geometry_property(geometry, media)
        return _render_selected(request, media, matches, first, size, counted is not None, finish, order, geometry or "location")  # fmt: skip

    # The lake is read off the event loop, as the GET routes are.
    return await run_in_threadpool(_answer, request, run, allow_geo=True)


def _render_selected(
    request: Request, media: str, matches: Iterable[list[dict[str, Any]]],
    first: int, size: int, counted: bool,
    finish: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    order: Order = (),
    geometry: str = "location",
) -> Response:  # fmt: skip
    """One page of what a query body's selectors matched, each entity once, by id or
    in ``order``; ``finish`` shapes the page (pick, omit, the linked entities)."""
    found: dict[str, dict[str, Any]] = {}
    for entities in matches:
        found |= {e["id"]: e for e in entities}
    ordered = [found[i] for i in sorted(found)]
    if order:
        ordered = sort_entities(ordered, order)
    page = ordered[first : first + size]
    response = _render(finish(page) if finish else page, media, geometry=geometry)
    _add_paging(response, request, first, size, len(ordered), counted)
    return response


# A BCP 47 language tag, as a collation names one (de, de-u-co-phonebk, zh-Hans-CN).
BCP47_TAG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*\Z")


def _parse_coordinates(text: str | None, name: str) -> Any:
    """A URL parameter holding a JSON array of coordinates; None when not given."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidQueryError(f"{name} {text[:60]!r} is not a JSON array of lon, lat") from None


def _parse_url_ordering(order_by: Text, order_from: Text, collation: Text) -> Order:
    """A URL's orderBy, orderFrom and collation, read as a Query body's ordering."""
    if order_by is None and order_from is None and collation is None:
        return ()
    coordinates = _parse_coordinates(order_from, "orderFrom")
    ordering = {"orderBy": (order_by or "id").split(","), "coordinates": coordinates}
    return _parse_ordering(ordering | ({"collation": collation} if collation is not None else {}))


def _parse_ordering(ordering: Any) -> Order:
    """The ordering member of a Query body (ETSI GS CIM 009 5.2.43): orderBy, and for
    an order by distance the coordinates (and geometry, Point unless named) measured
    from. A collation is refused: strings are ordered by code point, and an answer in
    another order than the one asked for would pass for it."""
    if ordering is None:
        return ()
    if not isinstance(ordering, dict):
        raise InvalidQueryError("ordering is an object (orderBy, coordinates, geometry, collation)")  # fmt: skip
    keys, coordinates = ordering.get("orderBy"), ordering.get("coordinates")
    geometry, collation = ordering.get("geometry", "Point"), ordering.get("collation")
    if not (isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys)):
        raise InvalidQueryError("ordering.orderBy is a non-empty list of member[;asc|;desc|;dist-asc|;dist-desc]")  # fmt: skip
    if coordinates is not None and not isinstance(coordinates, list):
        raise InvalidQueryError("ordering.coordinates is a JSON array of lon, lat")
    if not isinstance(geometry, str):
        raise InvalidQueryError("ordering.geometry is the name of a GeoJSON geometry type")
    if collation is not None:
        if not (isinstance(collation, str) and BCP47_TAG.match(collation)):
            raise InvalidQueryError(f"ordering.collation {collation!r} is not a BCP 47 language tag")  # fmt: skip
        raise OperationNotSupportedError("ordering.collation is part of NGSI-LD that UrbanPulse does not support")  # fmt: skip
    reference = None if coordinates is None else build_geometry(geometry, json.dumps(coordinates))
    return parse_order(",".join(keys), reference)


def _body_names(body: Any, name: str) -> str | None:
    """A Query body's list of names (pick, omit, attrs) as the URL writes it."""
    value = body.get(name) if isinstance(body, dict) else None
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise InvalidQueryError(f"{name} is a non-empty list of names")
    return ",".join(value)


def _body_text(body: Any, name: str) -> str | None:
    """A member of a Query body as the URL would give it (joinLevel may be a number)."""
    value = body.get(name) if isinstance(body, dict) else None
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    return str(value)


def parse_query_body(
    body: Any, *, temporal: bool = False, linked_depth: int = 0
) -> list[EntityQuery]:
    """One entity query per selector of an NGSI-LD Query body (one when it has none);
    ``temporal``: a temporalQ may be in it (:func:`parse_temporal_body` reads it);
    ``linked_depth``: how deep its join reads (q may look that deep).

    Raises
    ------
    InvalidQueryError
        A body that is not a Query, selects nothing, or asks for what is not supported.
    """
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise InvalidQueryError('a query body is a JSON object with "type": "Query"')
    if not temporal and "temporalQ" in body:
        raise InvalidQueryError("temporalQ belongs to a query of the temporal API")
    refused = {"scopeQ", "csf", "lang"} | ({"join", "joinLevel"} if temporal else {"aggrParams"})
    unsupported = sorted(set(body) & refused)
    if unsupported:
        raise OperationNotSupportedError(f"{unsupported[0]} is part of NGSI-LD that UrbanPulse does not support")  # fmt: skip
    selectors = body.get("entities") or [{}]
    attrs, q, geo = body.get("attrs"), body.get("q"), body.get("geoQ") or {}
    if not isinstance(selectors, list) or not all(isinstance(e, dict) for e in selectors):
        raise InvalidQueryError("entities is a list of selectors (type, id, idPattern)")
    if len(selectors) > MAX_SELECTORS:  # each is a read of the lake
        raise InvalidQueryError(f"at most {MAX_SELECTORS} selectors in one query")
    if not isinstance(geo, dict) or not (attrs is None or (isinstance(attrs, list) and attrs)):
        raise InvalidQueryError("attrs is a non-empty list of names and geoQ an object")
    if not any(e.get("type") for e in selectors) and not (attrs or q or geo):
        raise InvalidQueryError("give at least one of entities with a type, attrs, q or geoQ")
    coordinates = geo.get("coordinates")
    if isinstance(coordinates, list):
        coordinates = json.dumps(coordinates)
    texts = {
        "q": q, "attrs": ",".join(map(str, attrs)) if attrs else None,
        "georel": geo.get("georel"), "geometry": geo.get("geometry"),
        "coordinates": coordinates, "geoproperty": geo.get("geoproperty"),
    }  # fmt: skip
    if not all(v is None or isinstance(v, str) for v in texts.values()):
        raise InvalidQueryError("q and each member of geoQ are text")
    queries = []
    for selector in selectors:
        ids = selector.get("id")
        if isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids):
            ids = ",".join(ids)  # several ids: any of them (ETSI GS CIM 009 5.2.33)
        chosen = {"type": selector.get("type"), "id": ids, "id_pattern": selector.get("idPattern")}  # fmt: skip
        if not all(v is None or isinstance(v, str) for v in chosen.values()):
            raise InvalidQueryError("a selector's type, id (or a list of ids) and idPattern are text")  # fmt: skip
        queries.append(parse_entity_query(**chosen, **texts, linked_depth=linked_depth))
    return queries


@router.post("/temporal/entityOperations/query", summary="Query temporal evolution of entities by a Query body (NGSI-LD)", response_class=Response, responses=_LIST, openapi_extra={"requestBody": {"required": True, "content": _content({"type": "object"})}})  # fmt: skip
async def query_temporal_entities_by_body(
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    limit: LimitQ = None,
    offset: OffsetQ = None,
    count: CountQ = None,
    options: TemporalOptionsQ = None,
    format: TemporalFormatQ = None,
    local: LocalQ = None,
) -> Response:
    """The temporal query sent as an NGSI-LD Query body: selectors, attrs, q and
    temporalQ (timerel, timeAt, endTimeAt, lastN); paging and options in the URL."""
    body = await read_body(request)
    if isinstance(body, Response):
        return body

    def run(media: str) -> Response:
        _parse_flag(local, "local")
        queries = [_with_context(q, request, settings, body) for q in parse_query_body(body, temporal=True)]  # fmt: skip
        temporal = parse_temporal_body(body)
        chosen = _parse_temporal_options(options, format)
        aggregation = parse_body_aggregation(body, chosen)
        counted = "true" if _is_true(count) or "count" in chosen else None
        first, size = _parse_paging(offset, limit, counted)

        def read(query: EntityQuery, within: InstantRange | None = None) -> TemporalPage:
            return read_temporal_entities(
                lake, query, temporal, region=settings.region, limit=MAX_SELECTED,
                temporal_values="temporalValues" in chosen, with_context=media != JSON,
                instance_limit=settings.ngsi_temporal_instance_limit, within=within,
                aggregation=aggregation, engine=get_engine(settings),
            )  # fmt: skip

        pages = [read(query) for query in queries]
        cuts = [page.cut_range for page in pages if page.cut_range is not None]
        cut = join_cuts(cuts) if cuts else None
        if cut is not None and len(queries) > 1:  # one range for every selector
            pages = [read(query, cut) for query in queries]
        matches = (page.entities for page in pages)
        response = _render_selected(request, media, matches, first, size, counted is not None)
        _add_cut(response, cut)
        return response

    return await run_in_threadpool(_answer, request, run, allow_geo=False)


def parse_body_aggregation(body: dict[str, Any], chosen: set[str]) -> Aggregation | None:
    """The aggregation a Query body asks for: aggrMethods and aggrPeriodDuration in its
    temporalQ or its aggrParams (5.2.44), which ask for the aggregatedValues
    representation by themselves; None without them (or another format named)."""
    found = body.get("temporalQ")
    temporal_q: dict[str, Any] = found if isinstance(found, dict) else {}
    params = body.get("aggrParams", {})
    if not isinstance(params, dict):
        raise InvalidQueryError("aggrParams is an object (aggrMethods, aggrPeriodDuration)")
    given = {**{k: v for k, v in temporal_q.items() if k.startswith("aggr")}, **params}
    unknown = sorted(set(given) - {"aggrMethods", "aggrPeriodDuration"})
    if unknown:
        raise InvalidQueryError(f"{unknown[0]}: aggregation takes aggrMethods and aggrPeriodDuration")  # fmt: skip
    if given and not chosen & {"temporalValues"}:
        chosen = chosen | {"aggregatedValues"}
    return _parse_aggregation(chosen, given.get("aggrMethods"), given.get("aggrPeriodDuration"))


def parse_temporal_body(body: dict[str, Any]) -> TemporalQuery:
    """The temporalQ of a Query body (timerel, timeAt, endTimeAt, lastN, timeproperty).

    Raises
    ------
    InvalidQueryError
        A temporalQ that is not an object, or a member the temporal API refuses.
    """
    given = body.get("temporalQ") or {}
    if not isinstance(given, dict):
        raise InvalidQueryError("temporalQ is an object (timerel, timeAt, endTimeAt, lastN)")
    _check_time_property(given.get("timeproperty"))
    last_n = given.get("lastN")
    if last_n is not None and (isinstance(last_n, bool) or not isinstance(last_n, int)):
        raise InvalidQueryError(f"lastN {last_n!r} is a whole number >= 1")
    texts = {k: given.get(k) for k in ("timerel", "timeAt", "endTimeAt", "timeproperty")}
    if not all(v is None or isinstance(v, str) for v in texts.values()):
        raise InvalidQueryError("timerel, timeAt, endTimeAt and timeproperty are text")
    return build_temporal_query(
        timerel=texts["timerel"], time_at=texts["timeAt"], end_time_at=texts["endTimeAt"],
        last_n=None if last_n is None else str(last_n), time_property=texts["timeproperty"],
    )  # fmt: skip


@router.get("/types", summary="Entity types available (NGSI-LD)", response_class=Response, responses=_ONE)  # fmt: skip
def list_types(
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    details: Annotated[Text, Query(description="true: each type with its attribute names.")] = None,
    local: LocalQ = None,
) -> Response:
    """The entity types published now (an EntityTypeList), or with details=true each
    type with the attributes its entities have."""
    _parse_flag(local, "local")  # every entity is local: true and false answer alike
    return _discover(
        request, settings,
        lambda engine, context, terms: read_types(
            lake, terms, region=settings.region, details=_parse_flag(details, "details"),
            with_context=context, engine=engine,
        ),
    )  # fmt: skip


# A type or attribute in the path may be an IRI, whose %2F a client sent encoded and
# the server has decoded: the rest of the path is the name.
@router.get("/types/{entityType:name}", summary="One entity type (NGSI-LD)", response_class=Response, responses=_ONE)  # fmt: skip
def get_type(
    request: Request, lake: LakeDep, settings: SettingsDep, entityType: str, local: LocalQ = None
) -> Response:
    """An EntityTypeInfo: how many entities of the type are published now, and each
    attribute's name and types; 404 for a type with none. The type is a term of the
    request's @context or the IRI it stands for."""
    _parse_flag(local, "local")  # every entity is local: true and false answer alike
    return _discover(
        request, settings,
        lambda engine, context, terms: read_type_info(
            lake, terms, entityType, region=settings.region, with_context=context, engine=engine
        ),
    )  # fmt: skip


@router.get("/attributes", summary="Attributes available (NGSI-LD)", response_class=Response, responses=_ONE)  # fmt: skip
def list_attributes(
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    details: Annotated[Text, Query(description="true: each attribute with its details.")] = None,
    local: LocalQ = None,
) -> Response:
    """An AttributeList of the published entities' attributes, or with details=true
    each Attribute with its count, attribute types and the entity types having it."""
    _parse_flag(local, "local")  # every entity is local: true and false answer alike
    return _discover(
        request, settings,
        lambda engine, context, terms: read_attributes(
            lake, terms, region=settings.region, details=_parse_flag(details, "details"),
            with_context=context, engine=engine,
        ),
    )  # fmt: skip


@router.get("/attributes/{attrId:name}", summary="One attribute (NGSI-LD)", response_class=Response, responses=_ONE)  # fmt: skip
def get_attribute(
    request: Request, lake: LakeDep, settings: SettingsDep, attrId: str, local: LocalQ = None
) -> Response:
    """An Attribute with its details; 404 when no published entity has it. The name is
    a term of the request's @context or the IRI it stands for."""
    _parse_flag(local, "local")  # every entity is local: true and false answer alike
    return _discover(
        request, settings,
        lambda engine, context, terms: read_attribute(
            lake, terms, attrId, region=settings.region, with_context=context, engine=engine
        ),
    )  # fmt: skip


def _parse_temporal_order(text: str | None) -> bool:
    """Whether a temporal query's orderBy asks for ids descending; the temporal API
    orders by id only (ETSI GS CIM 009 5.7.4)."""
    if text in (None, "", "id", "id;asc"):
        return False
    if text == "id;desc":
        return True
    raise InvalidQueryError(f"orderBy {text!r}: the temporal API orders by id only (id, id;desc)")  # fmt: skip


def _parse_projection(
    pick: str | None, omit: str | None, attrs: str | None, join: str | None = None, depth: int = 0
) -> tuple[frozenset[str], frozenset[str], Projection | None]:
    """pick or omit, read once: the members kept, those dropped, and the whole tree for
    a join's linked entities; refused where it reaches past what the join serves (ETSI
    GS CIM 009 4.21)."""
    shape = parse_linked_projection(pick, omit, attrs)
    reach, served = get_projection_depth(shape), depth if join else 0
    if reach > served:
        raise InvalidQueryError(
            f"pick or omit reaches {reach} Relationships deep, past what join serves ({served})"
        )
    return (shape.pick, shape.omit, shape) if shape else (frozenset(), frozenset(), None)


def _join(
    lake: Lake, settings: Settings, principal: Principal, media: str, chosen: set[str],
    entities: list[dict[str, Any]], join: str, depth: int, key_values: bool,
    shape: Projection | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Entities with the ones their Relationships point at (ETSI GS CIM 009 4.5.23),
    each linked entity read as the request reads its own, in keyValues when asked."""

    def fetch(entity_id: str) -> dict[str, Any] | None:
        try:
            return read_entity(
                lake, entity_id, region=settings.region, key_values=False,
                with_context=media != JSON and join == "flat",
                with_latest=_shows_latest(principal), sys_attrs="sysAttrs" in chosen,
                engine=get_engine(settings),
            )  # fmt: skip
        except (NotFoundError, InvalidQueryError):
            return None  # a link to nowhere stays a link

    linked = join_entities(entities, fetch, join=join, level=depth, projection=shape)
    return [simplify_entity(e) for e in linked] if key_values else linked


def _with_context(
    query: EntityQuery, request: Request, settings: Settings, body: Any = None
) -> EntityQuery:
    """The query with the @context its terms are read in (:func:`get_request_terms`)."""
    return replace(query, terms=get_request_terms(request, settings, body))


def get_request_terms(request: Request, settings: Settings, body: Any = None) -> Terms:
    """The @context a request's terms are read and answered in (a JSON-LD body's, else
    the Link header's, else the core context alone) and the languages of ``lang``."""
    context = body.get("@context") if isinstance(body, dict) else None
    if context is None:
        context = get_link_context(request.headers.get("link", ""))
    languages = parse_languages(request.query_params.get("lang"))
    return Terms(get_context_book(settings), context, languages)


def get_context_book(settings: Settings) -> ContextBook:
    """The @context documents the settings name, with UrbanPulse's own (read once)."""
    key = json.dumps({url: str(path) for url, path in settings.ngsild_contexts.items()})
    return _build_book(key)


@lru_cache(maxsize=8)
def _build_book(files_json: str) -> ContextBook:
    own = {CONTEXT_PATH: build_context_document()}
    files = {url: Path(path) for url, path in json.loads(files_json).items()}
    return build_context_book(files, own)


def _discover(
    request: Request, settings: Settings, read: Callable[[Engine, bool, Terms], Any]
) -> Response:
    """A discovery answer (types, attributes): ``read(engine, with_context, terms)``
    rendered in the negotiated media type (JSON or JSON-LD), named in the request's
    @context, errors as ProblemDetails."""

    def run(media: str) -> Response:
        terms = get_request_terms(request, settings)
        return _render(read(get_engine(settings), media == JSON_LD, terms), media)

    return _answer(request, run, allow_geo=False)


def _parse_flag(text: Text, name: str) -> bool:
    if text not in (None, "", "true", "false"):
        raise InvalidQueryError(f"{name} {text!r}: use true or false")
    return _is_true(text)


@router.get("/jsonldContexts/urbanpulse", summary="UrbanPulse's @context (NGSI-LD)", response_class=Response)  # fmt: skip
def get_context_document() -> Response:
    """The JSON-LD @context every NGSI-LD answer links: each published type and
    attribute mapped to its Smart Data Models IRI, and the NGSI-LD core terms."""
    body = json.dumps(build_context_document(), ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type=JSON_LD, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/temporal/entities", summary="Query temporal evolution of entities (NGSI-LD)", response_class=Response, responses=_LIST)  # fmt: skip
def query_temporal_entities(
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    type: TypeQ = None,
    id: IdQ = None,
    id_pattern: IdPatternQ = None,
    q: QQ = None,
    attrs: AttrsQ = None,
    georel: GeorelQ = None,
    geometry: GeometryQ = None,
    coordinates: CoordinatesQ = None,
    geoproperty: GeopropertyQ = None,
    timerel: TimerelQ = None,
    time_at: TimeAtQ = None,
    end_time_at: EndTimeAtQ = None,
    last_n: LastNQ = None,
    dataset_id: DatasetIdQ = None,
    limit: LimitQ = None,
    offset: OffsetQ = None,
    count: CountQ = None,
    options: TemporalOptionsQ = None,
    format: TemporalFormatQ = None,
    timeproperty: TimePropertyQ = None,
    local: LocalQ = None,
    pick: PickQ = None,
    omit: OmitQ = None,
    order_by: TemporalOrderByQ = None,
    scope_q: ScopeQQ = None,
    aggr_methods: AggrMethodsQ = None,
    aggr_period: AggrPeriodQ = None,
) -> Response:
    """The lake's history of the selected entities' observed attributes; with scopeQ,
    the context entities whose scope matched while it was valid in the time asked for,
    and only their instances observed while it held."""

    def run(media: str) -> Response:
        _check_minimal(type, attrs, q, georel, local)
        _parse_flag(local, "local")
        _check_time_property(timeproperty)
        picked, omitted, _ = _parse_projection(pick, omit, attrs)  # the temporal API has no join
        descending = _parse_temporal_order(order_by)
        query = parse_entity_query(
            type=type, id=id, id_pattern=id_pattern, q=q, attrs=attrs, georel=georel,
            geometry=geometry, coordinates=coordinates, geoproperty=geoproperty, scope_q=scope_q,
        )  # fmt: skip
        query = _with_context(query, request, settings)
        temporal = build_temporal_query(
            timerel=timerel, time_at=time_at, end_time_at=end_time_at, last_n=last_n,
            dataset_id=dataset_id, time_property=timeproperty,
        )  # fmt: skip
        simplified = _parse_temporal_options(options, format)
        aggregation = _parse_aggregation(simplified, aggr_methods, aggr_period)
        counted = "true" if _is_true(count) or "count" in simplified else count
        first, size = _parse_paging(offset, limit, counted)
        page = read_temporal_entities(
            lake, query, temporal, region=settings.region, offset=first, limit=size,
            temporal_values="temporalValues" in simplified, with_context=media != JSON,
            descending=descending, sys_attrs="sysAttrs" in simplified, aggregation=aggregation,
            instance_limit=settings.ngsi_temporal_instance_limit, engine=get_engine(settings),
        )  # fmt: skip
        response = _render([project(e, picked, omitted) for e in page.entities], media)
        _add_paging(response, request, first, size, page.total, _is_true(counted))
        _add_cut(response, page.cut_range)
        return response

    return _answer(request, run, allow_geo=False)


@router.get("/temporal/entities/{entityId}", summary="Temporal evolution of one entity (NGSI-LD)", response_class=Response, responses=_ONE)  # fmt: skip
def get_temporal_entity(
    request: Request,
    entityId: str,
    lake: LakeDep,
    settings: SettingsDep,
    attrs: AttrsQ = None,
    timerel: TimerelQ = None,
    time_at: TimeAtQ = None,
    end_time_at: EndTimeAtQ = None,
    last_n: LastNQ = None,
    dataset_id: DatasetIdQ = None,
    options: TemporalOptionsQ = None,
    format: TemporalFormatQ = None,
    timeproperty: TimePropertyQ = None,
    local: LocalQ = None,
    pick: PickQ = None,
    omit: OmitQ = None,
    aggr_methods: AggrMethodsQ = None,
    aggr_period: AggrPeriodQ = None,
) -> Response:
    """One entity's history, e.g. ?timerel=between&timeAt=...&endTimeAt=...&lastN=10;
    with options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H, per hour."""

    def run(media: str) -> Response:
        _check_entity_id(entityId)
        _parse_flag(local, "local")
        _check_time_property(timeproperty)
        picked, omitted, _ = _parse_projection(pick, omit, attrs)  # the temporal API has no join
        query = _with_context(build_entity_query(id=entityId, attrs=attrs), request, settings)
        temporal = build_temporal_query(
            timerel=timerel, time_at=time_at, end_time_at=end_time_at, last_n=last_n,
            dataset_id=dataset_id, time_property=timeproperty,
        )  # fmt: skip
        simplified = _parse_temporal_options(options, format)
        aggregation = _parse_aggregation(simplified, aggr_methods, aggr_period)
        page = read_temporal_entities(
            lake, query, temporal, region=settings.region, limit=1,
            temporal_values="temporalValues" in simplified, with_context=media != JSON,
            retrieve=True, sys_attrs="sysAttrs" in simplified, aggregation=aggregation,
            instance_limit=settings.ngsi_temporal_instance_limit, engine=get_engine(settings),
        )  # fmt: skip
        if not page.entities:
            raise NotFoundError(f"no entity {entityId!r}")
        entity = project(page.entities[0], picked, omitted)
        if (picked or omitted) and set(entity) <= {"@context"}:  # as GET /entities/{id}
            raise NotFoundError(f"entity {entityId!r} keeps no member after pick or omit")
        response = _render(entity, media)
        _add_cut(response, page.cut_range)
        return response

    return _answer(request, run, allow_geo=False)


def _shows_latest(principal: Principal) -> bool:
    """Whether the data policy shows this caller each site's newest values."""
    return get_data_policy("observations").shows_latest(principal.scope)


def _answer(request: Request, run: Callable[[str], Response], *, allow_geo: bool) -> Response:
    """Run a route in the negotiated media type; errors as NGSI-LD ProblemDetails."""
    media = _negotiate(request.headers.get("accept", ""), allow_geo=allow_geo)
    if media is None:
        offered = ", ".join([JSON, JSON_LD] + ([GEO_JSON] if allow_geo else []))
        return build_problem(406, f"cannot answer in {request.headers['accept']!r}; use {offered}")  # fmt: skip
    try:
        check_parameters(request)
        return run(media)
    except UrbanPulseError as exc:
        problem = build_client_problem(exc)
        if problem is not None:
            return problem
        failure: Exception = exc
    except Exception as exc:  # NGSI-LD clients expect ProblemDetails even for a failure
        failure = exc
    # Its message may hold internals (paths, SQL): logged, not sent.
    logger.error("NGSI-LD request %s failed", request.url.path, exc_info=failure)
    return build_problem(500, "internal server error")


# Query parameters every route reads: the language of the product's messages.
COMMON_PARAMETERS = frozenset({"lang"})
# Parameters NGSI-LD defines that UrbanPulse does not act on: refused by name, never
# ignored (an answer without the join, order or scope asked for would pass for one).
NOT_SUPPORTED = frozenset({
    "join", "joinLevel", "orderBy", "scopeQ", "csf", "expandValues", "collation",
    "entityMap", "containedBy", "datasetId",
    "showChanges", "jsonKeys", "doNotCompact",
})  # fmt: skip


class OperationNotSupportedError(UrbanPulseError):
    """A part of NGSI-LD the request asks for that UrbanPulse does not implement."""


class NonexistentTenantError(NotFoundError):
    """A tenant the request names (NGSILD-Tenant) that UrbanPulse does not hold."""


def build_client_problem(exc: UrbanPulseError) -> Response | None:
    """The ProblemDetails answer to a product error the client caused; None for a
    failure of the server's own (which the caller logs and answers as a 500)."""
    if isinstance(exc, OperationNotSupportedError):
        return build_problem(422, str(exc))
    status, _ = get_error_status(exc)
    if status >= 500:
        return None
    if isinstance(exc, NonexistentTenantError):
        return build_problem(404, str(exc), name="NonexistentTenant")
    return build_problem(status, str(exc), malformed=isinstance(exc, MalformedRequestError))


def check_parameters(request: Request) -> None:
    """Refuse a tenant other than the default, and a query parameter the route does
    not define (ETSI GS CIM 009 6.3.20: an
    undefined parameter is an InvalidRequest, not something to ignore: a misspelt
    ``limt`` would otherwise return the default page as if it had been read)."""
    # UrbanPulse holds one tenant, the default one, which a request names by sending no
    # tenant (or an empty one). Another tenant's entities are not silently mixed with it.
    tenant = request.headers.get(TENANT_HEADER, "")
    if tenant:
        raise NonexistentTenantError(
            f"tenant {tenant[:64]!r} does not exist: UrbanPulse keeps one tenant, "
            f"the default, asked for without a {TENANT_HEADER} header"
        )
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _get_query_names(dependant) | COMMON_PARAMETERS
    unsupported = sorted(set(request.query_params) & NOT_SUPPORTED - known)
    if unsupported:
        raise OperationNotSupportedError(
            f"{unsupported[0]} is part of NGSI-LD that UrbanPulse does not support"
        )
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise MalformedRequestError(
            f"unknown query parameter {unknown[0]!r}; this operation reads "
            f"{', '.join(sorted(known - COMMON_PARAMETERS)) or 'none'}"
        )


def _get_query_names(dependant: Any) -> set[str]:
    """The query parameters a route and its dependencies read, by their names in a URL."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _get_query_names(dependency)
    return names


async def read_body(request: Request, *, entities: bool = True, batch: bool = False) -> Any:
    """The JSON body, or a ProblemDetails answer for another media type or bad JSON.

    A JSON (not JSON-LD) body of ``entities`` (or of their attributes) takes its
    @context from the request's JSON-LD Link header, as ETSI GS CIM 009 6.3.5 has it
    travel, so the entities keep the context their terms were written in. In a
    ``batch`` an entity whose @context is misplaced is refused on its own, not the
    whole request: the caller asks :func:`get_context_problem` of each, then gives
    the good ones the Link header's context itself."""
    media = get_media_type(request.headers.get("content-type"))
    if media not in (JSON, JSON_LD):
        return build_problem(415, f"send {JSON} or {JSON_LD}; got {media or 'no Content-Type'}")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        return build_problem(400, f"the body is not JSON: {exc}", malformed=True)
    except RecursionError:  # deeper than the JSON reader itself goes
        body = TOO_DEEP
    # What reads a body below walks it by recursion; an entity is a few levels deep.
    if body is TOO_DEEP or _is_nested_deeper(body, MAX_BODY_DEPTH):
        return build_problem(400, f"the body nests objects and arrays more than {MAX_BODY_DEPTH} deep", malformed=True)  # fmt: skip
    link = get_link_context(request.headers.get("link", ""))
    documents = [d for d in (body if isinstance(body, list) else [body]) if isinstance(d, dict)]
    # Where the @context travels (ETSI GS CIM 009 6.3.5): in a JSON-LD body and nowhere
    # else, or in a Link header beside a plain JSON body.
    if media == JSON_LD and link is not None:
        return build_problem(400, f"with {JSON_LD} the @context is in the body, not in a Link header")  # fmt: skip
    problems = (
        [] if batch else [get_context_problem(media, d, entities=entities) for d in documents]
    )
    problem = next((p for p in problems if p is not None), None)
    if problem is not None:
        return build_problem(400, problem)
    if entities and media == JSON and link is not None and not batch:
        for document in documents:
            document.setdefault("@context", link)
    return body


def get_context_problem(media: str, document: Any, *, entities: bool = True) -> str | None:
    """Why an entity's @context is where it may not be (ETSI GS CIM 009 6.3.5), or
    None: a JSON-LD entity carries it, a plain JSON one never does."""
    if not isinstance(document, dict):
        return None
    if entities and media == JSON_LD and "@context" not in document:
        return f"a {JSON_LD} body carries its @context; send {JSON} without one"
    if media == JSON and "@context" in document:
        return f"a {JSON} body carries no @context: send it as {JSON_LD}, or the context in a Link header"  # fmt: skip
    return None


def _is_nested_deeper(value: Any, limit: int) -> bool:
    """Whether JSON ``value`` nests objects and arrays more than ``limit`` deep."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        members = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None  # fmt: skip
        if members is None:
            continue
        if depth > limit:
            return True
        pending += [(member, depth + 1) for member in members]
    return False


def get_link_context(header: str) -> str | None:
    """The URL of a Link header's JSON-LD context (rel=http://www.w3.org/ns/json-ld#context)."""
    for part in header.split(","):
        target, _, params = part.partition(";")
        if "json-ld#context" in params and target.strip().startswith("<"):
            return target.strip()[1:].split(">", 1)[0]
    return None


def build_problem(
    status: int, detail: str, *, malformed: bool = False, name: str | None = None
) -> Response:
    """An NGSI-LD ProblemDetails response; ``malformed``: the request's form was wrong
    (InvalidRequest), not its data; ``name``: an error type other than the status's."""
    if name is None:
        name = PROBLEM_TYPES.get(status, "InternalError" if status >= 500 else "BadRequestData")
    if malformed and status == 400:
        name = "InvalidRequest"
    body = ProblemDetailsPublic(
        type=ERRORS + name, title=HTTPStatus(status).phrase, status=status, detail=detail
    )
    return Response(body.model_dump_json(), status_code=status, media_type=JSON)


def _negotiate(accept: str, *, allow_geo: bool) -> str | None:
    """The media type to answer in, or None when Accept admits none of them."""
    offered = [JSON, JSON_LD] + ([GEO_JSON] if allow_geo else [])
    ranges = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        weight = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            quality = float(weight)
        except ValueError:
            quality = 1.0
        if media and quality > 0:
            ranges.append((-quality, index, media.lower()))
    if not ranges:
        return JSON
    for _, _, media in sorted(ranges):
        if media in offered:
            return media
        if media in ("*/*", "application/*"):
            return JSON
    return None


def _render(payload: Any, media: str, *, geometry: str = "location") -> Response:
    if media == GEO_JSON:
        entities = payload if isinstance(payload, list) else [payload]
        features = [_build_feature(e, geometry) for e in entities]
        if isinstance(payload, list):
            payload = {"type": "FeatureCollection", "features": features}
            contexts = [f.pop("@context") for f in features if "@context" in f]
            if contexts:
                payload["@context"] = contexts[0]  # one request, one @context
        else:
            payload = features[0]
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    response = Response(body, media_type=media)
    if media == JSON:
        response.headers.append("Link", CONTEXT_LINK)
    return response


def _build_feature(entity: dict[str, Any], geometry: str = "location") -> dict[str, Any]:
    """A GeoJSON Feature of an entity (ETSI GS CIM 009 4.5.16): the GeoProperty
    ``geometry`` names places it (null when the entity has none); the properties are
    the entity's type and every attribute, that one too, normalized or keyValues as
    asked; the @context at the Feature's root."""
    place = entity.get(geometry)
    if isinstance(place, dict) and place.get("type") == "GeoProperty":
        place = place.get("value")
    properties = {k: v for k, v in entity.items() if k not in ("id", "@context")}
    feature = {"id": entity["id"], "type": "Feature", "geometry": place, "properties": properties}  # fmt: skip
    if "@context" in entity:
        feature["@context"] = entity["@context"]
    return feature


def parse_entity_query(
    *, type: Text = None, id: Text = None, id_pattern: Text = None, q: Text = None,
    attrs: Text = None, georel: Text = None, geometry: Text = None, coordinates: Text = None,
    geoproperty: Text = None, scope_q: Text = None, linked_depth: int = 0,
) -> EntityQuery:  # fmt: skip
    """An entity query from its URL parameters, each id checked to be a URI;
    ``linked_depth``: how deep the request's join reads (q may look that deep)."""
    for entity_id in split_list(id):
        _check_entity_id(entity_id)
    return build_entity_query(
        type=type, id=id, id_pattern=id_pattern, q=q, attrs=attrs, georel=georel,
        geometry=geometry, coordinates=coordinates, geoproperty=geoproperty, scope_q=scope_q,
        linked_depth=linked_depth,
    )  # fmt: skip


def _check_entity_id(entity_id: str) -> None:
    # Any URI is a valid id (one of another system is simply not found here).
    scheme, sep, rest = entity_id.partition(":")
    if not (sep and rest and scheme.isascii() and scheme.isalpha()):
        raise InvalidQueryError(f"entity id {entity_id!r} is not a URI (e.g. urn:ngsi-ld:Type:id)")


def _parse_paging(offset: Text, limit: Text, count: Text) -> tuple[int, int]:
    first = _parse_whole(offset, "offset", 0)
    size = _parse_whole(limit, "limit", DEFAULT_LIMIT)
    if size > MAX_LIMIT:
        raise InvalidQueryError(f"limit {size} is above the maximum of {MAX_LIMIT}")
    if size == 0 and not _is_true(count):
        raise InvalidQueryError("limit=0 is only allowed with count=true")
    if count not in (None, "", "true", "false"):
        raise InvalidQueryError(f"count {count!r}: use true or false")
    return first, size


def _parse_whole(text: Text, name: str, default: int) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit() or len(text) > 9:
        raise InvalidQueryError(f"{name} {text!r} must be a whole number >= 0")
    return int(text)


def _parse_options(text: Text, allowed: set[str], format: Text = None) -> set[str]:
    """The options asked for (``format`` is the newer spelling of one of them)."""
    options = set(split_list(text))
    unknown = options - allowed
    if unknown:
        raise MalformedRequestError(f"options {sorted(unknown)}: use {', '.join(sorted(allowed))}")
    if format not in (None, ""):
        if format not in FORMATS:
            raise MalformedRequestError(f"format {format!r}: use {', '.join(FORMATS)}")
        options.add(format)
    return options


def _parse_temporal_options(options: Text, format: Text) -> set[str]:
    """The temporal options asked for, with at most one representation
    (:data:`TEMPORAL_FORMATS`; none: normalized). ``format`` names it and wins over
    the options (ETSI GS CIM 009 6.3.12); options naming two are a bad request."""
    chosen = _parse_options(options, TEMPORAL_OPTIONS)
    if format in (None, ""):
        if len(chosen & set(TEMPORAL_FORMATS)) > 1:
            raise InvalidQueryError(f"options: one of {', '.join(TEMPORAL_FORMATS)}")
        return chosen
    named = "temporalValues" if format == "simplified" else format
    if named not in (*TEMPORAL_FORMATS, "normalized"):
        if named == "concise":
            raise OperationNotSupportedError(f"format={format} is part of NGSI-LD that UrbanPulse does not support")  # fmt: skip
        raise MalformedRequestError(f"format {format!r}: use normalized, {', '.join(TEMPORAL_FORMATS)}")  # fmt: skip
    return (chosen - set(TEMPORAL_FORMATS)) | ({named} - {"normalized"})


def _parse_aggregation(chosen: set[str], methods: Any, duration: Any) -> Aggregation | None:
    """The aggregation the aggregatedValues representation asks for; None for another
    representation. aggrMethods or aggrPeriodDuration without it are a bad request
    (never ignored), unless another representation was named by format."""
    if "aggregatedValues" in chosen:
        return parse_aggregation(methods, duration)
    if (methods or duration) and not chosen & {"temporalValues"}:
        raise InvalidQueryError("aggrMethods and aggrPeriodDuration go with the aggregatedValues representation")  # fmt: skip
    return None


def _check_time_property(timeproperty: Text) -> None:
    # A deleted instance is not kept as such: deletedAt has nothing to be read on.
    if timeproperty == "deletedAt":
        raise OperationNotSupportedError(f"timeproperty={timeproperty} is part of NGSI-LD that UrbanPulse does not support")  # fmt: skip


def _check_geometry_property(name: Text, media: str) -> None:
    if name is None:
        return
    if media != GEO_JSON:
        raise InvalidQueryError("geometryProperty chooses a GeoJSON answer's geometry: ask for application/geo+json")  # fmt: skip
    _check_term(name, "geometryProperty")


def _check_term(name: str, parameter: str) -> None:
    if not name or any(c in name for c in ",;{}()[]\"'<> "):
        raise InvalidQueryError(f"{parameter} {name!r} is not a name")


def _check_minimal(type: Text, attrs: Text, q: Text, georel: Text, local: Text = None) -> None:
    # ETSI GS CIM 009 (Query Entities, 5.7.2): a query names a type, attributes, a q or a
    # geo-query; ids or an id pattern alone are not one (its test suite, 019_03_05). Only
    # local=true may ask for every entity (6.4.3.2): this broker's own, which all are.
    if not any((type, attrs, q, georel)) and not _is_true(local):
        raise InvalidQueryError("give at least one of type, attrs, q or georel")
    if type == "*" and local == "false":  # 6.4.3.2: the wildcard implies local=true
        raise InvalidQueryError("type=* asks for every entity here: local cannot be false")
    names = set(split_list(attrs))
    if names & {"id", "type", "@context"}:
        raise InvalidQueryError(f"attrs {attrs!r}: id and type are members, not attributes")
    # System attributes alone select every entity ever written (5.7.2.4 b, c).
    system = SYSTEM_ATTRIBUTES
    if names and names <= system and not (type or q or georel):
        raise InvalidQueryError(f"attrs {attrs!r}: system attributes alone select too much; add a type, q or geo-query")  # fmt: skip
    read = get_q_names(q)
    if read and read <= system and not (type or names - system or georel):
        raise InvalidQueryError(f"q {q!r}: system attributes alone select too much; add a type, attrs or geo-query")  # fmt: skip


def _is_true(text: Text) -> bool:
    return text == "true"


def _add_paging(
    response: Response, request: Request, first: int, size: int, total: int, count: bool
) -> None:
    """Link rel="prev"/"next" to neighbouring pages and, asked for, the total."""
    if count:
        # The header name of ETSI GS CIM 009 (and of its test suite and clients).
        response.headers["NGSILD-Results-Count"] = str(total)
    if size and first + size < total:
        url = _page_address(request, first + size, size)
        response.headers.append("Link", f'<{url}>; rel="next"; type="{response.media_type}"')
    if size and first > 0:
        url = _page_address(request, max(0, first - size), size)
        response.headers.append("Link", f'<{url}>; rel="prev"; type="{response.media_type}"')


def _page_address(request: Request, offset: int, limit: int) -> str:
    """Another page of the same query, as ETSI GS CIM 009 6.3.13 writes it: the path
    on this server, the parameters in name order, a URN's ':' and a pattern's '*' as
    they are (the ETSI suite compares the links to the letter)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
    query += [("offset", str(offset)), ("limit", str(limit))]
    query.sort(key=lambda pair: pair[0])
    return f"{request.url.path}?{urlencode(query, safe=':*,@/')}"


def _add_cut(response: Response, cut: InstantRange | None) -> None:
    """Some attribute had more instances than one response holds: 206 and the range."""
    if cut is not None:
        response.status_code = 206
        response.headers["Content-Range"] = cut.to_header()
