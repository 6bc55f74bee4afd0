"""Validation of STAC items and collections, independent of any storage backend.

Every refusal is an `InputError` naming the field and the expected form. Limits that protect the
service (geometry vertices, date range, id form) live here so every write path applies them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from aquila.catalog.pipeline_runs import KNOWN_PIPELINES, PIPELINES_PROPERTY
from aquila.errors import InputError
from aquila.limits import MAX_VERTICES
from aquila.safejson import dumps_checked
from aquila.security.labels import Label
from aquila.times import RFC3339, parse_rfc3339

__all__ = ["ID_FORM", "MAX_VERTICES", "RFC3339", "ItemRow", "CollectionRow", "check_id", "parse_rfc3339",
           "validate_geometry", "validate_item", "validate_collection"]

ID_FORM = "1-256 characters from A-Z a-z 0-9 . _ : - starting with a letter or digit"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,255}")


def _err(msg: str, field: str, expected: str) -> InputError:
    return InputError(msg, field=field, expected=expected)


def check_id(value: Any, field: str = "id") -> str:
    """An id of the catalog: the whole string must match (no trailing newline, no control character)."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise _err(f"{str(value)[:80]!r}", field, ID_FORM)
    return value


@dataclass
class ItemRow:
    """A validated item ready for storage."""

    collection: str
    id: str
    start_dt: float
    end_dt: float
    label: Label
    geom_wkb: bytes | None
    bbox: tuple[float, float, float, float] | None
    doc: dict[str, Any]
    doc_json: str
    """`doc` as stored: compact JSON, checked (finite numbers, clean keys, bounded depth)."""


@dataclass
class CollectionRow:
    """A validated collection ready for storage."""

    id: str
    label: Label
    doc: dict[str, Any]


def validate_geometry(geo: Any, field: str) -> BaseGeometry:
    """A valid, bounded GeoJSON geometry as shapely, or an error naming what is wrong."""
    if not isinstance(geo, dict) or "type" not in geo:
        raise _err("is not a GeoJSON geometry", field, 'a GeoJSON geometry such as {"type": "Point", '
                   '"coordinates": [19.6, 57.4]}')
    try:
        g = shape(geo)
    except Exception:  # shapely raises several kinds for malformed coordinates
        raise _err("malformed GeoJSON geometry", field + ".coordinates",
                   "positions [lon, lat]; polygon rings closed with at least 4 positions") from None
    if g.is_empty:
        raise _err("empty geometry", field, "a non-empty geometry")
    n = int(shapely.get_num_coordinates(g))
    if n > MAX_VERTICES:
        raise _err(f"{n} vertices", field, f"at most {MAX_VERTICES} vertices (simplify the geometry)")
    minx, miny, maxx, maxy = g.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _err(f"coordinates out of range (bounds {g.bounds})", field + ".coordinates",
                   "longitude -180..180 and latitude -90..90")
    if not g.is_valid:
        raise _err(f"invalid geometry: {shapely.is_valid_reason(g)}", field,
                   "a valid geometry: rings that do not cross themselves or each other")
    return g


def _object_id(doc: Any, type_name: str, what: str) -> str:
    """The id of a JSON object of the given STAC type, or an error naming what is wrong."""
    if not isinstance(doc, dict):
        raise _err("body is not a JSON object", "body", what)
    if doc.get("type") != type_name:
        raise _err(f"type is {str(doc.get('type'))[:40]!r}", "type", f'"{type_name}" ({what})')
    return check_id(doc.get("id"))


def validate_item(doc: Any, collection: str | None = None) -> ItemRow:
    """Check a STAC item and its security label; errors name the field and the expected form."""
    iid = _object_id(doc, "Feature", "a STAC Item (GeoJSON Feature)")
    coll = doc.get("collection", collection)
    if collection is not None and coll != collection:
        raise _err(f"{str(coll)[:80]!r} does not match the URL's collection {collection!r}", "collection",
                   "the collection in the path, or no collection field")
    check_id(coll, "collection")
    props = doc.get("properties")
    if not isinstance(props, dict):
        raise _err("missing or not an object", "properties", "an object with datetime and the sec: label")
    geo = doc.get("geometry")
    g = None if geo is None else validate_geometry(geo, "geometry")
    if "datetime" not in props:
        raise _err("missing", "properties.datetime", "an RFC 3339 date-time, or null with start/end_datetime")
    if props["datetime"] is None:
        if "start_datetime" not in props or "end_datetime" not in props:
            raise _err("null without start_datetime and end_datetime", "properties.datetime",
                       "a date-time, or null with properties.start_datetime and end_datetime")
        start = parse_rfc3339(props["start_datetime"], "properties.start_datetime")
        end = parse_rfc3339(props["end_datetime"], "properties.end_datetime")
        if end < start:
            raise _err("end_datetime is before start_datetime", "properties.end_datetime", "end >= start")
    else:
        start = end = parse_rfc3339(props["datetime"], "properties.datetime")
    label = Label.from_properties(props)
    for key in ("links", "assets"):
        if key in doc and not isinstance(doc[key], list if key == "links" else dict):
            raise _err(f"is not a {'list' if key == 'links' else 'object'}", key, "as in the STAC Item spec")
    for name in doc.get("assets") or {}:
        check_id(name, "assets")
    out = dict(doc)
    out["collection"] = coll
    out.setdefault("stac_version", "1.1.0")
    out.setdefault("links", [])
    out.setdefault("assets", {})
    out["properties"] = dict(props, **label.to_properties())
    bbox = None
    wkb = None
    if g is not None:
        minx, miny, maxx, maxy = g.bounds
        bbox = (minx, miny, maxx, maxy)
        out["bbox"] = [minx, miny, maxx, maxy]
        wkb = shapely.to_wkb(g)
    else:
        out.pop("bbox", None)
    return ItemRow(coll, iid, start, end, label, wkb, bbox, out, dumps_checked(out))


def validate_collection(doc: Any) -> CollectionRow:
    """Check a STAC collection and its label (the four sec: members at its top level)."""
    cid = _object_id(doc, "Collection", "a STAC Collection")
    dumps_checked(doc)
    if not isinstance(doc.get("description", ""), str):
        raise _err("is not a string", "description", "a string")
    label = Label.from_properties(doc, prefix="")
    pipelines = doc.get(PIPELINES_PROPERTY)
    if pipelines is not None and (not isinstance(pipelines, list) or len(pipelines) > len(KNOWN_PIPELINES)
                                  or any(p not in KNOWN_PIPELINES for p in pipelines)
                                  or len(set(pipelines)) != len(pipelines)):
        raise _err(f"is {json.dumps(pipelines)[:80]}", PIPELINES_PROPERTY,
                   f"a list of distinct pipeline names out of {list(KNOWN_PIPELINES)}")
    out = dict(doc)
    out.setdefault("stac_version", "1.1.0")
    out.setdefault("description", cid)
    out.setdefault("license", "other")
    out.setdefault("links", [])
    out.setdefault("extent", {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                              "temporal": {"interval": [[None, None]]}})
    out.update(label.to_properties())
    return CollectionRow(cid, label, out)
