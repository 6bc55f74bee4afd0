"""An interactive revisit map as one self-contained HTML file: pan, zoom, and the value under the cursor.

No CDN, no server: the page carries the grid values, the coastlines in view and ~80 lines of
JavaScript that draw them on a canvas (wheel to zoom, drag to pan, hover for the cell's figures).
"""

from __future__ import annotations

import html
import json

import numpy as np

from aquila.orbits.coverage import CoverageGrid
from aquila.orbits.footprints import ground_tracks, swaths
from aquila.orbits.plots import coastlines

__all__ = ["coverage_html"]

_PAGE = """<!doctype html><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1em}}#wrap{{position:relative;display:inline-block}}
canvas{{border:1px solid #999;cursor:grab}}#tip{{position:absolute;pointer-events:none;background:#fff;
border:1px solid #555;padding:2px 6px;font-size:12px;display:none}}#legend{{margin-top:6px;font-size:12px}}</style>
<h1 style="font-size:1.2em">{title}</h1><div id="wrap"><canvas id="map" width="960" height="600"></canvas>
<div id="tip"></div></div><div id="legend"></div>
<p style="font-size:12px;color:#555">Wheel: zoom. Drag: pan. Hover: the cell's maximum gap, mean gap and
accesses per day. Blue: ground tracks; green: fields of regard (where drawn). Coastlines: GLOBE land mask
(NOAA) at 0.1 deg.</p>
<script>
const D = {data};
const cv = document.getElementById("map"), ctx = cv.getContext("2d"), tip = document.getElementById("tip");
const [W, E, S, N] = D.extent; let view = {{x0: W, x1: E, y0: S, y1: N}};
const lo = D.min, hi = D.max;
function colour(v) {{ // light (short gap) to dark (long gap)
  const t = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0;
  const c = [[252,253,191],[254,159,109],[222,73,104],[140,41,129],[59,15,112],[0,0,4]];
  const k = Math.min(c.length - 2, Math.floor(t * (c.length - 1))), f = t * (c.length - 1) - k;
  return "rgb(" + c[k].map((a, i) => Math.round(a + f * (c[k + 1][i] - a))).join(",") + ")";
}}
function px(lon, lat) {{ return [(lon - view.x0) / (view.x1 - view.x0) * cv.width,
                                 (view.y1 - lat) / (view.y1 - view.y0) * cv.height]; }}
function draw() {{
  ctx.clearRect(0, 0, cv.width, cv.height);
  for (let i = 0; i < D.lat.length; i++) for (let j = 0; j < D.lon.length; j++) {{
    const [x0, y0] = px(D.lon[j] - D.dlon / 2, D.lat[i] + D.dlat / 2), [x1, y1] = px(D.lon[j] + D.dlon / 2,
      D.lat[i] - D.dlat / 2);
    if (x1 < 0 || y1 < 0 || x0 > cv.width || y0 > cv.height) continue;
    ctx.fillStyle = colour(D.max_gap_h[i][j]); ctx.fillRect(x0, y0, x1 - x0 + 0.5, y1 - y0 + 0.5);
  }}
  ctx.fillStyle = "rgba(44,160,44,0.16)";  // swaths: fill only (their pieces share edges)
  for (const ring of D.swaths) {{ ctx.beginPath();
    for (let k = 0; k < ring.length; k += 2) {{ const [x, y] = px(ring[k], ring[k + 1]);
      if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y); }} ctx.closePath(); ctx.fill(); }}
  ctx.strokeStyle = "rgba(31,119,180,0.8)"; ctx.lineWidth = 0.8;
  for (const line of D.tracks) {{ ctx.beginPath();
    for (let k = 0; k < line.length; k += 2) {{ const [x, y] = px(line[k], line[k + 1]);
      if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y); }} ctx.stroke(); }}
  ctx.strokeStyle = "#222"; ctx.lineWidth = 0.8;
  for (const line of D.coast) {{ ctx.beginPath();
    for (let k = 0; k < line.length; k += 2) {{ const [x, y] = px(line[k], line[k + 1]);
      if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y); }} ctx.stroke(); }}
}}
cv.addEventListener("wheel", e => {{ e.preventDefault(); const r = cv.getBoundingClientRect();
  const fx = (e.clientX - r.left) / cv.width, fy = (e.clientY - r.top) / cv.height, z = e.deltaY > 0 ? 1.25 : 0.8;
  const lon = view.x0 + fx * (view.x1 - view.x0), lat = view.y1 - fy * (view.y1 - view.y0);
  view = {{x0: lon - (lon - view.x0) * z, x1: lon + (view.x1 - lon) * z,
           y0: lat - (lat - view.y0) * z, y1: lat + (view.y1 - lat) * z}}; draw(); }});
let drag = null;
cv.addEventListener("mousedown", e => {{ drag = [e.clientX, e.clientY, {{...view}}]; }});
window.addEventListener("mouseup", () => {{ drag = null; }});
cv.addEventListener("mousemove", e => {{ const r = cv.getBoundingClientRect();
  if (drag) {{ const dx = (e.clientX - drag[0]) / cv.width * (drag[2].x1 - drag[2].x0),
                     dy = (e.clientY - drag[1]) / cv.height * (drag[2].y1 - drag[2].y0);
    view = {{x0: drag[2].x0 - dx, x1: drag[2].x1 - dx, y0: drag[2].y0 + dy, y1: drag[2].y1 + dy}}; draw(); return; }}
  const lon = view.x0 + (e.clientX - r.left) / cv.width * (view.x1 - view.x0);
  const lat = view.y1 - (e.clientY - r.top) / cv.height * (view.y1 - view.y0);
  const i = Math.round((lat - D.lat[0]) / D.dlat), j = Math.round((lon - D.lon[0]) / D.dlon);
  if (i < 0 || j < 0 || i >= D.lat.length || j >= D.lon.length) {{ tip.style.display = "none"; return; }}
  tip.style.display = "block"; tip.style.left = (e.clientX - r.left + 12) + "px";
  tip.style.top = (e.clientY - r.top + 12) + "px";
  tip.textContent = D.lat[i].toFixed(2) + ", " + D.lon[j].toFixed(2) + ": max gap " + D.max_gap_h[i][j] + " h, mean "
    + D.mean_gap_h[i][j] + " h, " + D.per_day[i][j] + " accesses/day"; }});
document.getElementById("legend").innerHTML = "max gap: " + [0, .2, .4, .6, .8, 1].map(t => {{
  const v = lo + t * (hi - lo);
  return '<span style="display:inline-block;width:14px;height:10px;background:' + colour(v) + '"></span> '
    + v.toFixed(1) + " h"; }}).join(" &nbsp;");
draw();
</script>
"""


def coverage_html(grid: CoverageGrid, title: str, tracks: bool = False, resolution_deg: float | None = None,
                  footprints: bool = False) -> str:
    """The page for a coverage grid (values rounded to what a person reads: 0.01 h, 0.1 access/day)."""
    dlat, dlon = grid.cell_size(resolution_deg or 1.0)
    w, e = float(grid.lon_deg[0] - dlon / 2), float(grid.lon_deg[-1] + dlon / 2)
    s, n = float(grid.lat_deg[0] - dlat / 2), float(grid.lat_deg[-1] + dlat / 2)
    margin = 5.0
    coast = []
    for line in coastlines():
        x, y = line[:, 0], line[:, 1]
        if x.max() < w - margin or x.min() > e + margin or y.max() < s - margin or y.min() > n + margin:
            continue
        coast.append(np.round(line.astype(float), 2).ravel().tolist())
    gap_h = np.round(grid.max_gap_s / 3600.0, 2)
    data = {"extent": [w, e, s, n], "lat": np.round(grid.lat_deg, 4).tolist(),
            "lon": np.round(grid.lon_deg, 4).tolist(),
            "dlat": dlat, "dlon": dlon, "max_gap_h": gap_h.tolist(),
            "mean_gap_h": np.round(grid.mean_gap_s / 3600.0, 2).tolist(),
            "per_day": np.round(grid.accesses_per_day, 1).tolist(),
            "min": float(np.min(gap_h)) if gap_h.size else 0.0, "max": float(np.max(gap_h)) if gap_h.size else 1.0,
            "coast": coast, "tracks": [], "swaths": []}
    if footprints:
        data["swaths"] = [np.round(np.asarray(part.exterior.coords, dtype=float), 2).ravel().tolist()
                          for sw in swaths(grid.result, extent=(w, e, s, n))
                          for part in getattr(sw.polygon, "geoms", [sw.polygon])]
    if tracks:
        data["tracks"] = [np.round(line.astype(float), 2).ravel().tolist()
                          for _, line in ground_tracks(grid.result, extent=(w, e, s, n))]
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return _PAGE.format(title=html.escape(title), data=text)
