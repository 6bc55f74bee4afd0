"""The maritime half of `aquila demo`: SAR scenes analysed, findings published with derived labels, who sees what.

Two DEU SAR scenes of the Baltic (synthesized, with simulated AIS: some ships dark) are published NS,
releasable to FRA only. DEU's release rule lets vessel detections from its SAR go to all of NATO at
NR six hours after acquisition: the older scene's finding crosses that tear-line, the newer one's
stays under the scene's own label until then.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aquila.analytics.ais import read_ais, write_jsonl
from aquila.analytics.ais.simulate import simulate_ais
from aquila.analytics.findings import FINDINGS_COLLECTION, analyze_ships, producer_for
from aquila.analytics.sar.synth import SceneSpec, synthesize, write_scene
from aquila.catalog import SearchQuery
from aquila.instance import Instance
from aquila.security.labels import Classification, Label
from aquila.security.policy import Role, User, decide

__all__ = ["run_maritime_demo", "DEMO_RULE"]

DEMO_RULE = {"id": "sar-detections-nato", "product": "vessel-detections", "delay": "PT6H",
             "description": "vessel detections from DEU SAR: NR, REL NATO, 6 h after acquisition",
             "label": {"sec:classification": "NR", "sec:releasable_to": ["NATO"], "sec:caveats": []}}
_SCENE_LABEL = {"sec:classification": "NS", "sec:releasable_to": ["FRA"], "sec:caveats": [], "sec:originator": "DEU"}


def _label_text(lab: Label) -> str:
    rel = ",".join(sorted(lab.releasable_to)) or "(originator only)"
    return f"{lab.classification.name} REL {rel}" + (f" [{','.join(sorted(lab.caveats))}]" if lab.caveats else "")


def run_maritime_demo(out: Console, data_dir: Path | None = None, now: datetime | None = None,
                      size_px: int = 1024) -> Path:
    """Publish two scenes, analyse them, show the findings' labels and who may read what; returns the data dir."""
    d = Path(data_dir or tempfile.mkdtemp(prefix="aquila-demo-"))
    now = now or datetime.now(UTC).replace(microsecond=0)
    inst = Instance.open(d)
    lib = inst.library
    deu = User("DEU", Classification.NS, roles=frozenset({Role.PROVIDER}), subject="deu-sar-provider")
    lib.operator_collection({"type": "Collection", "id": "deu-sar", "description": "DEU SAR scenes (demo)",
                             "sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:originator": "DEU"},
                            subject="aquila-demo")
    lib.write_release_rule(deu, DEMO_RULE)
    rows = []
    for k, (name, age_h, centre) in enumerate((("gotland-east", 8.0, (19.5, 57.5)), ("gulf-of-riga", 1.0,
                                                                                    (23.2, 57.8)))):
        acquired = now - timedelta(hours=age_h)
        scene = synthesize(SceneSpec(seed=100 + k, size_px=size_px, centre_lon_deg=centre[0],
                                     centre_lat_deg=centre[1], ships=25, scr_db=(8.0, 20.0)))
        sdir = d / "scenes" / name
        paths = write_scene(scene, sdir)
        ais, dark = simulate_ais(scene, acquired.timestamp(), seed=k, dark_share=0.3)
        (sdir / "ais.jsonl").write_text(write_jsonl(ais))
        w, n = scene.lonlat(0, 0)
        e, s = scene.lonlat(*scene.image.shape)
        doc = {"type": "Feature", "stac_version": "1.0.0", "id": name, "collection": "deu-sar",
               "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
               "properties": {"datetime": acquired.isoformat().replace("+00:00", "Z"), "platform": "SARah-1",
                              "constellation": "SARah", "sar:instrument_mode": "stripmap", **_SCENE_LABEL},
               "links": [], "assets": {}}
        lib.publish(deu, "deu-sar", [doc], assets={name: {"data": (paths["scene"].read_bytes(),
                                                                   "image/tiff; application=geotiff")}})
        found = analyze_ships(lib, producer_for("DEU"), "deu-sar", name, read_ais(sdir / "ais.jsonl"),
                              id_key=inst.findings_key,
                              land_mask=str(paths["land"]), now=now)
        rows.append((name, age_h, len(scene.ships), len(dark), found))
    t = Table(title=f"Maritime: DEU SAR scenes ({_label_text(Label.from_properties(_SCENE_LABEL))}) analysed - "
                    "ships detected, matched to AIS, findings published with derived labels")
    for h in ("scene", "acquired", "ships (truth)", "detected", "dark (truth)", "finding label", "why"):
        t.add_column(h, justify="left" if h in ("scene", "finding label", "why", "acquired") else "right")
    for name, age_h, n_true, n_dark, f in rows:
        p = f.item["properties"]
        why = (f"rule {', '.join(str(c.rule) for c in f.derivation.applied)}" if f.derivation.applied else
               "the scene's label" + "".join(f"; rule applies after {at:%H:%M}Z" for _, _, at in f.derivation.pending))
        t.add_row(name, f"{age_h:g} h ago", str(n_true), str(p["aquila:vessels"]),
                  f"{p['aquila:dark_vessels']} ({n_dark})", _label_text(f.derivation.label), why)
    out.print(t)
    viewers = {"DEU analyst (NS)": User("DEU", Classification.NS, subject="deu-analyst"),
               "FRA analyst (NS)": User("FRA", Classification.NS, subject="fra-analyst"),
               "EST analyst (NR)": User("EST", Classification.NR, subject="est-analyst"),
               "USA analyst (NS)": User("USA", Classification.NS, subject="usa-analyst"),
               "AUS analyst (NS)": User("AUS", Classification.NS, subject="aus-analyst")}
    v = Table(title="Who may read what (scene / its finding)")
    v.add_column("user")
    for name, *_ in rows:
        v.add_column(name)
    for who, u in viewers.items():
        cells = []
        for *_, f in rows:
            scene_ok = bool(decide(u, Label.from_properties(_SCENE_LABEL)))
            finding_ok = bool(decide(u, f.derivation.label))
            cells.append(f"{'scene' if scene_ok else '-'} / {'finding' if finding_ok else '-'}")
        v.add_row(who, *cells)
    out.print(v)
    q = SearchQuery(collections=[FINDINGS_COLLECTION], limit=100)
    seen = {who: len(lib.search(u, q).features) for who, u in viewers.items()}
    out.print("  findings returned by the library's search: " + ", ".join(f"{w.split(' (')[0]} {n}"
                                                                          for w, n in seen.items()))
    check = inst.audit.verify()
    applied = sum(1 for e in inst.audit.entries_page(originator="DEU", after=0, limit=10_000,
                                                       viewer=(4, frozenset()))[0] if e.action == "apply release rule")
    out.print(f"  DEU's audit view: {applied} release-rule application(s) recorded; chain: {check.entries} entries, "
              f"intact = {check.ok}  (data: {d})")
    inst.close()
    return d
