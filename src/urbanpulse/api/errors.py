"""HTTP status codes for UrbanPulse errors, and the one JSON shape every error has.

Every error response, whether raised by a domain, by request validation or by a
route that does not exist, looks like::

    {"error": {"code": "not_found", "message": "no site 'x'", "detail": null}}

Pages (paths outside ``/api``) asked for by a browser get an HTML page instead, when
the web edge has registered a renderer on ``app.state.render_error_page``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from urbanpulse.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    AuthenticationError,
    ConfigurationError,
    InvalidQueryError,
    LakeError,
    LakeLockedError,
    NotFoundError,
    StoreUnavailableError,
    UrbanPulseError,
)
from urbanpulse.i18n import N_, translate_error, translate_text
from urbanpulse.i18n import gettext as _

logger = logging.getLogger(__name__)

# Most specific first: the first matching class decides status and code.
ERROR_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthenticationError, 401, "unauthorized"),
    (AccessDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (InvalidQueryError, 400, "invalid_query"),
    (AlreadyExistsError, 409, "already_exists"),
    (LakeLockedError, 503, "lake_locked"),
    (StoreUnavailableError, 503, "store_unavailable"),
    (LakeError, 500, "lake_error"),
    (ConfigurationError, 500, "configuration_error"),
    (UrbanPulseError, 500, "internal_error"),
)


class ErrorBody(BaseModel):
    """What went wrong, for people (message) and for programs (code, detail)."""

    code: str = Field(description="Stable machine-readable code, e.g. 'not_found'.")
    message: str = Field(description="Human-readable explanation.")
    detail: Any | None = Field(default=None, description="Extra data, e.g. validation errors.")


class ErrorPublic(BaseModel):
    """The one shape of every error response."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 422, 500)
}
# Reason phrases that become messages of errors without a detail, for the catalogue.
HTTP_PHRASES = (N_("Not Found"), N_("Method Not Allowed"), N_("Unauthorized"), N_("Forbidden"))
# Asks the client for credentials, as RFC 9110 wants of every 401.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="urbanpulse"'}


def get_error_status(exc: Exception) -> tuple[int, str]:
    """HTTP status and error code for an exception raised by UrbanPulse code."""
    for error_type, status, code in ERROR_STATUS:
        if isinstance(exc, error_type):
            return status, code
    return 500, "internal_error"


def build_error_response(
    request: Request, status: int, code: str, message: str, detail: Any = None
) -> Response:
    """The JSON error body, or the HTML error page for a browser asking for a page."""
    render = getattr(request.app.state, "render_error_page", None)
    if render is not None and _wants_html(request):
        response: Response = render(request, status, message)
    else:
        body = ErrorPublic(error=ErrorBody(code=code, message=message, detail=detail))
        response = JSONResponse(jsonable_encoder(body), status_code=status)
    if status == 401:
        response.headers.update(CHALLENGE)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of error through :func:`build_error_response`."""
    app.add_exception_handler(UrbanPulseError, _on_domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected_error)


async def _on_domain_error(request: Request, exc: UrbanPulseError) -> Response:
    status, code = get_error_status(exc)
    if status >= 500:
        logger.error("request %s failed: %s", request.url.path, exc, exc_info=exc)
    # In the request's language (Accept-Language); the log above keeps the English.
    return build_error_response(request, status, code, translate_error(exc))


async def _on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = jsonable_encoder(exc.errors())
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors]
    message = _("invalid request: {problems}").format(problems="; ".join(parts))
    return build_error_response(request, 422, "validation_error", message, errors)


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    path = request.url.path
    if exc.status_code == 404 and path.startswith("/ngsi-ld/") and "//" in path:
        # An NGSI-LD path with an empty entity id or attribute name is a bad request
        # (ETSI GS CIM 009 6.3.2), not a resource that is missing.
        problem = {
            "type": "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
            "title": "Bad Request",
            "status": 400,
            "detail": "an entity id, attribute name or instance id in the path is empty",
        }
        return JSONResponse(problem, status_code=400)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = translate_text(exc.detail) if isinstance(exc.detail, str) else _(phrase)
    return build_error_response(request, exc.status_code, code, message)


async def _on_unexpected_error(request: Request, exc: Exception) -> Response:
    # The message of an unexpected error may hold internals; say only that it failed.
    logger.error("unexpected error on %s", request.url.path, exc_info=exc)
    return build_error_response(request, 500, "internal_error", _("internal server error"))


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api") or request.url.path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "")
