"""The embedded catalog store: SQLite (WAL) with label partitions and an R*Tree over them.

**The rule in every query.** Items are grouped in partitions — one per collection instance and
label class (classification, caveat bits, audience bits = originator + expanded REL TO). A search
first selects the partitions the user may read (item label *and* collection label, in SQL), then
walks only those (see `aquila.catalog.search`): results, counts, pages, order and cost all follow
what the user may read.

**Identity without an existence oracle (polyinstantiation).** An object's identity is its id
*plus* its originator, classification and caveats. Creating `x` fails with 409 exactly when the
creator can already read an `x` there; otherwise it succeeds, even when others hold an `x` the
creator cannot see — both then exist, each under its own label. Because a writer may only write
labels it could read (`security.policy.may_write`), a clash of identities is always with an
object the writer can read. Addressed by id, a user gets the *preferred* readable instance: own
nation's first, then the highest classification, then the oldest.

**Assets die with their item.** Asset bytes are keyed by the item's internal row id (never
reused) and a random part; deleting an item deletes its asset rows in the same transaction and
queues the bytes for collection, so no byte of a deleted item is ever served again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from aquila.catalog.backends.sqlite.collections import CollectionStore
from aquila.catalog.backends.sqlite.cql2sql import PROMOTED
from aquila.catalog.backends.sqlite.db import TRANSIENT, connect, transaction, transient_error
from aquila.catalog.backends.sqlite.lifecycle import AssetLifecycle
from aquila.catalog.backends.sqlite.outbox import OUTBOX_SCHEMA, append_event, notify_committed
from aquila.catalog.backends.sqlite.release_rules import RELEASE_RULES_SCHEMA, ReleaseRuleStore
from aquila.catalog.backends.sqlite.rule import LabelRule
from aquila.catalog.backends.sqlite.search_sql import (
    COUNT_CAP,
    GEOMETRIES,
    MAX_OFFSET,
    PARTITION_SPACING,
    build_page_sql,
    span_class,
)
from aquila.catalog.model import AssetRecord, SearchPage, SearchQuery, StoredCollection, StoredItem
from aquila.catalog.validate import ItemRow
from aquila.errors import AquilaError, Conflict, InputError, QueryTooExpensive, Stale
from aquila.limits import DEFAULT_QUERY_BUDGET_S, MAX_LABELS_PER_ORIGINATOR
from aquila.security.audit import Scope
from aquila.security.labels import Classification, Label
from aquila.security.policy import User

__all__ = ["CatalogStore", "MAX_LABELS_PER_ORIGINATOR"]

SCHEMA_VERSION = 2
_AUD = "aud0 INTEGER NOT NULL, aud1 INTEGER NOT NULL, aud2 INTEGER NOT NULL, aud3 INTEGER NOT NULL"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS collections (
  crid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, originator TEXT NOT NULL,
  classification INTEGER NOT NULL, caveat_mask INTEGER NOT NULL, {_AUD}, doc TEXT NOT NULL,
  retired INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1);
CREATE UNIQUE INDEX IF NOT EXISTS collections_identity ON collections (id, originator, classification, caveat_mask)
  WHERE retired = 0;
CREATE TABLE IF NOT EXISTS partitions (
  pid INTEGER PRIMARY KEY AUTOINCREMENT, crid INTEGER NOT NULL REFERENCES collections (crid),
  classification INTEGER NOT NULL, caveat_mask INTEGER NOT NULL, {_AUD}, span_class INTEGER NOT NULL,
  UNIQUE (crid, classification, caveat_mask, aud0, aud1, aud2, aud3, span_class));
CREATE TABLE IF NOT EXISTS partition_origin (crid INTEGER NOT NULL, originator TEXT NOT NULL, pid INTEGER NOT NULL,
  PRIMARY KEY (crid, originator, pid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
  rid INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, crid INTEGER NOT NULL, collection TEXT NOT NULL,
  id TEXT NOT NULL, originator TEXT NOT NULL, classification INTEGER NOT NULL, caveat_mask INTEGER NOT NULL,
  start_dt REAL NOT NULL, end_dt REAL NOT NULL, minx REAL, miny REAL, maxx REAL, maxy REAL, geom BLOB,
  doc TEXT NOT NULL, p_eo_cloud_cover REAL, p_gsd REAL, p_view_off_nadir REAL, p_platform TEXT, p_constellation TEXT,
  version INTEGER NOT NULL DEFAULT 1);
CREATE UNIQUE INDEX IF NOT EXISTS items_identity ON items (id, crid, originator, classification, caveat_mask);
CREATE INDEX IF NOT EXISTS items_partition_time ON items (pid, start_dt, end_dt, p_eo_cloud_cover, p_gsd,
  p_view_off_nadir);
CREATE INDEX IF NOT EXISTS items_crid ON items (crid);
CREATE VIRTUAL TABLE IF NOT EXISTS items_rtree USING rtree(rid, minx, maxx, miny, maxy, minp, maxp);
CREATE TABLE IF NOT EXISTS assets (rid INTEGER NOT NULL, name TEXT NOT NULL, object_key TEXT NOT NULL,
  size INTEGER NOT NULL, sha256 TEXT NOT NULL, media_type TEXT NOT NULL, PRIMARY KEY (rid, name));
CREATE TABLE IF NOT EXISTS object_gc (object_key TEXT PRIMARY KEY, after REAL NOT NULL);
CREATE TABLE IF NOT EXISTS caveats (name TEXT PRIMARY KEY, bit INTEGER NOT NULL UNIQUE);
"""

_ITEM_COLS = ["pid", "crid", "collection", "id", "originator", "classification", "caveat_mask", "start_dt",
              "end_dt", "minx", "miny", "maxx", "maxy", "geom", "doc", *PROMOTED.values()]
_INSERT = f"INSERT INTO items ({', '.join(_ITEM_COLS)}) VALUES ({', '.join('?' * len(_ITEM_COLS))})"
_UPDATE = f"UPDATE items SET {', '.join(c + '=?' for c in _ITEM_COLS)}, version = version + 1 WHERE rid=?"



def _scalar(v: Any) -> Any:
    """A promoted column holds numbers and strings only (anything else stays in the JSON only)."""
    return v if isinstance(v, int | float | str) and not isinstance(v, bool) else None


class CatalogStore(LabelRule, CollectionStore, AssetLifecycle, ReleaseRuleStore):
    """Collections and items of one instance, in `<data>/catalog.db` (a `aquila.catalog.port.CatalogBackend`)."""

    transient_types = TRANSIENT
    transient_error = staticmethod(transient_error)

    def __init__(self, path: str | Path, query_budget_s: float = DEFAULT_QUERY_BUDGET_S) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.query_budget_s = query_budget_s
        self._local = threading.local()
        self._write_lock = threading.RLock()
        try:
            db = self._conn()
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:  # not a database at all (another file, or damaged)
            raise AquilaError(f"{self.path} is not a readable catalog ({exc}): restore it from a backup or use "
                              "another data directory") from None
        old = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'items'").fetchone()
        if version != SCHEMA_VERSION and (old or version):
            raise AquilaError(f"{self.path} holds catalog schema {version or 1}; this Aquila needs {SCHEMA_VERSION}: "
                              "create a new instance directory and ingest the items again")
        db.executescript(_SCHEMA + OUTBOX_SCHEMA + RELEASE_RULES_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._caveats = dict(db.execute("SELECT name, bit FROM caveats").fetchall())
        self._partition_cache: dict[tuple[Any, ...], int] = {}

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path, synchronous="FULL")
            db.execute("PRAGMA cache_size=-65536")
            db.create_function("st_intersects", 2, GEOMETRIES.intersects, deterministic=True)
            db.set_progress_handler(self._over_budget, 1000)
            self._local.db = db
            self._local.deadline = None
        return db

    def _over_budget(self) -> int:
        deadline = getattr(self._local, "deadline", None)
        return int(deadline is not None and time.monotonic() > deadline)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _write(self, body: Callable[[sqlite3.Connection], Any],
               in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> Any:
        """Run `body` (then `in_transaction`, e.g. the audit entries) in one durable transaction."""
        db = self._conn()
        with self._write_lock:
            try:
                with transaction(db):
                    self._partition_cache = {}
                    out = body(db)
                    if in_transaction is not None:
                        in_transaction(db)
            except sqlite3.IntegrityError as exc:
                self._reload_caveats()
                if "UNIQUE" in str(exc):
                    raise Conflict("an object with this id and label already exists") from None
                raise
            except BaseException:
                self._reload_caveats()
                raise
        after_commit = getattr(in_transaction, "after_commit", None)
        if after_commit is not None:  # e.g. an AuditBatch signs the chain's new head
            after_commit()
        notify_committed()
        return out

    def readable_partitions(self, user: User, collections: Sequence[str] | None = None) -> list[int]:
        """Partitions whose item label *and* collection label the user may read."""
        return [p for p, _ in self._readable(user, collections)]

    def _readable(self, user: User, collections: Sequence[str] | None = None) -> list[tuple[int, int]]:
        """(partition, span class) of the partitions the user may read."""
        p_sql, p_par = self._rule(user, "p")
        c_sql, c_par = self._rule(user, "c")
        sql = (f"SELECT p.pid, p.span_class FROM partitions p JOIN collections c ON c.crid = p.crid "
               f"WHERE {p_sql} AND {c_sql}")
        params = [*p_par, *c_par]
        if collections is not None:
            sql += " AND c.id IN (" + ",".join("?" * len(collections)) + ")"
            params += list(collections)
        return [(r[0], r[1]) for r in self._conn().execute(sql + " ORDER BY p.pid", params)]

    # --- items ---------------------------------------------------------------------------------
    def _partition(self, db: sqlite3.Connection, crid: int, label: Label, span_s: float,
                   writer: User | None = None) -> tuple[int, int]:
        cols = (*self._label_columns(db, label), span_class(span_s))
        key = (crid, label.originator, *cols)
        pid = self._partition_cache.get(key)  # valid within this write; cleared on rollback
        if pid is not None:
            return pid, cols[1]
        row = db.execute("SELECT pid FROM partitions WHERE crid=? AND classification=? AND caveat_mask=? AND aud0=? "
                         "AND aud1=? AND aud2=? AND aud3=? AND span_class=?", (crid, *cols)).fetchone()
        pid = row[0] if row else db.execute("INSERT INTO partitions (crid, classification, caveat_mask, aud0, aud1, "
                                            "aud2, aud3, span_class) VALUES (?,?,?,?,?,?,?,?)",
                                            (crid, *cols)).lastrowid
        assert pid is not None
        self._partition_cache[key] = pid
        if db.execute("INSERT OR IGNORE INTO partition_origin VALUES (?,?,?)",
                      (crid, label.originator, pid)).rowcount:
            # count only the classes the writer can read: the limit must not reveal hidden ones
            rule, params = self._rule(writer, "p") if writer is not None else ("1", [])
            n = db.execute(f"SELECT count(*) FROM partition_origin po JOIN partitions p ON p.pid = po.pid "
                           f"WHERE po.crid = ? AND po.originator = ? AND {rule}",
                           [crid, label.originator, *params]).fetchone()[0]
            if n > MAX_LABELS_PER_ORIGINATOR:
                raise InputError(f"{label.originator} already uses {MAX_LABELS_PER_ORIGINATOR} distinct labels in this "
                                 "collection", field="properties.sec:releasable_to",
                                 expected="one of the labels already in use (fewer distinct REL TO lists and caveats)")
        return pid, cols[1]

    def _store_item(self, db: sqlite3.Connection, crid: int, row: ItemRow, rid: int | None = None,
                    writer: User | None = None) -> int:
        pid, mask = self._partition(db, crid, row.label, row.end_dt - row.start_dt, writer)
        old_pid = db.execute("SELECT pid FROM items WHERE rid = ?", (rid,)).fetchone() if rid is not None else None
        doc = row.doc_json
        props = row.doc["properties"]
        box = row.bbox
        args = (pid, crid, row.collection, row.id, row.label.originator, int(row.label.classification), mask,
                row.start_dt, row.end_dt, *(box if box is not None else (None,) * 4), row.geom_wkb, doc,
                *(_scalar(props.get(k)) for k in PROMOTED))
        if rid is None:
            rid = db.execute(_INSERT, args).lastrowid
        else:
            db.execute(_UPDATE, (*args, rid))
            db.execute("DELETE FROM items_rtree WHERE rid = ?", (rid,))
        if box is not None:  # an item without geometry is found by time, ids or filters, never by space
            p = pid * PARTITION_SPACING
            db.execute("INSERT INTO items_rtree VALUES (?,?,?,?,?,?,?)",
                       (rid, box[0], box[2], box[1], box[3], p, p + 1))
        if old_pid is not None and old_pid[0] != pid:
            self._drop_if_empty(db, old_pid[0])
        assert rid is not None
        return rid

    def _drop_if_empty(self, db: sqlite3.Connection, pid: int) -> None:
        """A partition without items goes: label classes are counted and scanned while they hold items only."""
        if db.execute("SELECT 1 FROM items WHERE pid = ? LIMIT 1", (pid,)).fetchone() is None:
            db.execute("DELETE FROM partition_origin WHERE pid = ?", (pid,))
            db.execute("DELETE FROM partitions WHERE pid = ?", (pid,))
            self._partition_cache = {k: v for k, v in self._partition_cache.items() if v != pid}

    def _readable_instance(self, db: sqlite3.Connection, user: User, cid: str, iid: str,
                           own_only: bool = False, pids: list[int] | None = None
                           ) -> tuple[int, int, str, int, str, int] | None:
        """(rid, crid, doc, version, collection doc, collection version) of the preferred readable instance
        (`pids`: the user's readable partitions of `cid`, when the caller has them)."""
        if pids is None:
            pids = self.readable_partitions(user, [cid])
        own = " AND i.originator = ?" if own_only else ""
        return db.execute(f"SELECT i.rid, i.crid, i.doc, i.version, c.doc, c.version FROM items i JOIN collections c "
                          f"ON c.crid = i.crid WHERE i.id = ? AND i.collection = ? AND i.pid IN "
                          f"(SELECT value FROM json_each(?)){own} "
                          f"ORDER BY (i.originator = ?) DESC, i.classification DESC, i.rid ASC LIMIT 1",
                          [iid, cid, json.dumps(pids), *([user.nation] if own_only else []), user.nation]).fetchone()

    def item(self, user: User, cid: str, iid: str, writable: bool = False) -> StoredItem | None:
        """The preferred instance the user may read (with `writable`: of the user's own nation), else None."""
        row = self._readable_instance(self._conn(), user, cid, iid, own_only=writable)
        return self._stored(cid, iid, row)

    def items(self, user: User, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredItem]:
        """Many items (collection, id) as `user` may read them — each as `item` would give it — with the user's
        readable partitions worked out once per collection, not once per item."""
        db = self._conn()
        pids: dict[str, list[int]] = {}
        out: dict[tuple[str, str], StoredItem] = {}
        for cid, iid in dict.fromkeys(refs):
            if cid not in pids:
                pids[cid] = self.readable_partitions(user, [cid])
            got = self._stored(cid, iid, self._readable_instance(db, user, cid, iid, pids=pids[cid]))
            if got is not None:
                out[(cid, iid)] = got
        return out

    @staticmethod
    def _stored(cid: str, iid: str, row: tuple[int, int, str, int, str, int] | None) -> StoredItem | None:
        if row is None:
            return None
        doc = json.loads(row[2])
        return StoredItem(row[0], row[1], cid, iid, Label.from_properties(doc["properties"]), doc, row[3],
                          Label.from_properties(json.loads(row[4]), prefix=""), row[5])

    @staticmethod
    def _expect(db: sqlite3.Connection, item: StoredItem) -> None:
        """Inside a write: the item and its collection are still the versions the write was based on."""
        row = db.execute("SELECT i.version, c.version FROM items i JOIN collections c ON c.crid = i.crid "
                         "WHERE i.rid = ?", (item.rid,)).fetchone()
        if row is None or (row[0], row[1]) != (item.version, item.collection_version):
            raise Stale(f"item {item.id!r} or its collection changed while the write was prepared")

    def scopes_of(self, cid: str, iid: str) -> list[Scope]:
        """The audit scopes (item label within its collection's) of every instance of an id, readable or not:
        for the entry of a denial, shown to each owner's viewers cleared for its instance."""
        names = {bit: name for name, bit in self._caveats.items()}
        rows = self._conn().execute("SELECT i.originator, i.classification, i.caveat_mask, c.doc FROM items i JOIN "
                                    "collections c ON c.crid = i.crid WHERE i.id = ? AND i.collection = ? "
                                    "ORDER BY i.rid", (iid, cid)).fetchall()
        return [Scope.of(Label(Classification(r[1]), r[0], frozenset(),
                               frozenset(names[b] for b in names if r[2] >> b & 1)),
                         Label.from_properties(json.loads(r[3]), prefix="")) for r in rows]

    def create_items(self, user: User, cid: str, rows: Sequence[ItemRow], expected: StoredCollection,
                     in_transaction: Callable[[sqlite3.Connection], object] | None = None,
                     assets: Mapping[str, Sequence[AssetRecord]] | None = None) -> None:
        """Publish items into the user's preferred readable instance of `cid`, which must still be the
        `expected` one (same instance, same version: not deleted, retired or relabelled since): `Stale`.

        409 iff the user can already read an item with one of these ids there (or the batch repeats one).
        """

        def body(db: sqlite3.Connection) -> None:
            found = self._readable_collections(user, cid)
            target = found[0] if found else None
            if target is None or (target.crid, target.version) != (expected.crid, expected.version):
                raise Stale(f"collection {cid!r} changed while the items were prepared")
            ids = [r.id for r in rows]
            seen = set()
            for i in ids:
                if i in seen:
                    raise Conflict(f"item {i!r} appears twice in the batch")
                seen.add(i)
            pids = json.dumps(self.readable_partitions(user, [cid]))
            for k in range(0, len(ids), 500):
                chunk = ids[k:k + 500]
                marks = ",".join("?" * len(chunk))
                clash = db.execute(f"SELECT id FROM items WHERE collection = ? AND id IN ({marks}) "
                                   "AND pid IN (SELECT value FROM json_each(?)) LIMIT 1",
                                   [cid, *chunk, pids]).fetchone()
                if clash is not None:
                    raise Conflict(f"item {clash[0]!r} already exists in {cid!r}")
            for r in rows:
                rid = self._store_item(db, target.crid, r, writer=user)
                for rec in (assets or {}).get(r.id, ()):  # bytes stored before: claimed with the item
                    db.execute("INSERT INTO assets VALUES (?,?,?,?,?,?)",
                               (rid, rec.name, rec.object_key, rec.size, rec.sha256, rec.media_type))
                    db.execute("DELETE FROM object_gc WHERE object_key = ?", (rec.object_key,))
                append_event(db, "item.created", cid, r.label, r.id)

        self._write(body, in_transaction)

    def add_items(self, rows: Sequence[ItemRow], *, upsert: bool = False,
                  in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> int:
        """Operator bulk form (`aquila ingest`): a batch atomically; an existing identity is a Conflict unless `upsert`.

        Each item goes into the oldest instance of its collection id.
        """

        def body(db: sqlite3.Connection) -> None:
            crids: dict[str, int] = {}
            for r in rows:
                if r.collection not in crids:
                    found = db.execute("SELECT crid FROM collections WHERE id = ? AND retired = 0 ORDER BY crid "
                                       "LIMIT 1", (r.collection,)).fetchone()
                    if found is None:
                        raise InputError(f"collection {r.collection!r} does not exist", field="collection",
                                         expected="the id of an existing collection (create it first: "
                                                  "aquila collection create --data DIR COLLECTION.json)")
                    crids[r.collection] = found[0]
                crid = crids[r.collection]
                old = db.execute("SELECT rid FROM items WHERE id=? AND crid=? AND originator=? AND classification=? "
                                 "AND caveat_mask=?", (r.id, crid, r.label.originator, int(r.label.classification),
                                                       self._mask(db, r.label.caveats))).fetchone() if upsert else None
                # without upsert, the unique identity index turns a duplicate into a Conflict
                self._store_item(db, crid, r, old[0] if old else None)
                append_event(db, "item.updated" if old else "item.created", r.collection, r.label, r.id)

        self._write(body, in_transaction)
        return len(rows)

    def replace_item(self, item: StoredItem, row: ItemRow,
                     in_transaction: Callable[[sqlite3.Connection], object] | None = None,
                     writer: User | None = None) -> None:
        """A new version (maybe relabelled) of a stored item; its uploaded assets stay attached."""

        def body(db: sqlite3.Connection) -> None:
            self._expect(db, item)
            self._store_item(db, item.crid, row, item.rid, writer)
            append_event(db, "item.updated", item.collection, row.label, item.id)

        self._write(body, in_transaction)

    def delete_item(self, item: StoredItem,
                    in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> None:
        """Delete an item and its asset records in one transaction; the bytes are queued for `collect`."""

        def body(db: sqlite3.Connection) -> None:
            self._expect(db, item)
            db.execute("INSERT OR REPLACE INTO object_gc SELECT object_key, 0 FROM assets WHERE rid = ?", (item.rid,))
            pid = db.execute("SELECT pid FROM items WHERE rid = ?", (item.rid,)).fetchone()[0]
            for t in ("assets", "items_rtree", "items"):
                db.execute(f"DELETE FROM {t} WHERE rid = ?", (item.rid,))
            self._drop_if_empty(db, pid)
            append_event(db, "item.deleted", item.collection, item.label, item.id)
            if db.execute("SELECT 1 FROM collections WHERE crid = ? AND retired = 1", (item.crid,)).fetchone() and \
                    not db.execute("SELECT 1 FROM items WHERE crid = ? LIMIT 1", (item.crid,)).fetchone():
                self._purge_collection(db, item.crid)  # a retired collection goes with its last item

        self._write(body, in_transaction)

    # --- search --------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM items").fetchone()[0])

    def search(self, user: User, q: SearchQuery, max_page_bytes: int = 32 * 1024 * 1024) -> SearchPage:
        """One page of items the user may read, with the number matched under the same rule.

        A page stops early (with a next token) when its documents pass `max_page_bytes`.
        """
        if not 0 <= q.offset <= MAX_OFFSET:
            raise InputError(f"offset {q.offset}", field="token",
                             expected=f"a page within the first {MAX_OFFSET} results (narrow the query to go further)")
        pids = self._readable(user, q.collections)
        if not pids:
            return SearchPage([], 0, None)
        handles: list[int] = []
        db = self._conn()
        self._local.deadline = time.monotonic() + self.query_budget_s
        try:
            plan = build_page_sql(q, pids, handles)
            rows = db.execute(plan.page_sql, plan.page_params).fetchall()
            rids = [r[0] for r in rows]
            if plan.counted and rows:
                n = int(rows[0][1])
            else:
                n = int(db.execute(plan.count_sql, plan.count_params).fetchone()[0])
            more = len(rids) > q.limit
            feats: list[dict[str, Any]] = []
            crids: list[int] = []
            size = 0
            for rid in rids[: q.limit]:
                doc, crid = db.execute("SELECT doc, crid FROM items WHERE rid = ?", (rid,)).fetchone()
                size += len(doc)
                feats.append(orjson.loads(doc))
                crids.append(crid)
                if size > max_page_bytes and len(feats) < q.limit:
                    more = True
                    break
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise  # load, not input (the API answers 503)
            if "interrupted" in str(exc):
                raise QueryTooExpensive(f"the search ran past its {self.query_budget_s:g} s budget", field="query",
                                        expected="a narrower search: add bbox, datetime or collections") from None
            raise InputError(f"the search could not be evaluated: {exc}", field="filter",
                             expected="properties and values the catalog can compare") from None
        finally:
            self._local.deadline = None
            GEOMETRIES.drop(handles)
        matched = n if n <= COUNT_CAP else None
        labels = {c: Label.from_properties(json.loads(d), prefix="") for c, d in db.execute(
            "SELECT crid, doc FROM collections WHERE crid IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(set(crids))),))}
        return SearchPage(feats, matched, q.offset + len(feats) if more else None,
                          [labels[c] for c in crids[: len(feats)]])
