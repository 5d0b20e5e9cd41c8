"""Government sign-in with an OpenID Connect JWT, verified against a JWKS file made from
RSA keys the test generates (no network): good tokens pass with the scope their role
claim maps to, expired, wrong-audience, wrong-issuer, subject-less, unsigned, HMAC-signed
and foreign-key tokens are refused with 401, and a valid token without a mapped role
with 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from urbanpulse.access.oidc import OidcVerifier
from urbanpulse.api import create_app
from urbanpulse.errors import AccessDeniedError, AuthenticationError, ConfigurationError
from urbanpulse.settings import Settings
from urbanpulse.store import Lake

ISSUER = "https://id.city.example"
AUDIENCE = "urbanpulse"
GOVERNMENT_ROUTE = "/api/operator/effect"  # government and admin only
ADMIN_ROUTE = "/api/keys"
ROLES = {"urbanpulse-government": "government", "urbanpulse-admin": "admin"}


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_file(tmp_path_factory: pytest.TempPathFactory, signing_key: rsa.RSAPrivateKey) -> Path:
    public = json.loads(RSAAlgorithm.to_jwk(signing_key.public_key()))
    path = tmp_path_factory.mktemp("idp") / "jwks.json"
    path.write_text(
        json.dumps({"keys": [{**public, "kid": "city-1", "use": "sig", "alg": "RS256"}]})
    )
    return path


def make_token(key: Any, *, algorithm: str = "RS256", kid: str = "city-1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "official-7", "iat": now, "exp": now + 300}
    payload["roles"] = ["staff", "urbanpulse-government"]
    payload.update(claims)
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def app(test_lake: Lake, tmp_path_factory: pytest.TempPathFactory, jwks_file: Path) -> FastAPI:
    settings = Settings(
        lake_path=test_lake.root,
        access_db=tmp_path_factory.mktemp("oidc-access") / "access.sqlite3",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_file=jwks_file,
    )
    return create_app(settings)


def call(app: FastAPI, token: str, path: str = GOVERNMENT_ROUTE) -> Any:
    with TestClient(app) as client:
        return client.get(
            path, headers={"Authorization": f"Bearer {token}"}, params={"line_id": "x"}
        )


def test_a_valid_token_signs_in_as_government(app: FastAPI, signing_key: Any) -> None:
    response = call(app, make_token(signing_key))
    assert response.status_code not in (401, 403), response.text
    (entry,) = [e for e in app.state.access.store.read_audit() if e.actor == "oidc:official-7"][-1:]
    assert entry.scope == "government" and entry.path == GOVERNMENT_ROUTE


def test_government_is_not_admin(app: FastAPI, signing_key: Any) -> None:
    assert call(app, make_token(signing_key), ADMIN_ROUTE).status_code == 403


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("expired", {"exp": int(time.time()) - 60}),
        ("wrong audience", {"aud": "someone-else"}),
        ("wrong issuer", {"iss": "https://evil.example"}),
        ("no subject", {"sub": None}),
        ("empty subject", {"sub": ""}),
        ("blank subject", {"sub": "  "}),
        ("subject not a string", {"sub": 7}),
    ],
)
def test_bad_claims_are_refused(
    app: FastAPI, signing_key: Any, case: str, claims: dict[str, Any]
) -> None:
    token = make_token(signing_key, **{k: v for k, v in claims.items() if v is not None})
    if claims.get("sub", "") is None:
        payload = jwt.decode(token, options={"verify_signature": False})
        payload.pop("sub")
        token = jwt.encode(payload, signing_key, algorithm="RS256", headers={"kid": "city-1"})
    response = call(app, token)
    assert response.status_code == 401, (case, response.text)
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_role_claim_decides_the_scope(app: FastAPI, signing_key: Any) -> None:
    admin = make_token(
        signing_key, sub="admin-1", roles=["urbanpulse-government", "urbanpulse-admin"]
    )
    assert call(app, admin, ADMIN_ROUTE).status_code == 200
    one_role_as_text = make_token(signing_key, roles="urbanpulse-government")
    assert call(app, one_role_as_text).status_code not in (401, 403)


@pytest.mark.parametrize("roles", [[], ["staff"], None, {"urbanpulse-admin": True}, 42])
def test_a_valid_token_without_a_mapped_role_is_refused(
    app: FastAPI, signing_key: Any, roles: Any
) -> None:
    # A citizen account at the same identity provider must not read government data.
    response = call(app, make_token(signing_key, sub="citizen-3", roles=roles))
    assert response.status_code == 403, response.text
    assert "role" in response.json()["error"]["message"]
    refused = [e for e in app.state.access.store.read_audit() if e.status == 403][-1]
    assert refused.path == GOVERNMENT_ROUTE


def test_a_dotted_claim_path_reads_nested_roles(jwks_file: Path, signing_key: Any) -> None:
    verifier = OidcVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_file=jwks_file,
        scope_claim="realm_access.roles",
        claim_scopes={"city-admins": "admin"},
    )
    token = make_token(signing_key, realm_access={"roles": ["city-admins"]})
    assert verifier.verify(token).scope == "admin"
    with pytest.raises(AccessDeniedError):
        verifier.verify(make_token(signing_key, realm_access=["city-admins"]))


def test_a_role_table_naming_an_unknown_scope_is_refused(jwks_file: Path) -> None:
    with pytest.raises(ConfigurationError, match="superuser"):
        OidcVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks_file=jwks_file,
            claim_scopes={"x": "superuser"},  # type: ignore[dict-item]
        )


def test_unsigned_token_is_refused(app: FastAPI) -> None:
    assert call(app, make_token(None, algorithm="none")).status_code == 401


def test_token_signed_with_hmac_over_the_public_key_is_refused(
    app: FastAPI, jwks_file: Path
) -> None:
    # The classic confusion attack: HS256 keyed with the published key's bytes (built by
    # hand, since PyJWT itself refuses to sign so).
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "city-1"}).encode())
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "iat": now, "exp": now + 300}
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(jwks_file.read_bytes(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(mac)}"
    assert call(app, token).status_code == 401


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_token_from_another_key_is_refused(app: FastAPI) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert call(app, make_token(other)).status_code == 401
    assert call(app, make_token(other, kid="unknown")).status_code == 401


def test_without_an_identity_provider_a_jwt_is_an_invalid_key(
    test_lake: Lake, tmp_path: Path, signing_key: Any
) -> None:
    plain = create_app(Settings(lake_path=test_lake.root, access_db=tmp_path / "a.sqlite3"))
    assert call(plain, make_token(signing_key)).status_code == 401


def test_verifier_needs_a_jwks_and_a_readable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        OidcVerifier(issuer=ISSUER, audience=AUDIENCE, claim_scopes=ROLES)  # type: ignore[arg-type]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match="JWKS"):
        OidcVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks_file=tmp_path / "bad.json",
            claim_scopes=ROLES,  # type: ignore[arg-type]
        )


def test_verifier_returns_the_subject(jwks_file: Path, signing_key: Any) -> None:
    verifier = OidcVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_file=jwks_file,
        claim_scopes=ROLES,  # type: ignore[arg-type]
    )
    identity = verifier.verify(make_token(signing_key))
    assert (identity.subject, identity.scope) == ("official-7", "government")
    with pytest.raises(AuthenticationError):
        verifier.verify("not-a-jwt")
