"""The shared-library half of `aquila demo`: publish products with mixed labels, show who sees what."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import shapely
import shapely.geometry
from rich.console import Console
from rich.table import Table

from aquila.catalog import SearchQuery, validate_item
from aquila.instance import Instance
from aquila.orbits.access import AccessResult
from aquila.orbits.footprints import window_footprints
from aquila.security.labels import Classification
from aquila.security.policy import User, decide

__all__ = ["run_library_demo", "DEMO_LABELS"]

# How each owner labels what its satellites collected over the demo areas (illustrative policy).
DEMO_LABELS: dict[str, dict[str, Any]] = {
    "FRA": {"sec:classification": "NS", "sec:releasable_to": ["DEU", "ITA", "ESP"], "sec:caveats": []},
    "ITA": {"sec:classification": "NR", "sec:releasable_to": ["NATO"], "sec:caveats": []},
    "DEU": {"sec:classification": "NC", "sec:releasable_to": ["NATO"], "sec:caveats": []},
    "USA": {"sec:classification": "NC", "sec:releasable_to": ["FVEY", "POL", "EST"], "sec:caveats": []},
    "FIN": {"sec:classification": "NR", "sec:releasable_to": ["NATO"], "sec:caveats": ["BALTIC"]},
    "CAN": {"sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:caveats": []},
    "ESP": {"sec:classification": "NR", "sec:releasable_to": ["EU"], "sec:caveats": []},
    "GBR": {"sec:classification": "NS", "sec:releasable_to": ["FVEY"], "sec:caveats": []},
    "TUR": {"sec:classification": "NR", "sec:releasable_to": [], "sec:caveats": []},
}
_NATION_OF_OWNER = {"EU": "BEL"}  # Copernicus products are published here by the host nation of the EU SatCen


def _scene_footprint(target: Any, swept: Any) -> dict[str, Any]:
    """The ground a product of this opportunity covers: a scene about 70 x 40 km on the target, inside the ground
    the satellite could image during the window (the target's centre when that leaves nothing)."""
    lon, lat = target.centroid.x, target.centroid.y
    scene = shapely.geometry.box(lon - 0.6, lat - 0.2, lon + 0.6, lat + 0.2)
    if swept is not None:
        scene = scene.intersection(swept)
    if scene.is_empty or scene.geom_type not in ("Polygon", "MultiPolygon"):
        return {"type": "Point", "coordinates": [round(lon, 4), round(lat, 4)]}
    return shapely.geometry.mapping(shapely.set_precision(scene, 1e-4))


def run_library_demo(res: AccessResult, out: Console, data_dir: Path | None = None) -> None:
    """Publish one product per imaging opportunity (labelled by its owner), then compare two users."""
    d = Path(data_dir or tempfile.mkdtemp(prefix="aquila-demo-"))
    inst = Instance.open(d)
    library = inst.library
    library.operator_collection({"type": "Collection", "id": "demo-isr", "description": "Demo products: one per "
                                 "imaging opportunity over the Baltic and Black Sea areas", "sec:classification": "NU",
                                 "sec:releasable_to": ["NATO"], "sec:originator": "BEL"}, subject="aquila-demo")
    rows = []
    c = res.columns
    starts = res.grid.to_iso(c["start_s"])
    swept = window_footprints(res)
    for k in range(len(res)):
        sat = res.satellites[int(c["sat"][k])]
        nation = _NATION_OF_OWNER.get(sat.owner, sat.owner)
        label = DEMO_LABELS.get(sat.owner, {"sec:classification": "NU", "sec:releasable_to": ["NATO"],
                                            "sec:caveats": []})
        tgt = res.targets[int(c["target"][k])]
        rows.append(validate_item({
            "type": "Feature", "id": f"{sat.norad_id}-{tgt.id}-{k}", "collection": "demo-isr",
            "geometry": _scene_footprint(tgt.geometry, swept[k]),
            "properties": {"datetime": starts[k], "platform": sat.name, "constellation": sat.owner,
                           "sensor": sat.sensor.type.value, "gsd": round(float(c["best_gsd_m"][k]), 2),
                           "sec:originator": nation, **label}}))
    library.ingest(rows, subject="aquila-demo")
    users = {"DEU analyst (NS)": User("DEU", Classification.NS, subject="deu-analyst"),
             "EST analyst (NR, BALTIC)": User("EST", Classification.NR, frozenset({"BALTIC"}), subject="est-analyst")}
    seen: dict[str, Counter[str]] = {}
    for name, u in users.items():
        cnt: Counter[str] = Counter()
        q = SearchQuery(limit=10000)
        page = library.search(u, q)  # decided in the query and audited, as over HTTP
        for f in page.features:
            cnt[f["properties"]["constellation"]] += 1
        seen[name] = cnt
    owners = sorted({r.doc["properties"]["constellation"] for r in rows})
    t = Table(title=f"Shared library: {len(rows)} products published with their owners' labels - who sees what")
    for h in ("owner", "label", "published", *users):
        t.add_column(h, justify="left" if h in ("owner", "label") else "right")
    total = Counter(r.doc["properties"]["constellation"] for r in rows)
    for o in owners:
        lab = DEMO_LABELS.get(o, {"sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:caveats": []})
        desc = f"{lab['sec:classification']} REL {','.join(lab['sec:releasable_to']) or '(originator only)'}" + (
            f" [{','.join(lab['sec:caveats'])}]" if lab["sec:caveats"] else "")
        t.add_row(o, desc, str(total[o]), *(str(seen[n][o]) for n in users))
    t.add_row("total", "", str(len(rows)), *(str(sum(seen[n].values())) for n in users))
    out.print(t)
    fra = next((r for r in rows if r.label.originator == "FRA"), None)
    if fra is not None:
        for name, u in users.items():
            dec = decide(u, fra.label)
            out.print(f"  {name} asks for {fra.id}: {'200 OK' if dec else '404 Not Found'} ({dec.reason})")
    check = inst.audit.verify()
    out.print(f"  audit chain: {check.entries} entries, intact = {check.ok}  (data: {d})")
    inst.close()
