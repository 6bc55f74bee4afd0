"""The audit log's signed head and checkpoints, and the keys that make and check them.

The head (last seq and MAC of the chain) is signed with the instance's Ed25519 audit key after
every commit and kept beside the keys (`keys/audit-head.db`), apart from the table; checkpoints are
kept there too and can be exported for a provider to hold (`aquila audit checkpoint`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aquila.errors import InputError
from aquila.security.keys import load_or_create_ed25519, load_or_create_secret

__all__ = ["Checkpoint", "AuditKeys", "CHECKPOINT_EVERY", "CHECKPOINT_SECONDS"]

CHECKPOINT_EVERY = 1000
CHECKPOINT_SECONDS = 300.0



@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain held `seq` entries ending with MAC `hash` at `time`."""

    seq: int
    hash: str
    time: float
    sig: str
    public_key: str = ""

    def statement(self) -> bytes:
        return json.dumps({"seq": self.seq, "hash": self.hash, "time": self.time}, sort_keys=True).encode()

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "time": self.time, "sig": self.sig, "public_key": self.public_key}

    @classmethod
    def from_dict(cls, d: Any) -> Checkpoint:
        try:
            return cls(int(d["seq"]), str(d["hash"]), float(d["time"]), str(d["sig"]), str(d.get("public_key", "")))
        except (KeyError, TypeError, ValueError):
            raise InputError("not an Aquila audit checkpoint", field="checkpoint",
                             expected="the JSON `aquila audit checkpoint` prints: seq, hash, time, sig, public_key",
                             ) from None


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


class AuditKeys:
    """The MAC key (chain) and the signing key (head, checkpoints) of one instance."""

    def __init__(self, keys_dir: Path, create: bool) -> None:
        mac_path = keys_dir / "audit-hmac.key"
        sign_path = keys_dir / "audit-signing-ed25519.pem"
        self.existed = mac_path.exists()
        if not create and not self.existed:
            self.mac = b""
            self.sign: Ed25519PrivateKey | None = None
            return
        self.mac = load_or_create_secret(mac_path)
        self.sign = load_or_create_ed25519(sign_path)

    def checkpoint(self, seq: int, mac: str) -> Checkpoint:
        assert self.sign is not None
        cp = Checkpoint(seq, mac, round(time.time(), 3), "")
        return Checkpoint(seq, mac, cp.time, self.sign.sign(cp.statement()).hex(), _public_hex(self.sign.public_key()))

    def valid(self, cp: Checkpoint) -> bool:
        if self.sign is None:
            return False
        pub = self.sign.public_key()
        if cp.public_key and cp.public_key != _public_hex(pub):
            return False
        try:
            pub.verify(bytes.fromhex(cp.sig), cp.statement())
            return True
        except (InvalidSignature, ValueError):
            return False
