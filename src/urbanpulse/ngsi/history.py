"""The temporal representation of context entities (a Vehicle's speed over a day, a
Building's air quality readings): attribute instances written through the NGSI-LD
temporal API (ETSI GS CIM 009 5.6.11-5.6.16) by an IoT agent or a FIWARE component.

A site's history is its observations (:mod:`urbanpulse.ngsi.temporal`); an entity of a
type UrbanPulse does not model keeps its instances here, each as sent, with an
``instanceId`` the product gives it. The lake table ``context_instances`` holds one row
per version of an instance (a change or a deletion is a new version, the newest is in
force), so nothing written is lost and a replayed request changes nothing twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from urbanpulse.errors import AlreadyExistsError, InvalidQueryError, NotFoundError
from urbanpulse.ngsi.documents import format_system_time, get_own_names
from urbanpulse.ngsi.query import EntityQuery
from urbanpulse.ngsi.validation import (
    check_entity_id,
    check_instance,
    check_name,
    parse_utc_time,
)
from urbanpulse.store import Lake
from urbanpulse.store.queries import read_newest_versions

TABLE = "context_instances"
SCHEMA = pa.schema(
    [
        ("entity_id", pa.string()),
        ("entity_type", pa.string()),
        ("attribute", pa.string()),
        ("instance_id", pa.string()),
        ("dataset_id", pa.string()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("instance", pa.string()),  # the instance as sent, JSON, without its instanceId
        ("jsonld_context", pa.string()),  # the @context it was written in, JSON
        ("deleted", pa.bool_()),
        ("modified_at", pa.timestamp("us", tz="UTC")),
    ]
)
INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
ENTITY_KEYS = ("id", "type", "@context")


@dataclass
class EntityHistory:
    """One entity's instances in force: attribute -> instances (each with its
    ``instanceId``), oldest first."""

    entity_id: str
    entity_type: str
    jsonld_context: Any = None
    attributes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Each instance's system times by its instanceId: when it was first written
    # (createdAt) and last changed (modifiedAt), UTC text.
    times: dict[str, dict[str, str]] = field(default_factory=dict)


def read_histories(lake: Lake) -> dict[str, EntityHistory]:
    """Every context entity's temporal representation in force, by id."""
    histories: dict[str, EntityHistory] = {}
    newest = read_newest_versions(
        lake, TABLE, key="entity_id, attribute, instance_id", newest_by="modified_at",
        first_as="created_at",
    )  # fmt: skip
    rows = sorted((r for r in newest.to_pylist() if not r["deleted"]), key=_in_order)
    for row in rows:
        history = histories.setdefault(
            row["entity_id"], EntityHistory(row["entity_id"], row["entity_type"])
        )
        if row["jsonld_context"]:
            history.jsonld_context = json.loads(row["jsonld_context"])
        instance = json.loads(row["instance"]) | {"instanceId": row["instance_id"]}
        history.attributes.setdefault(row["attribute"], []).append(instance)
        history.times[row["instance_id"]] = {
            "createdAt": format_system_time(row["created_at"]),
            "modifiedAt": format_system_time(row["modified_at"]),
        }
    return histories


def select_histories(
    histories: dict[str, EntityHistory], query: EntityQuery
) -> list[EntityHistory]:
    """The histories ``query`` selects by type, id, idPattern and attrs, by id (a scope
    holds over time: the temporal query judges it, see ``select_scoped``)."""
    selected = []
    for entity_id, history in sorted(histories.items()):
        # The query's names are terms of its @context, the history's of its own.
        own_name = get_own_names(query.terms, history.jsonld_context, history.attributes.keys())
        if query.types and not {history.entity_type} & {*query.types, *map(own_name, query.types)}:  # fmt: skip
            continue
        if query.ids and entity_id not in query.ids:
            continue
        if query.id_pattern is not None and not query.id_pattern.search(entity_id):
            continue
        if query.attrs and not {own_name(a) for a in query.attrs} & history.attributes.keys():
            continue
        selected.append(history)
    return selected


class HistoryWrite:
    """The instance versions one request writes, committed together."""

    def __init__(self, lake: Lake) -> None:
        self.histories = read_histories(lake)
        self.rows: list[dict[str, Any]] = []
        self.now = datetime.now(UTC)

    def add_entity(self, document: Any, *, entity_id: str | None = None) -> bool:
        """Add the instances of a temporal entity (POST /temporal/entities, or its
        attributes for ``entity_id``); True when the entity had no history before.

        Raises
        ------
        InvalidQueryError
            Not an entity, an attribute that is not a list of valid instances.
        AlreadyExistsError
            The entity's history is of another type.
        NotFoundError
            Attributes for an entity without history.
        """
        if not isinstance(document, dict):
            raise InvalidQueryError("a temporal entity is a JSON object")
        given = check_entity_id(entity_id or document.get("id"))
        current = self.histories.get(given)
        kind = document.get("type")
        if entity_id is not None:
            if current is None:
                raise NotFoundError(f"no temporal representation of {given!r}")
            kind = current.entity_type
        if not isinstance(kind, str):
            raise InvalidQueryError(f"entity {given}: a type is a non-empty text")
        check_name(kind, f"entity {given}: type")
        if current is not None and current.entity_type != kind:
            raise AlreadyExistsError(f"entity {given!r} has a history as a {current.entity_type}")
        context = document.get("@context", current.jsonld_context if current else None)
        for name, attribute in document.items():
            if name in ENTITY_KEYS:
                continue
            where = f"entity {given}, attribute {name!r}"
            check_name(name, where)
            for instance in attribute if isinstance(attribute, list) else [attribute]:
                check_instance(name, instance, where)
                self._write(given, kind, name, _new_instance_id(), instance, context)
        if current is None:
            self.histories[given] = EntityHistory(given, kind, context)
        return current is None

    def delete_entity(self, entity_id: str) -> None:
        """Delete every instance of an entity's history."""
        history = self._get(entity_id)
        for name in list(history.attributes):
            self.delete_attribute(entity_id, name, dataset_id=None, delete_all=True)

    def delete_attribute(
        self, entity_id: str, name: str, *, dataset_id: str | None, delete_all: bool
    ) -> None:
        """Delete an attribute's instances: the default ones (no datasetId), those of
        ``dataset_id``, or with ``delete_all`` every one."""
        instances = [
            i for i in self._get_attribute(entity_id, name)
            if delete_all or i.get("datasetId") == dataset_id
        ]  # fmt: skip
        if not instances:
            which = f"of dataset {dataset_id!r}" if dataset_id else "without a datasetId"
            raise NotFoundError(f"entity {entity_id!r} has no instance of {name!r} {which}")
        for instance in instances:
            self._delete(entity_id, name, instance)

    def replace_instance(self, entity_id: str, name: str, instance_id: str, fragment: Any) -> None:
        """Change one instance: the members sent replace its own (ETSI 5.6.15)."""
        stored = self._find(entity_id, name, instance_id)
        if not isinstance(fragment, dict):
            raise InvalidQueryError("an attribute instance is a JSON object")
        body = fragment.get(name, fragment)  # sent whole ({name: instance}) or bare
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if not isinstance(body, dict):
            raise InvalidQueryError("an attribute instance is a JSON object")
        merged = {k: v for k, v in stored.items() if k != "instanceId"} | {
            k: v for k, v in body.items() if k != "instanceId"
        }
        where = f"entity {entity_id}, attribute {name!r}"
        check_instance(name, merged, where)
        history = self.histories[entity_id]
        self._write(entity_id, history.entity_type, name, instance_id, merged, history.jsonld_context)  # fmt: skip

    def delete_instance(self, entity_id: str, name: str, instance_id: str) -> None:
        """Delete one instance by its instanceId."""
        self._delete(entity_id, name, self._find(entity_id, name, instance_id))

    def to_table(self) -> pa.Table:
        """The versions this request writes."""
        return pa.Table.from_pylist(self.rows, schema=SCHEMA)

    def _get(self, entity_id: str) -> EntityHistory:
        history = self.histories.get(entity_id)
        if history is None:
            raise NotFoundError(f"no temporal representation of {entity_id!r}")
        return history

    def _get_attribute(self, entity_id: str, name: str) -> list[dict[str, Any]]:
        instances = self._get(entity_id).attributes.get(name)
        if not instances:
            raise NotFoundError(f"entity {entity_id!r} has no attribute {name!r} in its history")  # fmt: skip
        return instances

    def _find(self, entity_id: str, name: str, instance_id: str) -> dict[str, Any]:
        found = [i for i in self._get_attribute(entity_id, name) if i["instanceId"] == instance_id]  # fmt: skip
        if not found:
            raise NotFoundError(f"attribute {name!r} of {entity_id!r} has no instance {instance_id!r}")  # fmt: skip
        return found[0]

    def _delete(self, entity_id: str, name: str, instance: dict[str, Any]) -> None:
        history = self.histories[entity_id]
        row = self._row(
            entity_id, history.entity_type, name, instance["instanceId"], instance,
            history.jsonld_context,
        )  # fmt: skip
        self.rows.append(row | {"deleted": True})
        kept = [i for i in history.attributes[name] if i["instanceId"] != instance["instanceId"]]
        if kept:
            history.attributes[name] = kept
        else:
            del history.attributes[name]

    def _write(
        self, entity_id: str, kind: str, name: str, instance_id: str,
        instance: dict[str, Any], context: Any,
    ) -> None:  # fmt: skip
        self.rows.append(self._row(entity_id, kind, name, instance_id, instance, context))

    def _row(
        self, entity_id: str, kind: str, name: str, instance_id: str,
        instance: dict[str, Any], context: Any,
    ) -> dict[str, Any]:  # fmt: skip
        body = {k: v for k, v in instance.items() if k != "instanceId"}
        return {
            "entity_id": entity_id,
            "entity_type": kind,
            "attribute": name,
            "instance_id": instance_id,
            "dataset_id": body.get("datasetId"),
            "observed_at": _parse_time(body.get("observedAt")),
            "instance": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            "jsonld_context": None if context is None else json.dumps(context),
            "deleted": False,
            "modified_at": self.now,
        }


def _in_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Instances by entity, attribute and time (one without a time first)."""
    moment = row["observed_at"] or datetime.min.replace(tzinfo=UTC)
    return row["entity_id"], row["attribute"], moment, row["instance_id"]


def _new_instance_id() -> str:
    return f"{INSTANCE_PREFIX}{uuid.uuid4()}"


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    return parse_utc_time(text).astimezone(UTC)
