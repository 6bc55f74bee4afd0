"""Signed bearer tokens (JWT, Ed25519) carrying nation, clearance, caveats and roles.

The instance's signing key is created on first use in its data directory with mode 0600 and
never leaves it. Verification rejects missing, expired, forged and malformed tokens alike.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aquila.errors import AquilaError, InputError
from aquila.security.labels import Classification
from aquila.security.nations import check_nation
from aquila.security.policy import Role, User

__all__ = ["TokenIssuer", "OidcIssuer", "AuthenticationError", "parse_ttl"]

_ALGORITHM = "EdDSA"


class AuthenticationError(AquilaError):
    """No valid token: missing, expired, forged or malformed (HTTP 401)."""


def parse_ttl(text: str) -> timedelta:
    """'90s', '30m', '8h', '2d' -> timedelta."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text or "")
    if not m:
        raise InputError(f"{text!r}", field="--ttl", expected="a number and a unit: 90s, 30m, 8h or 2d")
    n, unit = int(m.group(1)), m.group(2)
    ttl = timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})
    if not timedelta(seconds=1) <= ttl <= timedelta(days=30):
        raise InputError(f"{text!r}", field="--ttl", expected="between 1 second and 30 days")
    return ttl


def _load_or_create_key(path: Path) -> Ed25519PrivateKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):  # pragma: no cover - someone replaced the file
            raise AquilaError(f"{path} does not hold an Ed25519 private key") from None
        return key
    key = Ed25519PrivateKey.generate()
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
        f.flush()
        os.fsync(f.fileno())
    return key


@dataclass(frozen=True)
class OidcIssuer:
    """An external OpenID Connect issuer whose tokens are accepted beside the instance's own.

    Its tokens must carry the same claims (`nation`, `clearance`, optional `caveats`, `roles`);
    keys come from its JWKS endpoint (cached), algorithms are asymmetric only.
    """

    issuer: str
    jwks_url: str
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")


class TokenIssuer:
    """Issues and verifies this instance's tokens (and, optionally, an external OIDC issuer's)."""

    def __init__(self, data_dir: str | Path, issuer: str = "aquila", oidc: OidcIssuer | None = None) -> None:
        self.key_path = Path(data_dir) / "keys" / "token-signing-ed25519.pem"
        self._key = _load_or_create_key(self.key_path)
        self._public: Ed25519PublicKey = self._key.public_key()
        self.issuer = issuer
        self.oidc = oidc
        self._jwks = jwt.PyJWKClient(oidc.jwks_url, cache_keys=True, timeout=10) if oidc else None

    def issue(self, user: User, ttl: timedelta = timedelta(hours=8), now: datetime | None = None) -> str:
        now = now or datetime.now(timezone.utc)
        claims = {
            "iss": self.issuer, "sub": user.subject or f"{user.nation.lower()}-user", "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()),
            "nation": user.nation, "clearance": user.clearance.name,
            "caveats": sorted(user.caveats), "roles": sorted(r.value for r in user.roles),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def verify(self, token: str) -> User:
        if self.oidc is not None and self._jwks is not None:
            try:
                iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
            except jwt.PyJWTError:
                raise AuthenticationError("invalid token") from None
            if iss == self.oidc.issuer:
                return self._verify_oidc(token)
        try:
            claims = jwt.decode(token, self._public, algorithms=[_ALGORITHM], issuer=self.issuer,
                                options={"require": ["exp", "iat", "iss", "nation", "clearance"]})
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token") from None
        return user_from_claims(claims)


    def _verify_oidc(self, token: str) -> User:
        assert self.oidc is not None and self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=list(self.oidc.algorithms), issuer=self.oidc.issuer,
                                audience=self.oidc.audience,
                                options={"require": ["exp", "iat", "iss", "nation", "clearance"],
                                         "verify_aud": self.oidc.audience is not None})
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except (jwt.PyJWTError, jwt.PyJWKClientError):
            raise AuthenticationError("invalid token") from None
        return user_from_claims(claims)


def user_from_claims(claims: dict[str, Any]) -> User:
    try:
        nation = check_nation(claims["nation"])
        clearance = Classification.parse(claims["clearance"])
        caveats = frozenset(str(c) for c in claims.get("caveats", []))
        roles = frozenset(Role(r) for r in claims.get("roles", []))
    except (ValueError, KeyError, TypeError, InputError):
        raise AuthenticationError("invalid token claims") from None
    return User(nation, clearance, caveats, roles, str(claims.get("sub", "")))
