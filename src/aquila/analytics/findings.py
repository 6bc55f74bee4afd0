"""Ship findings from a catalog scene, published into the shared library with their derived label.

`analyze_ships` reads a SAR item's `data` asset as the producing nation (an audited read: it must be
releasable to it), detects ships, matches them to AIS, derives the finding's label from the scene's
(`aquila.security.derive`: the most restrictive combination unless the scene's originator has a
release rule for vessel detections) and publishes one STAC item through the library's one publish
path, with its `detections` GeoJSON asset in the same commit and one audit entry per rule applied.

The finding's id is a function of the source instance and the pipeline version, so analysing the
same scene again finds the published finding instead of publishing a second.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aquila import __version__
from aquila.analytics.ais.model import AisData
from aquila.analytics.fusion import FusionConfig, FusionResult, fuse
from aquila.analytics.sar.detect import Detections, DetectorConfig, detect_file, prescreen_pfa
from aquila.catalog.library import Library
from aquila.catalog.model import StoredItem
from aquila.errors import Conflict, InputError, NotFound
from aquila.security.audit import Scope
from aquila.security.derive import Derivation, SourceLabel, derive_label
from aquila.security.labels import Classification, Label
from aquila.security.policy import Role, User
from aquila.times import UNIX_EPOCH, parse_instant

__all__ = ["FINDINGS_COLLECTION", "PIPELINE_VERSION", "PRODUCT", "ShipsFinding", "analyze_ships", "producer_for",
           "findings_collection"]

FINDINGS_COLLECTION = "maritime-findings"
PRODUCT = "vessel-detections"
PIPELINE_VERSION = "ships-1"
"""Bumped when detection or fusion change what they find: a new version may analyse a scene again."""


@dataclass
class ShipsFinding:
    item: dict[str, Any]
    derivation: Derivation
    detections: Detections | None
    fusion: FusionResult | None
    published: bool
    """False when this scene's finding (same pipeline version) was already in the library."""


def producer_for(nation: str, caveats: frozenset[str] = frozenset()) -> User:
    """The instance's analytics acting for `nation`: it reads only what is releasable to that nation, and
    publishes as that nation's provider (`LabelError` for a malformed caveat)."""
    Label(Classification.NU, nation, frozenset(), frozenset(caveats))  # validates the nation and caveats
    return User(nation, Classification.CTS, frozenset(caveats), frozenset({Role.PROVIDER}),
                subject=f"aquila-analytics/{nation}")


def findings_collection(library: Library, nation: str) -> None:
    """`maritime-findings` for `nation`'s findings (created if missing): NU, releasable to NATO, EU and FVEY, so
    the items' own labels decide who reads them."""
    library.operator_collection({
        "type": "Collection", "id": FINDINGS_COLLECTION, "stac_version": "1.0.0",
        "description": "Vessel detections and dark-vessel findings from SAR scenes of the shared library, each "
                       "labelled from its sources (and its originators' release rules)",
        "license": "other", "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                       "temporal": {"interval": [[None, None]]}},
        "links": [], "sec:classification": "NU", "sec:releasable_to": ["EU", "FVEY", "NATO"],
        "sec:originator": nation}, subject=f"aquila-analytics/{nation}")


def _scene_path(library: Library, user: User, item: StoredItem, read_roots: Sequence[Path]) -> tuple[Path, Any]:
    """The scene's bytes: the uploaded `data` asset (an audited download), or a `file:` href under the
    scene's originator's folder of a root the instance was told it may read (`ROOT/FRA/...` for FRA's
    items: an item can never name another nation's file)."""
    rec = library.store.asset(item.rid, "data")
    if rec is not None:
        _, _, f = library.open_asset(user, item.collection, item.id, "data")
        return Path(f.name), f
    href = ((item.doc.get("assets") or {}).get("data") or {}).get("href")
    if not isinstance(href, str):
        raise InputError(f"{item.collection}/{item.id} has no data asset", field="assets.data",
                         expected="a SAR GeoTIFF uploaded with PUT .../assets/data, or a file: href")
    path = Path(href.removeprefix("file://")).resolve() if href.startswith(("file:", "/")) else None
    origin = item.label.originator
    if path is None or not any(path.is_relative_to((r / origin).resolve()) for r in read_roots):
        raise InputError(f"{href[:200]!r} is not a file this instance may read", field="assets.data.href",
                         expected=f"an uploaded asset, or a file: path under ROOT/{origin}/ of a --read-root ROOT")
    return path, None


def _finding_id(item: StoredItem, producer: str, key: bytes) -> str:
    """A keyed hash of the source instance, the producer and the pipeline version: the same scene analysed
    again has the same id (idempotence), and without the instance's key nobody can predict an id (to plant an
    item there first) or test guesses of the source's label against it."""
    msg = json.dumps([item.collection, item.id, item.label.to_properties(), producer, PIPELINE_VERSION])
    return f"ships-{hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()[:24]}"


def _existing(library: Library, user: User, fid: str, source: str) -> dict[str, Any] | None:
    """The producer's own finding of this id, if published (an item someone else put there is not it)."""
    try:
        doc = library.get_item(user, FINDINGS_COLLECTION, fid).doc
    except NotFound:
        return None
    p = doc.get("properties") or {}
    if p.get("sec:originator") != user.nation or p.get("aquila:source") != [source]:
        return None
    return doc


def analyze_ships(library: Library, user: User, collection: str, item_id: str, ais: AisData | None = None,
                  *, id_key: bytes, land_mask: str = "auto", read_roots: Sequence[Path] = (),
                  now: datetime | None = None,
                  detector: DetectorConfig | None = None, fusion: FusionConfig | None = None,
                  stages: dict[str, float] | None = None, on_stage: Callable[[], None] | None = None
                  ) -> ShipsFinding:
    """Detect ships in a catalog scene, fuse with `ais`, publish the finding with its derived label. `stages`
    (if given) gets the seconds of each stage as it ends (read, detect, fuse, publish), `on_stage` is called
    after each."""
    detector = detector or DetectorConfig()
    fusion = fusion or FusionConfig()
    clock = _Stages(stages, on_stage)
    item = library.get_item(user, collection, item_id)  # audited; NotFound unless releasable to the producer
    fid = _finding_id(item, user.nation, id_key)
    source = f"{collection}/{item_id}"
    sources = [SourceLabel(source, item.label, collection, item.collection_label, _acquired(item))]
    rules = library.rules_for({item.label.originator})
    derivation = derive_label(sources, PRODUCT, user.nation, rules, now)
    old = _existing(library, user, fid, source)
    if old is not None:
        return ShipsFinding(old, derivation, None, None, False)
    path, handle = _scene_path(library, user, item, read_roots)
    clock.lap("read")
    try:
        dets = detect_file(path, land_mask=land_mask, config=detector)
    finally:
        if handle is not None:
            handle.close()
    clock.lap("detect")
    t_s = (sources[0].acquired - UNIX_EPOCH).total_seconds() if sources[0].acquired else None
    result = None
    feats = [c.feature() for c in dets.ships]
    if ais is not None and t_s is not None:
        from shapely.geometry import shape
        geom = item.doc.get("geometry")
        result = fuse([{"lon": f["geometry"]["coordinates"][0], "lat": f["geometry"]["coordinates"][1],
                        "length_m": f["properties"]["length_m"]} for f in feats], ais, t_s,
                      shape(geom) if geom else None, fusion)
        geojson = result.as_geojson([f["properties"] for f in feats])
    else:
        geojson = {"type": "FeatureCollection", "features": feats}
    clock.lap("fuse")
    doc = _finding_doc(item, fid, derivation, dets, result, land_mask, detector)
    findings_collection(library, user.nation)
    label_props = derivation.label.to_properties()
    geojson["aquila:label"] = label_props
    data = json.dumps(geojson, allow_nan=False).encode()
    try:
        library.publish(user, FINDINGS_COLLECTION, [doc], assets={fid: {"detections": (data, "application/geo+json")}},
                        also_audit=_rule_audit(library, user, derivation, fid))
    except Conflict:  # published meanwhile by another run: the first one stands
        found = _existing(library, user, fid, source)
        if found is None:
            raise
        clock.lap("publish")
        return ShipsFinding(found, derivation, dets, result, False)
    clock.lap("publish")
    return ShipsFinding(library.get_item(user, FINDINGS_COLLECTION, fid).doc, derivation, dets, result, True)


class _Stages:
    """Seconds per stage into a caller's dict, each lap from the end of the last."""

    def __init__(self, out: dict[str, float] | None, then: Callable[[], None] | None) -> None:
        self.out, self.then, self.t = out, then, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.out is not None:
            self.out[name] = round(now - self.t, 3)
            if self.then is not None:
                self.then()
        self.t = now


def _acquired(item: StoredItem) -> datetime | None:
    p = item.doc.get("properties") or {}
    t = p.get("datetime") or p.get("start_datetime")
    return parse_instant(t, "properties.datetime") if isinstance(t, str) else None


def _rule_audit(library: Library, user: User, derivation: Derivation, fid: str) -> list[dict[str, Any]]:
    """One entry per rule applied, shown to the rule's nation's viewers cleared for the source it lowered."""
    out = []
    lab = derivation.label
    rel = ",".join(sorted(lab.releasable_to)) or "(originator only)"
    for c in derivation.applied:
        src = c.source_label
        assert src is not None
        out.append(library.decision(user, "apply release rule", str(c.rule), True,
                                    f"{c.source} ({src.classification.name}) -> {FINDINGS_COLLECTION}/{fid}: "
                                    f"contributes {c.classification.name}; finding labelled "
                                    f"{lab.classification.name} REL {rel}", [Scope.of(src)]))
    return out


def _finding_doc(item: StoredItem, fid: str, derivation: Derivation, dets: Detections, result: FusionResult | None,
                 land_mask: str, cfg: DetectorConfig) -> dict[str, Any]:
    props = item.doc.get("properties") or {}
    n = len(dets.ships)
    dark = len(result.dark) if result is not None else None
    out_props: dict[str, Any] = {
        "datetime": props.get("datetime"), "title": f"Vessels in {item.collection}/{item.id}",
        "aquila:product": PRODUCT, "aquila:source": [f"{item.collection}/{item.id}"],
        "aquila:vessels": n, "aquila:dark_vessels": dark,
        "aquila:unseen_ais": len(result.unseen) if result is not None else None,
        "aquila:algorithm": f"aquila K-CFAR + {cfg.discriminator} discrimination",
        "aquila:pipeline": PIPELINE_VERSION,
        "aquila:parameters": {"pfa": prescreen_pfa(cfg), "discriminator": cfg.discriminator, "guard_m": cfg.guard_m,
                              "background_m": cfg.background_m,
                              "land_mask": land_mask if land_mask in ("auto", "none") else "file",
                              "ais": result is not None},
        # what readers may know of the derivation: the floor its label may not go below, and which nations'
        # release rules lowered it (rule ids and pending embargoes are the originators' own business: audited)
        "aquila:derivation": {"label": derivation.label.to_properties(),
                              "released_by": sorted({str(c.rule).split("/")[0] for c in derivation.applied})},
        "processing:software": {"aquila": __version__},
        "processing:lineage": "SAR ship detection and AIS fusion of the source scene",
        **derivation.label.to_properties()}
    if props.get("start_datetime") and props.get("datetime") is None:
        out_props["start_datetime"], out_props["end_datetime"] = props["start_datetime"], props.get("end_datetime")
    doc: dict[str, Any] = {"type": "Feature", "stac_version": "1.0.0", "id": fid, "collection": FINDINGS_COLLECTION,
                           "geometry": item.doc.get("geometry"), "properties": out_props,
                           "links": [{"rel": "derived_from", "href": f"/collections/{item.collection}/items/{item.id}",
                                      "type": "application/geo+json"}], "assets": {}}
    if item.doc.get("bbox") is not None:
        doc["bbox"] = item.doc["bbox"]
    return doc
