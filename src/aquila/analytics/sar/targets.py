"""From flagged pixels to measured candidates: clusters, position, size, heading, signal-to-clutter.

Flagged pixels are grouped 8-connected after a two-pixel closing (a ship's fragments join); each
group is measured on the image itself: the intensity-weighted centre, length and width from the
weighted second moments in metres (a uniform rectangle of length L has variance L^2/12 along it),
heading as the long axis' bearing (0-180 deg: SAR cannot tell bow from stern; pixels of a bright
target's sidelobe cross — on its row or column, 13 dB or more below its peak — are not counted), peak and mean
signal-to-clutter ratio against the background ring's mean, and the distance to land.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

__all__ = ["Candidate", "measure_candidates"]


@dataclass(frozen=True)
class Candidate:
    """One cluster of flagged pixels, measured. `row`/`col` are scene pixels (centre-based)."""

    row: float
    col: float
    pixels: int
    peak: float
    background: float
    peak_scr_db: float
    scr_db: float
    length_m: float
    width_m: float
    heading_deg: float
    land_distance_m: float
    lon_deg: float = math.nan
    lat_deg: float = math.nan
    confidence: float = math.nan
    rejected: str = ""

    def shifted(self, drow: int, dcol: int) -> Candidate:
        return replace(self, row=self.row + drow, col=self.col + dcol)

    def located(self, transform: Any, crs: Any) -> Candidate:
        """With lon/lat (EPSG:4326) of the centre, and a confidence from its contrast."""
        x, y = transform @ (self.col + 0.5, self.row + 0.5)
        if crs is not None and not crs.is_geographic:
            from rasterio.warp import transform as warp

            xs, ys = warp(crs, "EPSG:4326", [x], [y])
            x, y = xs[0], ys[0]
        conf = 1.0 / (1.0 + math.exp(-(self.peak_scr_db - 12.0) / 2.0))
        return replace(self, lon_deg=float(x), lat_deg=float(y), confidence=round(conf, 3))

    def feature(self) -> dict[str, Any]:
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(self.lon_deg, 7),
                                                                                   round(self.lat_deg, 7)]},
                "properties": {"length_m": round(self.length_m, 1), "width_m": round(self.width_m, 1),
                               "heading_deg": round(self.heading_deg, 1), "scr_db": round(self.scr_db, 2),
                               "peak_scr_db": round(self.peak_scr_db, 2), "confidence": self.confidence,
                               "pixels": self.pixels, "row": round(self.row, 2), "col": round(self.col, 2)}}


def measure_candidates(x: np.ndarray, flagged: np.ndarray, background: np.ndarray,
                       core: tuple[int, int, int, int], px_m: tuple[float, float], land_dist_m: np.ndarray
                       ) -> list[Candidate]:
    """Candidates whose weighted centre lies inside `core` (row0, row1, col0, col1) of this tile."""
    from scipy.ndimage import binary_closing, find_objects, label

    if not flagged.any():
        return []
    joined = binary_closing(flagged, structure=np.ones((5, 5), bool)) | flagged
    labels, count = label(joined, structure=np.ones((3, 3), int))
    out: list[Candidate] = []
    for k, sl in enumerate(find_objects(labels), start=1):
        if sl is None:
            continue
        sub = labels[sl] == k
        pix = sub & flagged[sl]
        if not pix.any():
            continue
        rr, cc = np.nonzero(pix)
        rr = rr + sl[0].start
        cc = cc + sl[1].start
        v = x[rr, cc].astype(np.float64)
        top = int(np.argmax(v))
        arm = ((np.abs(rr - rr[top]) <= 1) | (np.abs(cc - cc[top]) <= 1)) & (v < v[top] * 10 ** -1.3) \
            & (np.hypot(rr - rr[top], cc - cc[top]) > 2)
        if arm.any() and not arm.all():  # a bright target's sidelobe cross is not part of its size
            rr, cc, v = rr[~arm], cc[~arm], v[~arm]
        wsum = v.sum()
        r0, c0 = float((rr * v).sum() / wsum), float((cc * v).sum() / wsum)
        if not (core[0] <= r0 < core[1] and core[2] <= c0 < core[3]):
            continue
        bg_vals = background[rr, cc]
        bg_vals = bg_vals[bg_vals > 0]
        bg = float(np.median(bg_vals)) if bg_vals.size else float(np.median(v))
        y_m, x_m = (rr - r0) * px_m[0], (cc - c0) * px_m[1]
        cyy, cxx, cxy = (y_m * y_m * v).sum() / wsum, (x_m * x_m * v).sum() / wsum, (x_m * y_m * v).sum() / wsum
        tr, det = cyy + cxx, cyy * cxx - cxy * cxy
        disc = math.sqrt(max(tr * tr / 4 - det, 0.0))
        l1, l2 = tr / 2 + disc, max(tr / 2 - disc, 0.0)
        length = math.sqrt(12 * l1) + min(px_m)  # + one pixel: a point target still has a pixel's size
        width = math.sqrt(12 * l2) + min(px_m)
        # the long axis' bearing (north = up = -row): eigenvector of the larger eigenvalue
        ang = 0.5 * math.atan2(2 * cxy, cxx - cyy)  # angle from the +x (east) axis, y pointing south
        heading = (90.0 + math.degrees(ang)) % 180.0
        peak = float(v.max())
        out.append(Candidate(r0, c0, int(pix.sum()), peak, bg, 10 * math.log10(peak / bg),
                             10 * math.log10(float(v.mean()) / bg), length, width, heading,
                             float(land_dist_m[int(round(r0)), int(round(c0))])))
    return out
