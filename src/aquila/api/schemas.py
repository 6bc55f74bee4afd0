"""The API's published shapes: the request bodies declared in OpenAPI (conformance: each router's own)."""

from __future__ import annotations

from aquila.limits import MAX_LIMIT

__all__ = ["OPENAPI", "MAX_LIMIT", "SEARCH_BODY_SCHEMA", "ITEM_BODY", "COLLECTION_BODY", "PATCH_BODY",
           "ASSET_BODY"]

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

_LABEL_PROPS = {
    "sec:classification": {"type": "string", "enum": ["NU", "NR", "NC", "NS", "CTS"]},
    "sec:releasable_to": {"type": "array", "items": {"type": "string"}},
    "sec:caveats": {"type": "array", "items": {"type": "string"}},
    "sec:originator": {"type": "string"},
}
SEARCH_BODY_SCHEMA = {"type": "object", "properties": {
    "collections": {"type": "array", "items": {"type": "string"}},
    "ids": {"type": "array", "items": {"type": "string"}},
    "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
    "intersects": {"type": "object"}, "datetime": {"type": "string"},
    "limit": {"type": "integer"}, "token": {"type": "string"},
    "filter": {"oneOf": [{"type": "object"}, {"type": "string"}]}, "filter-lang": {"type": "string"},
    "sortby": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "direction": {"type": "string", "enum": ["asc", "desc"]}}}},
    "fields": {"type": "object", "properties": {"include": {"type": "array", "items": {"type": "string"}},
                                                "exclude": {"type": "array", "items": {"type": "string"}}}}}}
ITEM_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["type", "id", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
        "geometry": {"type": "object", "properties": {"type": {"type": "string"},
                                                      "coordinates": {"type": "array"}}},
        "properties": {"type": "object", "properties": {"datetime": {"type": "string"}, **_LABEL_PROPS}},
        "links": {"type": "array"}, "assets": {"type": "object"}}}}}}}
COLLECTION_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["type", "id"], "properties": {
        "type": {"type": "string", "enum": ["Collection"]}, "id": {"type": "string"},
        "description": {"type": "string"}, **_LABEL_PROPS}}}}}}

PATCH_BODY = {"requestBody": {"required": True, "content": {
    "application/merge-patch+json": {"schema": {"type": "object"}},
    "application/json": {"schema": {"type": "object"}}}}}
ASSET_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
