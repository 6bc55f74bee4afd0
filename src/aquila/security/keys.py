"""Instance secrets in `<data>/keys/`: created on first use with mode 0600, never overwritten."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aquila.errors import AquilaError

__all__ = ["load_or_create_secret", "load_or_create_ed25519"]


def _create(path: Path, data: bytes) -> bool:
    """Write `data` to a new 0600 file; False if it already exists (another process won the race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return True


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """A random secret key (e.g. for HMAC), created on first use."""
    _create(path, secrets.token_bytes(nbytes))
    data = path.read_bytes()
    if len(data) < 32:
        raise AquilaError(f"{path} holds {len(data)} bytes; a key needs at least 32 (restore it from backup)")
    return data


def load_or_create_ed25519(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 signing key (PKCS#8 PEM), created on first use."""
    key = Ed25519PrivateKey.generate()
    _create(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise AquilaError(f"{path} does not hold an Ed25519 private key")
    return loaded
