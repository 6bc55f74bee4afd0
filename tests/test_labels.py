"""Security labels: strict parsing, the JSON binding and the STANAG 4774 XML shape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aquila.security.labels import Classification, Label, LabelError
from aquila.security.nations import GROUPS, expand

NATIONS = ["FRA", "DEU", "ITA", "USA", "GBR", "POL", "FIN", "NOR", "AUS", "JPN"]
labels = st.builds(
    Label,
    classification=st.sampled_from(list(Classification)),
    originator=st.sampled_from(NATIONS),
    releasable_to=st.frozensets(st.sampled_from(NATIONS + list(GROUPS)), max_size=4),
    caveats=st.frozensets(st.from_regex(r"[A-Z][A-Z0-9_-]{0,8}", fullmatch=True), max_size=3),
)


@given(labels)
def test_json_and_xml_bindings_round_trip(label: Label) -> None:
    assert Label.from_properties(label.to_properties()) == label
    assert Label.from_xml(label.to_xml()) == label


def test_full_names_and_order() -> None:
    assert Classification.parse("NATO SECRET") is Classification.NS
    assert Classification.parse("cosmic top secret") is Classification.CTS
    assert Classification.NU < Classification.NR < Classification.NC < Classification.NS < Classification.CTS


def test_nato_expands_to_its_32_members() -> None:
    assert len(GROUPS["NATO"]) == 32 and {"FIN", "SWE", "USA", "TUR"} <= GROUPS["NATO"]
    assert expand({"NATO", "AUS"}) == GROUPS["NATO"] | {"AUS"}


@pytest.mark.parametrize("props,field", [
    ({"sec:classification": "TOP SECRET", "sec:originator": "FRA"}, "sec:classification"),
    ({"sec:classification": "NS", "sec:originator": "FR"}, "sec:originator"),
    ({"sec:classification": "NS"}, "sec:originator"),
    ({"sec:originator": "FRA"}, "sec:classification"),
    ({"sec:classification": "NS", "sec:originator": "FRA", "sec:releasable_to": ["XXX"]}, "sec:releasable_to"),
    ({"sec:classification": "NS", "sec:originator": "FRA", "sec:releasable_to": "NATO"}, "sec:releasable_to"),
    ({"sec:classification": "NS", "sec:originator": "FRA", "sec:caveats": ["lower case"]}, "sec:caveats"),
])
def test_bad_labels_name_the_property(props: dict, field: str) -> None:
    with pytest.raises(LabelError) as ei:
        Label.from_properties(props)
    assert ei.value.field == "properties." + field and ei.value.expected
