"""The common operational picture: a static web app (MapLibre GL over an offline world-atlas basemap) that
`aquila serve` hands out at /cop/. It holds no data: every layer comes from the API with the signed-in
user's token, so the browser only ever receives what the labels release to that user.

The app's own files are in `static/`; the libraries it runs on are vendored by the set-up step
(`npm ci` here, pinned in package-lock.json) into `node_modules/`, and only the few files named in
`VENDOR` are ever served from there (no CDN at run time, no path from a URL into the file system). The
basemap is cut into vector tiles by the same step (`basemap.mjs`, into `build/basemap/`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["WEB_DIR", "APP_FILES", "VENDOR", "BASEMAP_DIR", "BASEMAP_MAX_ZOOM", "web_file", "basemap_tile",
           "vendor_missing"]

WEB_DIR = Path(__file__).parent

APP_FILES: dict[str, tuple[str, str]] = {
    "index.html": ("static/index.html", "text/html; charset=utf-8"),
    "cop.js": ("static/cop.js", "text/javascript; charset=utf-8"),
    "cop.css": ("static/cop.css", "text/css; charset=utf-8"),
}
"""URL name under /cop/ -> (file under WEB_DIR, media type)."""

VENDOR: dict[str, tuple[str, str]] = {
    "maplibre-gl.mjs": ("node_modules/maplibre-gl/dist/maplibre-gl.mjs", "text/javascript; charset=utf-8"),
    "maplibre-gl-worker.mjs": ("node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs",
                               "text/javascript; charset=utf-8"),
    "maplibre-gl.css": ("node_modules/maplibre-gl/dist/maplibre-gl.css", "text/css; charset=utf-8"),
}
"""URL name under /cop/vendor/ -> (file under WEB_DIR, media type)."""


def web_file(table: dict[str, tuple[str, str]], name: str) -> tuple[Path, str] | None:
    """The file and media type a URL name stands for, or None (unknown name, or not installed)."""
    entry = table.get(name)
    if entry is None:
        return None
    path = WEB_DIR / entry[0]
    return (path, entry[1]) if path.is_file() else None


BASEMAP_DIR = WEB_DIR / "build" / "basemap"
BASEMAP_MAX_ZOOM = 6
"""The offline basemap's vector tiles, `{z}/{x}/{y}.pbf` (layer `countries`), z0-6; ocean tiles are absent."""


def basemap_tile(z: int, x: int, y: int) -> Path | None:
    """Where tile z/x/y of the basemap would be, or None when z/x/y is not a tile of it. The file may be absent
    (nothing but sea there)."""
    if not (0 <= z <= BASEMAP_MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        return None
    return BASEMAP_DIR / str(z) / str(x) / f"{y}.pbf"


def vendor_missing() -> list[str]:
    """The vendored files that are not installed (the set-up step, `make web`, installs them)."""
    missing = [name for name, (rel, _) in VENDOR.items() if not (WEB_DIR / rel).is_file()]
    return missing + ([] if (BASEMAP_DIR / "done").is_file() else ["basemap tiles"])
