"""Footprint indexes and tiles (`aquila.dissemination.tiles`) kept per reader's rights while the catalog changes:
a watcher judges each committed change against every kept index (`concerns`) and the concerned ones read just
the changed items again through the search (a collection's change, or too many: a whole new search), so a
change a reader could never read costs them nothing — no rebuild whose time would tell them it happened.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aquila.catalog.gcpause import gc_paused
from aquila.catalog.model import SearchQuery
from aquila.dissemination.tiles import MAX_FOOTPRINTS, FootprintIndex, build_index, render_tile
from aquila.errors import Busy, QueryTooExpensive
from aquila.limits import MAX_LIMIT
from aquila.security.labels import Classification
from aquila.security.policy import User, decide

__all__ = ["FootprintTiles", "concerns", "rights", "fresh_index"]

_ENTRY_BYTES = 512
"""What a cached tile costs beyond its PNG (key, tuple, dict slot), counted against the cache's bound."""
_CHANGES_READ = 10_000
"""Catalog changes judged per read of the outbox; while an index is built, more than this: it is rebuilt."""
_PATCH_MOST = 1_000
"""More items changed than this since an index was built: it is built again by one search."""
_IDLE_S = 60.0
"""The watcher stops after this long without a request (and starts again with the next)."""


def concerns(user: User, index: FootprintIndex, event: Any) -> bool:
    """Whether a catalog change may change what `user`'s index draws: it is about something the user may read
    now (its label releases to them: a new, updated or relabelled-down item or collection) or about something
    the index holds (an item drawn, or the collection of one: withdrawn, relabelled up). A change to what the
    user could never read concerns no index of theirs — so it does not cost them a rebuild whose time would
    tell them it happened."""
    if event.kind.startswith("asset."):
        return False  # assets do not move footprints
    if event.item is not None:  # readable only in a collection the user may read (`decide_item`)
        return f"{event.collection}/{event.item}" in index.keys or (
            event.collection in index.readable_collections and bool(decide(user, event.label)))
    return event.collection in index.readable_collections or bool(decide(user, event.label))


Rights = tuple[str, Classification, frozenset[str]]


def rights(user: User) -> Rights:
    """What decides what a user may read (`security.policy.decide`): users alike in it share an index."""
    return user.nation, user.clearance, user.caveats


@dataclass
class _Entry:
    index: FootprintIndex
    user: User
    """A user of these rights: the one `concerns` judges changes for."""
    features: dict[str, list[dict[str, Any]]]
    """What the index was built from, by "collection/id" (an id may have instances of several labels)."""
    pending: set[str] = field(default_factory=set)
    """Items changed since (each read again through the search before the index is used)."""
    full: bool = False
    """A change only a whole new search can follow (a collection's, or too many items')."""

    @property
    def dirty(self) -> bool:
        return self.full or bool(self.pending)

    def mark(self, event: Any) -> None:
        if event.item is None or self.index.more or len(self.pending) >= _PATCH_MOST:
            self.full = True
        else:
            self.pending.add(f"{event.collection}/{event.item}")


class FootprintTiles:
    """Footprint indexes per reader's rights and rendered tiles, kept until a catalog change concerns them.

    `events` is the catalog's outbox (`head()`, `since(seq, limit)`). A watcher thread judges each change as it
    commits against every kept index (`concerns`) and marks those it concerns; a request only catches up with
    what committed since the watcher's last look (~50 ms), so its time does not grow with the changes a user
    could never read. One build per rights at a time (the dozen tile requests of a page load wait for the
    first one's), at most `max_builds` at once for the whole server."""

    def __init__(self, events: Any, max_rights: int = 64, max_tile_bytes: int = 64 * 1024 * 1024,
                 max_builds: int = 2, watch_interval_s: float = 0.05) -> None:
        self._events = events
        self._entries: OrderedDict[Rights, _Entry] = OrderedDict()
        self._building: dict[Rights, threading.Lock] = {}
        self._tiles: OrderedDict[tuple[Rights, str, int, int, int], tuple[bytes | None, int]] = OrderedDict()
        self._tile_bytes = 0
        self._max_rights, self._max_tile_bytes = max_rights, max_tile_bytes
        self._builds = threading.BoundedSemaphore(max_builds)
        self._lock = threading.Lock()
        self._judge = threading.Lock()
        self._seen = int(events.head())
        self._interval_s = watch_interval_s
        self._watcher: threading.Thread | None = None
        self._last_use = 0.0
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()

    # --- the watcher ------------------------------------------------------------------------------------------
    def _catch_up(self) -> None:
        """Judge every change committed so far against the kept indexes."""
        with self._judge:
            head = int(self._events.head())
            while self._seen < head:
                batch = self._events.since(self._seen, _CHANGES_READ)
                if not batch:
                    break
                with self._lock:
                    entries = list(self._entries.values())
                for e in batch:
                    for entry in entries:
                        if not entry.full and concerns(entry.user, entry.index, e):
                            entry.mark(e)
                self._seen = batch[-1].seq

    def _watch(self) -> None:
        while not self._closed.wait(self._interval_s):
            if time.monotonic() - self._last_use > _IDLE_S:
                break  # nobody looked at the map for a while: stop; the next request starts it again
            try:
                self._catch_up()
            except Exception:  # the catalog closed under us (shutdown): requests catch up themselves
                break
        with self._lock:
            self._watcher = None

    def _use(self) -> None:
        self._last_use = time.monotonic()
        with self._lock:
            if self._watcher is None and not self._closed.is_set():
                self._watcher = threading.Thread(target=self._watch, name="footprint-tiles", daemon=True)
                self._watcher.start()

    # --- indexes and tiles ------------------------------------------------------------------------------------
    def index(self, library: Any, user: User) -> FootprintIndex:
        """The footprints `user` may read now (the library's search as a user of their rights, newest first)."""
        self._use()
        self._catch_up()
        key = rights(user)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and not entry.dirty:
                self._entries.move_to_end(key)
                return entry.index
            build = self._building.setdefault(key, threading.Lock())
        with build:
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None and not entry.dirty:
                return entry.index
            with self._builds:
                with self._judge:  # what was judged so far is in `pending`; what comes later is judged below
                    start = self._seen
                    keys, patch = (entry.pending, not entry.full) if entry is not None else (set(), False)
                if patch and entry is not None:  # a few items changed: read those again
                    features = _patched(library, user, entry.features, keys)
                    readable = entry.index.readable_collections
                else:
                    features, readable = _gather(library, user)
                index = _indexed(features, readable)
            fresh = _Entry(index, user, features)
            with self._lock:
                self._entries[key] = fresh
                self._entries.move_to_end(key)
                while len(self._entries) > self._max_rights:
                    gone, _ = self._entries.popitem(last=False)
                    self._building.pop(gone, None)
            # what committed while the search ran, and the watcher judged before this entry was there
            with self._judge:
                late = self._events.since(start, _CHANGES_READ) if self._seen > start else []
                if len(late) == _CHANGES_READ:
                    fresh.full = True
                for e in late:
                    if e.seq <= self._seen and not fresh.full and concerns(user, index, e):
                        fresh.mark(e)
            return index

    def tile(self, library: Any, user: User, z: int, x: int, y: int) -> tuple[bytes | None, int, FootprintIndex]:
        """(PNG or None, footprints drawn, the index it was drawn from) of tile z/x/y for `user`."""
        index = self.index(library, user)
        key = (rights(user), index.digest, z, x, y)
        with self._lock:
            hit = self._tiles.get(key)
            if hit is not None:
                self._tiles.move_to_end(key)
                return hit[0], hit[1], index
        png, drawn = render_tile(index, z, x, y)
        if png is None:  # empty tiles are not kept: cheap to find again, and any number can be asked for
            return png, drawn, index
        with self._lock:
            if key not in self._tiles:
                self._tiles[key] = (png, drawn)
                self._tile_bytes += len(png) + _ENTRY_BYTES
                while self._tile_bytes > self._max_tile_bytes and self._tiles:
                    _, (old, _) = self._tiles.popitem(last=False)
                    self._tile_bytes -= len(old or b"") + _ENTRY_BYTES
        return png, drawn, index


_LABEL = ("sec:classification", "sec:originator", "sec:releasable_to", "sec:caveats")


def _order(f: dict[str, Any]) -> tuple[str, str, str]:
    p = f["properties"]
    return str(p.get("datetime") or ""), f"{f.get('collection')}/{f.get('id')}", repr([p.get(k) for k in _LABEL])


def _slim(f: dict[str, Any]) -> dict[str, Any]:
    p = f["properties"]
    return {"collection": f.get("collection"), "id": f.get("id"), "geometry": f.get("geometry"),
            "properties": {"datetime": p.get("datetime"), **{k: p.get(k) for k in _LABEL}}}


def _by_key(found: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in found:
        out.setdefault(f"{f['collection']}/{f['id']}", []).append(f)
    return out


def _pages(library: Any, user: User, q: SearchQuery, most: int) -> tuple[list[dict[str, Any]], bool]:
    """(up to `most` items the search releases to `user` for `q`, slimmed; whether there were more)."""
    out: list[dict[str, Any]] = []
    with gc_paused():  # pages of decoded items hold no cycles (see aquila.catalog.gcpause)
        while True:
            try:
                page = library.search(user, q)
            except QueryTooExpensive as exc:  # the search's time budget: not the map user's to narrow
                raise Busy("the library's footprints take too long to gather now: try again shortly") from exc
            out += [_slim(f) for f in page.features]
            if page.next_offset is None:
                return out, False
            if len(out) >= most:
                return out, True
            q.offset = page.next_offset


def _gather(library: Any, user: User) -> tuple[dict[str, list[dict[str, Any]]], frozenset[str]]:
    """Every footprint the library's search releases to `user`, newest first, up to MAX_FOOTPRINTS (one more
    marks that there were more); with the ids of the collections they may read (so that a new item in one,
    still empty for them, is not missed)."""
    readable = frozenset(str(c.get("id")) for c in library.store.collections(user))
    found, more = _pages(library, user, SearchQuery(limit=MAX_LIMIT, sortby=[("properties.datetime", "desc")]),
                         MAX_FOOTPRINTS)
    found = found[:MAX_FOOTPRINTS + (1 if more else 0)]
    return _by_key(found), readable


def _patched(library: Any, user: User, features: dict[str, list[dict[str, Any]]], keys: set[str]
             ) -> dict[str, list[dict[str, Any]]]:
    """`features` with the items `keys` read again through the search as `user` (gone where it returns none)."""
    out = {k: v for k, v in features.items() if k not in keys}
    by_collection: dict[str, list[str]] = {}
    for k in keys:
        cid, iid = k.split("/", 1)
        by_collection.setdefault(cid, []).append(iid)
    for cid, ids in sorted(by_collection.items()):
        found, _ = _pages(library, user, SearchQuery(collections=[cid], ids=sorted(ids), limit=MAX_LIMIT), 10 ** 9)
        out.update(_by_key(found))
    return out


def _indexed(features: dict[str, list[dict[str, Any]]], readable: frozenset[str]) -> FootprintIndex:
    """The index of `features`: newest first, ties by collection/id and label (a patched index equals a fresh
    one)."""
    ordered = sorted((f for group in features.values() for f in group), key=_order, reverse=True)
    more = len(ordered) > MAX_FOOTPRINTS
    return build_index(ordered[:MAX_FOOTPRINTS], more, readable)


def fresh_index(library: Any, user: User) -> FootprintIndex:
    """A fresh index of what the library's search releases to `user`."""
    features, readable = _gather(library, user)
    return _indexed(features, readable)
