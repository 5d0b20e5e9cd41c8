"""Linked entity retrieval (ETSI GS CIM 009 4.5.23): the entities a Relationship points
at, served with the entities that point at them.

``join=inline`` puts each linked entity inside the Relationship that names it (its
``entity`` member; in keyValues the Relationship's value becomes the entity),
``join=flat`` appends the linked entities after those asked for, each once;
``joinLevel`` says how many Relationships deep to follow (default 1). Joins work on
the normalized form, where a Relationship can be told from a text Property, and a
keyValues answer is simplified afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from urbanpulse.errors import InvalidQueryError
from urbanpulse.ngsi.documents import ENTITY_MEMBERS, simplify_attribute
from urbanpulse.ngsi.query import MAX_JOIN_LEVEL, Projection, project

JOINS = ("flat", "inline", "@none")
Fetch = Callable[[str], dict[str, Any] | None]


def parse_join(join: str | None, level: str | None) -> tuple[str | None, int]:
    """(``flat``, ``inline`` or None for no join, the depth to follow).

    Raises
    ------
    InvalidQueryError
        An unknown join, or a joinLevel that is not a whole number from 1 to 10.
    """
    if join not in (None, "", *JOINS):
        raise InvalidQueryError(f"join {join!r}: use flat, inline or @none")
    depth = 1
    if level not in (None, ""):
        if not level.isdigit() or not 1 <= int(level) <= MAX_JOIN_LEVEL:
            raise InvalidQueryError(f"joinLevel {level!r}: a whole number from 1 to {MAX_JOIN_LEVEL}")  # fmt: skip
        depth = int(level)
    return (None if join in (None, "", "@none") else join), depth


def join_entities(
    entities: list[dict[str, Any]],
    fetch: Fetch,
    *,
    join: str,
    level: int,
    projection: Projection | None = None,
) -> list[dict[str, Any]]:
    """``entities`` (normalized, projected already) with the entities their
    Relationships point at, to ``level`` Relationships deep: inside the Relationships
    (inline) or after them (flat). ``fetch(id)`` gives an entity in the same form, or
    None when there is none (a link to nowhere is left as it is); ``projection``'s
    nested members (``locatedAt{id,name}``) say what of each linked entity is kept."""
    fetched: dict[str, dict[str, Any] | None] = {}

    def get(entity_id: str) -> dict[str, Any] | None:
        if entity_id not in fetched:
            fetched[entity_id] = fetch(entity_id)
        return fetched[entity_id]

    if join == "inline":
        return [_inline(entity, get, level, projection) for entity in entities]
    seen = {entity["id"] for entity in entities}
    joined = list(entities)
    frontier = [(entity, projection) for entity in entities]
    for _ in range(level):
        found = []
        for entity, shape in frontier:
            for name, target in get_link_targets(entity):
                linked = get(target)
                if linked is not None and linked["id"] not in seen:
                    seen.add(linked["id"])
                    below = shape.linked.get(name) if shape else None
                    found.append((_shape(linked, below), below))
        joined += [entity for entity, _ in found]
        frontier = found
    return joined


def get_link_targets(entity: dict[str, Any]) -> list[tuple[str, str]]:
    """(Relationship name, id it points at) of an entity, in the order written."""
    targets: list[tuple[str, str]] = []
    for name, attribute in entity.items():
        if name in ENTITY_MEMBERS:
            continue
        for instance in attribute if isinstance(attribute, list) else [attribute]:
            if isinstance(instance, dict) and instance.get("type") == "Relationship":
                found = instance.get("object")
                targets += [(name, t) for t in (found if isinstance(found, list) else [found]) if isinstance(t, str)]  # fmt: skip
    return targets


def keep_datasets(entity: dict[str, Any], dataset_ids: frozenset[str]) -> dict[str, Any]:
    """A normalized entity with only the attribute instances of ``dataset_ids``
    (``@none``: the default instance, the one without a datasetId); an attribute left
    with no instance is left out, the entity itself stays (ETSI GS CIM 009 4.5.5)."""
    kept: dict[str, Any] = {}
    for name, attribute in entity.items():
        if name in ENTITY_MEMBERS or name == "@context":
            kept[name] = attribute
            continue
        instances = [
            instance
            for instance in (attribute if isinstance(attribute, list) else [attribute])
            if isinstance(instance, dict) and (instance.get("datasetId") or "@none") in dataset_ids
        ]
        if instances:
            kept[name] = instances[0] if len(instances) == 1 else instances
    return kept


def simplify_entity(entity: dict[str, Any]) -> dict[str, Any]:
    """The keyValues form of a normalized entity, a Relationship with its linked entity
    inline becoming that entity (simplified in turn)."""
    simple: dict[str, Any] = {}
    for name, attribute in entity.items():
        if name in ENTITY_MEMBERS:
            simple[name] = attribute
        elif isinstance(attribute, dict) and isinstance(attribute.get("entity"), dict):
            simple[name] = simplify_entity(attribute["entity"])
        else:
            simple[name] = simplify_attribute(attribute)
    return simple


def _shape(entity: dict[str, Any], projection: Projection | None) -> dict[str, Any]:
    return entity if projection is None else project(entity, projection.pick, projection.omit)


def _inline(
    entity: dict[str, Any], get: Fetch, level: int, projection: Projection | None
) -> dict[str, Any]:
    if level < 1:
        return entity
    out = dict(entity)
    for name, attribute in entity.items():
        if name in ENTITY_MEMBERS:
            continue
        below = projection.linked.get(name) if projection else None
        instances = attribute if isinstance(attribute, list) else [attribute]
        linked = [_link_instance(i, get, level, below) for i in instances]
        out[name] = linked if isinstance(attribute, list) else linked[0]
    return out


def _link_instance(instance: Any, get: Fetch, level: int, projection: Projection | None) -> Any:
    if not (isinstance(instance, dict) and instance.get("type") == "Relationship"):
        return instance
    target = instance.get("object")
    targets = target if isinstance(target, list) else [target]
    found = [f for t in targets if isinstance(t, str) and (f := get(t)) is not None]
    shaped = [_inline(_shape(f, projection), get, level - 1, projection) for f in found]
    if isinstance(target, str) and shaped:
        return {**instance, "entity": shaped[0]}
    if isinstance(target, list):
        return {**instance, "entityList": shaped}
    return instance
