"""The embedded default backend: the whole instance state in SQLite files under its data directory.

`catalog.db` holds collections, items, the R*Tree, asset records, the event outbox and the audit
log — so a write, its events and its audit entries commit in one transaction; `keys/audit-head.db`
holds the log's signed head and `revocations.db` the revoked tokens. Only this package imports
`sqlite3` (tested).
"""

from aquila.catalog.backends.sqlite.audit_log import AuditBatch, AuditLog, verify_instance
from aquila.catalog.backends.sqlite.outbox import Consumer, Outbox
from aquila.catalog.backends.sqlite.revocations import Revocations
from aquila.catalog.backends.sqlite.store import CatalogStore

__all__ = ["CatalogStore", "AuditLog", "AuditBatch", "verify_instance", "Outbox", "Consumer", "Revocations"]
