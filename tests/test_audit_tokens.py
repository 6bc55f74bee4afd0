"""The audit chain proves itself intact or names the first broken entry; tokens and keys."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path

import jwt
import pytest

from aquila.catalog.backends.sqlite import AuditLog
from aquila.security.tokens import AuthenticationError, TokenIssuer, parse_ttl
from library_helpers import user


def _log(path: Path, n: int) -> AuditLog:
    log = AuditLog(path)
    for k in range(n):
        log.append(subject=f"s{k}", nation="FRA", action="read item", obj=f"c/i{k}", allowed=k % 2 == 0,
                   reason="test", originators=["DEU"])
    return log


@pytest.mark.parametrize("tamper,broken", [
    ("UPDATE audit SET allowed = 1 WHERE seq = 4", 4),
    ("DELETE FROM audit WHERE seq = 6", 7),
    ("UPDATE audit SET reason = 'edited', hash = 'x' WHERE seq = 2", 2),
])
def test_tampering_is_detected_at_the_first_broken_entry(tmp_path: Path, tamper: str, broken: int) -> None:
    path = tmp_path / "catalog.db"  # the audit log lives in the instance's catalog database
    log = _log(path, 10)
    assert log.verify().ok and log.verify().entries == 10
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log._db.execute("UPDATE audit SET reason = 'x' WHERE seq = 1")
    log.close()
    db = sqlite3.connect(path)  # an attacker with the file drops the guard first
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute(tamper)
    db.commit()
    db.close()
    res = AuditLog(path).verify()
    assert not res.ok and res.first_broken == broken
    out = subprocess.run([sys.executable, "-m", "aquila", "audit", "verify", "--data", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and json.loads(out.stdout)["first_broken"] == broken
    assert f"broken at entry {broken}" in out.stderr


def test_cli_token_prints_only_the_token_and_keeps_the_key_private(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "aquila", "token", "--data", str(tmp_path / "i"), "--nation", "FRA",
                          "--clearance", "NS", "--caveat", "BALTIC", "--role", "provider", "--ttl", "2h"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    tok = out.stdout.strip()
    assert out.stdout == tok + "\n" and tok.count(".") == 2
    key = tmp_path / "i" / "keys" / "token-signing-ed25519.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    u = TokenIssuer(tmp_path / "i").verify(tok)
    assert (u.nation, u.clearance.name, set(u.caveats)) == ("FRA", "NS", {"BALTIC"})
    claims = jwt.decode(tok, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7200
    bad = subprocess.run([sys.executable, "-m", "aquila", "token", "--data", str(tmp_path / "i"), "--nation", "XX",
                          "--clearance", "NS"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--nation" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_tokens_from_another_instance_are_rejected(tmp_path: Path) -> None:
    a, b = TokenIssuer(tmp_path / "a"), TokenIssuer(tmp_path / "b")
    with pytest.raises(AuthenticationError):
        b.verify(a.issue(user("FRA")))
    with pytest.raises(AuthenticationError, match="expired"):
        from datetime import datetime

        a.verify(a.issue(user("FRA"), ttl=timedelta(seconds=5), now=datetime.now(UTC) - timedelta(hours=1)))
    assert parse_ttl("8h") == timedelta(hours=8)
