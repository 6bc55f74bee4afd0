"""Tamper-evident audit log: every decision appended to a keyed hash chain, its head signed apart.

* Each entry's MAC (HMAC-SHA256 with the instance's audit key, `keys/audit-hmac.key`, 0600)
  covers its content and the previous entry's MAC: editing, deleting or reordering an entry breaks
  every MAC after it, and without the key nobody can recompute them.
* After every commit the chain's head (last seq and MAC) is signed with the instance's Ed25519
  audit key and kept apart from the table, beside the keys (`keys/audit-head.db`, as protected as
  the MAC key), with periodic checkpoints. Deleting the tail, emptying or dropping the table leaves
  a signed head that names entries no longer there; every append first checks that the table
  still reaches the head, so new entries cannot launder a deletion.
* A checkpoint can be exported (`aquila audit checkpoint`) and held by a provider; verifying
  against it detects even a rollback of both files to an older state.

`verify()` names the first broken entry, or the head or checkpoint the table contradicts. The table
is also append-only by trigger, which guards against mistakes; the MACs guard against the rest.

This module holds what every backend shares (entries, scopes, the MAC chain, the `AuditTrail`
interface); the storage is the backend's, in the catalog's own database so that a write and its
entries commit together (`aquila.catalog.backends.sqlite.audit_log`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aquila.errors import AuditTampered
from aquila.security.audit_head import Checkpoint
from aquila.security.labels import Label

__all__ = ["AuditTrail", "AuditEntry", "AuditTampered", "Checkpoint", "Scope", "VerifyResult", "GENESIS", "NOBODY",
           "entry_mac", "entry_fields", "scope_labels", "storable_text"]

GENESIS = "0" * 64
NOBODY = 5
"""Stored level of an entry no viewer of its nation may see (its object is not even releasable to it)."""


@dataclass(frozen=True)
class Scope:
    """What a viewer of `originator` must hold to see an entry about an object: the object's level and
    caveats combined with its container's (an item is readable only if its collection is)."""

    originator: str
    level: int
    caveats: frozenset[str] = frozenset()

    @classmethod
    def of(cls, label: Label, container: Label | None = None) -> Scope:
        if container is None:
            return cls(label.originator, int(label.classification), label.caveats)
        level = max(int(label.classification), int(container.classification))
        if label.originator not in container.audience:
            level = NOBODY
        return cls(label.originator, level, label.caveats | container.caveats)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    subject: str
    nation: str
    action: str
    object: str
    originators: tuple[str, ...]
    allowed: bool
    reason: str
    prev_hash: str
    hash: str
    labels: str = "{}"
    """JSON {originator: [classification, [caveats]]}: per nation, the most restrictive label of the
    objects of that nation the entry names. A nation's view shows the entry only to viewers whose
    clearance and caveats cover it."""

    def as_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["originators"] = list(self.originators)
        d.pop("labels")
        return d

    def visible_to(self, nation: str, clearance: int, caveats: frozenset[str]) -> bool:
        """May a viewer of `nation` with this clearance and these caveats see this entry in its view?"""
        if nation not in self.originators:
            return False
        try:
            level, needed = json.loads(self.labels).get(nation, [0, []])
            return int(level) <= clearance and set(needed) <= caveats
        except (ValueError, TypeError, AttributeError):  # malformed: only verify may judge it; show nothing
            return False


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""


def storable_text(value: Any, most: int = 4000) -> str:
    """A field as storable text: never fails (lone surrogates escaped), bounded."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")[:most]


def entry_mac(key: bytes, prev: str, fields: Sequence[Any]) -> str:
    body = json.dumps([prev, *fields], separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def entry_fields(e: AuditEntry) -> list[Any]:
    return [e.seq, e.time, e.subject, e.nation, e.action, e.object, list(e.originators), int(e.allowed), e.reason,
            e.labels]


def scope_labels(objects: Iterable[Label | Scope]) -> dict[str, list[Any]]:
    """Per originator, the most restrictive scope of its objects: highest level, all caveats."""
    out: dict[str, list[Any]] = {}
    for obj in objects:
        sc = obj if isinstance(obj, Scope) else Scope.of(obj)
        level, caveats = out.get(sc.originator, [0, []])
        out[sc.originator] = [max(level, sc.level), sorted(set(caveats) | sc.caveats)]
    return out


class AuditTrail(Protocol):
    """The audit log as the rest of Aquila uses it; a backend stores it beside the catalog."""

    def append(self, *, subject: str, nation: str, action: str, obj: str, allowed: bool, reason: str,
               originators: Iterable[str] = (), labels: Iterable[Label | Scope] = ()) -> AuditEntry: ...

    def append_many(self, decisions: Sequence[dict[str, Any]]) -> list[AuditEntry]: ...

    def batch(self, decisions: Sequence[dict[str, Any]]) -> Any:
        """Entries to write inside a catalog write's own transaction (passed as its `in_transaction`)."""
        ...

    def entries_page(self, *, originator: str | None = None, after: int = 0, limit: int = 100,
                     viewer: tuple[int, frozenset[str]] | None = None) -> tuple[list[AuditEntry], int | None]: ...

    def checkpoint(self) -> Checkpoint: ...

    def verify(self, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult: ...

    def close(self) -> None: ...
