"""The picture's routes as an attacker tries them: the static files are a closed list (no path from a URL into
the file system, encoded or not), carry a strict CSP, hold no data; the landing page's redirect never swallows
an API call; `/me` and `/outlook` need a valid token (refusals audited) and `/me` says only what the token
says."""

from __future__ import annotations

import httpx
import pytest

from aquila.security.labels import Classification
from aquila.security.policy import User
from aquila.web import APP_FILES, VENDOR

LOW = User("EST", Classification.NU, subject="est-low")

TRAVERSALS = ["/cop/..%2fcatalog.db", "/cop/%2e%2e/catalog.db", "/cop/vendor/..%2f..%2fpackage.json",
              "/cop/vendor/%2e%2e%2fcop.js", "/cop/static%2findex.html", "/cop/node_modules", "/cop/package.json",
              "/cop/package-lock.json", "/cop/__init__.py", "/cop/vendor/maplibre-gl.mjs.map",
              "/cop/vendor/countries-10m.json", "/cop/vendor/", "/cop/vendor/..", "/cop/INDEX.HTML",
              "/cop/index.html%00.js", "/cop//etc/passwd", "/cop/vendor/%2Fetc%2Fpasswd", "/cop/cop.js/",
              "/cop/keys", "/cop/vendor/../../keys/signing.pem", "/cop/vendor/countries-50m.json",
              "/cop/vendor/topojson-client.min.js",
              # the basemap's tiles: integers inside the pyramid only
              "/cop/vendor/basemap/7/0/0.pbf", "/cop/vendor/basemap/2/4/0.pbf", "/cop/vendor/basemap/2/0/4.pbf",
              "/cop/vendor/basemap/-1/0/0.pbf", "/cop/vendor/basemap/0/0/0.json", "/cop/vendor/basemap/done",
              "/cop/vendor/basemap/0/0/..%2f..%2fdone.pbf", "/cop/vendor/basemap/0/0/%2e%2e.pbf",
              "/cop/vendor/basemap/1e1/0/0.pbf", "/cop/vendor/basemap/0x1/0/0.pbf", "/cop/vendor/basemap/0/0/0",
              "/cop/vendor/basemap/99999999999999999999/0/0.pbf", "/cop/vendor/basemap/%306/0/0.pbf",
              "/cop/vendor/basemap/0/0/0.pbf/", "/cop/vendor/basemap/"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_only_the_listed_files_are_served(live, path: str) -> None:  # type: ignore[no-untyped-def]
    r = httpx.get(live.url + path, follow_redirects=False)
    assert r.status_code in (404, 307, 308), (path, r.status_code)
    if r.status_code == 404:
        assert r.json()["code"] == "NotFound"
    assert b"PRIVATE KEY" not in r.content and b"SQLite" not in r.content


def test_the_listed_files_carry_a_strict_policy(live) -> None:  # type: ignore[no-untyped-def]
    names = ["/cop/"] + [f"/cop/{n}" for n in APP_FILES if n != "index.html"] + [f"/cop/vendor/{n}" for n in VENDOR]
    for path in names:
        r = httpx.get(live.url + path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in httpx.get(live.url + "/cop/").headers["content-security-policy"]


def test_basemap_tiles_are_tiles_or_empty(live) -> None:  # type: ignore[no-untyped-def]
    land = httpx.get(live.url + "/cop/vendor/basemap/4/8/5.pbf")  # the Baltic
    assert land.status_code == 200 and land.headers["content-type"] == "application/x-protobuf"
    assert b"countries" in land.content and len(land.content) > 1000  # the layer's name is in the tile
    sea = httpx.get(live.url + "/cop/vendor/basemap/6/7/32.pbf")  # the Pacific at the equator, 140 W
    assert sea.status_code == 204 and sea.content == b""
    assert "script-src 'self'" in sea.headers["content-security-policy"]


def test_the_landing_redirect_is_for_browsers_only(live) -> None:  # type: ignore[no-untyped-def]
    html = {"Accept": "text/html,application/xhtml+xml"}
    r = httpx.get(live.url + "/", headers=html, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cop/"
    # an API client (JSON, or any request with a token) gets the STAC landing page or the usual 401
    assert httpx.get(live.url + "/").status_code == 401
    with live.client(LOW) as c:
        r = c.get("/", headers=html)
        assert r.status_code == 200 and r.json()["type"] == "Catalog"
    r = httpx.post(live.url + "/", headers=html)
    assert r.status_code in (401, 405)


def test_me_and_the_outlook_need_a_valid_token(live) -> None:  # type: ignore[no-untyped-def]
    before = live.instance.audit.verify().entries
    for path in ("/me", "/outlook"):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
            r = httpx.get(live.url + path, headers=headers)
            assert r.status_code == 401 and r.json()["code"] == "Unauthorized", (path, headers)
    assert live.instance.audit.verify().entries == before + 6  # every refusal audited
    with live.client(LOW) as c:
        me = c.get("/me").json()
        assert me == {"subject": "est-low", "nation": "EST", "clearance": "NU", "clearance_name": "NATO UNCLASSIFIED",
                      "caveats": [], "roles": [], "expires": me["expires"]}
        n = live.instance.audit.verify().entries
        o = c.get("/outlook", params={"bbox": "x", "hours": "1e309"})  # no parameters: nothing to abuse
        assert o.status_code == 200 and o.json()["aois"]["features"] == []
        assert live.instance.audit.verify().entries == n + 1  # the read audited too
        assert "no areas of interest configured" in " ".join(o.json()["notes"])


def test_a_revoked_token_gets_nothing(live) -> None:  # type: ignore[no-untyped-def]
    tok = live.token(LOW)
    assert httpx.get(live.url + "/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    live.instance.tokens.revocations.revoke_subject("est-low")
    for path in ("/me", "/outlook"):
        assert httpx.get(live.url + path, headers={"Authorization": f"Bearer {tok}"}).status_code == 401
