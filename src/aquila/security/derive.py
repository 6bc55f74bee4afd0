"""Derived labels: what a product made from labelled inputs may carry, and the release rules that lower it.

Without a rule a derived product carries the most restrictive combination of everything a reader
needed to read its inputs (each input's item label *and* its collection's): the highest
classification, the intersection of the audiences (originator + expanded releasable-to), the union
of the caveats. Whoever may read the product could therefore read every input.

A **release rule** is an originator's standing decision that products of one kind derived from its
sources may carry a lower label, after an embargo (the tear-line: "vessel detections from FRA SAR:
NR, REL NATO, no caveats, 6 h after acquisition"). A rule stands in for its nation's *own* label of
a source only: never for another nation's label, nor for a collection label of another nation's
container. When several rules of a nation match, the least restrictive is used. Rules whose embargo
has not passed are reported as pending, with the time they would apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aquila.errors import InputError, LabelError
from aquila.security.labels import Classification, Label
from aquila.security.nations import GROUPS, expand

__all__ = ["DERIVED_PRODUCTS", "ReleaseRule", "SourceLabel", "Contribution", "Derivation", "derive_label",
           "combine", "parse_release_rule", "parse_duration", "MAX_RULE_COLLECTIONS"]

DERIVED_PRODUCTS: dict[str, str] = {
    "vessel-detections": "SAR vessel detections, AIS identities and dark-vessel findings (the ships pipeline)",
}
"""Kinds of derived product a release rule may name."""

MAX_RULE_COLLECTIONS = 100
_RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_DURATION = re.compile(r"P(?:([0-9]{1,5})D)?(?:T(?:([0-9]{1,6})H)?(?:([0-9]{1,8})M)?(?:([0-9]{1,9})S)?)?")
_DURATION_FORM = "an ISO 8601 duration such as PT6H, PT30M or P2D (days, hours, minutes, seconds; at most 10 years)"
_RULE_KEYS = {"id", "product", "source_collections", "source_max_classification", "source_caveats", "label", "delay",
              "description"}
_LABEL_KEYS = {"sec:classification", "sec:releasable_to", "sec:caveats"}
_MAX_DELAY = timedelta(days=3653)


def parse_duration(text: Any, field: str = "delay") -> timedelta:
    """'PT6H' -> 6 hours (an ISO 8601 duration of days, hours, minutes and seconds)."""
    m = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if m is None or text in ("P", "PT") or text.endswith("T"):
        raise InputError(f"{str(text)[:40]!r}", field=field, expected=_DURATION_FORM)
    d, h, mi, s = (int(g or 0) for g in m.groups())
    out = timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if out > _MAX_DELAY:
        raise InputError(f"{text!r} is longer than 10 years", field=field, expected=_DURATION_FORM)
    return out


def _duration_text(d: timedelta) -> str:
    s = int(d.total_seconds())
    days, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    t = "".join(f"{v}{u}" for v, u in ((h, "H"), (m, "M"), (s, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{t}" if t else ("" if days else "T0S"))


@dataclass(frozen=True)
class ReleaseRule:
    """An originator's rule: products of `product` derived from its sources may carry `label` after `delay`."""

    id: str
    nation: str
    product: str
    label: Label
    """The label the rule lets a source contribute (its originator is the rule's nation)."""
    delay: timedelta = timedelta(0)
    source_collections: frozenset[str] = frozenset()
    """Source collections it covers (empty: all of the nation's sources)."""
    source_max_classification: Classification = Classification.CTS
    """Sources classified above this (item and own-nation collection together) are not covered."""
    description: str = ""
    source_caveats: frozenset[str] = frozenset()
    """Sources with a caveat outside these (item and own-nation collection) are not covered: a rule
    releases only what its writer was cleared to see when writing it."""

    def covers(self, source: SourceLabel, product: str) -> bool:
        level, caveats = source.label.classification, source.label.caveats
        c = source.collection_label
        if c is not None and c.originator == self.nation:  # the container the rule would stand in for too
            level, caveats = max(level, c.classification), caveats | c.caveats
        return (product == self.product and source.label.originator == self.nation
                and level <= self.source_max_classification and caveats <= self.source_caveats
                and (not self.source_collections or source.collection in self.source_collections))

    @property
    def scope(self) -> Label:
        """What a reader of the rule itself must hold: the sources it covers (level and caveats)."""
        return Label(self.source_max_classification, self.nation, frozenset(), self.source_caveats)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "nation": self.nation, "product": self.product,
                "source_collections": sorted(self.source_collections),
                "source_max_classification": self.source_max_classification.name,
                "source_caveats": sorted(self.source_caveats),
                "label": {k: v for k, v in self.label.to_properties().items() if k != "sec:originator"},
                "delay": _duration_text(self.delay), "description": self.description}


def parse_release_rule(doc: Any, nation: str, rule_id: str | None = None,
                       default_max: Classification = Classification.CTS,
                       default_caveats: frozenset[str] = frozenset()) -> ReleaseRule:
    """A rule from its JSON form (see `ReleaseRule.as_json`, without `nation`: it is the writer's own);
    the sources it covers default to `default_max` and `default_caveats` (the writer's clearance)."""
    if not isinstance(doc, dict):
        raise InputError("body is not a JSON object", field="body",
                         expected='{"id", "product", "label": {"sec:classification", ...}, "delay": "PT6H"}')
    unknown = sorted(set(doc) - _RULE_KEYS - {"nation"})
    if unknown:
        raise InputError(f"unknown member {unknown[0][:40]!r}", field=unknown[0][:40],
                         expected="members " + ", ".join(sorted(_RULE_KEYS)))
    if "nation" in doc and (not isinstance(doc["nation"], str) or doc["nation"] != nation):
        raise InputError(f"{str(doc['nation'])[:40]!r}", field="nation",
                         expected=f"{nation} (a provider writes its own nation's rules) or no nation member")
    rid = doc.get("id", rule_id) if rule_id is None else rule_id
    if "id" in doc and rule_id is not None and (not isinstance(doc["id"], str) or doc["id"] != rule_id):
        raise InputError(f"{str(doc['id'])[:80]!r} does not match the URL", field="id", expected=repr(rule_id))
    if not isinstance(rid, str) or _RULE_ID.fullmatch(rid) is None:
        raise InputError(f"{str(rid)[:80]!r}", field="id",
                         expected="1-64 characters: lower-case letters, digits and '-', starting with a letter/digit")
    product = doc.get("product")
    if not isinstance(product, str) or product not in DERIVED_PRODUCTS:
        raise InputError(f"{str(product)[:80]!r}", field="product", expected="one of " + ", ".join(DERIVED_PRODUCTS))
    lab = doc.get("label")
    if not isinstance(lab, dict) or "sec:classification" not in lab:
        raise InputError("missing or not an object", field="label",
                         expected='{"sec:classification": "NR", "sec:releasable_to": ["NATO"], "sec:caveats": []}')
    extra = sorted(set(lab) - _LABEL_KEYS)
    if extra:
        raise InputError(f"unknown member {extra[0][:40]!r}", field=f"label.{extra[0][:40]}",
                         expected="sec:classification, sec:releasable_to, sec:caveats (the originator is the rule's)")
    label = Label.from_properties(dict(lab, **{"sec:originator": nation}), prefix="label.")
    cols = doc.get("source_collections", [])
    if not isinstance(cols, list) or len(cols) > MAX_RULE_COLLECTIONS or not all(isinstance(c, str) for c in cols):
        raise InputError(f"{str(cols)[:80]!r}", field="source_collections",
                         expected=f"a list of at most {MAX_RULE_COLLECTIONS} collection ids (empty: all)")
    from aquila.catalog.validate import check_id  # the catalog's id form (one rule for ids)
    for c in cols:
        check_id(c, "source_collections")
    top = Classification.parse(doc.get("source_max_classification", default_max.name), "source_max_classification")
    cav = doc.get("source_caveats", sorted(default_caveats))
    if not isinstance(cav, list):
        raise InputError(f"{str(cav)[:80]!r}", field="source_caveats", expected='a list of caveats such as ["ORCA"]')
    try:
        scope = Label(top, nation, frozenset(), frozenset(cav))
    except LabelError as exc:
        raise InputError(exc.reason, field="source_caveats", expected=exc.expected or "caveat tags") from None
    desc = doc.get("description", "")
    if not isinstance(desc, str) or len(desc) > 1000 or any(ord(ch) < 32 and ch not in "\t\n" for ch in desc):
        raise InputError("not a text of at most 1000 characters without control characters", field="description",
                         expected="a short text")
    return ReleaseRule(rid, nation, product, label, parse_duration(doc.get("delay", "PT0S")), frozenset(cols), top,
                       desc, scope.caveats)


@dataclass(frozen=True)
class SourceLabel:
    """One input of a derived product: its id, label, collection and acquisition time."""

    obj: str
    label: Label
    collection: str = ""
    collection_label: Label | None = None
    acquired: datetime | None = None


@dataclass(frozen=True)
class Contribution:
    """What one input contributed to the derived label, and why."""

    source: str
    rule: str | None
    """`NATION/rule-id` of the rule applied, or None (the input's own label)."""
    classification: Classification
    audience: frozenset[str]
    caveats: frozenset[str]
    source_label: Label | None = None
    """The input's own label (what an audit entry about it must be scoped to)."""


@dataclass(frozen=True)
class Derivation:
    label: Label
    contributions: tuple[Contribution, ...]
    pending: tuple[tuple[str, str, datetime], ...] = field(default=())
    """(source, NATION/rule-id, when it would apply) of rules still under embargo."""

    @property
    def applied(self) -> list[Contribution]:
        return [c for c in self.contributions if c.rule is not None]


def _releasable(audience: frozenset[str], producer: str) -> frozenset[str]:
    """The shortest releasable-to naming exactly `audience` (with the producer as originator): whole groups
    by name, the rest by nation."""
    rel: set[str] = set()
    covered: set[str] = set()
    for g in ("NATO", "EU", "FVEY"):
        if GROUPS[g] <= audience:
            rel.add(g)
            covered |= GROUPS[g]
    rel |= audience - covered - {producer}
    return frozenset(rel)


def combine(parts: Iterable[tuple[Classification, frozenset[str], frozenset[str]]], producer: str) -> Label:
    """The most restrictive label over (classification, audience, caveats) parts, originated by `producer`.

    `producer` must be in every audience (it read every input); else `LabelError`.
    """
    level = Classification.NU
    audience: frozenset[str] | None = None
    caveats: frozenset[str] = frozenset()
    for cls_, aud, cav in parts:
        level = max(level, cls_)
        audience = aud if audience is None else audience & aud
        caveats |= cav
    if audience is None:
        raise LabelError("no inputs", field="sources", expected="at least one labelled input")
    if producer not in audience:
        raise LabelError(f"{producer} may not read every input", field="sec:originator",
                         expected="a producing nation that every input is releasable to")
    return Label(level, producer, _releasable(audience, producer), caveats)


def _rank(rule: ReleaseRule) -> tuple[int, int, int, str]:
    return (int(rule.label.classification), -len(expand(rule.label.releasable_to)), len(rule.label.caveats), rule.id)


def derive_label(sources: Sequence[SourceLabel], product: str, producer: str,
                 rules: Mapping[str, Sequence[ReleaseRule]] | Sequence[ReleaseRule] = (),
                 now: datetime | None = None) -> Derivation:
    """The label of a `product` made by `producer` from `sources`, given the originators' release rules."""
    if product not in DERIVED_PRODUCTS:
        raise InputError(f"{product!r}", field="product", expected="one of " + ", ".join(DERIVED_PRODUCTS))
    now = now or datetime.now(UTC)
    flat = [r for rs in rules.values() for r in rs] if isinstance(rules, Mapping) else list(rules)
    parts: list[Contribution] = []
    pending: list[tuple[str, str, datetime]] = []
    for s in sources:
        covering = sorted((r for r in flat if r.covers(s, product)), key=_rank)
        due = [r for r in covering if not r.delay or (s.acquired is not None and s.acquired + r.delay <= now)]
        for r in covering:  # an embargoed rule that would give a lower label than what applies now
            if r not in due and s.acquired is not None and (not due or _rank(r) < _rank(due[0])):
                pending.append((s.obj, f"{r.nation}/{r.id}", s.acquired + r.delay))
        if due:  # a rule only ever lowers: each part of the label is the less restrictive of the two
            r = due[0]
            parts.append(Contribution(s.obj, f"{r.nation}/{r.id}", min(s.label.classification, r.label.classification),
                                      s.label.audience | r.label.audience, s.label.caveats & r.label.caveats, s.label))
        else:
            parts.append(Contribution(s.obj, None, s.label.classification, s.label.audience, s.label.caveats,
                                      s.label))
        c = s.collection_label
        if c is not None and not (due and c.originator == s.label.originator):
            parts.append(Contribution(f"collection {s.collection}", None, c.classification, c.audience, c.caveats,
                                      c))
    label = combine(((p.classification, p.audience, p.caveats) for p in parts), producer)
    return Derivation(label, tuple(parts), tuple(sorted(pending, key=lambda p: p[2])))
