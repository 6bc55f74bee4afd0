"""Security labels: classification, releasability, caveats and originator (STANAG 4774 shape).

The JSON binding is four STAC properties::

    "sec:classification": "NS",                 # NU < NR < NC < NS < CTS (full names accepted)
    "sec:releasable_to": ["NATO"],              # ISO 3166-1 alpha-3 nations and groups (NATO, FVEY, EU)
    "sec:caveats": ["BALTIC-OPS"],              # need-to-know tags: a reader must hold all of them
    "sec:originator": "FRA"                     # the nation that owns the object

The XML binding follows the STANAG 4774 confidentiality label: a policy, a classification and
permissive (releasable to) and restrictive (caveats) categories.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

from aquila.errors import LabelError
from aquila.security.nations import GROUPS, check_nation, expand

__all__ = ["Classification", "Label", "LabelError", "PROPERTY_KEYS", "STANAG_NS"]

STANAG_NS = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
PROPERTY_KEYS = ("sec:classification", "sec:releasable_to", "sec:caveats", "sec:originator")
_CAVEAT = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_CAVEAT_FORM = 'a list of upper-case tags such as ["BALTIC-OPS"] (A-Z, 0-9, - and _, at most 32 characters)'


class Classification(IntEnum):
    """NATO classification levels, ordered."""

    NU = 0
    NR = 1
    NC = 2
    NS = 3
    CTS = 4

    @property
    def full_name(self) -> str:
        return _FULL[self]

    @classmethod
    def parse(cls, value: object, field: str = "sec:classification") -> Classification:
        if isinstance(value, Classification):
            return value
        if isinstance(value, str):
            key = " ".join(value.strip().upper().split())
            if key in cls.__members__:
                return cls[key]
            for level, name in _FULL.items():
                if key == name:
                    return level
        raise LabelError(f"{value!r} is not a classification", field=field,
                         expected="one of NU, NR, NC, NS, CTS (or NATO UNCLASSIFIED ... COSMIC TOP SECRET)")


_FULL = {Classification.NU: "NATO UNCLASSIFIED", Classification.NR: "NATO RESTRICTED",
         Classification.NC: "NATO CONFIDENTIAL", Classification.NS: "NATO SECRET",
         Classification.CTS: "COSMIC TOP SECRET"}


def _codes(value: object, field: str, allow_groups: bool) -> frozenset[str]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise LabelError(f"{value!r} is not a list", field=field, expected='a JSON list such as ["FRA", "NATO"]')
    out = set()
    for v in value:
        if not isinstance(v, str):
            raise LabelError(f"{str(v)[:40]!r} is not a code", field=field,
                             expected="ISO 3166-1 alpha-3 codes" + (" or NATO, FVEY, EU" if allow_groups else ""))
        if allow_groups and v in GROUPS:
            out.add(v)
            continue
        try:
            out.add(check_nation(v))
        except ValueError as exc:
            groups = " or NATO, FVEY, EU" if allow_groups else ""
            raise LabelError(str(exc), field=field, expected="ISO 3166-1 alpha-3 codes" + groups) from None
    return frozenset(out)


@dataclass(frozen=True)
class Label:
    """A validated security label."""

    classification: Classification
    originator: str
    releasable_to: frozenset[str] = frozenset()
    caveats: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "classification", Classification.parse(self.classification))
        try:
            check_nation(self.originator)
        except ValueError as exc:
            raise LabelError(str(exc), field="sec:originator",
                             expected="the owning nation's ISO 3166-1 alpha-3 code") from None
        object.__setattr__(self, "releasable_to", _codes(list(self.releasable_to), "sec:releasable_to", True))
        if not all(isinstance(c, str) and _CAVEAT.fullmatch(c) for c in self.caveats):
            raise LabelError(f"{sorted(self.caveats)!r}", field="sec:caveats", expected=_CAVEAT_FORM)
        object.__setattr__(self, "caveats", frozenset(self.caveats))

    @property
    def marking(self) -> str:
        """The label as people read it on a product: `NATO RESTRICTED REL TO EST, NATO // BALTIC`
        (no releasability: `<ORIGINATOR> ONLY`)."""
        rel = f"REL TO {', '.join(sorted(self.releasable_to))}" if self.releasable_to else f"{self.originator} ONLY"
        cav = f" // {' '.join(sorted(self.caveats))}" if self.caveats else ""
        return f"{self.classification.full_name} {rel}{cav}"

    @property
    def audience(self) -> frozenset[str]:
        """Nations that may read it (clearance and caveats permitting): originator + expanded REL TO."""
        return _audience(self.releasable_to, self.originator)

    def to_properties(self) -> dict[str, Any]:
        return {"sec:classification": self.classification.name,
                "sec:releasable_to": sorted(self.releasable_to),
                "sec:caveats": sorted(self.caveats),
                "sec:originator": self.originator}

    @classmethod
    def from_properties(cls, props: Mapping[str, Any], prefix: str = "properties.") -> Label:
        """Parse the four `sec:` properties; missing classification or originator is an error."""
        if "sec:classification" not in props:
            raise LabelError("missing", field=prefix + "sec:classification",
                             expected="a classification: NU, NR, NC, NS or CTS")
        level = Classification.parse(props["sec:classification"], prefix + "sec:classification")
        orig = props.get("sec:originator")
        try:
            orig = check_nation(orig)
        except ValueError as exc:
            raise LabelError(str(exc) if orig is not None else "missing", field=prefix + "sec:originator",
                             expected="the owning nation's ISO 3166-1 alpha-3 code") from None
        rel = _codes(props.get("sec:releasable_to", []), prefix + "sec:releasable_to", True)
        cav = props.get("sec:caveats", [])
        if not isinstance(cav, list | tuple | set | frozenset) or not all(
                isinstance(c, str) and _CAVEAT.fullmatch(c) for c in cav):
            raise LabelError(f"{str(cav)[:80]!r}", field=prefix + "sec:caveats", expected=_CAVEAT_FORM)
        return cls(level, orig, rel, frozenset(cav))

    def to_xml(self) -> str:
        """The STANAG 4774 confidentiality label shape (policy NATO)."""
        ET.register_namespace("slab", STANAG_NS)
        q = lambda t: f"{{{STANAG_NS}}}{t}"  # noqa: E731
        root = ET.Element(q("ConfidentialityLabel"))
        info = ET.SubElement(root, q("ConfidentialityInformation"))
        ET.SubElement(info, q("PolicyIdentifier")).text = "NATO"
        ET.SubElement(info, q("Classification")).text = self.classification.full_name
        for tag, kind, values in (("Releasable To", "PERMISSIVE", self.releasable_to),
                                  ("Caveats", "RESTRICTIVE", self.caveats)):
            if values:
                cat = ET.SubElement(info, q("Category"), {"TagName": tag, "Type": kind})
                for v in sorted(values):
                    ET.SubElement(cat, q("GenericValue")).text = v
        ET.SubElement(root, q("OriginatorID"), {"IDType": "ISO3166-1-alpha-3"}).text = self.originator
        return ET.tostring(root, encoding="unicode")

    @classmethod
    def from_xml(cls, text: str) -> Label:
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise LabelError(f"not XML: {exc}", field="label", expected="a STANAG 4774 ConfidentialityLabel") from None
        ns = {"s": STANAG_NS}
        cls_el = root.find("s:ConfidentialityInformation/s:Classification", ns)
        orig_el = root.find("s:OriginatorID", ns)
        props: dict[str, Any] = {
            "sec:classification": cls_el.text if cls_el is not None else None,
            "sec:originator": orig_el.text if orig_el is not None else None,
            "sec:releasable_to": [], "sec:caveats": []}
        for cat in root.findall("s:ConfidentialityInformation/s:Category", ns):
            key = "sec:releasable_to" if cat.get("Type") == "PERMISSIVE" else "sec:caveats"
            props[key] = [v.text for v in cat.findall("s:GenericValue", ns)]
        if props["sec:classification"] is None:
            raise LabelError("missing", field="Classification", expected="a STANAG 4774 Classification element")
        return cls.from_properties(props, prefix="")


@lru_cache(maxsize=4096)
def _audience(releasable_to: frozenset[str], originator: str) -> frozenset[str]:
    """Memoized: each item of a search page asks its collection's audience for its audit scope."""
    return expand(releasable_to) | {originator}
