"""The embedded catalog store: SQLite (WAL) with an R*Tree, labels as indexed columns.

The access rule is part of every query's WHERE clause — search, counts, paging and sorting all
see the same filtered set, so nothing leaks through `numberMatched`, page boundaries or order:

    classification <= :clearance
    AND (originator = :nation OR (aud<k> & :nation_bit) != 0)
    AND (caveat_mask & :caveats_not_held) = 0

`aud0..aud3` hold each item's audience (REL TO with groups expanded) as bits over the 249 ISO
3166-1 nations (nation i is bit i % 63 of column i // 63), and caveats are bits of a
per-instance registry (at most 63 distinct caveats). Writes are transactions: a batch is either
all stored or not at all, and a commit returns only once it is durable.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pycountry
import shapely
from shapely.geometry import shape

from aquila.catalog.cql2sql import PROMOTED, property_sql, to_sql
from aquila.errors import AquilaError, InputError
from aquila.security.labels import Label
from aquila.security.nations import expand
from aquila.security.policy import User

__all__ = ["CatalogStore", "SearchQuery", "SearchPage", "NotFound", "Conflict", "validate_item",
           "validate_collection", "policy_sql", "nation_bit", "audience_bits", "ItemRow", "encode_token", "decode_token", "RFC3339"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_ALL_BITS = (1 << 63) - 1

MAX_CAVEATS = 63
COUNT_CAP = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
  id TEXT PRIMARY KEY, classification INTEGER NOT NULL, originator TEXT NOT NULL,
  caveat_mask INTEGER NOT NULL, audience TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  rid INTEGER PRIMARY KEY, collection TEXT NOT NULL, id TEXT NOT NULL,
  start_dt REAL NOT NULL, end_dt REAL NOT NULL,
  classification INTEGER NOT NULL, originator TEXT NOT NULL, caveat_mask INTEGER NOT NULL,
  aud0 INTEGER NOT NULL, aud1 INTEGER NOT NULL, aud2 INTEGER NOT NULL, aud3 INTEGER NOT NULL, geom BLOB, doc TEXT NOT NULL,
  p_eo_cloud_cover REAL, p_gsd REAL, p_view_off_nadir REAL, p_platform TEXT, p_constellation TEXT,
  UNIQUE (collection, id));
CREATE INDEX IF NOT EXISTS items_dt ON items (start_dt, end_dt, collection, classification, caveat_mask,
  originator, aud0, aud1, aud2, aud3, p_eo_cloud_cover, p_gsd, p_view_off_nadir);
CREATE INDEX IF NOT EXISTS items_id ON items (id);
CREATE VIRTUAL TABLE IF NOT EXISTS items_rtree USING rtree(rid, minx, maxx, miny, maxy);
CREATE TABLE IF NOT EXISTS caveats (name TEXT PRIMARY KEY, bit INTEGER NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value REAL NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('max_span_s', 0);
"""


_NATION_INDEX = {c: i for i, c in enumerate(sorted(c.alpha_3 for c in pycountry.countries))}
assert len(_NATION_INDEX) <= 4 * 63
_COLS = ["collection", "id", "start_dt", "end_dt", "classification", "originator", "caveat_mask",
         "aud0", "aud1", "aud2", "aud3", "geom", "doc", *PROMOTED.values()]
_INSERT = f"INSERT INTO items ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})"
_UPDATE = f"UPDATE items SET {', '.join(c + '=?' for c in _COLS)} WHERE rid=?"


def nation_bit(nation: str) -> tuple[int, int]:
    """(column, bit mask) of a nation in the audience bit set."""
    i = _NATION_INDEX.get(nation)
    if i is None:  # not a nation code: matches no audience
        return 0, 0
    return i // 63, 1 << (i % 63)


def audience_bits(nations: Iterable[str]) -> tuple[int, int, int, int]:
    cols = [0, 0, 0, 0]
    for n in nations:
        col, bit = nation_bit(n)
        cols[col] |= bit
    return cols[0], cols[1], cols[2], cols[3]


def _scalar(v: Any) -> Any:
    """A promoted column holds numbers and strings only (anything else stays in the JSON only)."""
    return v if isinstance(v, int | float | str) and not isinstance(v, bool) else None


class NotFound(AquilaError):
    """No such object — or one the caller may not see (the two are indistinguishable)."""


class Conflict(AquilaError):
    """The object already exists."""


def _err(msg: str, field: str, expected: str) -> InputError:
    return InputError(msg, field=field, expected=expected)


def _rfc3339(value: Any, field: str) -> float:
    if not isinstance(value, str) or not RFC3339.match(value):
        raise _err(f"{value!r}", field, "an RFC 3339 date-time such as 2026-03-19T10:00:00Z")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _err(f"{value!r} is not RFC 3339", field, "e.g. 2026-03-19T10:00:00Z") from None
    if t.tzinfo is None:
        raise _err(f"{value!r} has no time zone", field, "a UTC time ending in Z")
    return t.timestamp()


def _st_intersects(a: bytes | None, b: str) -> int:
    if a is None:
        return 0
    return int(shapely.intersects(shapely.from_wkb(a), shape(json.loads(b))))


@dataclass
class ItemRow:
    """A validated item ready for storage."""

    collection: str
    id: str
    start_dt: float
    end_dt: float
    label: Label
    geom_wkb: bytes | None
    bbox: tuple[float, float, float, float] | None
    doc: dict[str, Any]


def validate_geometry(geo: Any, field: str) -> Any:
    if not isinstance(geo, dict) or "type" not in geo:
        raise _err("is not a GeoJSON geometry", field, 'a GeoJSON geometry such as {"type": "Point", '
                   '"coordinates": [19.6, 57.4]}')
    try:
        g = shape(geo)
    except Exception:  # shapely raises several kinds for malformed coordinates
        raise _err("malformed GeoJSON geometry", field + ".coordinates",
                   "positions [lon, lat]; polygon rings closed with at least 4 positions") from None
    if g.is_empty:
        raise _err("empty geometry", field, "a non-empty geometry")
    minx, miny, maxx, maxy = g.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _err(f"coordinates out of range (bounds {g.bounds})", field + ".coordinates",
                   "longitude -180..180 and latitude -90..90")
    if not g.is_valid:
        raise _err(f"invalid geometry: {shapely.is_valid_reason(g)}", field,
                   "a valid geometry: rings that do not cross themselves or each other")
    return g


def _object_id(doc: Any, type_name: str, what: str) -> str:
    """The id of a JSON object of the given STAC type, or an error naming what is wrong."""
    if not isinstance(doc, dict):
        raise _err("body is not a JSON object", "body", what)
    if doc.get("type") != type_name:
        raise _err(f"type is {doc.get('type')!r}", "type", f'"{type_name}" ({what})')
    oid = doc.get("id")
    if not isinstance(oid, str) or not _ID.match(oid):
        raise _err(f"{oid!r}", "id", "1-256 characters from A-Z a-z 0-9 . _ : - starting with a letter or digit")
    return oid


def validate_item(doc: Any, collection: str | None = None) -> ItemRow:
    """Check a STAC item and its security label; errors name the field and the expected form."""
    iid = _object_id(doc, "Feature", "a STAC Item (GeoJSON Feature)")
    coll = doc.get("collection", collection)
    if collection is not None and coll != collection:
        raise _err(f"{coll!r} does not match the URL's collection {collection!r}", "collection",
                   "the collection in the path, or no collection field")
    if not isinstance(coll, str) or not _ID.match(coll):
        raise _err(f"{coll!r}", "collection", "the id of an existing collection")
    props = doc.get("properties")
    if not isinstance(props, dict):
        raise _err("missing or not an object", "properties", "an object with datetime and the sec: label")
    geo = doc.get("geometry")
    g = None if geo is None else validate_geometry(geo, "geometry")
    if "datetime" not in props:
        raise _err("missing", "properties.datetime", "an RFC 3339 date-time, or null with start/end_datetime")
    if props["datetime"] is None:
        if "start_datetime" not in props or "end_datetime" not in props:
            raise _err("null without start_datetime and end_datetime", "properties.datetime",
                       "a date-time, or null with properties.start_datetime and end_datetime")
        start = _rfc3339(props["start_datetime"], "properties.start_datetime")
        end = _rfc3339(props["end_datetime"], "properties.end_datetime")
        if end < start:
            raise _err("end_datetime is before start_datetime", "properties.end_datetime", "end >= start")
    else:
        start = end = _rfc3339(props["datetime"], "properties.datetime")
    label = Label.from_properties(props)
    for key in ("links", "assets"):
        if key in doc and not isinstance(doc[key], list if key == "links" else dict):
            raise _err(f"is not a {'list' if key == 'links' else 'object'}", key, "as in the STAC Item spec")
    out = dict(doc)
    out["collection"] = coll
    out.setdefault("stac_version", "1.1.0")
    out.setdefault("links", [])
    out.setdefault("assets", {})
    out["properties"] = dict(props, **label.to_properties())
    bbox = None
    wkb = None
    if g is not None:
        minx, miny, maxx, maxy = g.bounds
        bbox = (minx, miny, maxx, maxy)
        out["bbox"] = [minx, miny, maxx, maxy]
        wkb = shapely.to_wkb(g)
    else:
        out.pop("bbox", None)
    return ItemRow(coll, iid, start, end, label, wkb, bbox, out)


def validate_collection(doc: Any) -> tuple[str, Label, dict[str, Any]]:
    cid = _object_id(doc, "Collection", "a STAC Collection")
    if not isinstance(doc.get("description", ""), str):
        raise _err("is not a string", "description", "a string")
    label = Label.from_properties(doc, prefix="")
    out = dict(doc)
    out.setdefault("stac_version", "1.1.0")
    out.setdefault("description", cid)
    out.setdefault("license", "other")
    out.setdefault("links", [])
    out.setdefault("extent", {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                              "temporal": {"interval": [[None, None]]}})
    out.update(label.to_properties())
    return cid, label, out


@dataclass
class SearchQuery:
    """Parsed item-search parameters (after validation in the API layer)."""

    collections: list[str] | None = None
    ids: list[str] | None = None
    bbox: tuple[float, float, float, float] | None = None
    intersects: dict[str, Any] | None = None
    datetime_range: tuple[float, float] | None = None
    filter: dict[str, Any] | None = None
    sortby: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 10
    offset: int = 0


@dataclass
class SearchPage:
    features: list[dict[str, Any]]
    matched: int | None  # None when more than COUNT_CAP match
    next_offset: int | None


def policy_sql(user: User, caveat_bits: dict[str, int], table: str = "items") -> tuple[str, list[Any]]:
    """The access rule as SQL over `table`'s label columns, with its parameters."""
    held = 0
    for c in user.caveats:
        if c in caveat_bits:
            held |= 1 << caveat_bits[c]
    deny = _ALL_BITS & ~held
    if table == "items":
        # The audience test is arithmetic on the row (no subquery): a 1M-item scan stays cheap.
        col, bit = nation_bit(user.nation)
        sql = (f"({table}.classification <= ? AND ({table}.originator = ? OR ({table}.aud{col} & ?) != 0) "
               f"AND ({table}.caveat_mask & ?) = 0)")
        return sql, [int(user.clearance), user.nation, bit, deny]
    sql = (f"({table}.classification <= ? AND ({table}.originator = ? OR instr({table}.audience, ?) > 0) "
           f"AND ({table}.caveat_mask & ?) = 0)")
    return sql, [int(user.clearance), user.nation, f",{user.nation},", deny]


class CatalogStore:
    """Collections and items of one instance, in `<data>/catalog.db`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        db = self._conn()
        db.executescript(_SCHEMA)
        self._caveats = dict(db.execute("SELECT name, bit FROM caveats").fetchall())

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA cache_size=-65536")
            db.create_function("st_intersects", 2, _st_intersects, deterministic=True)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # --- caveat registry ------------------------------------------------------------------------
    def _mask(self, db: sqlite3.Connection, caveats: Iterable[str]) -> int:
        mask = 0
        for c in sorted(caveats):
            bit = self._caveats.get(c)
            if bit is None:
                bit = len(self._caveats)
                if bit >= MAX_CAVEATS:
                    raise _err(f"caveat {c!r} would be the 64th distinct caveat of this instance", "sec:caveats",
                               "one of the instance's existing caveats (at most 63 distinct)")
                db.execute("INSERT INTO caveats VALUES (?, ?)", (c, bit))
                self._caveats[c] = bit
            mask |= 1 << bit
        return mask

    @property
    def caveat_bits(self) -> dict[str, int]:
        return dict(self._caveats)

    # --- collections ----------------------------------------------------------------------------
    def put_collection(self, doc: dict[str, Any], *, create: bool) -> dict[str, Any]:
        cid, label, out = validate_collection(doc)
        db = self._conn()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                exists = db.execute("SELECT 1 FROM collections WHERE id = ?", (cid,)).fetchone()
                if create and exists:
                    raise Conflict(f"collection {cid!r} already exists")
                if not create and not exists:
                    raise NotFound(f"collection {cid!r}")
                mask = self._mask(db, label.caveats)
                audience = "," + ",".join(sorted(label.audience)) + ","
                db.execute("INSERT OR REPLACE INTO collections VALUES (?,?,?,?,?,?)",
                           (cid, int(label.classification), label.originator, mask, audience, json.dumps(out)))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._reload_caveats()
                raise
        return out

    def _reload_caveats(self) -> None:
        self._caveats = dict(self._conn().execute("SELECT name, bit FROM caveats").fetchall())

    def collections(self, user: User) -> list[dict[str, Any]]:
        sql, params = policy_sql(user, self._caveats, "collections")
        rows = self._conn().execute(f"SELECT doc FROM collections WHERE {sql} ORDER BY id", params)
        return [json.loads(r[0]) for r in rows]

    def collection(self, user: User, cid: str) -> tuple[dict[str, Any], Label]:
        sql, params = policy_sql(user, self._caveats, "collections")
        row = self._conn().execute(f"SELECT doc FROM collections WHERE id = ? AND {sql}", [cid, *params]).fetchone()
        if row is None:
            raise NotFound(f"collection {cid!r}")
        doc = json.loads(row[0])
        return doc, Label.from_properties(doc, prefix="")

    def collection_exists(self, cid: str) -> bool:
        return self._conn().execute("SELECT 1 FROM collections WHERE id = ?", (cid,)).fetchone() is not None

    def delete_collection(self, cid: str) -> None:
        db = self._conn()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM items WHERE collection = ? LIMIT 1", (cid,)).fetchone():
                    raise Conflict(f"collection {cid!r} still holds items; delete them first")
                if db.execute("DELETE FROM collections WHERE id = ?", (cid,)).rowcount == 0:
                    raise NotFound(f"collection {cid!r}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # --- items ----------------------------------------------------------------------------------
    def _insert(self, db: sqlite3.Connection, row: ItemRow, replace_rid: int | None = None) -> None:
        mask = self._mask(db, row.label.caveats)
        doc = json.dumps(row.doc, separators=(",", ":"))
        props = row.doc["properties"]
        promoted = tuple(_scalar(props.get(k)) for k in PROMOTED)
        args = (row.collection, row.id, row.start_dt, row.end_dt, int(row.label.classification),
                row.label.originator, mask, *audience_bits(expand(row.label.releasable_to)), row.geom_wkb, doc,
                *promoted)
        if replace_rid is None:
            cur = db.execute(_INSERT, args)
            rid = cur.lastrowid
        else:
            rid = replace_rid
            db.execute(_UPDATE, (*args, rid))
            db.execute("DELETE FROM items_rtree WHERE rid = ?", (rid,))
        db.execute("UPDATE meta SET value = max(value, ?) WHERE key = 'max_span_s'", (row.end_dt - row.start_dt,))
        if row.bbox is not None:
            minx, miny, maxx, maxy = row.bbox
            db.execute("INSERT INTO items_rtree VALUES (?,?,?,?,?)", (rid, minx, maxx, miny, maxy))

    def add_items(self, rows: Sequence[ItemRow], *, upsert: bool = False,
                  in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> int:
        """Store a batch atomically; duplicates are a Conflict unless `upsert`.

        `in_transaction(db)` runs inside the same transaction before it commits (the audit log
        writes the batch's entries there, so items and their audit entries land together).
        """
        db = self._conn()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                missing = {r.collection for r in rows} - {
                    c for (c,) in db.execute("SELECT id FROM collections")}
                if missing:
                    raise _err(f"collection {sorted(missing)[0]!r} does not exist", "collection",
                               "the id of an existing collection (create it first)")
                for r in rows:
                    old = db.execute("SELECT rid FROM items WHERE collection = ? AND id = ?",
                                     (r.collection, r.id)).fetchone()
                    if old and not upsert:
                        raise Conflict(f"item {r.id!r} already exists in {r.collection!r}")
                    self._insert(db, r, old[0] if old else None)
                if in_transaction is not None:
                    in_transaction(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._reload_caveats()
                raise
        return len(rows)

    def raw_item(self, cid: str, iid: str) -> tuple[int, dict[str, Any], Label] | None:
        """An item regardless of the caller (for decisions that must be audited)."""
        row = self._conn().execute("SELECT rid, doc FROM items WHERE collection = ? AND id = ?", (cid, iid)).fetchone()
        if row is None:
            return None
        doc = json.loads(row[1])
        return row[0], doc, Label.from_properties(doc["properties"])

    def replace_item(self, row: ItemRow) -> None:
        db = self._conn()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                old = db.execute("SELECT rid FROM items WHERE collection = ? AND id = ?",
                                 (row.collection, row.id)).fetchone()
                if old is None:
                    raise NotFound(f"item {row.id!r}")
                self._insert(db, row, old[0])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._reload_caveats()
                raise

    def delete_item(self, cid: str, iid: str) -> None:
        db = self._conn()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                old = db.execute("SELECT rid FROM items WHERE collection = ? AND id = ?", (cid, iid)).fetchone()
                if old is None:
                    raise NotFound(f"item {iid!r}")
                for t in ("items", "items_rtree"):
                    db.execute(f"DELETE FROM {t} WHERE rid = ?", (old[0],))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM items").fetchone()[0])

    def search(self, user: User, q: SearchQuery) -> SearchPage:
        """One page of items the user may read, with the number matched under the same rule."""
        where: list[str] = []
        params: list[Any] = []
        pol, pp = policy_sql(user, self._caveats)
        where.append(pol)
        params += pp
        if q.collections is not None:
            # unary + keeps the planner from driving the query by the (collection, id) index, which
            # would walk every item of a big collection instead of the time, space or id index
            where.append("+items.collection IN (" + ",".join("?" * len(q.collections)) + ")")
            params += q.collections
        if q.ids is not None:
            where.append("items.id IN (" + ",".join("?" * len(q.ids)) + ")")
            params += q.ids
        if q.bbox is not None:
            w, s, e, n = q.bbox
            where.append("items.rid IN (SELECT rid FROM items_rtree WHERE maxx >= ? AND minx <= ? AND maxy >= ? "
                         "AND miny <= ?)")
            params += [w, e, s, n]
        if q.intersects is not None:
            g = shape(q.intersects)
            w, s, e, n = g.bounds
            where.append("items.rid IN (SELECT rid FROM items_rtree WHERE maxx >= ? AND minx <= ? AND maxy >= ? "
                         "AND miny <= ?) AND st_intersects(items.geom, ?) = 1")
            params += [w, e, s, n, json.dumps(q.intersects)]
        if q.datetime_range is not None:
            lo, hi = q.datetime_range
            # Overlap is start <= hi AND end >= lo; bounding start from below by the longest item
            # span (kept in `meta` by every write) turns it into a tight range scan of the index.
            span = self._conn().execute("SELECT value FROM meta WHERE key = 'max_span_s'").fetchone()[0]
            where.append("items.start_dt <= ? AND items.start_dt >= ? AND items.end_dt >= ?")
            params += [hi, max(lo - span, -1e18), lo]
        if q.filter is not None:
            where.append(to_sql(q.filter, params))
        clause = " AND ".join(where)
        order: list[str] = []
        oparams: list[Any] = []
        for name, direction in q.sortby:
            order.append(f"{property_sql(name, oparams)} {'DESC' if direction == 'desc' else 'ASC'}")
        if not q.sortby:
            order.append("items.start_dt DESC")
        order.append("items.rid ASC")
        db = self._conn()
        # Deferred join: choose the page's rows from the (covering) index, then read only their documents.
        orders = ", ".join(order)
        sql = (f"SELECT items.doc FROM items WHERE items.rid IN (SELECT items.rid FROM items WHERE {clause} "
               f"ORDER BY {orders} LIMIT ? OFFSET ?) ORDER BY {orders}")
        rows = db.execute(sql, [*params, *oparams, q.limit + 1, q.offset, *oparams]).fetchall()
        # Exact count up to COUNT_CAP; beyond it numberMatched is omitted (STAC allows that) rather
        # than spending a full scan on every page of a huge result.
        n = int(db.execute(f"SELECT count(*) FROM (SELECT 1 FROM items WHERE {clause} LIMIT ?)",
                           [*params, COUNT_CAP + 1]).fetchone()[0])
        matched = n if n <= COUNT_CAP else None
        more = len(rows) > q.limit
        feats = [json.loads(r[0]) for r in rows[: q.limit]]
        return SearchPage(feats, matched, q.offset + q.limit if more else None)


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        pad = "=" * (-len(token) % 4)
        off = json.loads(base64.urlsafe_b64decode(token + pad))["o"]
        if not isinstance(off, int) or off < 0:
            raise ValueError
        return off
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise _err(f"{token[:40]!r}", "token", "a token from a previous page's next link") from None

