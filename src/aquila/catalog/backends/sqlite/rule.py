"""The access rule in SQL: audience bits over the ISO nations, the caveat registry, label columns.

A label is stored as columns — classification, caveat bits, and the audience (originator + REL TO
with groups expanded) as bits over the 249 ISO 3166-1 nations in four 63-bit columns — so the rule

    classification <= :clearance AND (aud<k> & :nation_bit) != 0 AND (caveat_mask & :not_held) = 0

is arithmetic on a row, the same for partitions and collections. Caveats get bits from a
per-instance registry (at most 63), registered when `aquila token` grants them.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import pycountry

from aquila.errors import InputError
from aquila.limits import MAX_CAVEATS
from aquila.security.labels import Label
from aquila.security.policy import User

__all__ = ["LabelRule", "MAX_CAVEATS", "nation_bit", "audience_bits"]

_ALL_BITS = (1 << 63) - 1
_NATION_INDEX = {c: i for i, c in enumerate(sorted(c.alpha_3 for c in pycountry.countries))}
assert len(_NATION_INDEX) <= 4 * 63


def nation_bit(nation: str) -> tuple[int, int]:
    """(column, bit mask) of a nation in the audience bit set."""
    i = _NATION_INDEX.get(nation)
    if i is None:  # not a nation code: matches no audience
        return 0, 0
    return i // 63, 1 << (i % 63)


def audience_bits(nations: Iterable[str]) -> tuple[int, int, int, int]:
    """The audience as four 63-bit columns over the ISO nations."""
    if isinstance(nations, frozenset):
        return _audience_bits_cached(nations)
    return _audience_bits_cached(frozenset(nations))


@functools.lru_cache(maxsize=4096)
def _audience_bits_cached(nations: frozenset[str]) -> tuple[int, int, int, int]:
    cols = [0, 0, 0, 0]
    for n in nations:
        col, bit = nation_bit(n)
        cols[col] |= bit
    return cols[0], cols[1], cols[2], cols[3]


class LabelRule:
    """The caveat registry and the rule over a table alias (mixed into `CatalogStore`)."""

    _conn: Callable[[], sqlite3.Connection]
    _write: Callable[..., Any]
    _caveats: dict[str, int]

    def _mask(self, db: sqlite3.Connection, caveats: Iterable[str]) -> int:
        mask = 0
        for c in sorted(caveats):
            bit = self._caveats.get(c)
            if bit is None:  # maybe registered since by another process (`aquila token`): ask the database
                row = db.execute("SELECT bit FROM caveats WHERE name = ?", (c,)).fetchone()
                if row is None:
                    bit = db.execute("SELECT coalesce(max(bit) + 1, 0) FROM caveats").fetchone()[0]
                    if bit >= MAX_CAVEATS:
                        raise InputError(f"caveat {c!r} would be the 64th distinct caveat of this instance",
                                         field="sec:caveats",
                                         expected="one of the instance's existing caveats (at most 63)")
                    db.execute("INSERT INTO caveats VALUES (?, ?)", (c, bit))
                else:
                    bit = row[0]
                self._caveats[c] = bit
            mask |= 1 << bit
        return mask

    def register_caveats(self, names: Iterable[str]) -> None:
        """Give caveats their bits ahead of use (when a token granting them is issued), so that a write
        by their holders never registers one — and the registry's state depends on no hidden label."""
        self._write(lambda db: self._mask(db, names))

    def _reload_caveats(self) -> None:
        self._caveats = dict(self._conn().execute("SELECT name, bit FROM caveats").fetchall())

    @property
    def caveat_bits(self) -> dict[str, int]:
        return dict(self._caveats)

    def _rule(self, user: User, t: str) -> tuple[str, list[Any]]:
        """The access rule over table alias `t` (its audience bits include the originator)."""
        if not user.caveats <= self._caveats.keys():  # registered by another process since: reload
            self._reload_caveats()
        held = 0
        for c in user.caveats:
            if c in self._caveats:
                held |= 1 << self._caveats[c]
        col, bit = nation_bit(user.nation)
        return (f"({t}.classification <= ? AND ({t}.aud{col} & ?) != 0 AND ({t}.caveat_mask & ?) = 0)",
                [int(user.clearance), bit, _ALL_BITS & ~held])

    def _label_columns(self, db: sqlite3.Connection, label: Label) -> tuple[int, int, int, int, int, int]:
        return (int(label.classification), self._mask(db, label.caveats), *audience_bits(label.audience))
