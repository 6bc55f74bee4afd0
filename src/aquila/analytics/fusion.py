"""Detections matched to AIS: who each ship is, which ships are dark, and which AIS vessels were not seen.

At the image time every AIS vessel is placed with its uncertainty (`ais.tracks.positions_at`). A pair
(detection, vessel) is allowed when the distance, less the SAR azimuth shift the vessel's motion can
cause, is within `gate_sigma` combined sigmas:

    d_eff = max(0, d - (R/V) * speed)          R/V: slant range over satellite speed (~115 s, Sentinel-1)
    z     = d_eff / sqrt(sigma_ais^2 + sigma_det^2)

(a moving ship appears displaced along azimuth by (R/V) times its radial speed: ~115 m per m/s for
Sentinel-1, NOTES; its direction depends on the look geometry, so only its size bounds the shift here).
Lengths, when both sides know them, add ((L_det - L_ais) / (0.3 L_ais + 20 m))^2 to the cost z^2; the
optimal one-to-one assignment (Hungarian) over allowed pairs decides. A detection left unmatched is
*dark*; an AIS vessel inside the footprint left unmatched is *unseen* (a miss, a small vessel, or a
position that is not true).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aquila.analytics.ais.model import AisData, ship_type_name
from aquila.analytics.ais.tracks import positions_at
from aquila.analytics.geo import great_circle_m
from aquila.constants import EARTH_MEAN_RADIUS_M

__all__ = ["FusionConfig", "Fused", "FusionResult", "fuse", "length_term"]



@dataclass(frozen=True)
class FusionConfig:
    gate_sigma: float = 3.0
    detection_sigma_m: float = 50.0
    range_over_velocity_s: float = 115.0
    max_gap_s: float = 3600.0


@dataclass(frozen=True)
class Fused:
    """One detection and what AIS says of it (`mmsi` None: dark)."""

    index: int
    lon_deg: float
    lat_deg: float
    mmsi: int | None = None
    name: str = ""
    ship_type: str = ""
    ais_length_m: float | None = None
    match_distance_m: float | None = None
    confidence: float | None = None

    @property
    def dark(self) -> bool:
        return self.mmsi is None


@dataclass
class FusionResult:
    detections: list[Fused]
    unseen: list[dict[str, Any]] = field(default_factory=list)
    vessels_placed: int = 0

    @property
    def dark(self) -> list[Fused]:
        return [d for d in self.detections if d.dark]

    def as_geojson(self, properties: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Detections (with `dark` or their AIS identity) and unseen AIS vessels, as one FeatureCollection."""
        feats = []
        for d in self.detections:
            props = dict(properties[d.index]) if properties else {}
            props["dark"] = d.dark
            if not d.dark:
                props["ais"] = {"mmsi": d.mmsi, "name": d.name, "ship_type": d.ship_type,
                                "length_m": d.ais_length_m, "match_distance_m": d.match_distance_m,
                                "confidence": d.confidence}
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [d.lon_deg, d.lat_deg]},
                          "properties": props})
        for u in self.unseen:
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [u["lon_deg"],
                                                                                           u["lat_deg"]]},
                          "properties": {"kind": "ais-unseen", **{k: v for k, v in u.items()
                                                                   if k not in ("lon_deg", "lat_deg")}}})
        return {"type": "FeatureCollection", "features": feats,
                "aquila:fusion": {"detections": len(self.detections), "dark": len(self.dark),
                                  "unseen_ais": len(self.unseen), "vessels_placed": self.vessels_placed}}


def length_term(det_length_m: np.ndarray | float, ais_length_m: np.ndarray | float) -> np.ndarray:
    """The cost a length disagreement adds (a squared z: SAR lengths scatter ~30 % + 20 m around AIS's)."""
    ais = np.asarray(ais_length_m, dtype=np.float64)
    return np.asarray(((np.asarray(det_length_m, dtype=np.float64) - ais) / (0.3 * ais + 20.0)) ** 2)


def fuse(detections: list[dict[str, Any]], ais: AisData, time_s: float, footprint: Any = None,
         config: FusionConfig = FusionConfig()) -> FusionResult:
    """Match `detections` (dicts with lon, lat and optionally length_m) to AIS at `time_s` (s since 1970 UTC);
    `footprint` (a shapely geometry in lon/lat) limits which AIS vessels should have been seen."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial import cKDTree

    placed = positions_at(ais, time_s, config.max_gap_s)
    n, m = len(detections), len(placed)
    lon = np.array([float(d["lon"]) for d in detections])
    lat = np.array([float(d["lat"]) for d in detections])
    det_len = np.array([float(d.get("length_m") or math.nan) for d in detections])
    ais_len = np.array([ais.vessels[int(k)].length_m or math.nan if int(k) in ais.vessels else math.nan
                        for k in placed.mmsi]) if m else np.zeros(0)
    pairs: list[tuple[int, int, float, float]] = []
    if n and m:
        shift = config.range_over_velocity_s * np.nan_to_num(placed.speed_m_s, nan=0.0)
        sigma = np.sqrt(placed.sigma_m ** 2 + config.detection_sigma_m ** 2)
        reach_m = config.gate_sigma * sigma + shift  # the farthest a detection may be from each vessel
        # candidate pairs by a KD-tree on a local equirectangular plane (then exact great-circle distances)
        lat0 = float(np.radians(np.mean(lat)))

        def xy(lo: np.ndarray, la: np.ndarray) -> np.ndarray:
            r = EARTH_MEAN_RADIUS_M
            return np.column_stack([np.radians(lo) * r * math.cos(lat0), np.radians(la) * r])

        tree = cKDTree(xy(lon, lat))
        near = tree.query_ball_point(xy(placed.lon_deg, placed.lat_deg), r=reach_m * 1.05 + 1.0)
        for j, dets in enumerate(near):
            if not dets:
                continue
            idx = np.array(dets)
            d = great_circle_m(lon[idx], lat[idx], placed.lon_deg[j:j + 1], placed.lat_deg[j:j + 1])[:, 0]
            z = np.maximum(d - shift[j], 0.0) / sigma[j]
            cost = z * z
            if math.isfinite(ais_len[j]):
                lt = det_len[idx]
                term = length_term(lt, ais_len[j])
                cost = cost + np.where(np.isfinite(term), term, 0.0)
            for i, zi, ci, di in zip(idx.tolist(), z.tolist(), cost.tolist(), d.tolist(), strict=True):
                if zi <= config.gate_sigma:
                    pairs.append((i, j, ci, di))
    matched: dict[int, tuple[int, float, float]] = {}
    if pairs:
        rows = sorted({p[0] for p in pairs})
        cols = sorted({p[1] for p in pairs})
        ri, ci = {r: k for k, r in enumerate(rows)}, {c: k for k, c in enumerate(cols)}
        big = 1e9
        cost = np.full((len(rows), len(cols)), big)
        dist = np.zeros_like(cost)
        for pi, pj, pc, pd in pairs:
            cost[ri[pi], ci[pj]] = pc
            dist[ri[pi], ci[pj]] = pd
        a, b = linear_sum_assignment(cost)
        for x, y in zip(a, b, strict=True):
            if cost[x, y] < big:
                matched[rows[x]] = (cols[y], float(dist[x, y]), float(cost[x, y]))
    out: list[Fused] = []
    for i in range(n):
        if i in matched:
            vj, vd, vc = matched[i]
            mmsi = int(placed.mmsi[vj])
            v = ais.vessels.get(mmsi)
            out.append(Fused(i, float(lon[i]), float(lat[i]), mmsi, v.name if v else "",
                             ship_type_name(v.ship_type if v else None), v.length_m if v else None, round(vd, 1),
                             round(math.exp(-vc / 2), 3)))
        else:
            out.append(Fused(i, float(lon[i]), float(lat[i])))
    unseen = []
    if footprint is not None and m:
        import shapely

        taken = {j for j, _, _ in matched.values()}
        inside = shapely.contains_xy(footprint, placed.lon_deg, placed.lat_deg)
        for j in np.flatnonzero(inside).tolist():
            if j in taken:
                continue
            mmsi = int(placed.mmsi[j])
            v = ais.vessels.get(mmsi)
            unseen.append({"mmsi": mmsi, "name": v.name if v else "", "lon_deg": round(float(placed.lon_deg[j]), 6),
                           "lat_deg": round(float(placed.lat_deg[j]), 6), "length_m": v.length_m if v else None,
                           "sigma_m": round(float(placed.sigma_m[j]), 1),
                           "placed_by": placed.method_name(j), "report_gap_s": round(float(placed.gap_s[j]), 1)})
    return FusionResult(out, unseen, m)
