"""The language of each request, for the API's messages and for the pages.

Chosen, in order, by ``?lang=zh_CN`` or ``?lang=en`` (which the pages' language switch
sends, and which is then remembered in a cookie), the ``urbanpulse_lang`` cookie, and
the Accept-Language header (:func:`urbanpulse.i18n.negotiate`). Everything built for the
request speaks it (:func:`urbanpulse.i18n.use_locale`); the response says which one in
``Content-Language``.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from urbanpulse.api.middleware import HttpMiddleware
from urbanpulse.i18n import COOKIE, get_html_lang, get_supported_locale, negotiate, use_locale

# A year: the choice is a preference, not a session.
COOKIE_MAX_AGE = 365 * 24 * 3600
# Versioned assets are the same in every language; they must stay cacheable as one.
LANGUAGE_FREE_PREFIXES = ("/static", "/vendor")


def get_request_locale(scope: Scope) -> tuple[str, str | None]:
    """The request's language, and the language to remember in the cookie (or None)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    chosen = get_supported_locale((query.get("lang") or [""])[0])
    if chosen:
        return chosen, chosen
    headers = {key.decode("latin-1").lower(): value for key, value in scope.get("headers", [])}
    cookie_header = headers.get("cookie", b"").decode("latin-1")
    if cookie_header:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except Exception:
            cookies = SimpleCookie()
        remembered = get_supported_locale(cookies[COOKIE].value if COOKIE in cookies else None)
        if remembered:
            return remembered, None
    accept = headers.get("accept-language", b"").decode("latin-1")
    return negotiate(accept), None


class LocaleMiddleware(HttpMiddleware):
    """Pure ASGI (not BaseHTTPMiddleware), so the language set here is the one that
    endpoints, exception handlers and worker threads see."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        locale, remember = get_request_locale(scope)
        language_free = str(scope.get("path", "")).startswith(LANGUAGE_FREE_PREFIXES)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start" and not language_free:
                headers = MutableHeaders(scope=message)
                headers["Content-Language"] = get_html_lang(locale)
                headers.add_vary_header("Accept-Language")
                headers.add_vary_header("Cookie")
                if remember:
                    headers.append(
                        "Set-Cookie",
                        f"{COOKIE}={remember}; Path=/; Max-Age={COOKIE_MAX_AGE}; SameSite=Lax",
                    )
            await send(message)

        with use_locale(locale):
            await self.app(scope, receive, send_with_language)


def install_locale(app: FastAPI) -> None:
    """Add the language choice outermost, so that every response, errors of the
    middlewares inside included, speaks the request's language."""
    app.add_middleware(LocaleMiddleware)
