"""Signed bearer tokens (JWT, Ed25519) carrying nation, clearance, caveats and roles.

The instance's signing key is created on first use in its data directory with mode 0600 and
never leaves it. Verification rejects missing, expired, forged and malformed tokens alike.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aquila.errors import AuthenticationError, InputError
from aquila.limits import MAX_TOKEN_TTL as MAX_TTL
from aquila.security.keys import load_or_create_ed25519
from aquila.security.labels import Classification
from aquila.security.nations import check_nation
from aquila.security.policy import Role, User

__all__ = ["TokenIssuer", "OidcIssuer", "AuthenticationError", "RevocationList", "parse_ttl", "MAX_TTL",
           "user_from_claims"]

_ALGORITHM = "EdDSA"
"""Longest token lifetime accepted (issued or verified): a leaked token dies within a week at worst."""
_CLOCK_SKEW_S = 60
_CAVEAT = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_SUBJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:/+-]{0,199}")


def parse_ttl(text: str) -> timedelta:
    """'90s', '30m', '8h', '2d' -> timedelta (at most MAX_TTL)."""
    m = re.fullmatch(r"\s*(\d{1,9})\s*([smhd])\s*", text or "")
    if not m:
        raise InputError(f"{text!r}", field="--ttl", expected="a number and a unit: 90s, 30m, 8h or 2d")
    n, unit = int(m.group(1)), m.group(2)
    ttl = timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})
    if not timedelta(seconds=1) <= ttl <= MAX_TTL:
        raise InputError(f"{text!r}", field="--ttl",
                         expected=f"between 1 second and {MAX_TTL.days} days, e.g. 90s, 30m, 8h or {MAX_TTL.days}d")
    return ttl


class RevocationList(Protocol):
    """Revoked token ids and subjects, checked on every request (a backend stores them)."""

    def revoke_token(self, jti: str, expires: float) -> None: ...

    def revoke_subject(self, subject: str, issued_before: float | None = None) -> float: ...

    def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool: ...


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

    def __init__(self, data_dir: str | Path, issuer: str = "aquila", oidc: OidcIssuer | None = None,
                 revocations: RevocationList | None = None) -> None:
        """`revocations` defaults to the embedded store in `data_dir` (what `aquila token revoke` writes)."""
        self.key_path = Path(data_dir) / "keys" / "token-signing-ed25519.pem"
        self._key = load_or_create_ed25519(self.key_path)
        self._public: Ed25519PublicKey = self._key.public_key()
        self.issuer = issuer
        self.oidc = oidc
        if revocations is None:  # the embedded default, opened where the CLI and the server both find it
            from aquila.catalog.backends.sqlite.revocations import Revocations

            revocations = Revocations(data_dir)
        self.revocations = revocations
        self._jwks = jwt.PyJWKClient(oidc.jwks_url, cache_keys=True, timeout=10) if oidc else None

    def issue(self, user: User, ttl: timedelta = timedelta(hours=8), now: datetime | None = None) -> str:
        if not timedelta(seconds=1) <= ttl <= MAX_TTL:
            raise InputError(f"{ttl}", field="ttl", expected=f"between 1 second and {MAX_TTL.days} days")
        now = now or datetime.now(UTC)
        jti = uuid.uuid4().hex
        claims = {  # no subject given: one of its own, so tokens issued without one never share subscriptions
            "iss": self.issuer, "sub": user.subject or f"{user.nation.lower()}-user-{jti[:12]}", "jti": jti,
            "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()),
            "nation": user.nation, "clearance": user.clearance.name,
            "caveats": sorted(user.caveats), "roles": sorted(r.value for r in user.roles),
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    @staticmethod
    def times(token: str) -> tuple[float, float, str]:
        """(iat, exp, jti) of a token `verify` has accepted (read without checking again): what a standing
        delivery needs to stop with the token's revocation or expiry."""
        try:
            c = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token") from None
        return float(c.get("iat", 0)), float(c.get("exp", 0)), str(c.get("jti", ""))[:200]

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of one of this instance's tokens (for `aquila token revoke --token`)."""
        try:
            return jwt.decode(token, self._public, algorithms=[_ALGORITHM], issuer=self.issuer,
                              options={"require": ["exp", "iat", "iss", "jti", "sub"], "verify_exp": False})
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token") from None

    def verify(self, token: str) -> User:
        if len(token) > 8192:
            raise AuthenticationError("invalid token")
        if self.oidc is not None and self._jwks is not None:
            try:
                iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
            except jwt.PyJWTError:
                raise AuthenticationError("invalid token") from None
            if iss == self.oidc.issuer:
                return self._checked(self._verify_oidc(token), require_jti=False)
        try:
            claims = jwt.decode(token, self._public, algorithms=[_ALGORITHM], issuer=self.issuer,
                                options={"require": ["exp", "iat", "iss", "jti", "sub", "nation", "clearance"]})
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token") from None
        return self._checked(claims)

    def _checked(self, claims: dict[str, Any], require_jti: bool = True) -> User:
        user = user_from_claims(claims)
        iat, exp = claims["iat"], claims["exp"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)):
            raise AuthenticationError("invalid token claims")
        if exp - iat > MAX_TTL.total_seconds() or iat > time.time() + _CLOCK_SKEW_S:
            raise AuthenticationError(f"token lifetime exceeds {MAX_TTL.days} days or it was issued in the future")
        jti = claims.get("jti", None if require_jti else "")
        if not isinstance(jti, str) or len(jti) > 200:
            raise AuthenticationError("invalid token claims")
        if self.revocations.is_revoked(jti, user.subject, iat):
            raise AuthenticationError("token revoked")
        return user

    def _verify_oidc(self, token: str) -> dict[str, Any]:
        assert self.oidc is not None and self._jwks is not None
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            return jwt.decode(token, key.key, algorithms=list(self.oidc.algorithms), issuer=self.oidc.issuer,
                              audience=self.oidc.audience,
                              options={"require": ["exp", "iat", "iss", "sub", "nation", "clearance"],
                                       "verify_aud": self.oidc.audience is not None})
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except (jwt.PyJWTError, jwt.PyJWKClientError):
            raise AuthenticationError("invalid token") from None


def user_from_claims(claims: dict[str, Any]) -> User:
    """A User from verified claims, every claim strictly typed (a caveats string is not a list)."""
    nation, clearance = claims.get("nation"), claims.get("clearance")
    caveats, roles, sub = claims.get("caveats", []), claims.get("roles", []), claims.get("sub", "")
    ok = (isinstance(nation, str) and isinstance(clearance, str) and isinstance(caveats, list)
          and isinstance(roles, list) and isinstance(sub, str) and len(caveats) <= 64 and len(roles) <= 8
          and all(isinstance(c, str) and _CAVEAT.fullmatch(c) for c in caveats)
          and all(isinstance(r, str) for r in roles) and _SUBJECT.fullmatch(sub))
    if not ok:
        raise AuthenticationError("invalid token claims")
    try:
        return User(check_nation(nation), Classification.parse(clearance), frozenset(caveats),
                    frozenset(Role(r) for r in roles), sub)
    except (ValueError, InputError):
        raise AuthenticationError("invalid token claims") from None
