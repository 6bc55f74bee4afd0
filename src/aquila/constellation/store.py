"""Where current element sets are kept between runs (`aquila constellation update`).

The file is replaced atomically (write, fsync, rename), so a crash mid-update never leaves a
half-written element file: the previous one stays in force.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aquila.constellation.assets import Constellation
from aquila.constellation.builtin import builtin_constellation
from aquila.constellation.elements import ElementSet, load_elements
from aquila.constellation.facts import FactsTable, builtin_facts, load_facts
from aquila.errors import InputError

__all__ = ["ElementStore", "fetch_url", "load_constellation", "effective_facts", "apply_facts"]


def _atomic_write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ElementStore:
    """The updated element sets of one data directory."""

    def __init__(self, data_dir: str | Path) -> None:
        self.dir = Path(data_dir) / "elements"
        self.path = self.dir / "current.txt"
        self.meta_path = self.dir / "current.json"
        self.facts_path = self.dir / "facts.json"

    def exists(self) -> bool:
        return self.path.exists()

    def save(self, text: str, source: str, count: int) -> None:
        _atomic_write(self.path, text)
        _atomic_write(self.meta_path, json.dumps({
            "source": source, "count": count, "saved_at": datetime.now(UTC).isoformat()}, indent=2))

    def load(self) -> list[ElementSet]:
        return load_elements(self.path) if self.exists() else []

    def save_facts(self, text: str) -> None:
        """Keep a user's facts file beside the elements: every later command lays it over the built-in facts."""
        _atomic_write(self.facts_path, text)

    def meta(self) -> dict[str, object]:
        return json.loads(self.meta_path.read_text()) if self.meta_path.exists() else {}


def fetch_url(url: str, timeout_s: float = 30.0) -> str:
    """GET a CelesTrak-style GP URL (TLE or OMM); a clear error when offline."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"{url!r}", field="--url", expected="an http(s) URL, e.g. "
                         "https://celestrak.org/NORAD/elements/gp.php?GROUP=active&FORMAT=json")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - scheme checked above
            return resp.read().decode("utf-8-sig")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise InputError(f"could not fetch {url}: {getattr(exc, 'reason', exc)}", field="--url",
                         expected="a reachable URL; without a network, download elsewhere and use --file") from None


def effective_facts(data_dir: str | Path | None) -> FactsTable:
    """The built-in facts, with the facts stored by `constellation update --facts` laid over them."""
    if data_dir is not None and ElementStore(data_dir).facts_path.exists():
        return load_facts(ElementStore(data_dir).facts_path)
    return builtin_facts()


def apply_facts(c: Constellation, table: FactsTable) -> Constellation:
    """The constellation with a user's facts laid over it: owner, sensor, look side, squint, and who is an ally."""
    if table is builtin_facts():
        return c
    sats = []
    for s in c:
        f = table.get(s.norad_id)
        if f is not None:
            s = replace(s, owner=f.owner, operator=f.operator, kind=f.owner_kind, sensor=f.sensor,
                        look_side=f.look_side, squint_max_deg=f.squint_max_deg)
        sats.append(replace(s, ally=table.is_ally(s.owner)))
    return Constellation(sats, c.left_out)


def load_constellation(data_dir: str | Path | None, epoch: datetime) -> Constellation:
    """The built-in constellation, with tracked elements from the store where it has them.

    Stored element sets of other satellites whose facts are known and whose owner is in the
    alliance join it as tracked satellites (others' stay usable with --tle).
    """
    c = builtin_constellation(epoch)
    if data_dir is not None:
        store = ElementStore(data_dir)
        if store.exists():
            _, others = c.update_elements(store.load())
            facts = effective_facts(data_dir)
            known = [es for es in others if (f := facts.get(es.norad_id)) is not None and facts.is_ally(f.owner)]
            c.satellites.extend(Constellation.from_element_sets(known, facts=facts).satellites)
        c = apply_facts(c, effective_facts(data_dir))
    return c
