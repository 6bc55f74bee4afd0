"""Access windows of a constellation over targets: visibility passes and imaging opportunities.

*Visibility*: the satellite is at least `min_elevation_deg` above the target's horizon (skyfield
`find_events` semantics: rise, culmination, set).

*Imaging opportunity*: the sensor can image the target: elevation >= `min_elevation_deg`,
off-nadir angle <= the field of regard, for SAR the incidence angle inside the sensor's band, for
optical the Sun at least `min_sun_elevation_deg` above the target's horizon. A SAR pass that climbs
above the band's steep limit yields two windows (before and after).

Windows carry start, end, time of closest approach (highest elevation inside the window), max
elevation, min off-nadir and best ground sample distance. Work is spread over processes by
satellite (SGP4 holds the GIL).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import numpy as np

from aquila.constants import WGS84_B_KM
from aquila.constellation.assets import Constellation, Satellite, SensorType
from aquila.errors import InputError, TimeWindowError
from aquila.orbits.engine import PointPasses, SatelliteTrack, illinois, passes_for_satellite, sin_elevation
from aquila.orbits.frames import TimeGrid, ecef_to_geodetic
from aquila.orbits.propagate import propagate
from aquila.orbits.sar import sar_windows
from aquila.orbits.sun import sun_direction_ecef
from aquila.orbits.targets import Target, TargetSet

__all__ = ["AccessMode", "Window", "AccessResult", "compute_access", "MAX_WINDOW_DAYS", "check_time_window"]

MAX_WINDOW_DAYS = 92.0
_EARTH_R_MIN_KM = WGS84_B_KM


class AccessMode(str, Enum):
    VISIBILITY = "visibility"
    IMAGING = "imaging"


@dataclass(frozen=True)
class Window:
    """One access window of one satellite over one target."""

    norad_id: int
    satellite: str
    owner: str
    target: str
    start: datetime
    culmination: datetime
    end: datetime
    start_clipped: bool
    end_clipped: bool
    max_elevation_deg: float
    min_off_nadir_deg: float
    best_gsd_m: float

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


_COLUMNS = ("sat", "target", "start_s", "culm_s", "end_s", "start_clipped", "end_clipped",
            "max_elevation_deg", "min_off_nadir_deg", "best_gsd_m")


@dataclass
class AccessResult:
    """All windows of a run as columns (one row per window), with the inputs that made them."""

    satellites: list[Satellite]
    targets: list[Target]
    grid: TimeGrid
    mode: AccessMode
    min_elevation_deg: float
    columns: dict[str, np.ndarray]
    errors: dict[int, str] = field(default_factory=dict)  # NORAD id -> message
    screening_misses: int = 0

    def __len__(self) -> int:
        return len(self.columns["sat"])

    @property
    def start(self) -> datetime:
        return self.grid.start

    @property
    def end(self) -> datetime:
        return self.grid.end

    @property
    def span_s(self) -> float:
        return self.grid.span_s

    def sorted(self) -> AccessResult:
        """Windows ordered by start time, then satellite, then target."""
        c = dict(self.columns)
        _sort_columns(c)
        return self.with_columns(c)

    def with_columns(self, columns: dict[str, np.ndarray]) -> AccessResult:
        return AccessResult(self.satellites, self.targets, self.grid, self.mode, self.min_elevation_deg, columns,
                            self.errors, self.screening_misses)

    def select(self, mask: np.ndarray) -> AccessResult:
        return self.with_columns({k: v[mask] for k, v in self.columns.items()})

    def owners_mask(self, owners: Sequence[str]) -> np.ndarray:
        """Row mask of windows whose satellite belongs to one of `owners`."""
        sat_owner = np.array([s.owner for s in self.satellites] or [""], dtype=object)
        want = np.isin(sat_owner, list(owners))
        return want[self.columns["sat"]] if len(self) else np.zeros(0, bool)

    def windows(self) -> Iterator[Window]:
        c = self.columns
        starts = self.grid.to_datetimes(c["start_s"])
        culms = self.grid.to_datetimes(c["culm_s"])
        ends = self.grid.to_datetimes(c["end_s"])
        for i in range(len(self)):
            sat = self.satellites[int(c["sat"][i])]
            yield Window(sat.norad_id, sat.name, sat.owner, self.targets[int(c["target"][i])].id, starts[i],
                         culms[i], ends[i], bool(c["start_clipped"][i]), bool(c["end_clipped"][i]),
                         float(c["max_elevation_deg"][i]), float(c["min_off_nadir_deg"][i]),
                         float(c["best_gsd_m"][i]))

    def to_arrow(self) -> Any:
        """The windows as a `pyarrow.Table` (the columns the CLI writes; see `aquila.orbits.export`)."""
        from aquila.orbits.export import access_table

        return access_table(self)

    def to_pandas(self) -> Any:
        """The windows as a pandas DataFrame (times as UTC timestamps, names as categories)."""
        return self.to_arrow().to_pandas()

    def records(self) -> list[dict[str, Any]]:
        """JSON-ready rows (times ISO-8601 UTC)."""
        c = self.columns
        starts, culms, ends = (self.grid.to_iso(c[k]) for k in ("start_s", "culm_s", "end_s"))
        out = []
        for i in range(len(self)):
            sat = self.satellites[int(c["sat"][i])]
            out.append({
                "norad_id": sat.norad_id, "satellite": sat.name, "owner": sat.owner,
                "target": self.targets[int(c["target"][i])].id,
                "start": starts[i], "culmination": culms[i], "end": ends[i],
                "duration_s": round(float(c["end_s"][i] - c["start_s"][i]), 3),
                "start_clipped": bool(c["start_clipped"][i]), "end_clipped": bool(c["end_clipped"][i]),
                "max_elevation_deg": round(float(c["max_elevation_deg"][i]), 4),
                "min_off_nadir_deg": round(float(c["min_off_nadir_deg"][i]), 4),
                "best_gsd_m": round(float(c["best_gsd_m"][i]), 3),
            })
        return out


def _sort_columns(c: dict[str, np.ndarray]) -> None:
    """Order rows by (start, satellite, target) in place, replacing one column at a time.

    Rows arrive ordered by satellite, then target, then time, so a stable sort on the start time
    alone gives that order with a single index array (lexsort would need several).
    """
    o = np.lexsort((c["target"], c["sat"])) if len(c["sat"]) and np.any(np.diff(c["sat"]) < 0) else None
    if o is not None:  # pragma: no cover - only for hand-built column sets
        for k in list(c):
            c[k] = c[k][o]
    o = np.argsort(c["start_s"], kind="stable")
    for k in list(c):
        c[k] = c[k][o]


def check_time_window(start: datetime, end: datetime, max_days: float = MAX_WINDOW_DAYS, *,
                      fields: tuple[str, str] = ("start", "end")) -> None:
    """Raise `TimeWindowError` unless start < end, both UTC-aware, and the span is at most `max_days`."""
    for name, t in zip(fields, (start, end), strict=True):
        if not isinstance(t, datetime):
            raise TimeWindowError(f"{str(t)[:40]!r} is a {type(t).__name__}", field=name,
                                  expected="a timezone-aware datetime, e.g. datetime(2026, 3, 19, tzinfo=UTC)")
        if t.tzinfo is None:
            raise TimeWindowError(f"{t.isoformat()} has no time zone", field=name,
                                  expected="an ISO-8601 UTC time such as 2026-03-19T00:00:00Z")
    if end <= start:
        raise TimeWindowError(f"end {end.isoformat()} is not after start {start.isoformat()}", field=fields[1],
                              expected="an end time later than the start time")
    span_days = (end - start).total_seconds() / 86400.0
    if span_days > max_days:
        raise TimeWindowError(f"the window is {span_days:.0f} days long", field=fields[1],
                              expected=f"at most {max_days:g} days; split longer studies into several runs")


# --- imaging constraints --------------------------------------------------------------------------

def _elevation_for_off_nadir_deg(off_nadir_deg: float, r_max_km: float) -> float:
    """Lowest elevation at which a target can be seen within `off_nadir_deg` (spherical, conservative)."""
    sin_rho = _EARTH_R_MIN_KM / r_max_km
    x = math.sin(math.radians(off_nadir_deg)) / sin_rho
    return 0.0 if x >= 1.0 else math.degrees(math.acos(x))


@dataclass
class _SatWork:
    """What every worker needs (inherited through fork, never pickled: Satrec cannot be)."""

    satellites: list[Satellite]
    grid: TimeGrid
    g: np.ndarray
    u: np.ndarray
    g_unit: np.ndarray
    mode: AccessMode
    min_elevation_deg: float


_WORK: _SatWork | None = None


def _geometry(track: SatelliteTrack, t: np.ndarray, g: np.ndarray, u: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sin(elevation), cos(off-nadir), slant range, satellite position and velocity at offsets t."""
    p, vel = track.state_at(t)
    s, _ = sin_elevation(p, vel, g, u)
    d = g - p
    rho = np.sqrt(np.einsum("ij,ij->i", d, d))
    pn = np.sqrt(np.einsum("ij,ij->i", p, p))
    cos_eta = -np.einsum("ij,ij->i", p, d) / (pn * rho)
    return s, cos_eta, rho, p, vel


def _sun_sin_el(grid: TimeGrid, t: np.ndarray, u: np.ndarray) -> np.ndarray:
    whole, frac = grid.jd_utc_at(t)
    sun = sun_direction_ecef(whole + frac, grid.gmst_at(t))
    return np.einsum("ij,ij->i", sun, u)


def _imaging_windows(sat: Satellite, track: SatelliteTrack, grid: TimeGrid, pp: PointPasses, g: np.ndarray,
                     u: np.ndarray, el_floor_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clip passes to the sensor's constraints; returns (pass index, lo, hi, culm-anchored best time)."""
    sensor = sat.sensor
    if sensor.type is SensorType.SAR:  # side-looking: near zero Doppler, on its look side (orbits/sar.py)
        return sar_windows(sat, track, pp, g, u, el_floor_deg)
    pid = np.arange(len(pp))
    lo, hi, tc = pp.rise_s.copy(), pp.set_s.copy(), pp.culm_s.copy()

    def clip_unimodal(fun: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        nonlocal pid, lo, hi, tc
        vc = fun(tc, pid)
        keep = vc >= 0
        pid, lo, hi, tc = pid[keep], lo[keep], hi[keep], tc[keep]
        vlo, vhi = fun(lo, pid), fun(hi, pid)
        vc = vc[keep]
        m = vlo < 0
        if m.any():
            lo[m] = illinois(lambda t: fun(t, pid[m]), lo[m], tc[m], vlo[m], vc[m])
        m = vhi < 0
        if m.any():
            hi[m] = illinois(lambda t: fun(t, pid[m]), tc[m], hi[m], vc[m], vhi[m])

    def geo(t: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s, ce, _, _, _ = _geometry(track, t, g[pp.point[ids]], u[pp.point[ids]])
        return s, ce

    el_lo = el_floor_deg
    if sensor.type is SensorType.SAR:  # the band's shallow edge is a minimum elevation
        el_lo = max(el_lo, 90.0 - sensor.max_incidence_deg)
    sin_lo = math.sin(math.radians(el_lo))
    clip_unimodal(lambda t, ids: geo(t, ids)[0] - sin_lo)
    cos_for = math.cos(math.radians(sensor.max_off_nadir_deg))
    clip_unimodal(lambda t, ids: geo(t, ids)[1] - cos_for)

    best = tc.copy()
    if sensor.type is SensorType.SAR and sensor.min_incidence_deg > 0:
        sin_hi = math.sin(math.radians(90.0 - sensor.min_incidence_deg))
        fun = lambda t, ids: geo(t, ids)[0] - sin_hi  # noqa: E731
        vc = fun(tc, pid)
        steep = vc > 0
        if steep.any():
            ids = pid[steep]
            a, b, c_ = lo[steep], hi[steep], tc[steep]
            va, vb = fun(a, ids), fun(b, ids)
            h_lo = np.where(va > 0, a, 0.0)
            h_hi = np.where(vb > 0, b, 0.0)
            m = va <= 0
            if m.any():
                h_lo[m] = illinois(lambda t: fun(t, ids[m]), a[m], c_[m], va[m], vc[steep][m])
            m = vb <= 0
            if m.any():
                h_hi[m] = illinois(lambda t: fun(t, ids[m]), c_[m], b[m], vc[steep][m], vb[m])
            # Split each steep pass into the part before and the part after the steep hole.
            before = h_lo > a + 1e-3
            after = h_hi < b - 1e-3
            keep = ~steep
            new_pid = [pid[keep], ids[before], ids[after]]
            new_lo = [lo[keep], a[before], h_hi[after]]
            new_hi = [hi[keep], h_lo[before], b[after]]
            new_best = [best[keep], h_lo[before], h_hi[after]]
            pid = np.concatenate(new_pid)
            lo, hi, best = np.concatenate(new_lo), np.concatenate(new_hi), np.concatenate(new_best)

    if sensor.type is SensorType.OPTICAL and sensor.min_sun_elevation_deg is not None and len(pid):
        sin_sun = math.sin(math.radians(sensor.min_sun_elevation_deg))
        sfun = lambda t, ids: _sun_sin_el(grid, t, u[pp.point[ids]]) - sin_sun  # noqa: E731
        va, vb = sfun(lo, pid), sfun(hi, pid)
        keep = (va >= 0) | (vb >= 0)
        pid, lo, hi, best, va, vb = pid[keep], lo[keep], hi[keep], best[keep], va[keep], vb[keep]
        m = va < 0  # sunrise during the window
        if m.any():
            lo[m] = illinois(lambda t: sfun(t, pid[m]), lo[m], hi[m], va[m], vb[m])
        m = vb < 0  # sunset during the window
        if m.any():
            hi[m] = illinois(lambda t: sfun(t, pid[m]), lo[m], hi[m], va[m], vb[m])
        best = np.clip(best, lo, hi)
    return pid, lo, hi, best


def _satellite_rows(i: int, track: SatelliteTrack, work: _SatWork) -> tuple[dict[str, np.ndarray], int]:
    sat = work.satellites[i]
    if work.mode is AccessMode.VISIBILITY:
        pp = passes_for_satellite(track, work.g, work.u, work.g_unit, work.min_elevation_deg)
        pid = np.arange(len(pp))
        lo, hi, best = pp.rise_s, pp.set_s, pp.culm_s
        lo_clip, hi_clip = pp.rise_clipped, pp.set_clipped
    else:
        sensor = sat.sensor
        r_max = float(np.max(np.sqrt(np.einsum("ij,ij->i", track.r, track.r))))
        el_screen = max(work.min_elevation_deg,
                        90.0 - sensor.max_incidence_deg if sensor.type is SensorType.SAR else -90.0,
                        _elevation_for_off_nadir_deg(sensor.max_off_nadir_deg, r_max) - 1.0)
        pp = passes_for_satellite(track, work.g, work.u, work.g_unit, el_screen)
        pid, lo, hi, best = _imaging_windows(sat, track, work.grid, pp, work.g, work.u, work.min_elevation_deg)
        lo_clip = pp.rise_clipped[pid] & (lo <= pp.rise_s[pid])
        hi_clip = pp.set_clipped[pid] & (hi >= pp.set_s[pid])
    n = len(pid)
    if n == 0:
        return {}, pp.screening_misses
    o = np.lexsort((lo, pp.point[pid]))  # by target, then time (AccessResult.sorted relies on it)
    pid, lo, hi, best, lo_clip, hi_clip = pid[o], lo[o], hi[o], best[o], lo_clip[o], hi_clip[o]
    pts = pp.point[pid]
    s, cos_eta, rho, p, _ = _geometry(track, best, work.g[pts], work.u[pts])
    el = np.degrees(np.arcsin(np.clip(s, -1, 1)))
    eta = np.degrees(np.arccos(np.clip(cos_eta, -1, 1)))
    _, _, alt = ecef_to_geodetic(p)
    gsd = sat.sensor.gsd_at(rho, alt, 90.0 - el)
    rows = {  # compact types: a week of 1000 x 1000 is ~30 M rows
        "sat": np.full(n, i, dtype=np.int32), "target": pts.astype(np.int32),
        "start_s": lo, "culm_s": best, "end_s": hi,
        "start_clipped": lo_clip.astype(bool), "end_clipped": hi_clip.astype(bool),
        "max_elevation_deg": el.astype(np.float32), "min_off_nadir_deg": eta.astype(np.float32),
        "best_gsd_m": gsd.astype(np.float32),
    }
    return rows, pp.screening_misses


def _run_chunk(bounds: tuple[int, int]) -> tuple[list[dict[str, np.ndarray]], dict[int, str], int]:
    work = _WORK
    assert work is not None
    i0, i1 = bounds
    states = propagate([s.elements.satrec for s in work.satellites[i0:i1]], work.grid)
    out: list[dict[str, np.ndarray]] = []
    errors: dict[int, str] = {}
    misses = 0
    for j in range(i1 - i0):
        if not states.ok[j]:
            errors[i0 + j] = states.errors[j]
            continue
        track = SatelliteTrack(work.grid.seconds, states.r[j], states.v[j])
        rows, miss = _satellite_rows(i0 + j, track, work)
        misses += miss
        if rows:
            out.append(rows)
    return out, errors, misses


def _merge_points(cols: dict[str, np.ndarray], owner: np.ndarray) -> dict[str, np.ndarray]:
    """Merge windows of a polygon's sample points into windows of the polygon (union per satellite)."""
    tgt = owner[cols["target"]]
    n = len(tgt)
    if n == 0:
        return dict(cols, target=tgt)
    o = np.lexsort((cols["start_s"], tgt, cols["sat"]))
    c = {k: v[o] for k, v in cols.items()}
    tgt = tgt[o]
    group = np.concatenate([[True], (c["sat"][1:] != c["sat"][:-1]) | (tgt[1:] != tgt[:-1])])
    gid = np.cumsum(group) - 1
    big = float(np.max(c["end_s"])) + 1.0
    run_end = np.maximum.accumulate(c["end_s"] + gid * big) - gid * big
    new = group.copy()
    new[1:] |= c["start_s"][1:] > run_end[:-1] + 1e-6
    starts = np.flatnonzero(new)
    iid = np.cumsum(new) - 1
    end = np.maximum.reduceat(c["end_s"], starts)
    # the best look of each merged window is the member with the highest elevation
    order = np.lexsort((-c["max_elevation_deg"], iid))
    first = order[np.concatenate([[0], np.flatnonzero(np.diff(iid[order])) + 1])]
    end_clip = np.maximum.reduceat((c["end_clipped"] & (c["end_s"] >= end[iid] - 1e-6)).astype(np.int8), starts)
    return {
        "sat": c["sat"][starts], "target": tgt[starts], "start_s": c["start_s"][starts],
        "culm_s": c["culm_s"][first], "end_s": end, "start_clipped": c["start_clipped"][starts],
        "end_clipped": end_clip.astype(bool), "max_elevation_deg": c["max_elevation_deg"][first],
        "min_off_nadir_deg": np.minimum.reduceat(c["min_off_nadir_deg"], starts),
        "best_gsd_m": np.minimum.reduceat(c["best_gsd_m"], starts),
    }


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def compute_access(constellation: Constellation | Sequence[Satellite], targets: Sequence[Target] | TargetSet,
                   start: datetime, end: datetime, *, mode: AccessMode | str = AccessMode.VISIBILITY,
                   min_elevation_deg: float | None = None, step_s: float = 60.0, workers: int | None = None,
                   spacing_km: float = 10.0, max_days: float = MAX_WINDOW_DAYS,
                   progress: Callable[[int, int], None] | None = None) -> AccessResult:
    """Access windows of every satellite over every target between `start` and `end`.

    `min_elevation_deg` defaults to 10 deg for visibility and 0 deg (line of sight) for imaging.
    A satellite whose SGP4 fails is left out and named in `result.errors`; it never aborts the run.
    `progress(done, total)` is called as satellites complete.
    """
    global _WORK
    check_time_window(start, end, max_days)
    mode = AccessMode(mode)
    if min_elevation_deg is None:
        min_elevation_deg = 10.0 if mode is AccessMode.VISIBILITY else 0.0
    if not -5.0 <= min_elevation_deg < 90.0:
        raise InputError(f"{min_elevation_deg} deg", field="min_elevation_deg", expected="-5 <= elevation < 90 deg")
    if not 1.0 <= step_s <= 300.0:
        raise InputError(f"{step_s} s", field="step_s", expected="a grid step between 1 and 300 s (60 s default)")
    sats = list(constellation)
    tset = targets if isinstance(targets, TargetSet) else TargetSet.from_targets(list(targets), spacing_km)
    grid = TimeGrid.build(start, end, step_s)
    g = tset.ecef_km
    work = _SatWork(sats, grid, g, tset.up, g / np.linalg.norm(g, axis=1)[:, None] if len(g) else g, mode,
                    float(min_elevation_deg))
    n = len(sats)
    workers = workers or default_workers()
    chunk = max(1, min(16, -(-n // (workers * 4)) if n else 1))
    bounds = [(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    parts: list[dict[str, np.ndarray]] = []
    errors: dict[int, str] = {}
    misses = 0
    _WORK = work
    try:
        use_pool = workers > 1 and len(bounds) > 1 and "fork" in multiprocessing.get_all_start_methods()
        if use_pool:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(workers, len(bounds))) as pool:
                results = pool.imap(_run_chunk, bounds)  # in order: deterministic output
                done = 0
                for res in results:
                    out, errs, miss = res
                    parts.extend(out)
                    errors.update(errs)
                    misses += miss
                    done += 1
                    if progress:
                        progress(done, len(bounds))
        else:
            for done, b in enumerate(bounds, start=1):
                out, errs, miss = _run_chunk(b)
                parts.extend(out)
                errors.update(errs)
                misses += miss
                if progress:
                    progress(done, len(bounds))
    finally:
        _WORK = None
    if parts:
        cols = {}
        for k in _COLUMNS:  # one column at a time, freeing the parts' copy as we go
            cols[k] = np.concatenate([p[k] for p in parts])
            for p in parts:
                del p[k]
    else:
        cols = {k: np.zeros(0, dtype=np.int32 if k in ("sat", "target") else
                            (bool if k.endswith("clipped") else float)) for k in _COLUMNS}
    if len(tset.owner) != len(tset.targets) or np.any(tset.owner != np.arange(len(tset.owner))):
        cols = _merge_points(cols, tset.owner)
    _sort_columns(cols)  # in place: the unsorted columns are freed one by one
    return AccessResult(sats, tset.targets, grid, mode, float(min_elevation_deg), cols,
                        {sats[i].norad_id: msg for i, msg in errors.items()}, misses)
