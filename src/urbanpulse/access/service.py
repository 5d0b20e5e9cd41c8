"""The access service: who is calling (credentials -> principal) and may they.

Built once per app by :func:`build_access_service`; the API edge calls
:meth:`AccessService.authenticate` and :meth:`AccessService.authorize` per request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from urbanpulse.access.keys import authenticate_key
from urbanpulse.access.matrix import Matrix, Scope, is_allowed, is_public, read_matrix
from urbanpulse.access.oidc import OidcVerifier
from urbanpulse.access.seal import AuditSeal
from urbanpulse.access.sessions import SESSION_PREFIX, check_session
from urbanpulse.access.store import AccessStore, PostgresAccessStore, SqliteAccessStore
from urbanpulse.errors import AccessDeniedError, AuthenticationError
from urbanpulse.i18n import N_
from urbanpulse.settings import Settings


@dataclass(frozen=True)
class Principal:
    """Who is calling: a scope and a subject (``key:<id>``, ``oidc:<sub>`` or ``anonymous``)."""

    scope: Scope
    subject: str

    @property
    def anonymous(self) -> bool:
        return self.subject == "anonymous"


ANONYMOUS = Principal("public", "anonymous")
# The cookie in which a browser that signed in on a page sends its session token
# (access/sessions.py): never the API key itself.
SESSION_COOKIE = "urbanpulse_session"


class AccessService:
    """Credentials and the auth matrix, over one store."""

    def __init__(
        self, store: AccessStore, *, matrix: Matrix, oidc: OidcVerifier | None = None
    ) -> None:
        self.store, self.oidc = store, oidc
        self.matrix: dict[str, frozenset[Scope]] = dict(matrix)

    def allow(self, route_key: str, *scopes: Scope) -> None:
        """Add a route to this app's matrix: for a route that an extension or a test
        adds to an app already built (routes of the product belong in matrix.toml)."""
        self.matrix[route_key] = frozenset(scopes)

    def authenticate(self, token: str | None) -> Principal:
        """The principal a bearer token or API key stands for; anonymous without one.

        A sign-in session (``ups_...``, the page cookie's) gives the scope of the
        credential that signed in; an API key (``up_...``) its key's scope; any other
        bearer token is an OpenID Connect JWT and gives the scope its role claim maps to.

        Raises
        ------
        AuthenticationError
            The token is invalid, or a JWT arrives and no identity provider is set.
        AccessDeniedError
            A valid JWT whose roles map to no scope.
        """
        if not token:
            return ANONYMOUS
        if token.startswith(SESSION_PREFIX):
            session = check_session(self.store, token)
            return Principal(session.scope, session.subject)
        if token.startswith("up_"):
            key = authenticate_key(self.store, token)
            return Principal(key.scope, f"key:{key.key_id}")
        if self.oidc is None:
            raise AuthenticationError(N_("invalid API key (no identity provider is configured)"))
        identity = self.oidc.verify(token)
        return Principal(identity.scope, f"oidc:{identity.subject}")

    def authorize(self, principal: Principal, route_key: str) -> None:
        """Return if ``principal`` may call the route, else raise.

        Raises
        ------
        AuthenticationError
            Anonymous caller of a route that needs credentials (401).
        AccessDeniedError
            Known caller whose scope the matrix does not list for the route (403).
        """
        if is_allowed(self.matrix, route_key, principal.scope):
            return
        if route_key not in self.matrix:
            raise AccessDeniedError(f"{route_key} is not in the access matrix")
        if principal.anonymous:
            raise AuthenticationError(
                N_("{route} needs an API key or a bearer token", route=route_key)
            )
        allowed = ", ".join(sorted(self.matrix[route_key]))
        raise AccessDeniedError(
            N_(
                "{route} is for {allowed}; this {scope} credential may not call it",
                route=route_key,
                allowed=allowed,
                scope=principal.scope,
            )
        )

    def is_public(self, route_key: str) -> bool:
        """Whether the route is open to anyone (its calls are not audited)."""
        return is_public(self.matrix, route_key)


def get_access_db_path(settings: Settings) -> Path:
    """The SQLite file of the embedded store: ``access_db``, or ``access.sqlite3``
    beside the lake folder (never inside it)."""
    return settings.access_db or settings.lake_path.parent / "access.sqlite3"


def build_access_store(settings: Settings) -> AccessStore:
    """PostgreSQL at ``access_db_url`` when set, else the embedded SQLite file."""
    where = settings.access_db_url or str(get_access_db_path(settings).resolve())
    # One head per store: several stores (a test's, a staging one) may share the folder.
    log_id = hashlib.sha256(where.encode()).hexdigest()[:16]
    seal = AuditSeal(get_audit_seal_dir(settings), log_id=log_id)
    if settings.access_db_url:
        return PostgresAccessStore(settings.access_db_url, seal=seal)
    return SqliteAccessStore(get_access_db_path(settings), seal=seal)


def get_audit_seal_dir(settings: Settings) -> Path:
    """The folder of the audit log's key and signed head: ``audit_seal_dir``, or
    ``audit-seal`` beside the lake folder (apart from the store and the lake)."""
    return settings.audit_seal_dir or settings.lake_path.parent / "audit-seal"


def build_access_service(settings: Settings) -> AccessService:
    """The access service of an app (the store opens on first use)."""
    oidc = None
    if settings.oidc_issuer:
        oidc = OidcVerifier(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience or "",
            jwks_url=settings.oidc_jwks_url,
            jwks_file=settings.oidc_jwks_file,
            scope_claim=settings.oidc_scope_claim,
            claim_scopes=settings.oidc_claim_scopes,
        )
    return AccessService(build_access_store(settings), matrix=read_matrix(), oidc=oidc)
