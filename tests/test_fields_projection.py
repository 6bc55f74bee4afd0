"""The fields extension's projection, as properties: it never changes the item it projects (exclusions copy
what they change), and `keeps` is never wrong about a member it says is dropped (the API skips building it)."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquila.catalog.params import apply_fields, keeps, parse_fields

NAMES = ["type", "id", "links", "assets", "geometry", "properties", "collection", "bbox"]
PATHS = st.sampled_from(NAMES + ["properties.a", "properties.b", "properties.a.c", "assets.data", "assets.data.href"])
leaf = st.one_of(st.integers(), st.text(max_size=3), st.none())
values = st.recursive(leaf, lambda inner: st.dictionaries(st.sampled_from(["a", "b", "c", "href"]), inner, max_size=3),
                      max_leaves=4)
items = st.fixed_dictionaries({"type": st.just("Feature"), "id": st.just("x")},
                              optional={n: values for n in NAMES[2:]})
fields = st.one_of(st.none(), st.builds(lambda i, e, given: {"include": i, "exclude": e} if given else {"exclude": e},
                                        st.lists(PATHS, max_size=3), st.lists(PATHS, max_size=3), st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items, fields)
def test_projection_leaves_the_item_alone_and_keeps_is_right(item: dict, spec: dict | None) -> None:  # type: ignore[type-arg]
    parsed = parse_fields(spec) if spec is not None else None
    before = copy.deepcopy(item)
    out = apply_fields(item, parsed)
    assert item == before
    for name in NAMES:
        if not keeps(parsed, name):
            assert name not in out, (name, spec)


def test_an_include_under_an_excluded_member_keeps_it() -> None:
    """Found by the property above in a CI run: `include: properties.a`, `exclude: properties` keeps `properties.a`
    (the more specific path wins), so `properties` must not be reported as dropped."""
    parsed = parse_fields({"include": ["properties.a"], "exclude": ["properties"]})
    out = apply_fields({"type": "Feature", "id": "x", "links": None, "properties": {"a": 0}}, parsed)
    assert out["properties"] == {"a": 0} and keeps(parsed, "properties")
