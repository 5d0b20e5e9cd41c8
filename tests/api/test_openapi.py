"""The OpenAPI schema and the offline docs page."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

API_PATHS = {
    "/api/health",
    "/api/cities",
    "/api/sites",
    "/api/sites/{site_id}",
    "/api/sites/{site_id}/observations",
    "/api/sites/{site_id}/profile",
    "/api/sites/{site_id}/forecast",
    "/api/quarantine",
    "/api/indicators",
    "/api/monitor",
    "/api/monitor/ranking",
    "/api/monitor/coupling",
    "/api/monitor/disparity",
    "/api/monitor/what-if",
    "/api/monitor/trace",
    "/api/monitor/provinces",
    "/api/lines",
    "/api/live/sections",
    "/api/live/stream",
    "/api/gtfs-rt/crowding",
    "/api/advice",
    "/api/operator/accuracy",
    "/api/operator/effect",
    "/api/operator/line-day",
    "/api/stations",
    "/api/usage",
    "/api/networks",
    "/api/catalog",
    "/api/catalog.jsonld",
    "/api/datasets/{dataset_id}",
    "/api/datasets/{dataset_id}/export",
    "/api/aggregates/{dataset_id}",
    "/api/aggregates/{dataset_id}/export",
    "/api/keys",
    "/api/keys/{key_id}/rotate",
    "/api/keys/{key_id}/revoke",
    "/api/audit",
    "/api/audit/export",
    "/api/audit/verify",
    "/ngsi-ld/v1/entities",
    "/ngsi-ld/v1/entities/{entityId}",
    "/ngsi-ld/v1/entities/{entityId}/attrs",
    "/ngsi-ld/v1/entities/{entityId}/attrs/{attrId}",
    "/ngsi-ld/v1/entityOperations/{operation}",
    "/ngsi-ld/v1/entityOperations/query",
    "/ngsi-ld/v1/temporal/entityOperations/query",
    "/ngsi-ld/v1/types",
    "/ngsi-ld/v1/types/{entityType}",
    "/ngsi-ld/v1/attributes",
    "/ngsi-ld/v1/attributes/{attrId}",
    "/ngsi-ld/v1/jsonldContexts/urbanpulse",
    "/ngsi-ld/v1/temporal/entities",
    "/ngsi-ld/v1/temporal/entities/{entityId}",
    "/ngsi-ld/v1/temporal/entities/{entityId}/attrs",
    "/ngsi-ld/v1/temporal/entities/{entityId}/attrs/{attrId}",
    "/ngsi-ld/v1/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}",
    "/api/ingest/observations",
}
# Routes that administer the service or take data in rather than serve data: no
# 'synthetic' flag.
ADMIN_TAGS = {"keys", "audit", "usage", "ingest"}
# Routes of a standard that fixes their bodies: NGSI-LD answers entities (each with a
# 'synthetic' property) and ProblemDetails errors (tests/api/test_ngsi_api.py);
# GTFS-Realtime a FeedMessage (synthetic in a header, tests/api/test_gtfs_rt_api.py).
STANDARD_TAGS = {"ngsi-ld", "gtfs-rt"}


def test_schema_lists_every_resource_and_no_pages(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "UrbanPulse"
    assert set(schema["paths"]) == API_PATHS


def test_every_error_is_documented_with_the_one_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    error_ref = "#/components/schemas/ErrorPublic"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if STANDARD_TAGS & set(operation.get("tags", ())):
                continue
            for status in ("400", "404", "422", "500"):
                content = operation["responses"][status]["content"]["application/json"]["schema"]
                assert content == {"$ref": error_ref}, (path, method, status)


def test_every_success_response_says_whether_it_is_synthetic(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if (ADMIN_TAGS | STANDARD_TAGS) & set(operation.get("tags", ())):
                continue
            content = operation["responses"]["200"]["content"]
            if "text/event-stream" in content:
                continue  # its events carry the JSON of a route checked here
            ref = content["application/json"]["schema"]
            name = ref["$ref"].rsplit("/", 1)[-1]
            assert "synthetic" in components[name]["properties"], (path, method)


def test_period_is_limited_to_5_15_60(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["Period"]["enum"] == [5, 15, 60]


def test_docs_page_loads_swagger_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "cdn" not in page.text.lower()
    for asset in ("/vendor/swagger-ui/swagger-ui-bundle.js", "/vendor/swagger-ui/swagger-ui.css"):
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 10_000, asset
    assert client.get("/redoc").status_code == 404


def test_docs_read_a_30_rendering_of_the_31_schema(client: TestClient) -> None:
    # The bundled Swagger UI 4 cannot render OpenAPI 3.1, which /openapi.json stays.
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    docs_schema = client.get("/docs/openapi-3.0.json").json()
    assert docs_schema["openapi"] == "3.0.3"
    assert '{"type": "null"}' not in json.dumps(docs_schema)
    unit = docs_schema["components"]["schemas"]["ObservationsPublic"]["properties"]["unit"]
    assert unit["type"] == "string" and unit["nullable"] is True
