"""Object store port for asset bytes, and the embedded default: a local directory.

Keys are `collection/item/asset`; each part must be a catalog id, so a key can never escape
the root. Writes go to a temporary file, are fsynced and renamed into place: a reader never
sees half an object and a crash never leaves one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aquila.errors import InputError, PayloadTooLarge

__all__ = ["ObjectStore", "LocalObjectStore", "StoredObject"]

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$")


def _sync(f: Any) -> None:
    f.flush()
    os.fsync(f.fileno())


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterator[bytes], max_bytes: int) -> StoredObject: ...

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        """Store a small object made in-process (e.g. an analytics product), atomically."""
        ...

    def path(self, key: str) -> Path | None: ...

    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    parts = key.split("/")
    if len(parts) != 3 or not all(_PART.match(p) for p in parts):
        raise InputError(f"{key!r}", field="asset key", expected="collection/item/asset ids (A-Z a-z 0-9 . _ : -)")
    return key


class LocalObjectStore:
    """Assets as files under `root` (the instance's `assets/` directory)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    async def put(self, key: str, chunks: AsyncIterator[bytes], max_bytes: int) -> StoredObject:
        dest = self.root / check_key(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".upload-")
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(f"upload exceeds {max_bytes} bytes", field="body",
                                       expected=f"at most {max_bytes} bytes (AQUILA_MAX_ASSET_BYTES)")
                    digest.update(chunk)
                    await asyncio.to_thread(f.write, chunk)  # disk waits never block the event loop
                await asyncio.to_thread(_sync, f)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return StoredObject(key, size, digest.hexdigest())

    def put_bytes(self, key: str, data: bytes) -> StoredObject:
        dest = self.root / check_key(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                _sync(f)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return StoredObject(key, len(data), hashlib.sha256(data).hexdigest())

    def path(self, key: str) -> Path | None:
        p = self.root / check_key(key)
        return p if p.is_file() else None

    def delete(self, key: str) -> None:
        p = self.root / check_key(key)
        if p.exists():
            p.unlink()
