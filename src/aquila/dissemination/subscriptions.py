"""Subscriptions: a user's standing query, matched against every new or updated item of the library.

    {"collections": ["maritime-findings"], "bbox": [w, s, e, n]?, "intersects": GeoJSON?, "datetime": "a/b"?,
     "filter": CQL2-JSON or CQL2 text?, "channel": "sse" | "webhook", "url": "https://..."?, "secret": "..."?}

A subscription belongs to the token's subject and carries that subscriber's rights as its latest token
stated them (nation, clearance, caveats, roles): what it is delivered is decided at delivery time with
those rights and the item's label then — never by who created the subscription or what it asked for.
Naming a collection one may not read is allowed and reveals nothing (it simply never matches), so
creating a subscription is no oracle for what exists. Matching is the STAC item-search semantics
(`cql2` evaluates the filter on the item itself).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Any

from aquila.catalog.params import parse_bbox, parse_datetime
from aquila.catalog.validate import check_id
from aquila.errors import InputError
from aquila.security.labels import Classification
from aquila.security.policy import Role, User

__all__ = ["Subscription", "parse_subscription", "owner_claims", "owner_user", "owner_current", "CHANNELS",
           "MAX_SUBSCRIPTIONS", "MAX_COLLECTIONS"]

CHANNELS = ("sse", "webhook")
MAX_SUBSCRIPTIONS = 100
"""Per subscriber."""
MAX_COLLECTIONS = 50
_FIELDS = {"collections", "bbox", "intersects", "datetime", "filter", "filter-lang", "channel", "url", "secret"}


@dataclass
class Subscription:
    id: str
    subject: str
    collections: list[str]
    channel: str
    bbox: tuple[float, float, float, float] | None = None
    intersects: dict[str, Any] | None = None
    datetime: str | None = None
    filter: dict[str, Any] | None = None
    url: str | None = None
    secret: str | None = None
    created: str = ""

    def as_json(self) -> dict[str, Any]:
        """What its owner reads back (the webhook secret is never shown again)."""
        out: dict[str, Any] = {"id": self.id, "collections": self.collections, "channel": self.channel,
                               "created": self.created}
        for k in ("bbox", "intersects", "datetime", "filter", "url"):
            v = getattr(self, k)
            if v is not None:
                out[k] = list(v) if k == "bbox" else v
        return out

    def doc(self) -> dict[str, Any]:
        """As stored."""
        return {**self.as_json(), "secret": self.secret}

    @classmethod
    def from_doc(cls, sid: str, subject: str, doc: dict[str, Any], created: str) -> Subscription:
        bbox = doc.get("bbox")
        return cls(sid, subject, list(doc["collections"]), doc["channel"], tuple(bbox) if bbox else None,
                   doc.get("intersects"), doc.get("datetime"), doc.get("filter"), doc.get("url"), doc.get("secret"),
                   created)

    # -- matching -----------------------------------------------------------------------------------------
    def matches(self, collection: str, item: dict[str, Any]) -> bool:
        """Does the item answer the standing query (collections, bbox, intersects, datetime, filter)?"""
        if collection not in self.collections:
            return False
        if self.bbox is not None or self.intersects is not None:
            geom = item.get("geometry")
            if not geom:
                return False
            if self.bbox is not None and geom.get("type") == "Point" and self.intersects is None:
                lon, lat = geom["coordinates"][:2]  # a point in a box: two comparisons, no geometry objects
                w, s, e, n = self.bbox
                if not (s <= lat <= n and (w <= lon <= e if w <= e else (lon >= w or lon <= e))):
                    return False
            else:
                from shapely.geometry import box, shape

                g = shape(geom)
                if self.bbox is not None:
                    w, s, e, n = self.bbox
                    area = box(w, s, e, n) if w <= e else box(w, s, 180, n).union(box(-180, s, e, n))
                    if not g.intersects(area):
                        return False
                if self.intersects is not None and not g.intersects(shape(self.intersects)):
                    return False
        if self.datetime is not None and not _in_interval(item.get("properties") or {}, self.datetime):
            return False
        if self.filter is not None:
            import cql2

            try:
                return bool(cql2.Expr(self.filter).matches(item))
            except Exception:  # noqa: BLE001 - cql2 raises a bare Exception for a property the item lacks
                return False  # a property missing or of the wrong type: no match, as search would say
        return True


def _in_interval(props: dict[str, Any], interval: str) -> bool:
    from aquila.times import parse_rfc3339

    lo, hi = parse_datetime(interval)
    try:
        if props.get("datetime"):
            a = b = parse_rfc3339(props["datetime"], "datetime")
        else:
            a = parse_rfc3339(props.get("start_datetime"), "start_datetime")
            b = parse_rfc3339(props.get("end_datetime"), "end_datetime")
    except InputError:
        return False
    return a <= hi and b >= lo


def parse_subscription(body: Any, subject: str) -> Subscription:
    """A new subscription from a request body (a clear InputError naming the field otherwise)."""
    from aquila.catalog.filters import parse_filter

    if not isinstance(body, dict):
        raise InputError("the body is not a JSON object", field="body", expected="a subscription object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InputError(f"unknown member {unknown[0][:40]!r}", field=unknown[0][:40],
                         expected="members among " + ", ".join(sorted(_FIELDS)))
    cols = body.get("collections")
    if not isinstance(cols, list) or not 1 <= len(cols) <= MAX_COLLECTIONS:
        raise InputError(f"{str(cols)[:80]}", field="collections",
                         expected=f"a list of 1 to {MAX_COLLECTIONS} collection ids")
    collections = sorted({check_id(c, "collections") for c in cols})
    channel = body.get("channel", "sse")
    if channel not in CHANNELS:
        raise InputError(f"{str(channel)[:40]!r}", field="channel", expected=" or ".join(CHANNELS))
    bbox = parse_bbox(body["bbox"]) if body.get("bbox") is not None else None
    intersects = _geometry(body["intersects"]) if body.get("intersects") is not None else None
    dt = body.get("datetime")
    if dt is not None:
        if not isinstance(dt, str):
            raise InputError(f"{str(dt)[:40]}", field="datetime", expected="an RFC 3339 time or interval a/b")
        parse_datetime(dt)
    flt = parse_filter(body["filter"], body.get("filter-lang")) if body.get("filter") is not None else None
    if flt is not None:
        import cql2

        try:  # a standing query is evaluated on every item: it must be well-formed CQL2, not only parse
            cql2.Expr(flt).validate()
        except (cql2.ValidationError, ValueError) as exc:
            raise InputError(f"{str(exc)[:120]}", field="filter", expected="a valid CQL2 expression") from None
    url = secret = None
    if channel == "webhook":
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 2000 or any(
                ord(c) < 33 for c in url):
            raise InputError(f"{str(url)[:80]!r}", field="url", expected="an http(s) URL for the webhook")
        secret = body.get("secret")
        if not isinstance(secret, str) or not 16 <= len(secret) <= 256:
            raise InputError("missing or of the wrong length", field="secret",
                             expected="a shared secret of 16-256 characters (the deliveries' HMAC key)")
    elif body.get("url") is not None or body.get("secret") is not None:
        raise InputError("url/secret with an sse channel", field="url", expected="url and secret only for webhook")
    return Subscription("sub-" + secrets.token_hex(12), subject, collections, channel, bbox, intersects, dt, flt,
                        url, secret)


def _geometry(g: Any) -> dict[str, Any]:
    from shapely.geometry import shape

    from aquila.limits import MAX_VERTICES

    expected = "a GeoJSON geometry (Polygon, MultiPolygon, Point, ...) with finite coordinates"
    if not isinstance(g, dict) or not isinstance(g.get("type"), str):
        raise InputError(f"{str(g)[:80]}", field="intersects", expected=expected)
    import shapely
    from shapely.errors import GEOSException

    try:
        geom = shape(g)
        valid = geom.is_valid and not geom.is_empty
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, GEOSException):
        raise InputError(f"{str(g)[:80]}", field="intersects", expected=expected) from None

    coords = shapely.get_coordinates(geom)
    if len(coords) > MAX_VERTICES or not all(math.isfinite(v) for v in coords.ravel()):
        raise InputError(f"{len(coords)} vertices", field="intersects",
                         expected=f"at most {MAX_VERTICES} finite vertices")
    if not valid:
        raise InputError("an empty or invalid geometry (self-intersecting?)", field="intersects", expected=expected)
    return g


def owner_claims(user: User, token: tuple[float, float, str]) -> dict[str, Any]:
    """The subscriber's rights as stored with its subscriptions, with the (iat, exp, jti) of the token that stated
    them: deliveries stop when that token is revoked (by id or subject) or expires, until a newer one is seen."""
    iat, exp, jti = token
    return {"nation": user.nation, "clearance": user.clearance.name, "caveats": sorted(user.caveats),
            "roles": sorted(r.value for r in user.roles), "subject": user.subject, "iat": iat, "exp": exp, "jti": jti}


def owner_current(owner: dict[str, Any], revocations: Any, now_s: float) -> bool:
    """May deliveries go on under these stored rights: the stating token unexpired and not revoked?"""
    if float(owner.get("exp", 0)) <= now_s:
        return False
    return not revocations.is_revoked(str(owner.get("jti", "")), str(owner["subject"]), float(owner.get("iat", 0)))


def owner_user(claims: dict[str, Any]) -> User:
    return User(claims["nation"], Classification[claims["clearance"]], frozenset(claims["caveats"]),
                frozenset(Role(r) for r in claims["roles"]), subject=claims["subject"])
