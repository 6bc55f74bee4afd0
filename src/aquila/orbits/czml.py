"""Access results as CZML for Cesium: satellites with their tracks, targets, and each window as a link.

One preamble packet (the period as the clock), one packet per satellite (Earth-fixed positions every
`step_s`, drawn with a path: its ground track's orbit), one per target (a point, or its outline: one
packet per part of a multipolygon, the later ones children of the first),
and one per window: a line from the satellite to the target, shown only during the window. Times
are ISO 8601 UTC; positions are metres in the FIXED (Earth-fixed) frame, as SGP4 and the engine use.
"""

from __future__ import annotations

import html
import json
from typing import IO, Any

import numpy as np

from aquila.orbits.access import AccessResult
from aquila.orbits.frames import TimeGrid
from aquila.orbits.propagate import propagate

__all__ = ["write_czml"]

_COLOURS = {"optical": [30, 144, 255, 255], "sar": [255, 140, 0, 255]}


def _iso(grid: TimeGrid, seconds: np.ndarray) -> list[str]:
    return grid.to_iso(seconds)


def write_czml(res: AccessResult, dest: IO[bytes], name: str, step_s: float = 60.0) -> None:
    """Write `res` as a CZML document (a JSON array of packets)."""
    grid = TimeGrid.build(res.grid.start, res.grid.end, step_s)
    start, end = _iso(grid, np.array([0.0, grid.span_s]))
    period = f"{start}/{end}"
    packets: list[dict[str, Any]] = [{
        "id": "document", "name": name, "version": "1.0",
        "clock": {"interval": period, "currentTime": start, "multiplier": 60, "range": "LOOP_STOP",
                  "step": "SYSTEM_CLOCK_MULTIPLIER"}}]
    states = propagate([s.elements.satrec for s in res.satellites], grid)
    t = grid.seconds
    for i, s in enumerate(res.satellites):
        if not states.ok[i]:
            continue
        xyz = states.r[i] * 1000.0
        samples = np.column_stack([t, xyz]).round(3).ravel().tolist()
        colour = _COLOURS.get(s.sensor.type.value, [200, 200, 200, 255])
        packets.append({
            "id": f"sat-{s.norad_id}", "name": s.name, "availability": period,
            "description": html.escape(f"{s.name} ({s.norad_id}), {s.owner}, {s.sensor.type.value}"),  # Cesium: HTML
            "position": {"epoch": start, "referenceFrame": "FIXED", "interpolationAlgorithm": "LAGRANGE",
                         "interpolationDegree": 5, "cartesian": samples},
            "point": {"pixelSize": 6, "color": {"rgba": colour}},
            "label": {"text": s.name, "font": "11pt sans-serif", "pixelOffset": {"cartesian2": [8, 0]}},
            "path": {"show": True, "width": 1, "leadTime": 0, "trailTime": 5400, "resolution": step_s,
                     "material": {"solidColor": {"color": {"rgba": colour[:3] + [128]}}}}})
    for k, tg in enumerate(res.targets):
        p = tg.geometry if tg.geometry.geom_type == "Point" else tg.geometry.representative_point()
        packet: dict[str, Any] = {"id": f"target-{k}", "name": tg.id,
                                  "position": {"cartographicDegrees": [p.x, p.y, 0.0]},
                                  "point": {"pixelSize": 8, "color": {"rgba": [255, 255, 255, 255]}},
                                  "label": {"text": tg.id, "font": "11pt sans-serif"}}
        parts = list(getattr(tg.geometry, "geoms", [tg.geometry])) if tg.geometry.geom_type in (
            "Polygon", "MultiPolygon") else []
        for j, part in enumerate(parts):  # every part's outline (a target split at the antimeridian has two)
            line = {"positions": {"cartographicDegrees": [v for x, y, *_ in part.exterior.coords for v in (x, y, 0.0)]},
                    "width": 2, "clampToGround": True}
            if j == 0:
                packet["polyline"] = line
                packets.append(packet)
            else:
                packets.append({"id": f"target-{k}-part-{j}", "name": tg.id, "parent": f"target-{k}", "polyline": line})
        if not parts:
            packets.append(packet)
    c = res.columns
    starts, ends = _iso(grid, c["start_s"]), _iso(grid, c["end_s"])
    for w in range(len(res)):
        s = res.satellites[int(c["sat"][w])]
        k = int(c["target"][w])
        packets.append({
            "id": f"access-{w}", "name": f"{s.name} over {res.targets[k].id}", "availability": f"{starts[w]}/{ends[w]}",
            "polyline": {"positions": {"references": [f"sat-{s.norad_id}#position", f"target-{k}#position"]},
                         "width": 2, "material": {"solidColor": {"color": {"rgba": [0, 255, 0, 200]}}}}})
    dest.write(b"[")
    for n, p in enumerate(packets):
        dest.write((b"," if n else b"") + json.dumps(p, separators=(",", ":")).encode())
    dest.write(b"]\n")
