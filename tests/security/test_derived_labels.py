"""Derived labels as an attacker would probe them: a finding never reaches a reader who could not read every
input, unless the input's own originator released it by rule — and then only as far as that rule says.

Property-based over random labels of sources and their collections, random rules (of the sources'
originators and of other nations), random embargoes and random readers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aquila.errors import InputError, LabelError
from aquila.security.derive import ReleaseRule, SourceLabel, combine, derive_label, parse_duration, parse_release_rule
from aquila.security.labels import Classification, Label
from aquila.security.nations import expand
from aquila.security.policy import User, decide

NATIONS = ["FRA", "DEU", "ITA", "POL", "EST", "USA", "GBR", "AUS", "SWE", "TUR", "JPN"]
GROUPS = ["NATO", "EU", "FVEY"]
CAVEATS = ["BALTIC", "ORCA", "SAR-ONLY"]
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PRODUCT = "vessel-detections"

levels = st.sampled_from(list(Classification))
nations = st.sampled_from(NATIONS)
rels = st.sets(st.sampled_from(NATIONS + GROUPS), max_size=4)
cavs = st.sets(st.sampled_from(CAVEATS), max_size=2)
labels = st.builds(Label, levels, nations, rels, cavs)
users = st.builds(User, nations, levels, cavs)


@st.composite
def sources(draw: st.DrawFn) -> SourceLabel:
    lab = draw(labels)
    coll = draw(st.one_of(st.none(), labels, st.builds(Label, levels, st.just(lab.originator), rels, cavs)))
    hours = draw(st.integers(0, 48))
    return SourceLabel(f"c{draw(st.integers(0, 3))}/i{draw(st.integers(0, 10**6))}", lab,
                       f"c{draw(st.integers(0, 3))}", coll, NOW - timedelta(hours=hours))


@st.composite
def rules(draw: st.DrawFn) -> ReleaseRule:
    n = draw(nations)
    label = draw(st.builds(Label, levels, st.just(n), rels, cavs))
    return ReleaseRule(f"r{draw(st.integers(0, 99))}", n, PRODUCT, label,
                       timedelta(hours=draw(st.integers(0, 24))),
                       frozenset(draw(st.sets(st.sampled_from(["c0", "c1", "c2", "c3"]), max_size=2))),
                       draw(levels))


def _reads_source(u: User, s: SourceLabel) -> bool:
    return bool(decide(u, s.label)) and (s.collection_label is None or bool(decide(u, s.collection_label)))


@settings(max_examples=400, deadline=None)
@given(st.lists(sources(), min_size=1, max_size=4), st.lists(rules(), max_size=6), st.lists(users, min_size=1,
                                                                                            max_size=6))
def test_a_finding_is_readable_only_by_who_reads_every_input_or_is_released_to_by_rule(srcs, rs, readers) -> None:
    producers = [n for n in NATIONS if all(n in s.label.audience and (s.collection_label is None
                                                                     or n in s.collection_label.audience)
                                           for s in srcs)]
    if not producers:  # nobody read every input: no derivation (with or without rules, none reads them)
        with pytest.raises(LabelError):
            derive_label(srcs, PRODUCT, "FRA", [], NOW)
        return
    d = derive_label(srcs, PRODUCT, producers[0], rs, NOW)
    by_source = {c.source: c for c in d.contributions}
    for u in readers:
        if not decide(u, d.label):
            continue
        for s in srcs:
            if _reads_source(u, s):
                continue
            c = by_source[s.obj]
            assert c.rule is not None, f"{u} reads the finding but not {s} and no rule applied"
            nation, rid = c.rule.split("/")
            rule = next(r for r in rs if r.nation == nation and r.id == rid)
            # the rule is the source's own originator's, covers it, is past its embargo, and admits the reader
            assert nation == s.label.originator and rule.covers(s, PRODUCT)
            assert s.acquired is not None and s.acquired + rule.delay <= NOW
            # ... and the reader holds, in each part, what the source or the rule asks (a rule only lowers)
            assert u.clearance >= min(s.label.classification, rule.label.classification)
            assert u.nation in s.label.audience | rule.label.audience
            assert s.label.caveats & rule.label.caveats <= u.caveats
            # a collection of another nation still binds
            if s.collection_label is not None and s.collection_label.originator != nation:
                assert decide(u, s.collection_label)


@settings(max_examples=300, deadline=None)
@given(st.lists(sources(), min_size=1, max_size=4), st.lists(users, min_size=1, max_size=6))
def test_without_rules_the_label_is_exactly_the_most_restrictive_combination(srcs, readers) -> None:
    """Not over-restrictive either: whoever reads every input (and the producer's nation is among the
    audience) reads the finding."""
    producers = [n for n in NATIONS if all(n in s.label.audience and (s.collection_label is None
                                                                     or n in s.collection_label.audience)
                                           for s in srcs)]
    if not producers:
        return
    d = derive_label(srcs, PRODUCT, producers[0], [], NOW)
    assert not d.applied
    for u in readers:
        assert bool(decide(u, d.label)) == all(_reads_source(u, s) for s in srcs), (u, d.label)


def test_rule_under_embargo_is_pending_then_applies() -> None:
    src = SourceLabel("fra-sar/s1", Label("NS", "FRA", frozenset({"DEU"})), "fra-sar",
                      Label("NU", "FRA", frozenset({"NATO"})), NOW - timedelta(hours=2))
    rule = ReleaseRule("nato-6h", "FRA", PRODUCT, Label("NR", "FRA", frozenset({"NATO"})), timedelta(hours=6))
    early = derive_label([src], PRODUCT, "FRA", [rule], NOW)
    assert early.label == Label("NS", "FRA", frozenset({"DEU"}))
    assert early.pending == (("fra-sar/s1", "FRA/nato-6h", NOW + timedelta(hours=4)),)
    late = derive_label([src], PRODUCT, "FRA", [rule], NOW + timedelta(hours=4))
    assert late.label == Label("NR", "FRA", frozenset({"NATO"})) and late.pending == ()
    assert [c.rule for c in late.applied] == ["FRA/nato-6h"]


def test_a_rule_never_releases_another_nations_source_or_container() -> None:
    deu = SourceLabel("deu/s", Label("NC", "DEU", frozenset({"FRA"})), "deu", None, NOW - timedelta(days=1))
    fra_rule = ReleaseRule("all", "FRA", PRODUCT, Label("NU", "FRA", frozenset({"NATO"})))
    d = derive_label([deu], PRODUCT, "FRA", [fra_rule], NOW)
    assert not d.applied and d.label.classification == Classification.NC
    assert expand(d.label.releasable_to) | {"FRA"} == {"FRA", "DEU"}
    # FRA's item in DEU's restricted collection: FRA's rule lowers FRA's label only
    inner = SourceLabel("deu-coll/s", Label("NS", "FRA", frozenset({"NATO"})), "deu-coll",
                        Label("NC", "DEU", frozenset({"FRA", "POL"})), NOW - timedelta(days=1))
    d = derive_label([inner], PRODUCT, "FRA", [fra_rule], NOW)
    assert d.applied and d.label.classification == Classification.NC
    assert d.label.audience == {"FRA", "POL", "DEU"}


def test_rule_scope_limits_collections_and_source_classification() -> None:
    rule = ReleaseRule("s", "FRA", PRODUCT, Label("NU", "FRA", frozenset({"NATO"})),
                       source_collections=frozenset({"fra-sar"}), source_max_classification=Classification.NC)
    ok = SourceLabel("fra-sar/a", Label("NC", "FRA"), "fra-sar", None, NOW)
    other = SourceLabel("fra-eo/a", Label("NC", "FRA"), "fra-eo", None, NOW)
    secret = SourceLabel("fra-sar/b", Label("NS", "FRA"), "fra-sar", None, NOW)
    assert derive_label([ok], PRODUCT, "FRA", [rule], NOW).applied
    assert not derive_label([other], PRODUCT, "FRA", [rule], NOW).applied
    assert not derive_label([secret], PRODUCT, "FRA", [rule], NOW).applied


def test_least_restrictive_of_several_due_rules_is_used() -> None:
    src = SourceLabel("fra-sar/a", Label("NS", "FRA"), "fra-sar", None, NOW - timedelta(days=2))
    narrow = ReleaseRule("a-narrow", "FRA", PRODUCT, Label("NC", "FRA", frozenset({"DEU"})))
    wide = ReleaseRule("b-wide", "FRA", PRODUCT, Label("NR", "FRA", frozenset({"NATO"})))
    d = derive_label([src], PRODUCT, "FRA", [narrow, wide], NOW)
    assert [c.rule for c in d.applied] == ["FRA/b-wide"]


def test_combination_names_groups_when_whole() -> None:
    lab = combine([(Classification.NR, expand(frozenset({"NATO"})) | {"FRA"}, frozenset()),
                   (Classification.NC, expand(frozenset({"NATO", "EU"})), frozenset({"ORCA"}))], "FRA")
    assert lab == Label("NC", "FRA", frozenset({"NATO"}), frozenset({"ORCA"}))
    with pytest.raises(LabelError, match="may not read every input"):
        combine([(Classification.NU, frozenset({"DEU"}), frozenset())], "FRA")


@pytest.mark.parametrize(("doc", "field"), [
    ("not an object", "body"),
    ({"id": "Bad Id", "product": PRODUCT, "label": {"sec:classification": "NR"}}, "id"),
    ({"id": "x", "product": "anything", "label": {"sec:classification": "NR"}}, "product"),
    ({"id": "x", "product": PRODUCT}, "label"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR", "sec:originator": "DEU"}},
     "label.sec:originator"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR", "sec:releasable_to": ["XXX"]}},
     "label.sec:releasable_to"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR"}, "delay": 21600}, "delay"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR"}, "delay": "PT"}, "delay"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR"}, "delay": "P99999D"}, "delay"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR"}, "nation": "DEU"}, "nation"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR"}, "source_collections": ["a/b"]},
     "source_collections"),
    ({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR"}, "extra": 1}, "extra"),
])
def test_bad_rules_name_the_field(doc, field) -> None:
    with pytest.raises(InputError) as exc:
        parse_release_rule(doc, "FRA")
    assert exc.value.field == field, exc.value


def test_durations() -> None:
    assert parse_duration("PT6H") == timedelta(hours=6)
    assert parse_duration("P1DT30M") == timedelta(days=1, minutes=30)
    assert parse_duration("PT0S") == timedelta(0)
    rule = parse_release_rule({"id": "x", "product": PRODUCT, "label": {"sec:classification": "NR"},
                               "delay": "P1DT6H"}, "FRA")
    assert rule.as_json()["delay"] == "P1DT6H"
    assert parse_release_rule(rule.as_json(), "FRA", "x") == rule


def test_a_rules_scope_counts_its_own_nations_container() -> None:
    """An NU item in FRA's own CTS [ORCA] collection is a CTS [ORCA] source for a rule's scope."""
    src = SourceLabel("fra-secret/a", Label("NU", "FRA", frozenset({"NATO"})), "fra-secret",
                      Label("CTS", "FRA", frozenset(), frozenset({"ORCA"})), NOW - timedelta(days=1))
    low = ReleaseRule("low", "FRA", PRODUCT, Label("NU", "FRA", frozenset({"NATO"})),
                      source_max_classification=Classification.NR)
    d = derive_label([src], PRODUCT, "FRA", [low], NOW)
    assert not d.applied and d.label.classification == Classification.CTS and d.label.caveats == {"ORCA"}
    cleared = ReleaseRule("cleared", "FRA", PRODUCT, Label("NU", "FRA", frozenset({"NATO"})),
                          source_caveats=frozenset({"ORCA"}))
    assert derive_label([src], PRODUCT, "FRA", [cleared], NOW).label == Label("NU", "FRA", frozenset({"NATO"}))
