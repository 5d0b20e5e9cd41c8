"""Signing in on a page, and the admin page where API keys are issued, rotated and revoked.

A browser signs in by pasting an API key into a form; the key is checked and a sign-in
session starts (access/sessions.py): the cookie holds the session's random token, never
the key, ``HttpOnly`` and ``SameSite=Strict``, and signing out ends the session in the
store. Forms post URL-encoded bodies, read here without a form-parsing dependency; a
post that carries the cookie must say it comes from this site (Origin or Referer, see
``access.sessions.check_origin``), and a post from another site is refused in any case.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from urbanpulse.access import (
    ANONYMOUS,
    AccessService,
    Principal,
    issue_key,
    record_event,
    revoke_key,
    rotate_key,
)
from urbanpulse.access.matrix import KEY_SCOPES
from urbanpulse.access.service import SESSION_COOKIE
from urbanpulse.access.sessions import SESSION_HOURS, check_origin, end_session, start_session
from urbanpulse.errors import AccessDeniedError, AuthenticationError, UrbanPulseError
from urbanpulse.i18n import N_, translate_error
from urbanpulse.i18n import gettext as _
from urbanpulse.web.rendering import render_page

router = APIRouter()


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form post (first value of each); refuses a post
    whose Origin header names another site, or that rides on the sign-in cookie
    without naming this site."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise AccessDeniedError(N_("a form from another site may not post here"))
    if request.cookies.get(SESSION_COOKIE):
        claimed = request.headers.get("origin") or request.headers.get("referer") or ""
        check_origin(request.method, claimed, f"{request.url.scheme}://{request.url.netloc}")
    body = (await request.body()).decode("utf-8", "replace")
    return {name: values[0] for name, values in parse_qs(body).items()}


def get_next_path(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


def render_sign_in(
    request: Request, *, next_path: str, message: str = "", status_code: int = 200
) -> HTMLResponse:
    """The sign-in form."""
    return render_page(
        request,
        "sign_in.html",
        title=_("Sign in"),
        next_path=get_next_path(next_path),
        message=message,
        status_code=status_code,
    )


@router.get("/sign-in", response_class=HTMLResponse)
def get_sign_in(request: Request, next: str = "/") -> HTMLResponse:
    return render_sign_in(request, next_path=next)


@router.post("/sign-in", response_model=None)
async def post_sign_in(request: Request) -> Response:
    """Check the key, keep it in the cookie and go on to the page asked for."""
    form = await read_form(request)
    access: AccessService = request.app.state.access
    token, next_path = form.get("key", "").strip(), get_next_path(form.get("next"))
    if not token:
        message = "paste an API key to sign in"
        return render_sign_in(request, next_path=next_path, message=message, status_code=400)
    try:
        principal = await run_in_threadpool(access.authenticate, token)
    except AuthenticationError as exc:
        await _audit_sign_in(access, ANONYMOUS, 401)
        return render_sign_in(
            request, next_path=next_path, message=translate_error(exc), status_code=401
        )
    await _audit_sign_in(access, principal, 303)
    _, session = await run_in_threadpool(
        lambda: start_session(access.store, subject=principal.subject, scope=principal.scope)
    )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def _audit_sign_in(access: AccessService, principal: Principal, status: int) -> None:
    """Sign-ins, refused ones too, go to the audit log (the route itself is public)."""
    await run_in_threadpool(
        lambda: record_event(access.store, actor=principal.subject, scope=principal.scope,
                             method="POST", path="/sign-in", status=status)
    )  # fmt: skip


@router.post("/sign-out", response_model=None)
async def post_sign_out(request: Request) -> Response:
    """End the session in the store (the cookie's token is worthless from now on,
    wherever a copy of it is) and clear the cookie."""
    await read_form(request)
    access: AccessService = request.app.state.access
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        await run_in_threadpool(end_session, access.store, session)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/admin", response_class=HTMLResponse)
def get_admin(request: Request) -> HTMLResponse:
    """The keys, and forms to issue, rotate and revoke them (admins only: matrix)."""
    return render_admin(request)


def render_admin(request: Request, **context: Any) -> HTMLResponse:
    access: AccessService = request.app.state.access
    return render_page(
        request,
        "admin.html",
        title=_("Admin: API keys"),
        keys=access.store.list_keys(),
        scopes=KEY_SCOPES,
        **context,
    )


@router.post("/admin/keys", response_class=HTMLResponse)
async def post_admin_key(request: Request) -> HTMLResponse:
    form = await read_form(request)
    access: AccessService = request.app.state.access
    try:
        key, token = await run_in_threadpool(
            lambda: issue_key(access.store, scope=form.get("scope", ""), name=form.get("name", ""))
        )
    except UrbanPulseError as exc:
        return render_admin(request, error=translate_error(exc))
    return render_admin(request, issued=key, token=token)


@router.post("/admin/keys/{key_id}/rotate", response_class=HTMLResponse)
async def post_admin_rotation(request: Request, key_id: str) -> HTMLResponse:
    await read_form(request)
    access: AccessService = request.app.state.access
    try:
        key, token = await run_in_threadpool(rotate_key, access.store, key_id)
    except UrbanPulseError as exc:
        return render_admin(request, error=translate_error(exc))
    return render_admin(request, issued=key, token=token)


@router.post("/admin/keys/{key_id}/revoke", response_class=HTMLResponse)
async def post_admin_revocation(request: Request, key_id: str) -> HTMLResponse:
    await read_form(request)
    access: AccessService = request.app.state.access
    try:
        key = await run_in_threadpool(revoke_key, access.store, key_id)
    except UrbanPulseError as exc:
        return render_admin(request, error=translate_error(exc))
    return render_admin(request, revoked=key)
