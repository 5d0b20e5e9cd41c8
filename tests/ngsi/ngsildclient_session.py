"""Run ngsildclient (Orange's NGSI-LD client, from PyPI) against a running UrbanPulse.

Not a test module: tests/ngsi/test_ngsildclient.py runs it with the interpreter of the
client's own environment (its pins, httpx 0.23 and rich 12, conflict with the
product's) and reads the one JSON line it prints: each operation with "ok" or the error.

Usage: python ngsildclient_session.py BASE_URL TOKEN ENTITY_ID ENTITY_TYPE
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ngsildclient import Client, Entity
from ngsildclient.api.temporal import TemporalQuery
from requests.auth import AuthBase


class Bearer(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def main() -> None:
    base, token, entity_id, entity_type = sys.argv[1:5]
    url = urlsplit(base)
    results: dict[str, str] = {}

    def check(name: str, operation: Callable[[], Any], expect: Callable[[Any], bool]) -> Any:
        try:
            found = operation()
            results[name] = "ok" if expect(found) else f"unexpected answer: {found!r}"[:300]
            return found
        except Exception as exc:  # every failure is reported, the session goes on
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            results[name] = detail[:300]
            return None

    def connect(token: str) -> Client:
        return Client(hostname=url.hostname, port=url.port, custom_auth=Bearer(token), verbose=False)  # fmt: skip

    reader = check("connect", lambda: connect(token), lambda c: c.is_connected())
    if reader is None:
        print(json.dumps(results))
        return
    # Reads.
    check("get", lambda: reader.get(entity_id), lambda e: e.id == entity_id and e.type == entity_type)  # fmt: skip
    check("get asdict", lambda: reader.get(entity_id, asdict=True), lambda d: d["id"] == entity_id)  # fmt: skip
    check("exists", lambda: reader.exists(entity_id), lambda found: found is True)
    check("exists (absent)", lambda: reader.exists(f"urn:ngsi-ld:{entity_type}:nowhere"), lambda found: found is False)  # fmt: skip
    check("entities.get", lambda: reader.entities.get(entity_id), lambda e: e.id == entity_id)
    check("count", lambda: reader.count(type=entity_type), lambda n: n > 0)
    check("count with q", lambda: reader.count(type=entity_type, q="intensity>=0"), lambda n: n >= 0)  # fmt: skip
    check("count with geo-query", lambda: reader.count(type=entity_type, gq="geometry=Point;coordinates=[116.4,39.9];georel=near;maxDistance==500000"), lambda n: n > 0)  # fmt: skip
    check("query", lambda: reader.query(type=entity_type), lambda found: len(found) > 0 and all(e.type == entity_type for e in found))  # fmt: skip
    check("query with q", lambda: reader.query(type=entity_type, q="intensity>=0"), lambda found: isinstance(found, list))  # fmt: skip
    check("query paged", lambda: reader.query(type=entity_type, limit=2), lambda found: len(found) == reader.count(type=entity_type))  # fmt: skip
    check("query_head", lambda: reader.query_head(type=entity_type, n=3), lambda found: 0 < len(found) <= 3)  # fmt: skip
    check("query_generator", lambda: list(reader.query_generator(type=entity_type, limit=5)), lambda found: len(found) > 0)  # fmt: skip
    check("query_handle", lambda: _handled(reader, entity_type), lambda n: n > 0)
    check("types.list", lambda: reader.types.list(), lambda found: entity_type in found)
    check("temporal.get", lambda: reader.temporal.get(entity_id), lambda found: bool(found))
    check("temporal.query lastN", lambda: reader.temporal.query(type=entity_type, lastn=2), lambda found: bool(found))  # fmt: skip
    check("temporal.query between", lambda: reader.temporal.query(eid=entity_id, type=entity_type, tq=TemporalQuery().between("2026-10-28T00:00:00Z", "2026-10-28T02:00:00Z")), lambda found: bool(found))  # fmt: skip

    # Writes.
    writer = reader
    new_id = "urn:ngsi-ld:AirQualityObserved:ngsildclient-1"
    entity = Entity("AirQualityObserved", "ngsildclient-1")
    entity.prop("name", "客户端测试")
    entity.gprop("location", (39.93, 116.42))
    entity.prop("no2", 22.0, observedat="2026-10-30T08:00:00Z", unitcode="GQ")
    check("create", lambda: writer.create(entity), lambda done: bool(done))
    check("read back", lambda: writer.get(new_id), lambda e: e["no2"]["value"] == 22.0)
    entity["no2"]["value"] = 25.0
    entity["no2"]["observedAt"] = "2026-10-30T09:00:00Z"
    check("update", lambda: writer.update(entity), lambda done: bool(done))
    check("read update", lambda: writer.get(new_id), lambda e: e["no2"]["value"] == 25.0)
    second = Entity("AirQualityObserved", "ngsildclient-2")
    second.prop("pm25", 12.0, observedat="2026-10-30T08:00:00Z")
    check("upsert", lambda: writer.upsert(entity, second), lambda done: bool(done))
    check("batch create", lambda: writer.batch.create([Entity("TrafficFlowObserved", "ngsildclient-3")]), lambda r: r.ok)  # fmt: skip
    check("batch created", lambda: writer.count(type="TrafficFlowObserved", q='name=="ngsildclient-3"'), lambda n: n == 1)  # fmt: skip
    # Client.delete() with one id passes the text to its batch delete, a client fault;
    # its entities.delete() takes an id.
    check("delete", lambda: writer.entities.delete(new_id), lambda done: bool(done))
    check("gone", lambda: writer.exists(new_id), lambda found: found is False)
    check("batch delete", lambda: writer.batch.delete([second, Entity("TrafficFlowObserved", "ngsildclient-3")]), lambda r: r.ok)  # fmt: skip
    check("batch gone", lambda: writer.count(type="TrafficFlowObserved", q='name=="ngsildclient-3"'), lambda n: n == 0)  # fmt: skip
    print(json.dumps(results))


def _handled(client: Client, entity_type: str) -> int:
    seen: list[Entity] = []
    client.query_handle(type=entity_type, callback=seen.append, limit=5)
    return len(seen)


if __name__ == "__main__":
    main()
