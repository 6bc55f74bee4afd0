"""From flagged pixels to measured candidates: clusters, position, size, heading, signal-to-clutter.

Flagged pixels are grouped 8-connected after a two-pixel closing (a ship's fragments join: `cluster`); each
group is measured on the image itself: the intensity-weighted centre, length and width from the
weighted second moments in metres (a uniform rectangle of length L has variance L^2/12 along it),
heading as the long axis' bearing (0-180 deg: SAR cannot tell bow from stern; pixels of a bright
target's sidelobe cross — on its row or column, 13 dB or more below its peak — are not counted), peak and mean
signal-to-clutter ratio against the background ring's mean, and the distance to land.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from aquila.analytics.sar.cluster import cluster_flagged

__all__ = ["Candidate", "measure_candidates", "locate"]


@dataclass(slots=True)
class Candidate:
    """One cluster of flagged pixels, measured. `row`/`col` are scene pixels (centre-based). Mutable (with
    slots) so the detector can locate and score ten thousand of them without copying each."""

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
    threshold_margin_db: float = math.nan
    """How far the peak is above the CFAR threshold at its place (dB)."""
    clutter_shape: float = math.nan
    """The K shape nu of the background ring (small: spiky clutter)."""
    clutter_shape3: float = math.nan
    """The same of the ring's 3 x 3 means (much larger than `clutter_shape`: a fine-grained texture, whose
    bright clumps of a few pixels look like small ships)."""
    contrast3_db: float = math.nan
    """The brightest 3 x 3 mean of the target over the background (dB): energy a single spike lacks."""
    surround_db: float = math.nan
    """The unflagged pixels of the 15 x 15 window around it over the background (dB): a bright texture
    bump or patch around a spike, dark sea around a ship."""
    chip_logit: float = math.nan
    """How ship-like its image chip looks to the chip scorer (`aquila.analytics.sar.chipnet`), a logit."""
    chip: Any = None
    """Its image chip (`aquila.analytics.sar.chips`): float16 until the discriminator has decided, float32 and
    kept afterwards only when the detector is asked to (training)."""

    def shifted(self, drow: int, dcol: int) -> Candidate:
        """Moved by whole pixels (from tile to scene coordinates), in place."""
        self.row += drow
        self.col += dcol
        return self

    def feature(self) -> dict[str, Any]:
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(self.lon_deg, 7),
                                                                                   round(self.lat_deg, 7)]},
                "properties": {"length_m": round(self.length_m, 1), "width_m": round(self.width_m, 1),
                               "heading_deg": round(self.heading_deg, 1), "scr_db": round(self.scr_db, 2),
                               "peak_scr_db": round(self.peak_scr_db, 2), "confidence": self.confidence,
                               "pixels": self.pixels, "row": round(self.row, 2), "col": round(self.col, 2)}}


@njit(cache=True, nogil=True)
def _measure(x: np.ndarray, flagged: np.ndarray, mean: np.ndarray, rr_all: np.ndarray, cc_all: np.ndarray,
             starts: np.ndarray, px_y: float, px_x: float, thr: np.ndarray, nu: np.ndarray, b: int,
             x3: np.ndarray, land_dist: np.ndarray, nu3: np.ndarray) -> np.ndarray:
    """One row per cluster: r0, c0, pixels, peak, bg, peak SCR, SCR, length, width, heading, land distance,
    threshold margin, clutter shape, 3 x 3 contrast, surround, 3 x 3 clutter shape (the units of `Candidate`)."""
    k = len(starts) - 1
    out = np.empty((k, 16))
    h, w = x.shape
    arm_ratio = 10.0 ** -1.3
    for g in range(k):
        a, z = starts[g], starts[g + 1]
        n_pix = z - a
        rr = rr_all[a:z]
        cc = cc_all[a:z]
        v = np.empty(n_pix)
        for i in range(n_pix):
            v[i] = x[rr[i], cc[i]]
        top = int(np.argmax(v))
        keep = np.ones(n_pix, np.bool_)
        n_arm = 0
        for i in range(n_pix):
            dr, dc = abs(rr[i] - rr[top]), abs(cc[i] - cc[top])
            if (dr <= 1 or dc <= 1) and v[i] < v[top] * arm_ratio and math.hypot(dr, dc) > 2:
                keep[i] = False
                n_arm += 1
        if n_arm == 0 or n_arm == n_pix:  # a bright target's sidelobe cross is not part of its size
            keep[:] = True
        wsum = sr = sc = 0.0
        for i in range(n_pix):
            if keep[i]:
                wsum += v[i]
                sr += rr[i] * v[i]
                sc += cc[i] * v[i]
        r0, c0 = sr / wsum, sc / wsum
        bgv = np.empty(n_pix)
        nb = 0
        for i in range(n_pix):
            m = mean[rr[i] // b, cc[i] // b]  # the background ring's mean of the pixel's block
            if keep[i] and m > 0:
                bgv[nb] = m
                nb += 1
        if nb:
            bg = np.median(bgv[:nb])
        else:
            kept = np.empty(n_pix)
            nk = 0
            for i in range(n_pix):
                if keep[i]:
                    kept[nk] = v[i]
                    nk += 1
            bg = np.median(kept[:nk])
        cyy = cxx = cxy = 0.0
        peak = 0.0
        vsum = 0.0
        nk = 0
        pr = pc = 0
        m3 = -1.0
        for i in range(n_pix):
            if not keep[i]:
                continue
            ym, xm = (rr[i] - r0) * px_y, (cc[i] - c0) * px_x
            cyy += ym * ym * v[i]
            cxx += xm * xm * v[i]
            cxy += xm * ym * v[i]
            vsum += v[i]
            nk += 1
            if v[i] > peak:
                peak, pr, pc = v[i], rr[i], cc[i]
            t3 = x3[rr[i], cc[i]]
            if np.isfinite(t3) and t3 > m3:
                m3 = t3
        cyy, cxx, cxy = cyy / wsum, cxx / wsum, cxy / wsum
        tr, det = cyy + cxx, cyy * cxx - cxy * cxy
        disc = math.sqrt(max(tr * tr / 4 - det, 0.0))
        l1, l2 = tr / 2 + disc, max(tr / 2 - disc, 0.0)
        step = min(px_y, px_x)
        ang = 0.5 * math.atan2(2 * cxy, cxx - cyy)  # from the +x (east) axis, y pointing south
        t = thr[pr // b, pc // b]
        ir, ic = int(round(r0)), int(round(c0))
        s_sum = 0.0
        s_n = 0
        for i in range(max(0, ir - 7), min(h, ir + 8)):
            for j in range(max(0, ic - 7), min(w, ic + 8)):
                if not flagged[i, j] and np.isfinite(x[i, j]):
                    s_sum += x[i, j]
                    s_n += 1
        out[g, 0], out[g, 1], out[g, 2], out[g, 3], out[g, 4] = r0, c0, n_pix, peak, bg
        out[g, 5] = 10 * math.log10(peak / bg)
        out[g, 6] = 10 * math.log10(vsum / nk / bg)
        out[g, 7] = math.sqrt(12 * l1) + step  # + one pixel: a point target still has a pixel's size
        out[g, 8] = math.sqrt(12 * l2) + step
        out[g, 9] = (90.0 + math.degrees(ang)) % 180.0  # the long axis' bearing (north = -row)
        out[g, 10] = land_dist[min(max(ir, 0), h - 1), min(max(ic, 0), w - 1)]
        out[g, 11] = 10 * math.log10(peak / t) if np.isfinite(t) and t > 0 else 0.0
        out[g, 12] = nu[pr // b, pc // b]
        out[g, 13] = 10 * math.log10(max(m3, 1e-30) / bg) if m3 > 0 else np.nan
        out[g, 14] = 10 * math.log10(max(s_sum / s_n, 1e-30) / bg) if s_n else 0.0
        out[g, 15] = nu3[pr // b, pc // b]
    return out


def measure_candidates(x: np.ndarray, flagged: np.ndarray, mean: np.ndarray,
                       core: tuple[int, int, int, int], px_m: tuple[float, float], land_dist_m: np.ndarray,
                       blocks: tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray],
                       pixels: tuple[np.ndarray, np.ndarray] | None = None) -> list[Candidate]:
    """Candidates whose weighted centre lies inside `core` (row0, row1, col0, col1) of this tile (`mean`: the
    background ring's mean per block of the prescreen); `blocks`
    (threshold and clutter shape per block, block size, the 3 x 3 mean image) of the prescreen give each
    candidate's threshold margin, clutter shape, 3 x 3 contrast and surround. Measured by one compiled
    pass over all clusters. `pixels`: the flagged pixels, row-major, if known."""
    rr, cc, starts = cluster_flagged(flagged, pixels)
    if len(starts) < 2:
        return []
    thr, nu, b, x3, nu3 = blocks
    m = _measure(x, flagged, mean, rr, cc, starts, float(px_m[0]), float(px_m[1]), thr, nu, int(b), x3,
                 land_dist_m, nu3)
    out = []
    for row in m:
        r0, c0 = float(row[0]), float(row[1])
        if core[0] <= r0 < core[1] and core[2] <= c0 < core[3]:
            out.append(Candidate(r0, c0, int(row[2]), float(row[3]), float(row[4]), float(row[5]), float(row[6]),
                                 float(row[7]), float(row[8]), float(row[9]), float(row[10]),
                                 threshold_margin_db=float(row[11]), clutter_shape=float(row[12]),
                                 contrast3_db=float(row[13]), surround_db=float(row[14]),
                                 clutter_shape3=float(row[15])))
    return out


def locate(cands: list[Candidate], transform: Any, crs: Any) -> None:
    """Set each candidate's lon/lat (EPSG:4326) of its centre and a confidence from its contrast, in place
    (one transform for all of them)."""
    if not cands:
        return
    rows = np.array([c.row for c in cands]) + 0.5
    cols = np.array([c.col for c in cands]) + 0.5
    xs, ys = transform @ (cols, rows)
    if crs is not None and not crs.is_geographic:
        from rasterio.warp import transform as warp

        xs, ys = warp(crs, "EPSG:4326", np.asarray(xs), np.asarray(ys))
    peak = np.array([c.peak_scr_db for c in cands])
    conf = np.round(1.0 / (1.0 + np.exp(-(peak - 12.0) / 2.0)), 3)
    for c, lon, lat, p in zip(cands, np.asarray(xs).tolist(), np.asarray(ys).tolist(), conf.tolist(), strict=True):
        c.lon_deg, c.lat_deg, c.confidence = lon, lat, p
