"""One Aquila instance, opened in one place: its backend, object store, audit trail, tokens and library.

The server, the CLI and analytics all open an instance here, from its data directory; nothing else
chooses the backend. The embedded default keeps everything under the data directory:
`catalog.db` (catalog, outbox, audit log), `assets/`, `keys/` (0600), `revocations.db`, `pipelines.db`
(the analytics pipelines' queue) and `dissemination.db` (subscriptions, alerts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aquila.catalog.backends.sqlite import AuditLog, CatalogStore, Outbox, Revocations, verify_instance
from aquila.catalog.backends.sqlite.db import transient_error
from aquila.catalog.events import EventLog
from aquila.catalog.library import Library
from aquila.catalog.objects import LocalObjectStore, ObjectStore
from aquila.catalog.pipeline_runs import RunQueueStore
from aquila.catalog.port import CatalogBackend
from aquila.errors import AquilaError
from aquila.limits import DEFAULT_MAX_ASSET_BYTES, DEFAULT_MAX_BODY_BYTES, DEFAULT_QUERY_BUDGET_S
from aquila.security.audit import AuditTrail, Checkpoint, VerifyResult
from aquila.security.tokens import OidcIssuer, TokenIssuer

if TYPE_CHECKING:
    from aquila.catalog.backends.sqlite.dissemination import DisseminationStore

__all__ = ["Instance"]


@dataclass
class Instance:
    """Everything one running instance needs, opened from its data directory."""

    data_dir: Path
    store: CatalogBackend
    audit: AuditTrail
    tokens: TokenIssuer
    objects: ObjectStore
    library: Library
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_asset_bytes: int = DEFAULT_MAX_ASSET_BYTES

    @classmethod
    def open(cls, data_dir: str | Path, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
             max_asset_bytes: int = DEFAULT_MAX_ASSET_BYTES, oidc: OidcIssuer | None = None,
             query_budget_s: float = DEFAULT_QUERY_BUDGET_S) -> Instance:
        d = Path(data_dir)
        d.mkdir(parents=True, exist_ok=True)
        # The audit log lives in the catalog's database file so that a write, its audit entries and
        # its events commit in one transaction.
        store = CatalogStore(d / "catalog.db", query_budget_s)
        audit = AuditLog(d / "catalog.db")
        objects = LocalObjectStore(d / "assets")
        tokens = TokenIssuer(d, oidc=oidc, revocations=Revocations(d))
        inst = cls(d, store, audit, tokens, objects, Library(store, audit, objects), max_body_bytes, max_asset_bytes)
        store.collect(objects.delete)  # bytes left by a crash between a delete and its collection
        return inst

    @staticmethod
    def tokens_of(data_dir: str | Path) -> TokenIssuer:
        """Only the token issuer of an instance (issue, revoke): its catalog is not opened, so a long
        write elsewhere never delays a token."""
        return TokenIssuer(data_dir, revocations=Revocations(data_dir))

    @staticmethod
    def catalog_of(data_dir: str | Path) -> CatalogBackend:
        """Only the catalog store of an instance (e.g. to register caveats); close it when done."""
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        return CatalogStore(Path(data_dir) / "catalog.db")

    @staticmethod
    def audit_of(data_dir: str | Path) -> AuditTrail:
        """Only the audit trail of an instance (checkpoint, the operator's listing); close it when done."""
        return AuditLog(Path(data_dir) / "catalog.db")

    @staticmethod
    def transient_error(exc: BaseException) -> AquilaError | None:
        """The project error a backend failure stands for when it means load (a locked database), else None."""
        return transient_error(exc)

    @staticmethod
    def verify_audit(data_dir: str | Path, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult:
        """Walk an instance's audit chain and check its signed head, read-only: creates nothing."""
        return verify_instance(data_dir, checkpoints)

    @property
    def findings_key(self) -> bytes:
        """The instance's secret for analytics products' ids (`keys/findings-id.key`, 0600): ids nobody outside
        can predict (no planting an item where a finding will go) or invert (no reading a source's label)."""
        from aquila.security.keys import load_or_create_secret

        return load_or_create_secret(self.data_dir / "keys" / "findings-id.key")

    def pipeline_runs(self) -> RunQueueStore:
        """The durable queue of pipeline runs (`pipelines.db`; a new handle: close it when done)."""
        from aquila.catalog.backends.sqlite.pipeline_runs import RunQueue

        return RunQueue(self.data_dir / "pipelines.db")

    def dissemination(self) -> DisseminationStore:
        """Subscriptions and alerts (`dissemination.db`; a new handle: close it when done)."""
        from aquila.catalog.backends.sqlite.dissemination import DisseminationStore

        return DisseminationStore(self.data_dir / "dissemination.db")

    def events(self) -> EventLog:
        """The catalog's event outbox (a new reader; close it when done)."""
        return Outbox(self.data_dir / "catalog.db")

    def close(self) -> None:
        self.store.close()
        self.audit.close()
