"""GET /api/health: is the lake readable, and at which version."""

from __future__ import annotations

from fastapi import APIRouter, Request

from urbanpulse import __version__
from urbanpulse.api.deps import AdviceServiceDep, LakeDep
from urbanpulse.api.errors import ERROR_RESPONSES
from urbanpulse.api.schemas import HealthPublic
from urbanpulse.store import SCHEMAS, Lake, read_indicators, read_sites
from urbanpulse.store.cache import read_cached

router = APIRouter(prefix="/api", tags=["health"], responses=ERROR_RESPONSES)


@router.get("/health", response_model=HealthPublic, summary="Service and lake status")
def get_health(request: Request, lake: LakeDep, service: AdviceServiceDep) -> HealthPublic:
    """Lake version and row counts (from the commit log, so this stays cheap), the
    state of the advice counters and of the access store ('degraded' while it does not
    answer: closed routes then answer 503); where the lake lies is not told."""
    version = lake.version
    rows = {table: sum(f.rows for f in lake.get_files(table)) for table in SCHEMAS}
    access_ok = request.app.state.access.store.available
    return HealthPublic(
        status="ok" if access_ok else "degraded",
        access_store="ok" if access_ok else "unavailable",
        version=__version__,
        lake_version=version,
        rows=rows,
        synthetic=read_cached(lake, "synthetic", build=lambda: _is_synthetic(lake)),
        counters=service.get_counters_state(),
    )


def _is_synthetic(lake: Lake) -> bool:
    """Whether any site or indicator is synthetic; read once per lake version, as the
    health check is polled often and must stay trivial."""
    return bool(read_sites(lake)["synthetic"].fillna(False).any()) or bool(
        read_indicators(lake)["synthetic"].fillna(False).any()
    )
