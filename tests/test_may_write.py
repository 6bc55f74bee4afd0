"""`may_write` gets the same property-based treatment as `decide`: the write rule, stated plainly,
holds for any user and label — and a writer can always read what it may write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aquila.security.labels import Classification, Label
from aquila.security.nations import expand
from aquila.security.policy import Role, User, decide, may_write

NATIONS = ["FRA", "DEU", "EST", "USA", "GBR", "AUS", "JPN"]
CAVEATS = ["BALTIC", "ORCON", "SIGINT"]

users = st.builds(User, nation=st.sampled_from(NATIONS), clearance=st.sampled_from(list(Classification)),
                  caveats=st.frozensets(st.sampled_from(CAVEATS)), roles=st.frozensets(st.sampled_from(list(Role))))
labels = st.builds(Label, classification=st.sampled_from(list(Classification)), originator=st.sampled_from(NATIONS),
                   releasable_to=st.frozensets(st.sampled_from(NATIONS + ["NATO", "FVEY", "EU"]), max_size=3),
                   caveats=st.frozensets(st.sampled_from(CAVEATS), max_size=2))


@given(users, labels, st.sampled_from([Role.PROVIDER, Role.ADMIN]))
def test_may_write_is_exactly_the_stated_rule(user: User, label: Label, role: Role) -> None:
    d = may_write(user, label, role)
    expected = (role in user.roles and user.nation == label.originator and user.clearance >= label.classification
                and label.caveats <= user.caveats)
    assert d.allowed is expected and d.reason  # every decision says why
    if d:
        assert decide(user, label)  # a writer can read what it writes: a clash is never with a hidden object


@given(users, labels)
def test_decide_is_exactly_the_stated_rule(user: User, label: Label) -> None:
    expected = (user.clearance >= label.classification and label.caveats <= user.caveats
                and (user.nation == label.originator or user.nation in expand(label.releasable_to)))
    assert decide(user, label).allowed is expected
