"""Coverage grids: revisit statistics over a lattice of cells (regional or global) for heat maps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from aquila.constellation.assets import Satellite
from aquila.errors import InputError
from aquila.orbits.access import AccessMode, AccessResult, compute_access
from aquila.orbits.revisit import revisit_statistics
from aquila.orbits.targets import TargetSet

__all__ = ["CoverageGrid", "coverage_grid", "parse_bbox"]


@dataclass
class CoverageGrid:
    """Cell-centre lattice with per-cell revisit statistics, arrays shaped (n_lat, n_lon)."""

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    max_gap_s: np.ndarray
    mean_gap_s: np.ndarray
    accesses_per_day: np.ndarray
    result: AccessResult
    cell_deg: tuple[float, float] | None = None
    """(lat, lon) size of a cell; the cells tile the asked box exactly."""

    def cell_size(self, default_deg: float = 1.0) -> tuple[float, float]:
        """(dlat, dlon): the stored size, else the centres' spacing (or `default_deg` for one cell)."""
        if self.cell_deg is not None:
            return self.cell_deg
        dlat = float(self.lat_deg[1] - self.lat_deg[0]) if len(self.lat_deg) > 1 else default_deg
        dlon = float(self.lon_deg[1] - self.lon_deg[0]) if len(self.lon_deg) > 1 else default_deg
        return dlat, dlon


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """'west,south,east,north' in degrees."""
    try:
        w, s, e, n = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"{text!r}", field="bbox",
                         expected="west,south,east,north in degrees, e.g. 9,53,31,66") from None
    if -180 <= e < w <= 180 and -90 <= s < n <= 90:
        raise InputError(f"{text!r} crosses the antimeridian, which a grid cannot yet", field="bbox",
                         expected=f"two grids, {w:g},{s:g},180,{n:g} and -180,{s:g},{e:g},{n:g}")
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise InputError(f"{text!r}", field="bbox",
                         expected="west < east within -180..180, south < north within -90..90")
    return w, s, e, n


def coverage_grid(satellites: Sequence[Satellite], bbox: tuple[float, float, float, float], resolution_deg: float,
                  start: datetime, end: datetime, *, mode: AccessMode | str = AccessMode.VISIBILITY,
                  min_elevation_deg: float | None = None, owners: Sequence[str] | None = None,
                  workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> CoverageGrid:
    """Revisit heat map of the cells of `bbox` (west, south, east, north) at about `resolution_deg`.

    The cells tile the box exactly: as many as the resolution fits (at least one per axis), each the box's
    span over that count, so a 13 deg span at 2 deg gets 6 rows of 2.17 deg (`grid.cell_deg` says so).
    """
    if not 0.05 <= resolution_deg <= 30:
        raise InputError(f"{resolution_deg}", field="resolution_deg", expected="0.05..30 degrees")
    w, s, e, n = bbox
    n_lat = max(1, int(round((n - s) / resolution_deg)))
    n_lon = max(1, int(round((e - w) / resolution_deg)))
    dlat, dlon = (n - s) / n_lat, (e - w) / n_lon
    lats = s + dlat * (np.arange(n_lat) + 0.5)
    lons = w + dlon * (np.arange(n_lon) + 0.5)
    if len(lats) * len(lons) > 200_000:
        raise InputError(f"{len(lats) * len(lons)} cells", field="resolution_deg",
                         expected="at most 200,000 cells: a coarser resolution or a smaller bbox")
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    tset = TargetSet.from_points(glat.ravel(), glon.ravel())
    res = compute_access(satellites, tset, start, end, mode=mode, min_elevation_deg=min_elevation_deg,
                         workers=workers, progress=progress)
    pooled = res
    if not all(s.ally for s in res.satellites):  # the pool is the alliance's (as in sharing_gain)
        allies = np.array([s.ally for s in res.satellites] or [False])
        pooled = res.select(allies[res.columns["sat"]] if len(res) else np.zeros(0, bool))
    stats = revisit_statistics(pooled, owners=owners)
    shape = glat.shape
    return CoverageGrid(lats, lons, np.array([x.max_gap_s for x in stats]).reshape(shape),
                        np.array([x.mean_gap_s for x in stats]).reshape(shape),
                        np.array([x.accesses_per_day for x in stats]).reshape(shape), res, (dlat, dlon))
