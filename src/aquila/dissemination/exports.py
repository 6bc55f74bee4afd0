"""Exports for the tools people already use: GeoJSON, KML (Google Earth, GIS) and Cursor-on-Target (TAK clients).

Input is what Aquila writes: a FeatureCollection of detections (`aquila detect ships`, `aquila fuse`, a finding's
`detections` asset, whose top-level `aquila:label` is the finding's label) or STAC items (findings, a search
page), each with its `sec:` label. Every exported feature carries its label: in GeoJSON as its `sec:`
properties and `marking`, in KML in its name, description and ExtendedData, in CoT in its remarks and an
`<aquila_label>` detail element. A feature without a label is marked `UNLABELLED`, never guessed.

CoT: one `<event version="2.0">` per feature, newline-separated (as a TAK server streams them): `a-u-S`
(unknown surface track) for a dark vessel or an unmatched detection, `a-n-S` for a detection matched to AIS,
`b-m-p-s-m` (a spot marker) for anything else; `how="m-g"` (machine-generated), the position's uncertainty
as `ce` when known, `stale` after `stale_s`.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from aquila.errors import InputError
from aquila.security.labels import Label

__all__ = ["FORMATS", "export", "features_of"]

FORMATS = ("geojson", "kml", "cot")
_KML_NS = "http://www.opengis.net/kml/2.2"
_UNLABELLED = "UNLABELLED"
_COLOURS = {"NU": "ff00aa00", "NR": "ff00ccff", "NC": "ff0066ff", "NS": "ff0000ff", "CTS": "ffff00ff"}  # aabbggrr


def features_of(doc: Any) -> tuple[list[dict[str, Any]], Label | None]:
    """(features, the collection-level label if any) of a FeatureCollection, an ItemCollection or one item."""
    if not isinstance(doc, dict):
        raise InputError("not a JSON object", field="input", expected="a GeoJSON FeatureCollection or a STAC item")
    if doc.get("type") == "Feature":
        feats = [doc]
    elif doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        feats = doc["features"]
    else:
        raise InputError(f"type {str(doc.get('type'))[:40]!r}", field="type",
                         expected="a GeoJSON FeatureCollection (detections, a search page) or a Feature")
    label = None
    if isinstance(doc.get("aquila:label"), dict):
        label = _label(doc["aquila:label"], "aquila:label.")
    out = []
    for k, f in enumerate(feats):
        g = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(g, dict) or not isinstance(g.get("coordinates"), list):
            raise InputError(f"feature {k} has no geometry", field=f"features[{k}].geometry",
                             expected="a GeoJSON geometry")
        out.append(f)
    return out, label


def _label(props: dict[str, Any], prefix: str) -> Label:
    return Label.from_properties(props, prefix=prefix)  # a LabelError (an InputError) names the field


def _feature_label(f: dict[str, Any], default: Label | None, k: int) -> Label | None:
    props = f.get("properties") or {}
    if "sec:classification" in props:
        return _label(props, f"features[{k}].properties.")
    return default


def _point(g: dict[str, Any]) -> tuple[float, float]:
    """A representative (lon, lat): the point itself, else the centroid."""
    from shapely.geometry import shape

    if g.get("type") == "Point":
        lon, lat = g["coordinates"][:2]
        return float(lon), float(lat)
    c = shape(g).centroid
    return float(c.x), float(c.y)


def _ais(props: dict[str, Any]) -> dict[str, Any]:
    """The AIS identity of a fused detection (`ais`: mmsi, name, ...) or of an AIS record itself."""
    ais = props.get("ais")
    return ais if isinstance(ais, dict) else props


def _kind(props: dict[str, Any]) -> str:
    if props.get("dark") is True:
        return "a-u-S"
    if _ais(props).get("mmsi") is not None:
        return "a-n-S"
    if "length_m" in props or "scr_db" in props:
        return "a-u-S"
    return "b-m-p-s-m"


def _uid(f: dict[str, Any], lon: float, lat: float) -> str:
    if isinstance(f.get("id"), str):
        return "aquila-" + f["id"][:200]
    key = json.dumps([round(lon, 7), round(lat, 7), f.get("properties", {}).get("mmsi")], default=str)
    return "aquila-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _callsign(props: dict[str, Any], k: int) -> str:
    ais = _ais(props)
    name = ais.get("name") or props.get("title")
    if ais.get("mmsi") is not None:
        return f"{name or 'MMSI'} {ais['mmsi']}".strip()
    return str(name) if name else (f"DARK {k + 1}" if props.get("dark") else f"DETECTION {k + 1}")


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _summary(props: dict[str, Any]) -> str:
    flat = {**props, **{k: v for k, v in _ais(props).items() if k in ("mmsi", "name", "match_distance_m")}}
    keys = ("mmsi", "name", "length_m", "heading_deg", "scr_db", "confidence", "match_distance_m", "dark", "kind",
            "datetime", "aquila:vessels", "aquila:dark_vessels", "aquila:source")
    return "; ".join(f"{k} {flat[k]}" for k in keys if flat.get(k) is not None)


def export(doc: Any, fmt: str, now: datetime | None = None, stale_s: float = 3600.0) -> str:
    """`doc` (detections or items) in `fmt` (geojson, kml or cot)."""
    if fmt not in FORMATS:
        raise InputError(f"{fmt!r}", field="--format", expected=" or ".join(FORMATS))
    if not (math.isfinite(stale_s) and 0 < stale_s <= 7 * 86400):
        raise InputError(f"{stale_s}", field="--stale", expected="seconds between 1 and 604800")
    feats, default = features_of(doc)
    labels = [_feature_label(f, default, k) for k, f in enumerate(feats)]
    now = now or datetime.now(UTC)
    if fmt == "geojson":
        return _geojson(feats, labels)
    if fmt == "kml":
        return _kml(feats, labels, doc.get("id") if isinstance(doc.get("id"), str) else None)
    return _cot(feats, labels, now, stale_s)


def _geojson(feats: list[dict[str, Any]], labels: list[Label | None]) -> str:
    out = []
    for f, lab in zip(feats, labels, strict=True):
        props = dict(f.get("properties") or {})
        if lab is not None:
            props.update(lab.to_properties())
        props["marking"] = lab.marking if lab is not None else _UNLABELLED
        out.append({"type": "Feature", "geometry": f["geometry"], "properties": props,
                    **({"id": f["id"]} if "id" in f else {})})
    return json.dumps({"type": "FeatureCollection", "features": out}, allow_nan=False) + "\n"


def _kml(feats: list[dict[str, Any]], labels: list[Label | None], title: str | None) -> str:
    ET.register_namespace("", _KML_NS)
    q = lambda tag: f"{{{_KML_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("kml"))
    doc = ET.SubElement(root, q("Document"))
    ET.SubElement(doc, q("name")).text = title or "Aquila export"
    for level, colour in _COLOURS.items():
        style = ET.SubElement(doc, q("Style"), id=f"cls-{level}")
        icon = ET.SubElement(style, q("IconStyle"))
        ET.SubElement(icon, q("color")).text = colour
    for k, (f, lab) in enumerate(zip(feats, labels, strict=True)):
        props = f.get("properties") or {}
        marking = lab.marking if lab is not None else _UNLABELLED
        pm = ET.SubElement(doc, q("Placemark"), id=f"f{k}")
        ET.SubElement(pm, q("name")).text = f"({lab.classification.name if lab else 'U?'}) {_callsign(props, k)}"
        ET.SubElement(pm, q("description")).text = f"{marking}\n{_summary(props)}"
        if lab is not None:
            ET.SubElement(pm, q("styleUrl")).text = f"#cls-{lab.classification.name}"
        ext = ET.SubElement(pm, q("ExtendedData"))
        values = {**{k2: v for k2, v in props.items() if isinstance(v, str | int | float | bool)},
                  **(lab.to_properties() if lab else {}), "marking": marking}
        for name, v in values.items():
            if isinstance(v, list):
                v = ",".join(map(str, v))
            data = ET.SubElement(ext, q("Data"), name=str(name)[:100])
            ET.SubElement(data, q("value")).text = str(v)
        _kml_geometry(pm, f["geometry"], q)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _kml_geometry(parent: ET.Element, g: dict[str, Any], q: Any) -> None:
    def coords(ring: list[Any]) -> str:
        return " ".join(f"{float(c[0]):.7f},{float(c[1]):.7f}" for c in ring)

    kind = g.get("type")
    if kind == "Point":
        pt = ET.SubElement(parent, q("Point"))
        ET.SubElement(pt, q("coordinates")).text = coords([g["coordinates"]])
        return
    polys = [g["coordinates"]] if kind == "Polygon" else g["coordinates"] if kind == "MultiPolygon" else None
    if polys is None:
        lon, lat = _point(g)
        pt = ET.SubElement(parent, q("Point"))
        ET.SubElement(pt, q("coordinates")).text = f"{lon:.7f},{lat:.7f}"
        return
    multi = ET.SubElement(parent, q("MultiGeometry")) if len(polys) > 1 else parent
    for poly in polys:
        p = ET.SubElement(multi, q("Polygon"))
        outer = ET.SubElement(ET.SubElement(p, q("outerBoundaryIs")), q("LinearRing"))
        ET.SubElement(outer, q("coordinates")).text = coords(poly[0])
        for hole in poly[1:]:
            inner = ET.SubElement(ET.SubElement(p, q("innerBoundaryIs")), q("LinearRing"))
            ET.SubElement(inner, q("coordinates")).text = coords(hole)


def _cot(feats: list[dict[str, Any]], labels: list[Label | None], now: datetime, stale_s: float) -> str:
    lines = []
    for k, (f, lab) in enumerate(zip(feats, labels, strict=True)):
        props = f.get("properties") or {}
        lon, lat = _point(f["geometry"])
        when = now
        if isinstance(props.get("datetime"), str):
            try:
                when = datetime.fromisoformat(props["datetime"].replace("Z", "+00:00"))
            except ValueError:
                pass
        ev = ET.Element("event", version="2.0", uid=_uid(f, lon, lat), type=_kind(props), how="m-g",
                        time=_iso(now), start=_iso(when), stale=_iso(max(now, when) + timedelta(seconds=stale_s)))
        ce = _ais(props).get("match_distance_m") or props.get("position_error_m")
        ET.SubElement(ev, "point", lat=f"{lat:.7f}", lon=f"{lon:.7f}", hae="9999999.0",
                      ce=f"{float(ce):.1f}" if isinstance(ce, int | float) else "9999999.0", le="9999999.0")
        detail = ET.SubElement(ev, "detail")
        ET.SubElement(detail, "contact", callsign=_callsign(props, k))
        if isinstance(props.get("heading_deg"), int | float) and isinstance(props.get("sog_ms"), int | float):
            ET.SubElement(detail, "track", course=f"{float(props['heading_deg']):.1f}",
                          speed=f"{float(props['sog_ms']):.2f}")  # a SAR heading without a speed is in remarks
        marking = lab.marking if lab is not None else _UNLABELLED
        ET.SubElement(detail, "remarks").text = f"{marking}: {_summary(props)}"
        if lab is not None:
            p = lab.to_properties()
            ET.SubElement(detail, "aquila_label", classification=p["sec:classification"],
                          releasable_to=",".join(p["sec:releasable_to"]), caveats=",".join(p["sec:caveats"]),
                          originator=p["sec:originator"])
        lines.append(ET.tostring(ev, encoding="unicode"))
    return "\n".join(lines) + ("\n" if lines else "")
