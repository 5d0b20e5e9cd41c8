"""schemathesis over the whole OpenAPI document, in process, with each scope's
credentials: no request it generates may end in a server error (5xx).

Bounded (a few examples per operation) so it runs in a few minutes on two cores.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from urbanpulse.api import create_app
from urbanpulse.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import build_test_lake

SCOPES = ("public", "business", "government", "admin")


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An app over a lake of its own: generated POSTs may write advice counters."""
    root = tmp_path_factory.mktemp("schemathesis")
    lake = build_test_lake(root / "lake", days=3)
    options: dict[str, Any] = {"lake_path": lake.root}
    if "live_stream_max_s" in Settings.model_fields:
        options["live_stream_max_s"] = 0  # one snapshot, then the event stream ends
    if "access_db" in Settings.model_fields:
        options["access_db"] = root / "access.sqlite3"
    return create_app(Settings(**options))


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


@pytest.fixture(scope="module")
def scope_headers(fuzzed_app: Any) -> dict[str, dict[str, str]]:
    """Request headers per scope: a fresh key each, once the access layer is installed."""
    headers: dict[str, dict[str, str]] = {"public": {}}
    access = getattr(fuzzed_app.state, "access", None)
    if access is not None:
        from urbanpulse.access import issue_key

        for scope in SCOPES[1:]:
            _, token = issue_key(access.store, scope=scope, name=f"schemathesis {scope}")
            headers[scope] = {"Authorization": f"Bearer {token}"}
    return headers


def test_no_server_errors(api_schema: Any, scope_headers: dict[str, dict[str, str]]) -> None:
    # Every generated request is sent with each scope's credentials in turn.
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            for scope, headers in scope_headers.items():
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(
                        f"{scope} {case.method} {case.formatted_path}: "
                        f"{response.status_code} {response.text[:200]}"
                    )

        run()
    assert operations > 30
    assert failures == []
