"""Tokens of an external OIDC issuer, keys fetched from its JWKS endpoint (a real local server)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from aquila.security.tokens import AuthenticationError, OidcIssuer, TokenIssuer

ISSUER = "https://idp.alliance.example"


@pytest.fixture()
def idp():  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="ES256")
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield key, f"http://127.0.0.1:{srv.server_address[1]}/jwks.json"
    srv.shutdown()
    srv.server_close()


def _token(key, **over) -> str:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    claims = {"iss": ISSUER, "aud": "aquila", "sub": "alice", "iat": int(now.timestamp()),
              "exp": int((now + timedelta(hours=1)).timestamp()), "nation": "NOR", "clearance": "NS",
              "caveats": ["BALTIC"], "roles": ["analyst"], **over}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})


def test_external_issuer_tokens_are_verified_against_its_jwks(idp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key, url = idp
    issuer = TokenIssuer(tmp_path, oidc=OidcIssuer(ISSUER, url, audience="aquila"))
    u = issuer.verify(_token(key))
    assert (u.nation, u.clearance.name, set(u.caveats)) == ("NOR", "NS", {"BALTIC"})
    with pytest.raises(AuthenticationError):
        issuer.verify(_token(key, aud="someone-else"))
    with pytest.raises(AuthenticationError, match="expired"):
        issuer.verify(_token(key, exp=int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())))
    with pytest.raises(AuthenticationError):  # signed by another key
        issuer.verify(_token(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(AuthenticationError):  # symmetric algorithms are never accepted
        issuer.verify(jwt.encode({"iss": ISSUER, "nation": "NOR"}, "secret" * 6, algorithm="HS256"))
    # the instance's own tokens still work beside it
    from aquila.security.labels import Classification
    from aquila.security.policy import User

    assert issuer.verify(issuer.issue(User("FRA", Classification.NR))).nation == "FRA"
