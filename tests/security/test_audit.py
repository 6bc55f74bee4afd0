"""The audit log: tampering of every kind is detected, providers see only their own, every denial is recorded.

The tamper attacker holds the data directory's database files (not `keys/`): it edits, deletes,
truncates or drops the table, recomputes the chain, or deletes the signed head. `aquila audit
verify` must exit 1 and name the first bad entry or the checkpoint the table contradicts.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aquila.catalog.backends.sqlite import AuditLog, verify_instance
from aquila.instance import Instance
from aquila.security.audit import Checkpoint
from library_helpers import collection, item, user


def _instance(tmp_path: Path, n: int = 10) -> Path:
    data = tmp_path / "inst"
    log = AuditLog(data / "catalog.db")
    for k in range(n):
        log.append(subject=f"s{k}", nation="DEU", action="read item", obj=f"c/i{k}", allowed=k % 2 == 0,
                   reason="test", originators=["FRA"])
    log.close()
    return data


def _tamper(data: Path, *sql: str) -> None:
    db = sqlite3.connect(data / "catalog.db")
    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for s in sql:
        db.execute(s)
    db.commit()
    db.close()


def _verify_cli(data: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    out = subprocess.run([sys.executable, "-m", "aquila", "audit", "verify", "--data", str(data), *extra],
                         capture_output=True, text=True)
    return out.returncode, json.loads(out.stdout), out.stderr


def _recompute_unkeyed(data: Path) -> None:
    """What an attacker without the key can do: recompute a plain SHA-256 chain after an edit."""
    db = sqlite3.connect(data / "catalog.db")
    prev = "0" * 64
    rows = db.execute("SELECT seq, time, subject, nation, action, object, originators, allowed, reason FROM audit "
                      "ORDER BY seq").fetchall()
    for r in rows:
        body = json.dumps([prev, r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8]],
                          separators=(",", ":"), ensure_ascii=False)
        h = hashlib.sha256(body.encode()).hexdigest()
        db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, r[0]))
        prev = h
    db.commit()
    db.close()


@pytest.mark.parametrize("attack,first_broken,reason", [
    (["UPDATE audit SET allowed = 1 WHERE seq = 4"], 4, "MAC"),
    (["DELETE FROM audit WHERE seq = 6"], 7, "missing"),
    (["DELETE FROM audit WHERE seq >= 9"], 9, "deleted"),                 # the tail
    (["DELETE FROM audit"], 1, "deleted"),                                 # emptied
    (["DROP TABLE audit"], 1, "missing"),                                  # dropped
    (["UPDATE audit SET reason = 'nothing to see' WHERE seq = 3"], 3, "MAC"),
])
def test_tampering_is_detected_with_the_first_bad_entry(tmp_path: Path, attack: list[str], first_broken: int,
                                                        reason: str) -> None:
    data = _instance(tmp_path)
    assert _verify_cli(data)[:2] == (0, {"ok": True, "entries": 10})
    _tamper(data, *attack)
    rc, out, err = _verify_cli(data)
    assert rc == 1 and out["ok"] is False and out["first_broken"] == first_broken, out
    assert reason in out["reason"] and f"entry {first_broken}" in err


def test_recomputing_the_chain_without_the_key_is_detected(tmp_path: Path) -> None:
    data = _instance(tmp_path)
    _tamper(data, "UPDATE audit SET allowed = 1, reason = 'allowed' WHERE seq = 5")
    _recompute_unkeyed(data)
    rc, out, _ = _verify_cli(data)
    assert rc == 1 and out["first_broken"] == 1 and "MAC" in out["reason"]


def test_deleting_the_signed_head_is_detected_and_the_server_refuses_to_start(tmp_path: Path) -> None:
    data = _instance(tmp_path)
    head = data / "keys" / "audit-head.db"  # kept beside the keys: this attacker is the operator
    head.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(head) + suffix).unlink(missing_ok=True)
    rc, out, _ = _verify_cli(data)
    assert rc == 1 and "head is missing" in out["reason"]
    from aquila.security.audit import AuditTampered

    with pytest.raises(AuditTampered, match="head"):
        Instance.open(data)


def test_dropping_the_table_is_reported_and_not_silently_recreated(tmp_path: Path) -> None:
    data = _instance(tmp_path)
    _tamper(data, "DROP TABLE audit")
    from aquila.security.audit import AuditTampered

    with pytest.raises(AuditTampered, match="table"):
        AuditLog(data / "catalog.db")
    assert verify_instance(data).reason == "the audit table is missing (dropped)"


def test_an_exported_checkpoint_catches_a_rollback_of_both_files(tmp_path: Path) -> None:
    """The operator rolls catalog.db and keys/audit-head.db back together; the provider's checkpoint still holds."""
    data = _instance(tmp_path, 5)
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in ("catalog.db", "keys/audit-head.db"):
        sqlite3.connect(data / name).execute(f"VACUUM INTO '{backup / name.replace('/', '-')}'")
    log = AuditLog(data / "catalog.db")
    for k in range(5):
        log.append(subject="deu", nation="DEU", action="read item", obj=f"c/late{k}", allowed=True, reason="t",
                   originators=["FRA"])
    out = subprocess.run([sys.executable, "-m", "aquila", "audit", "checkpoint", "--data", str(data)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    cp = json.loads(out.stdout)
    assert cp["seq"] == 10 and len(cp["public_key"]) == 64
    log.close()
    exported = tmp_path / "fra-holds.json"
    exported.write_text(out.stdout)
    assert _verify_cli(data, "--checkpoint", str(exported))[0] == 0
    for name in ("catalog.db", "keys/audit-head.db"):  # roll back both files
        for suffix in ("-wal", "-shm"):
            Path(str(data / name) + suffix).unlink(missing_ok=True)
        (data / name).write_bytes((backup / name.replace("/", "-")).read_bytes())
    assert _verify_cli(data)[0] == 0  # locally consistent...
    rc, result, _ = _verify_cli(data, "--checkpoint", str(exported))  # ...but not with what FRA holds
    assert rc == 1 and "rolled back" in result["reason"] and "(10)" in result["reason"] and result["first_broken"] == 6
    forged = dict(cp, seq=5, hash="f" * 64)
    exported.write_text(json.dumps(forged))
    rc, result, _ = _verify_cli(data, "--checkpoint", str(exported))
    assert rc == 1 and "signature" in result["reason"]
    assert Checkpoint.from_dict(cp).seq == 10


def test_a_head_rolled_back_behind_a_checkpoint_is_detected(tmp_path: Path) -> None:
    """Truncate the table and set the head back to the genesis checkpoint: the newer checkpoint still speaks."""
    data = _instance(tmp_path, 10)
    log = AuditLog(data / "catalog.db")
    log.checkpoint()
    log.close()
    head = sqlite3.connect(data / "keys" / "audit-head.db")
    head.execute("UPDATE head SET (seq, hash, time, sig) = "
                 "(SELECT seq, hash, time, sig FROM checkpoints WHERE seq = 0)")
    head.commit()
    head.close()
    _tamper(data, "DELETE FROM audit", "DELETE FROM audit_originator")
    rc, out, _ = _verify_cli(data)
    assert rc == 1 and ("rolled back" in out["reason"] or "deleted" in out["reason"]), out


def test_new_entries_cannot_launder_a_deleted_tail(tmp_path: Path) -> None:
    data = _instance(tmp_path, 10)
    _tamper(data, "DELETE FROM audit WHERE seq >= 6", "DELETE FROM audit_originator WHERE seq >= 6")
    from aquila.security.audit import AuditTampered

    with pytest.raises(AuditTampered, match="entry 10"):  # the server refuses to start on it...
        AuditLog(data / "catalog.db")
    assert _verify_cli(data)[0] == 1


def test_a_running_server_stops_serving_once_its_log_is_cut(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(user("DEU", "NR")) as c:
        for _ in range(5):
            assert c.get("/search").status_code == 200
        data = live.instance.data_dir
        _tamper(data, "DELETE FROM audit WHERE seq >= 2", "DELETE FROM audit_originator WHERE seq >= 2")
        for _ in range(20):  # ...and a running one answers 503 rather than extend a cut chain
            r = c.get("/search")
            assert r.status_code == 503 and r.json()["code"] == "AuditLogTampered"
    assert verify_instance(data).ok is False


@pytest.mark.parametrize("attack,shown_to", [
    ("INSERT INTO audit_originator VALUES ('DEU', 3)", "DEU"),     # show FRA's entry to DEU
    ("DELETE FROM audit_originator WHERE seq = 4", None),           # hide an entry from FRA
])
def test_the_provider_index_is_checked_against_the_signed_entries(tmp_path: Path, attack: str,
                                                                 shown_to: str | None) -> None:
    data = _instance(tmp_path)
    _tamper(data, attack)
    rc, out, _ = _verify_cli(data)
    assert rc == 1 and "provider index" in out["reason"]
    if shown_to:
        log = AuditLog.__new__(AuditLog)  # read the view without the startup checks
        log._db = sqlite3.connect(data / "catalog.db")
        assert log.entries(originator=shown_to) == []  # the view follows the MAC'd entries, not the index


ADMIN = user("FRA", "CTS", roles=("admin",))
FRA_PROVIDER = user("FRA", "NS", roles=("provider",))
DEU_PROVIDER = user("DEU", "NS", roles=("provider",))
DEU_ANALYST = user("DEU", "NS")


def test_the_provider_view_names_only_the_providers_own_objects(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(ADMIN) as c:
        assert c.post("/collections", json=collection("sar", rel=["NATO"])).status_code == 201
    with live.client(FRA_PROVIDER) as c:
        assert c.post("/collections/sar/items", json=item("fra-item", rel=["NATO"])).status_code == 201
    with live.client(DEU_PROVIDER) as c:
        assert c.post("/collections/sar/items", json=item("deu-only-1", orig="DEU", rel=[])).status_code == 201
        assert c.post("/collections/sar/items", json=item("deu-only-2", orig="DEU", rel=[])).status_code == 201
    with live.client(DEU_ANALYST) as c:  # one search returns FRA's and DEU's items together
        assert c.get("/search").json()["numberMatched"] == 3
        assert c.get("/collections/sar/items/deu-only-1").status_code == 200
    with live.client(FRA_PROVIDER) as c:
        entries = c.get("/audit", params={"originator": "FRA", "limit": 1000}).json()["entries"]
        assert c.get("/audit").json()["entries"] == entries[:100]  # the default is the caller's own nation
        assert c.get("/audit", params={"originator": "DEU"}).status_code == 403
    text = json.dumps(entries)
    assert "deu-only" not in text  # no entry names DEU's objects, not even in a shared search
    assert all(e["originators"] == ["FRA"] for e in entries)
    searches = [e for e in entries if e["action"] == "search"]
    assert searches and searches[-1]["nation"] == "DEU" and searches[-1]["object"] == "sar/fra-item"
    with live.client(DEU_ANALYST) as c:
        assert c.get("/audit", params={"originator": "DEU"}).status_code == 403  # analysts have no audit view


def test_every_denial_is_audited(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(ADMIN) as c:
        assert c.post("/collections", json=collection("sar", rel=["NATO"])).status_code == 201
        assert c.post("/collections", json=collection("hidden", cls="NS", rel=[])).status_code == 201
    with live.client(FRA_PROVIDER) as c:
        assert c.post("/collections/sar/items", json=item("x", cls="NS", rel=[])).status_code == 201
        assert c.post("/collections/sar/items", json=item("y", rel=["NATO"])).status_code == 201
    n0 = live.instance.audit.verify().entries
    attempts = [
        ("GET", "/collections/sar/items/x", None, "read item"),
        ("PUT", "/collections/sar/items/x", item("x", orig="DEU"), "update item"),
        ("DELETE", "/collections/sar/items/x", None, "delete item"),
        ("GET", "/collections/sar/items/x/assets/a", None, "download asset"),
        ("POST", "/collections/hidden/items", item("z", "hidden", orig="DEU"), "create item"),
        ("GET", "/collections/hidden", None, "read collection"),
        ("GET", "/collections/hidden/queryables", None, "read queryables"),
        ("GET", "/collections/hidden/items", None, "list items"),
        ("POST", "/collections/sar/items", item("y", orig="DEU", rel=["NATO"]), "create item"),  # 409: visible y
        ("PUT", "/collections/sar/items/y", item("y", orig="DEU", rel=["NATO"]), "update item"),  # 403: FRA's
        ("POST", "/collections/sar/items", item("w", orig="FRA"), "create item"),  # 403: foreign originator
        ("GET", "/audit?originator=FRA", None, "read audit"),
        ("PUT", "/collections/sar", collection("sar", orig="DEU"), "update collection"),
    ]
    with live.client(DEU_PROVIDER) as c:
        for method, path, body, _ in attempts:
            r = c.request(method, path, json=body)
            assert r.status_code in (403, 404, 409), (method, path, r.status_code)
    denials = [e for e in live.instance.audit.entries(after=n0, limit=1000) if not e.allowed]
    assert [e.action for e in denials] == [a[3] for a in attempts]
    assert all(e.nation == "DEU" for e in denials)
    # the owner of the hidden item sees the probes of its item in its own view
    fra_view = live.instance.audit.entries(originator="FRA", after=n0, limit=1000)
    assert {e.action for e in fra_view if e.object == "sar/x" and not e.allowed} >= {"read item", "update item",
                                                                                      "delete item"}
    assert live.instance.audit.verify().ok


def test_a_writer_cannot_plant_entries_in_another_nations_view(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(ADMIN) as c:
        assert c.post("/collections", json=collection("sar", rel=["NATO"])).status_code == 201
    est = user("EST", "NS", roles=("provider",))
    with live.client(est) as c:
        assert c.post("/collections/sar/items", json=item("w1", orig="EST", rel=["NATO"])).status_code == 201
        assert c.patch("/collections/sar/items/w1", json={"properties": {"sec:originator": "FRA"}}).status_code == 403
        assert c.post("/collections/sar/items", json=item("w2", orig="FRA")).status_code == 403
    fra = [e for e in live.instance.audit.entries(originator="FRA", limit=1000) if e.nation == "EST"]
    assert fra == []  # EST's denied attempts are EST's business, shown in EST's view
    est_view = [(e.action, e.allowed) for e in live.instance.audit.entries(originator="EST", limit=1000)]
    assert ("patch item", False) in est_view and ("create item", False) in est_view


def test_entries_written_inside_catalog_transactions_advance_the_signed_head(tmp_path: Path) -> None:
    """Bulk ingest writes its entries in the items' transaction: deleting them must still be caught."""
    data = tmp_path / "inst"
    inst = Instance.open(data)
    inst.store.put_collection(collection("sar"), create=True)
    inst.close()
    src = tmp_path / "items.json"
    feats = [item(f"k{k}", rel=["NATO"]) for k in range(5)]
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    out = subprocess.run([sys.executable, "-m", "aquila", "ingest", "--data", str(data), str(src)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    head = AuditLog(data / "catalog.db").head()
    assert head is not None and head.seq == 5
    _tamper(data, "DELETE FROM audit WHERE seq >= 4", "DELETE FROM audit_originator WHERE seq >= 4")
    rc, result, _ = _verify_cli(data)
    assert rc == 1 and result["first_broken"] == 4


def test_a_nations_view_shows_each_viewer_only_what_it_is_cleared_for(live) -> None:  # type: ignore[no-untyped-def]
    """Own-nation objects above a provider's clearance stay out of its view — also the probes of their ids."""
    with live.client(user("FRA", "CTS", roles=("admin",))) as c:
        assert c.post("/collections", json=collection("secret-coll", cls="CTS", rel=[])).status_code == 201
        assert c.post("/collections", json=collection("open", rel=["NATO"])).status_code == 201
    high, low = user("FRA", "CTS", roles=("provider",)), user("FRA", "NU", roles=("provider",))
    with live.client(high) as c:
        assert c.post("/collections/secret-coll/items", json=item("NIGHTFALL", "secret-coll", cls="CTS")
                      ).status_code == 201
        assert c.post("/collections/open/items", json=item("hidden-x", "open", cls="CTS")).status_code == 201
        assert c.post("/collections/open/items", json=item("plain", "open", rel=["NATO"])).status_code == 201
    with live.client(low) as c:
        assert c.get("/collections/open/items/hidden-x").status_code == 404  # a probe of a hidden own-nation id
        assert c.get("/collections/open/items/never").status_code == 404
        text = json.dumps(c.get("/audit", params={"limit": 1000}).json())
        assert "NIGHTFALL" not in text and "secret-coll" not in text and "hidden-x" not in text
        assert "open/plain" in text  # what it may see, it sees
    with live.client(high) as c:
        text = json.dumps(c.get("/audit", params={"limit": 1000}).json())
        assert "NIGHTFALL" in text and "open/hidden-x" in text


def test_entries_about_items_are_scoped_by_their_collection_too(live) -> None:  # type: ignore[no-untyped-def]
    """An NU item inside a CTS collection is as hidden from an NU viewer's audit view as from its reads."""
    with live.client(user("FRA", "CTS", roles=("admin",))) as c:
        assert c.post("/collections", json=collection("topsecretcoll", cls="CTS", rel=[])).status_code == 201
    high, low = user("FRA", "CTS", roles=("provider",)), user("FRA", "NU", roles=("provider",))
    with live.client(high) as c:
        assert c.post("/collections/topsecretcoll/items", json=item("nu-item-in-cts", "topsecretcoll", rel=["DEU"])
                      ).status_code == 201
        assert c.get("/search", params={"ids": "nu-item-in-cts"}).json()["numberMatched"] == 1
    with live.client(user("DEU", "CTS")) as c:
        assert c.get("/collections/topsecretcoll/items/nu-item-in-cts").status_code == 404
    with live.client(low) as c:
        assert c.get("/collections/topsecretcoll/items/nu-item-in-cts").status_code == 404
        assert c.get("/collections/topsecretcoll/items/does-not-exist").status_code == 404
        view = json.dumps(c.get("/audit", params={"limit": 1000}).json())
        assert "nu-item-in-cts" not in view and "topsecretcoll" not in view  # not even its own probe
    with live.client(high) as c:
        assert "nu-item-in-cts" in json.dumps(c.get("/audit", params={"limit": 1000}).json())


def test_a_view_page_examines_a_bounded_number_of_entries(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from aquila.catalog.backends.sqlite import audit_log as audit_module
    from aquila.security.labels import Classification, Label

    monkeypatch.setattr(audit_module, "SCAN_PER_PAGE", 1000)
    log = AuditLog(tmp_path / "catalog.db")
    secret = Label(Classification.CTS, "FRA")
    log.append_many([dict(subject="s", nation="DEU", action="read item", obj=f"c/{k}", allowed=True, reason="t",
                          labels=[secret]) for k in range(3000)])
    log.append(subject="s", nation="DEU", action="read item", obj="c/open", allowed=True, reason="t",
               labels=[Label(Classification.NU, "FRA")])
    low = (int(Classification.NU), frozenset())
    entries, cursor = log.entries_page(originator="FRA", limit=10, viewer=low)
    assert entries == [] and cursor is not None and cursor <= 1000  # stopped early, says where to go on
    seen: list[str] = []
    while cursor is not None:
        page, cursor = log.entries_page(originator="FRA", after=cursor, limit=10, viewer=low)
        seen += [e.object for e in page]
    assert seen == ["c/open"]
