"""NGSI-LD provisioning (ETSI GS CIM 009, clause 5.6 and 5.9): create, update, append
and delete entities one at a time or in batches, with NGSI-LD's status codes, bodies
(UpdateResult, BatchOperationResult) and ProblemDetails errors.

What an entity becomes in the lake is urbanpulse.stream.provision's business; this edge
reads bodies, checks the media type and writes the answers. Writes need a key
(access/matrix.toml), as every other write does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from urbanpulse.api.deps import LakeDep, SettingsDep
from urbanpulse.api.errors import get_error_status
from urbanpulse.api.routers.ngsi import (
    JSON,
    JSON_LD,
    PROBLEM_RESPONSES,
    QQ,
    AttrsQ,
    EntityTypeQ,
    IdPatternQ,
    IdQ,
    LocalQ,
    TypeQ,
    build_client_problem,
    build_problem,
    check_parameters,
    get_context_problem,
    get_link_context,
    get_request_terms,
    parse_entity_query,
    read_body,
)
from urbanpulse.errors import (
    InvalidQueryError,
    MalformedRequestError,
    NotFoundError,
    UrbanPulseError,
)
from urbanpulse.ngsi.documents import ENTITY_MEMBERS, get_types
from urbanpulse.ngsi.entities import read_entities, read_entity
from urbanpulse.ngsi.query import SYSTEM_ATTRIBUTES, get_q_names, split_list
from urbanpulse.ngsi.validation import (
    VALUE_MEMBERS,
    as_uri,
    check_entity_id,
    check_name,
    check_uri,
)
from urbanpulse.ngsi.vocabulary import parse_entity_id
from urbanpulse.settings import Settings
from urbanpulse.store import Lake
from urbanpulse.store.engines import get_engine
from urbanpulse.stream.payloads import get_media_type
from urbanpulse.stream.provision import (
    EntityWrite,
    Mode,
    ProvisionOutcome,
    delete_attribute,
    delete_attributes,
    delete_entities,
    parse_entity,
    provision,
    write_history,
)

router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], responses=PROBLEM_RESPONSES)

# At most this many entities in one batch request (each batch is one commit).
MAX_BATCH = 1000
# At most this many entities purged by one request (one commit).
MAX_PURGE = 10_000
WRITE_OPTIONS = {"noOverwrite", "update", "replace"}
DatasetIdQ = Annotated[str | None, Query(alias="datasetId", description="The instance to delete.")]  # fmt: skip
DeleteAllQ = Annotated[str | None, Query(alias="deleteAll", description="true: every instance.")]  # fmt: skip
OptionsQ = Annotated[str | None, Query(description="noOverwrite (append), update or replace (upsert).")]  # fmt: skip
DropQ = Annotated[str | None, Query(description="Attributes a purge removes from the entities it selects, which stay.")]  # fmt: skip
KeepQ = Annotated[str | None, Query(description="The only attributes a purge leaves on the entities it selects, which stay.")]  # fmt: skip
_BODY = {"requestBody": {"required": True, "content": {JSON: {"schema": {"type": "object"}}, JSON_LD: {"schema": {"type": "object"}}}}}  # fmt: skip
_BATCH_BODY = {"requestBody": {"required": True, "content": {JSON: {"schema": {"type": "array", "items": {}}}, JSON_LD: {"schema": {"type": "array", "items": {}}}}}}  # fmt: skip


@router.post("/entities", status_code=201, summary="Create an entity (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def create_entity(request: Request, lake: LakeDep, settings: SettingsDep) -> Response:
    """A new site and its observed values; 409 if the entity exists."""
    body = await read_body(request)
    if isinstance(body, Response):
        return body

    def run() -> Response:
        write = parse_entity(body)
        outcome = _provision(lake, settings, request, [write], Mode.CREATE)
        _raise_first(outcome)
        response = Response(status_code=201)
        response.headers["Location"] = f"/ngsi-ld/v1/entities/{as_uri(write.entity_id)}"
        return _warn(response, outcome)

    return await _answer(request, run)


@router.patch("/entities/{entityId}", status_code=204, summary="Merge an entity (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def merge_entity(
    request: Request, entityId: str, lake: LakeDep, settings: SettingsDep, type: EntityTypeQ = None
) -> Response:
    """An existing entity's attributes merged member by member and new ones added; an
    attribute sent as urn:ngsi-ld:null is removed."""
    return await _update(request, lake, settings, entityId, Mode.MERGE, None, type)


@router.put("/entities/{entityId}", status_code=204, summary="Replace an entity (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def replace_entity(
    request: Request, entityId: str, lake: LakeDep, settings: SettingsDep, type: EntityTypeQ = None
) -> Response:
    """An existing entity replaced whole (a site's observations are history and stay)."""
    return await _update(request, lake, settings, entityId, Mode.REPLACE, None, type)


@router.delete("/entities", status_code=204, summary="Purge entities (NGSI-LD)", response_class=Response)  # fmt: skip
async def purge_entities(
    request: Request,
    lake: LakeDep,
    settings: SettingsDep,
    type: TypeQ = None,
    id: IdQ = None,
    id_pattern: IdPatternQ = None,
    q: QQ = None,
    attrs: AttrsQ = None,
    drop: DropQ = None,
    keep: KeepQ = None,
    local: LocalQ = None,
) -> Response:
    """Delete every entity the query selects in one commit, or with drop (keep) only
    those attributes (all but those) of each. A query needs a type, attrs, a q (not
    only of system attributes) or local=true, so nothing is purged by accident: ids
    or an id pattern alone do not qualify (ETSI GS CIM 009 5.6.21.4)."""

    def run() -> Response:
        names = set(split_list(attrs))
        read = get_q_names(q)  # system attributes alone select too much (5.6.21.4)
        qualified = type or names - SYSTEM_ATTRIBUTES or read - SYSTEM_ATTRIBUTES or local == "true"  # fmt: skip
        if not qualified:
            raise InvalidQueryError("give a type, attrs or a q beyond system attributes, or local=true")  # fmt: skip
        if drop is not None and keep is not None:
            raise InvalidQueryError("give drop or keep, not both")
        for name in (*split_list(drop), *split_list(keep)):
            check_name(name, "drop or keep: attribute")
        query = parse_entity_query(type=type, id=id, id_pattern=id_pattern, q=q, attrs=attrs)
        page = read_entities(
            lake, query, region=settings.region, offset=0, limit=MAX_PURGE,
            with_latest=False, engine=get_engine(settings),
        )  # fmt: skip
        if not page.entities:
            raise NotFoundError("no entity matches the query")
        if page.total > MAX_PURGE:  # never a part of what was asked, silently
            raise InvalidQueryError(f"the query selects {page.total} entities; purge at most {MAX_PURGE:,} at once")  # fmt: skip
        if drop is None and keep is None:
            _raise_first(delete_entities(lake, [e["id"] for e in page.entities]))
            return Response(status_code=204)
        dropped, kept = set(split_list(drop)), set(split_list(keep))

        def removed(entity: dict[str, Any]) -> list[str]:
            attributes = [a for a in entity if a not in ENTITY_MEMBERS]
            if drop is not None:
                return [a for a in attributes if a in dropped]
            return [a for a in attributes if a not in kept]

        removals = {e["id"]: gone for e in page.entities if (gone := removed(e))}
        if removals:
            delete_attributes(lake, removals)
        return Response(status_code=204)

    return await _answer(request, run)


@router.delete("/entities/{entityId}", status_code=204, summary="Delete an entity (NGSI-LD)", response_class=Response)  # fmt: skip
async def delete_entity(
    request: Request, entityId: str, lake: LakeDep, settings: SettingsDep, type: EntityTypeQ = None
) -> Response:
    """The entity's site leaves the published sites; its observations stay as history."""

    def run() -> Response:
        check_entity_id(entityId)
        _check_type(lake, settings, request, entityId, type)
        _raise_first(delete_entities(lake, [entityId]))
        return Response(status_code=204)

    return await _answer(request, run)


@router.post("/entities/{entityId}/attrs", status_code=204, summary="Append attributes (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def append_attributes(
    request: Request, entityId: str, lake: LakeDep, settings: SettingsDep,
    options: OptionsQ = None, type: EntityTypeQ = None,
) -> Response:  # fmt: skip
    """New values and attributes; existing context attributes are replaced unless
    options=noOverwrite. 207 with an UpdateResult when some were not."""
    return await _update(request, lake, settings, entityId, Mode.APPEND, options, type)


@router.patch("/entities/{entityId}/attrs", status_code=204, summary="Update attributes (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def update_attributes(
    request: Request, entityId: str, lake: LakeDep, settings: SettingsDep, type: EntityTypeQ = None
) -> Response:
    """New values of attributes the entity has; others are listed as not updated (207)."""
    return await _update(request, lake, settings, entityId, Mode.PATCH, None, type)


@router.patch("/entities/{entityId}/attrs/{attrId}", status_code=204, summary="Update one attribute (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def update_attribute(
    request: Request, entityId: str, attrId: str, lake: LakeDep, settings: SettingsDep,
    type: EntityTypeQ = None,
) -> Response:  # fmt: skip
    """New members of one attribute (the body is the attribute's fragment); the
    members not sent stay."""
    return await _write_attribute(request, lake, settings, entityId, attrId, type, merge=True)


@router.put("/entities/{entityId}/attrs/{attrId}", status_code=204, summary="Replace one attribute (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def replace_attribute(
    request: Request, entityId: str, attrId: str, lake: LakeDep, settings: SettingsDep,
    type: EntityTypeQ = None,
) -> Response:  # fmt: skip
    """One attribute the entity has, replaced whole by the body."""
    return await _write_attribute(request, lake, settings, entityId, attrId, type, merge=False)


@router.delete("/entities/{entityId}/attrs/{attrId}", status_code=204, summary="Delete one attribute (NGSI-LD)", response_class=Response)  # fmt: skip
async def delete_one_attribute(
    request: Request,
    entityId: str,
    attrId: str,
    lake: LakeDep,
    settings: SettingsDep,
    dataset_id: DatasetIdQ = None,
    delete_all: DeleteAllQ = None,
    type: EntityTypeQ = None,
) -> Response:
    """The attribute's default instance, the one of datasetId, or all of them."""

    def run() -> Response:
        check_entity_id(entityId)
        check_name(attrId, "attribute")
        _check_type(lake, settings, request, entityId, type)
        if delete_all not in (None, "true", "false"):
            raise InvalidQueryError(f"deleteAll {delete_all!r}: use true or false")
        delete_attribute(
            lake, entityId, attrId, dataset_id=dataset_id, delete_all=delete_all == "true"
        )
        return Response(status_code=204)

    return await _answer(request, run)


async def _write_attribute(
    request: Request, lake: Lake, settings: Settings, entity_id: str, name: str,
    selector: str | None, *, merge: bool,
) -> Response:  # fmt: skip
    body = await read_body(request, entities=False)  # one attribute's fragment
    if isinstance(body, Response):
        return body

    def run() -> Response:
        check_name(name, "attribute")
        _check_type(lake, settings, request, entity_id, selector)
        if not body:  # ETSI GS CIM 009 5.6.4: a fragment with nothing to change
            raise InvalidQueryError(f"attribute {name!r}: the fragment is empty")
        # A JSON-LD fragment's @context is the request's, never a member of the attribute.
        fragment = {k: v for k, v in body.items() if k != "@context"} if isinstance(body, dict) else body  # fmt: skip
        if merge:
            stored = _find_instance(lake, settings, entity_id, name, fragment)
            fragment = _as_members(name, fragment, stored)
        document = {name: fragment}
        if isinstance(body, dict) and "@context" in body:
            document["@context"] = body["@context"]
        write = parse_entity(document, entity_id=entity_id)
        outcome = _provision(lake, settings, request, [write], Mode.PATCH, merge_members=merge)
        _raise_first(outcome)
        if outcome.not_updated:  # the entity has no such attribute
            raise NotFoundError("; ".join(r for _, _, r in outcome.not_updated))
        if outcome.quarantined:  # a correction of a stored value, kept aside
            raise InvalidQueryError("; ".join(r for _, r in _not_updated(outcome)))
        return Response(status_code=204)

    return await _answer(request, run)


def _find_instance(
    lake: Lake, settings: Settings, entity_id: str, name: str, fragment: Any
) -> dict[str, Any] | None:
    """The instance a partial update changes: the one its datasetId names (the default
    one without). One the attribute lacks is not found, never added (ETSI GS CIM 009
    5.6.4); None when there is no such attribute, or it is a member (scope): the write
    reports it itself."""
    check_entity_id(entity_id)
    current = read_entity(lake, entity_id, region=settings.region, engine=get_engine(settings))
    attribute = current.get(name)
    found = attribute if isinstance(attribute, list) else [attribute]
    instances = [i for i in found if isinstance(i, dict)]
    if attribute is None or name in ENTITY_MEMBERS or len(instances) < len(found):
        return None
    wanted = fragment.get("datasetId") if isinstance(fragment, dict) else None
    for instance in instances:
        if instance.get("datasetId") == wanted:
            return instance
    which = f"of dataset {wanted!r}" if wanted else "without a datasetId (the default)"
    raise NotFoundError(f"entity {entity_id!r} has no instance of {name!r} {which}")


def _as_members(name: str, fragment: Any, stored: dict[str, Any] | None) -> Any:
    """A partial update's fragment as members of the stored instance: one that names
    neither a type nor a value (only sub-attributes, say) is merged into the stored
    instance here, keeping its type and value, and is not read as a new Property whose
    value is the fragment. A partial update never changes the type (5.6.4): a fragment
    of another type is a bad request (replacing the attribute may change it)."""
    if not isinstance(fragment, dict) or stored is None:
        return fragment
    if "type" in fragment:
        kept = stored.get("type", "Property")
        if fragment["type"] != kept:
            raise InvalidQueryError(f"attribute {name!r} is a {kept}: a partial update keeps its type (replace the attribute to change it)")  # fmt: skip
        return fragment
    if fragment.keys() & VALUE_MEMBERS:
        return fragment  # a concise value: its member says the type
    return stored | fragment


@router.post("/entityOperations/{operation}", summary="Batch entity operation (NGSI-LD)", response_class=Response, openapi_extra=_BATCH_BODY)  # fmt: skip
async def batch_operation(
    request: Request, operation: str, lake: LakeDep, settings: SettingsDep, options: OptionsQ = None
) -> Response:
    """create, upsert, update (entities) or delete (ids), in one commit: 201 with the
    created ids, 204 when nothing was created, 207 with a BatchOperationResult when
    some entities were refused."""
    if operation not in ("create", "upsert", "update", "merge", "delete"):
        return build_problem(404, f"no batch operation {operation!r}; use create, upsert, update, merge or delete")  # fmt: skip
    body = await read_body(request, batch=True)
    if isinstance(body, Response):
        return body
    media = get_media_type(request.headers.get("content-type"))
    link = get_link_context(request.headers.get("link", "")) if media == JSON else None

    def run() -> Response:
        chosen = _check_options(options)
        if not isinstance(body, list) or not body or len(body) > MAX_BATCH:
            raise InvalidQueryError(f"a batch is a JSON array of 1 to {MAX_BATCH} items")
        if any(item is None for item in body):  # 5.5.4: a null anywhere refuses the whole
            raise InvalidQueryError("a batch item is null; nothing was written")
        if operation == "delete":
            if not all(isinstance(i, str) for i in body):
                raise InvalidQueryError("a batch delete is a JSON array of entity ids")
            outcome = delete_entities(lake, body)
            return _batch_answer(outcome, [], created_status=204)
        writes, refused = _parse_batch(body, media, link)
        outcome = _provision(
            lake, settings, request, writes, Mode(operation),
            no_overwrite="noOverwrite" in chosen, replace_all="update" not in chosen,
        )  # fmt: skip
        return _batch_answer(outcome, refused, created_status=201)

    return await _answer(request, run)


async def _update(
    request: Request,
    lake: Lake,
    settings: Settings,
    entity_id: str,
    mode: Mode,
    options: str | None,
    selector: str | None = None,
) -> Response:
    body = await read_body(request)
    if isinstance(body, Response):
        return body

    def run() -> Response:
        chosen = _check_options(options)
        _check_type(lake, settings, request, entity_id, selector)
        if not isinstance(body, dict) or not body:
            raise InvalidQueryError("the body is a JSON object of one or more attributes")
        if {"id", "type"} & body.keys() and body.get("id", entity_id) != entity_id:
            raise InvalidQueryError("the body's id is not the entity of the URL")
        write = parse_entity(body, entity_id=entity_id)
        outcome = _provision(lake, settings, request, [write], mode, no_overwrite="noOverwrite" in chosen)  # fmt: skip
        _raise_first(outcome)
        not_updated = _not_updated(outcome)
        if not not_updated:
            return Response(status_code=204)
        updated = [n for n in body if n not in ("id", "type", "@context") and n not in dict(not_updated)]  # fmt: skip
        result = {
            "updated": updated,
            "notUpdated": [{"attributeName": n, "reason": r} for n, r in not_updated],
        }
        return Response(json.dumps(result, ensure_ascii=False), status_code=207, media_type=JSON)

    return await _answer(request, run)


def _check_type(
    lake: Lake, settings: Settings, request: Request, entity_id: str, selector: str | None
) -> None:
    """With a type selector (ETSI GS CIM 009 5.6), an entity of none of its types is
    not found: the write does not touch it."""
    if selector is None:
        return
    terms = get_request_terms(request, settings)
    entity = read_entity(
        lake, entity_id, region=settings.region, with_latest=False, terms=terms,
        engine=get_engine(settings),
    )  # fmt: skip
    wanted = {terms.book.expand(t, terms.context) for t in split_list(selector)}
    if not {terms.book.expand(t, terms.context) for t in get_types(entity["type"])} & wanted:
        raise NotFoundError(f"no entity {entity_id!r} of type {selector!r}")


def _provision(
    lake: Lake,
    settings: Settings,
    request: Request,
    writes: list[EntityWrite],
    mode: Mode,
    no_overwrite: bool = False,
    replace_all: bool = True,
    merge_members: bool = False,
) -> ProvisionOutcome:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return provision(
        lake, writes, mode, timezone=settings.local_timezone, region=settings.region,
        received_at=now, source=f"http:{request.method} {request.url.path} at {now}",
        no_overwrite=no_overwrite, replace_all=replace_all, merge_members=merge_members,
    )  # fmt: skip


def _parse_batch(
    body: list[Any], media: str, link: str | None
) -> tuple[list[EntityWrite], list[tuple[str, UrbanPulseError]]]:
    """The batch's entities in order, and those refused (one whose @context is
    misplaced for the ``media`` sent, too; a plain JSON one takes the ``link``
    header's). An entity may be in it twice: the writes are applied in order, the
    later one last (ETSI GS CIM 009 5.5.11); a second creation is refused as any
    creation of an entity that exists is."""
    writes: list[EntityWrite] = []
    refused: list[tuple[str, UrbanPulseError]] = []
    for document in body:
        entity_id = document.get("id") if isinstance(document, dict) else None
        try:
            problem = get_context_problem(media, document)
            if problem is not None:
                raise InvalidQueryError(problem)
            if link is not None and isinstance(document, dict):
                document = {**document, "@context": link}
            writes.append(parse_entity(document))
        except InvalidQueryError as exc:
            refused.append((str(entity_id), exc))
    return writes, refused


def _batch_answer(
    outcome: ProvisionOutcome, refused: list[tuple[str, UrbanPulseError]], *, created_status: int
) -> Response:
    errors = refused + outcome.errors
    # An entity with attributes left as they were (noOverwrite) was not wholly written:
    # an error of its own, naming them (ETSI GS CIM 009 5.6.9).
    kept: dict[str, list[str]] = {}
    for entity_id, name, reason in outcome.not_updated:
        kept.setdefault(entity_id, []).append(f"{name} ({reason})")
    errors += [(i, InvalidQueryError(f"not updated: {', '.join(names)}")) for i, names in kept.items()]  # fmt: skip
    if errors:
        body = {
            "success": [
                i for i in dict.fromkeys(outcome.created + outcome.updated) if i not in kept
            ],
            "errors": [{"entityId": i, "error": _problem_body(e)} for i, e in errors],
        }
        response = Response(json.dumps(body, ensure_ascii=False), status_code=207, media_type=JSON)
    elif outcome.created and created_status == 201:
        response = Response(json.dumps(outcome.created), status_code=201, media_type=JSON)
    else:
        response = Response(status_code=204)
    return _warn(response, outcome)


def _problem_body(error: UrbanPulseError) -> dict[str, Any]:
    status, _ = get_error_status(error)
    return json.loads(bytes(build_problem(status, str(error)).body))


def _not_updated(outcome: ProvisionOutcome) -> list[tuple[str, str]]:
    """(attribute, reason) of each attribute a one-entity write left as it was."""
    return [(name, reason) for _, name, reason in outcome.not_updated + outcome.quarantined]


def _warn(response: Response, outcome: ProvisionOutcome) -> Response:
    """Values kept in quarantine are named in an NGSILD-Warning header, so a writer
    that gets 201 or 204 still learns of them."""
    if outcome.quarantined:
        reasons = "; ".join(f"{e} {a}: {r}" for e, a, r in outcome.quarantined[:5])
        more = f" (and {len(outcome.quarantined) - 5} more)" if len(outcome.quarantined) > 5 else ""
        text = f"{len(outcome.quarantined)} values kept in quarantine: {reasons}{more}"
        response.headers["NGSILD-Warning"] = '199 urbanpulse "' + text.replace('"', "'") + '"'
    return response


def _raise_first(outcome: ProvisionOutcome) -> None:
    if outcome.errors:
        raise outcome.errors[0][1]


def _check_options(options: str | None) -> set[str]:
    chosen = set(split_list(options))
    if chosen - WRITE_OPTIONS:
        raise MalformedRequestError(f"options {sorted(chosen - WRITE_OPTIONS)}: use {', '.join(sorted(WRITE_OPTIONS))}")  # fmt: skip
    return chosen


async def _answer(request: Request, run: Callable[[], Response]) -> Response:
    """Run a write off the event loop; product errors as NGSI-LD ProblemDetails."""
    try:
        check_parameters(request)
        return await run_in_threadpool(run)
    except UrbanPulseError as exc:
        problem = build_client_problem(exc)
        if problem is None:
            raise
        return problem


@router.post("/temporal/entities", status_code=201, summary="Create or add to an entity's temporal representation (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def add_temporal_entity(request: Request, lake: LakeDep) -> Response:
    """Instances of a context entity's attributes (each an array of instances with
    their observedAt): 201 for an entity new to the temporal API, 204 when it had a
    history already. A site's history is its observations, written as such."""
    body = await read_body(request)
    if isinstance(body, Response):
        return body

    def run() -> Response:
        if isinstance(body, dict) and isinstance(body.get("id"), str) and parse_entity_id(body["id"]):  # fmt: skip
            raise InvalidQueryError(f"{body['id']} is a site: its history is its observations (POST /ngsi-ld/v1/entities)")  # fmt: skip
        created = write_history(lake, lambda w: w.add_entity(body), operation="ngsi_ld_temporal")
        if not created:
            return Response(status_code=204)
        response = Response(status_code=201)
        response.headers["Location"] = f"/ngsi-ld/v1/temporal/entities/{as_uri(body['id'])}"
        return response

    return await _answer(request, run)


@router.delete("/temporal/entities/{entityId}", status_code=204, summary="Delete an entity's temporal representation (NGSI-LD)", response_class=Response)  # fmt: skip
async def delete_temporal_entity(request: Request, entityId: str, lake: LakeDep) -> Response:
    """Every instance of a context entity's history."""

    def run() -> Response:
        check_entity_id(entityId)
        write_history(
            lake, lambda w: w.delete_entity(entityId), operation="ngsi_ld_temporal_delete"
        )
        return Response(status_code=204)

    return await _answer(request, run)


@router.post("/temporal/entities/{entityId}/attrs", status_code=204, summary="Add instances to an entity's temporal representation (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def add_temporal_attributes(request: Request, entityId: str, lake: LakeDep) -> Response:
    """More instances of attributes of an entity that has a history."""
    body = await read_body(request)
    if isinstance(body, Response):
        return body

    def run() -> Response:
        check_entity_id(entityId)
        write_history(lake, lambda w: w.add_entity(body, entity_id=entityId), operation="ngsi_ld_temporal")  # fmt: skip
        return Response(status_code=204)

    return await _answer(request, run)


@router.delete("/temporal/entities/{entityId}/attrs/{attrId}", status_code=204, summary="Delete an attribute's instances (NGSI-LD)", response_class=Response)  # fmt: skip
async def delete_temporal_attribute(
    request: Request, entityId: str, attrId: str, lake: LakeDep,
    dataset_id: DatasetIdQ = None, delete_all: DeleteAllQ = None,
) -> Response:  # fmt: skip
    """The attribute's instances without a datasetId, those of datasetId, or all."""

    def run() -> Response:
        check_entity_id(entityId)
        check_name(attrId, "attribute")
        if delete_all not in (None, "true", "false"):
            raise InvalidQueryError(f"deleteAll {delete_all!r}: use true or false")
        every = delete_all == "true"
        write_history(
            lake,
            lambda w: w.delete_attribute(entityId, attrId, dataset_id=dataset_id, delete_all=every),
            operation="ngsi_ld_temporal_delete",
        )
        return Response(status_code=204)

    return await _answer(request, run)


@router.patch("/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}", status_code=204, summary="Change one attribute instance (NGSI-LD)", response_class=Response, openapi_extra=_BODY)  # fmt: skip
async def change_temporal_instance(
    request: Request, entityId: str, attrId: str, instanceId: str, lake: LakeDep
) -> Response:
    """The members sent replace the instance's own; the instance keeps its id."""
    body = await read_body(request, entities=False)
    if isinstance(body, Response):
        return body

    def run() -> Response:
        check_entity_id(entityId)
        check_name(attrId, "attribute")
        check_uri(instanceId, "instanceId")
        write_history(lake, lambda w: w.replace_instance(entityId, attrId, instanceId, body), operation="ngsi_ld_temporal")  # fmt: skip
        return Response(status_code=204)

    return await _answer(request, run)


@router.delete("/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}", status_code=204, summary="Delete one attribute instance (NGSI-LD)", response_class=Response)  # fmt: skip
async def delete_temporal_instance(
    request: Request, entityId: str, attrId: str, instanceId: str, lake: LakeDep
) -> Response:
    """One instance, by its instanceId."""

    def run() -> Response:
        check_entity_id(entityId)
        check_name(attrId, "attribute")
        check_uri(instanceId, "instanceId")
        write_history(lake, lambda w: w.delete_instance(entityId, attrId, instanceId), operation="ngsi_ld_temporal_delete")  # fmt: skip
        return Response(status_code=204)

    return await _answer(request, run)
