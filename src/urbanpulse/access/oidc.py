"""Government sign-in with an OpenID Connect bearer token from the city's identity provider.

The token is a JWT whose signature is checked against the provider's JWKS (a URL, or a
file for offline deployments and tests), with the configured issuer and audience and
an expiry required. Unsigned tokens (``alg: none``) and symmetric algorithms are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from urbanpulse.errors import AuthenticationError, ConfigurationError

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]


@dataclass(frozen=True)
class OidcIdentity:
    """Who a verified token says signed in."""

    subject: str
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
    ) -> None:
        if not (jwks_url or jwks_file):
            raise ConfigurationError("OpenID Connect needs oidc_jwks_url or oidc_jwks_file")
        self.issuer, self.audience = issuer, audience
        self._client = jwt.PyJWKClient(jwks_url, timeout=5) if jwks_url else None
        self._keys = _read_jwks_file(jwks_file) if jwks_file and not jwks_url else None

    def verify(self, token: str) -> OidcIdentity:
        """The identity in a valid token.

        Raises
        ------
        AuthenticationError
            Bad signature, unknown key, expired, wrong issuer or audience, no subject.
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
        return OidcIdentity(subject=str(claims["sub"]), claims=claims)

    def _get_signing_key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidKeyError(f"no key {kid!r} in the JWKS")


def _read_jwks_file(path: Path) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise ConfigurationError(f"cannot read the JWKS file {path}: {exc}") from None
