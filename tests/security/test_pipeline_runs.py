"""`GET /pipelines/runs` as a hostile insider would use it: a run shows only to who may read its own source instance,
its finding's id only to who may read the finding; runs one may not see never cut a page short, never show in a
count; bad parameters are 400s."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquila.analytics.pipeline import visible_runs
from aquila.catalog import validate_item
from aquila.instance import Instance
from aquila.security.labels import Label
from aquila.security.policy import decide_item
from conftest import LiveServer
from library_helpers import collection, item, user

NATIONS = ["FRA", "DEU", "POL", "USA", "EST"]
LEVELS = ["NU", "NR", "NC", "NS"]


def _seed(inst: Instance, labels: list[tuple[str, str, list[str]]]) -> None:
    """Items in two collections with the given (originator, level, releasable) labels, each with a queued run."""
    queue = inst.pipeline_runs()
    for k, (orig, cls, rel) in enumerate(labels):
        cid = f"sar-{orig.lower()}"
        inst.library.operator_collection(collection(cid, rel=["NATO"], orig=orig))
        doc = item(f"s{k}", cid, cls=cls, rel=rel, orig=orig)
        inst.library.publish(user(orig, "CTS", roles=("provider",)), cid, [doc])
        lab = Label.from_properties(doc["properties"])
        queue.enqueue("ships", "ships-1", cid, f"s{k}", lab, k + 1)
    queue.close()


label_st = st.tuples(st.sampled_from(NATIONS[:3]), st.sampled_from(LEVELS), st.lists(st.sampled_from(NATIONS),
                                                                                    max_size=3, unique=True))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(label_st, min_size=1, max_size=6), reader=st.tuples(st.sampled_from(NATIONS),
                                                                          st.sampled_from(LEVELS)))
def test_a_run_is_listed_iff_its_source_is_readable(tmp_path_factory, labels, reader):  # type: ignore[no-untyped-def]
    inst = Instance.open(tmp_path_factory.mktemp("runs"))
    try:
        _seed(inst, labels)
        u = user(*reader)
        got = {r["source"] for r in visible_runs(inst, u)}
        want = set()
        for k, (orig, cls, rel) in enumerate(labels):
            lab = Label.from_properties(item("x", cls=cls, rel=rel, orig=orig)["properties"])
            col = Label.from_properties(collection(rel=["NATO"], orig=orig), prefix="")
            if decide_item(u, lab, col):
                want.add(f"sar-{orig.lower()}/s{k}")
        assert got == want
    finally:
        inst.close()


def test_hidden_runs_never_end_a_page_and_a_hidden_instance_of_the_same_id_stays_hidden(live: LiveServer) -> None:
    inst = live.instance
    inst.library.operator_collection(collection("sar", rel=["NATO"], orig="FRA"))
    fra = user("FRA", "CTS", roles=("provider",))
    queue = inst.pipeline_runs()
    for k in range(620):  # FRA-only scenes first ...
        doc = item(f"h{k}", "sar", cls="NS", rel=[], orig="FRA")
        inst.library.publish(fra, "sar", [doc])
        queue.enqueue("ships", "ships-1", "sar", f"h{k}", Label.from_properties(doc["properties"]), k)
    seen = item("shared", "sar", cls="NU", rel=["NATO"], orig="FRA")  # ... then one NATO may read
    hidden = item("shared", "sar", cls="NS", rel=[], orig="FRA")  # and an NS instance of the same id
    inst.library.publish(fra, "sar", [seen])
    inst.store.add_items([validate_item(hidden)])  # polyinstantiated: same id, a label EST may not read
    queue.enqueue("ships", "ships-1", "sar", "shared", Label.from_properties(hidden["properties"]), 9998)
    queue.enqueue("ships", "ships-2", "sar", "shared", Label.from_properties(seen["properties"]), 9999)
    queue.close()
    with live.client(user("EST", "NU")) as client:
        r = client.get("/pipelines/runs", params={"limit": 5})
        assert r.status_code == 200
        runs = r.json()["runs"]
        assert [(x["source"], x["version"]) for x in runs] == [("sar/shared", "ships-2")]
    with live.client(user("FRA", "NS")) as client:
        assert len(client.get("/pipelines/runs").json()["runs"]) == 100


def test_hostile_parameters_are_400s(live: LiveServer) -> None:
    with live.client(user("EST", "NU")) as client:
        for params in ({"since": "NaN"}, {"since": "9" * 400}, {"since": "2026-02-30T00:00:00Z"},
                       {"limit": "1e999"}, {"limit": "-1"}, {"limit": "100000"},
                       {"since": "2026-01-01T00:00:00Z\x00"}):
            r = client.get("/pipelines/runs", params=params)
            assert r.status_code == 400, (params, r.status_code, r.text)
