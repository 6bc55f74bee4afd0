"""Links built from route names (`request.url_for`), so a route's path is written once, in its router.

URL templates are resolved once per request and filled per object: a page of 1,000 items costs a
string replacement per link, not a route lookup.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

__all__ = ["Links", "GEOJSON", "JSON", "QUERYABLES_REL"]

GEOJSON = "application/geo+json"
JSON = "application/json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


class Links:
    """The links of one request's responses."""

    def __init__(self, request: HTTPConnection) -> None:
        self.request = request
        self._ws = request.scope.get("type") == "websocket"  # links sent over a WebSocket are still http(s)
        self.base = self._http(str(request.base_url).rstrip("/"))
        self._templates: dict[str, str] = {}

    def _http(self, url: str) -> str:
        return "http" + url[2:] if self._ws and url.startswith("ws") else url

    def href(self, name: str, **params: str) -> str:
        """The absolute URL of route `name` with its path parameters."""
        if not params:
            return self._http(str(self.request.url_for(name)))
        keys = tuple(sorted(params))
        key = name + "|" + ",".join(keys)
        tmpl = self._templates.get(key)
        if tmpl is None:
            tmpl = self._http(str(self.request.url_for(name, **{k: f"\x00{k}\x00" for k in keys})))
            self._templates[key] = tmpl
        for k in keys:
            tmpl = tmpl.replace(f"\x00{k}\x00", params[k])
        return tmpl

    @property
    def root(self) -> str:
        return self.href("landing")

    def item(self, item: dict[str, Any]) -> dict[str, Any]:
        """An item with its standard links (and uploaded assets' hrefs made absolute)."""
        c = str(item.get("collection"))
        item = dict(item)
        own = [lk for lk in item.get("links", []) if isinstance(lk, dict) and
               lk.get("rel") not in ("self", "parent", "collection", "root")]
        assets = {}
        for k, a in (item.get("assets") or {}).items():
            if isinstance(a, dict) and str(a.get("href", "")).startswith("/collections/"):
                a = dict(a, href=self.base + a["href"])
            assets[k] = a
        item["assets"] = assets
        coll = self.href("collection", cid=c)
        item["links"] = own + [
            {"rel": "self", "type": GEOJSON, "href": self.href("get_item", cid=c, iid=str(item["id"]))},
            {"rel": "parent", "type": JSON, "href": coll},
            {"rel": "collection", "type": JSON, "href": coll},
            {"rel": "root", "type": JSON, "href": self.root},
        ]
        return item

    def collection(self, coll: dict[str, Any]) -> dict[str, Any]:
        """A collection with its standard links."""
        coll = dict(coll)
        cid = str(coll["id"])
        own = [lk for lk in coll.get("links", []) if isinstance(lk, dict) and
               lk.get("rel") not in ("self", "parent", "root", "items", QUERYABLES_REL)]
        coll["links"] = own + [
            {"rel": "self", "type": JSON, "href": self.href("collection", cid=cid)},
            {"rel": "parent", "type": JSON, "href": self.root},
            {"rel": "root", "type": JSON, "href": self.root},
            {"rel": "items", "type": GEOJSON, "href": self.href("items", cid=cid)},
            {"rel": QUERYABLES_REL, "type": "application/schema+json",
             "href": self.href("collection_queryables", cid=cid)},
        ]
        return coll
