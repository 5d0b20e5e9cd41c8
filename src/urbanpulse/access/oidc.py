"""Government sign-in with an OpenID Connect bearer token from the city's identity provider.

The token is a JWT whose signature is checked against the provider's JWKS (a URL, or a
file for offline deployments and tests), with the configured issuer and audience and
an expiry required. Unsigned tokens (``alg: none``) and symmetric algorithms are refused.

Which scope a person gets is the identity provider's word, not ours: a role or group
claim (``roles``, ``groups``, or a dotted path such as Keycloak's ``realm_access.roles``)
is mapped to a scope by the deployment's table. A verified token that names no mapped
role is refused rather than given a default scope, so a citizen account at the same
provider never reads government data; a token without a subject is refused, as the
audit log could not say who called.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from urbanpulse.access.matrix import SCOPES, Scope
from urbanpulse.errors import AccessDeniedError, AuthenticationError, ConfigurationError
from urbanpulse.i18n import N_

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]


@dataclass(frozen=True)
class OidcIdentity:
    """Who a verified token says signed in."""

    subject: str
    scope: Scope
    claims: dict[str, Any]


class OidcVerifier:
    """Verifies bearer JWTs against one issuer, audience and JWKS."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks_file: Path | None = None,
        scope_claim: str = "roles",
        claim_scopes: Mapping[str, Scope],
    ) -> None:
        if not (jwks_url or jwks_file):
            raise ConfigurationError("OpenID Connect needs oidc_jwks_url or oidc_jwks_file")
        unknown = sorted(set(claim_scopes.values()) - set(SCOPES))
        if unknown:
            raise ConfigurationError(f"oidc_claim_scopes names unknown scopes: {unknown}")
        self.issuer, self.audience = issuer, audience
        self.scope_claim, self.claim_scopes = scope_claim, dict(claim_scopes)
        self._client = jwt.PyJWKClient(jwks_url, timeout=5) if jwks_url else None
        self._keys = _read_jwks_file(jwks_file) if jwks_file and not jwks_url else None

    def verify(self, token: str) -> OidcIdentity:
        """The identity in a valid token.

        Raises
        ------
        AuthenticationError
            Bad signature, unknown key, expired, wrong issuer or audience, no subject.
        AccessDeniedError
            A valid token whose role claim names no role mapped to a scope.
        """
        try:
            key = self._get_signing_key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid bearer token: {exc}") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip():
            raise AuthenticationError(N_("invalid bearer token: it names no subject"))
        return OidcIdentity(subject=subject, scope=self._get_scope(claims), claims=claims)

    def _get_scope(self, claims: Mapping[str, Any]) -> Scope:
        """The widest scope any of the token's roles maps to."""
        roles = get_claim_values(claims, self.scope_claim)
        scopes = {self.claim_scopes[role] for role in roles if role in self.claim_scopes}
        if not scopes:
            raise AccessDeniedError(
                N_(
                    "this sign-in carries no role that UrbanPulse maps to a scope "
                    "(claim '{claim}'); ask the identity provider's administrator",
                    claim=self.scope_claim,
                )
            )
        return max(scopes, key=SCOPES.index)

    def _get_signing_key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidKeyError(f"no key {kid!r} in the JWKS")


def get_claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The strings at a dotted claim path: a list of roles, or one role as a string
    (providers send both); anything else counts as no role."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _read_jwks_file(path: Path) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise ConfigurationError(f"cannot read the JWKS file {path}: {exc}") from None
