"""The collection outlook of an instance's areas of interest, as the operational picture draws it: the pooled
constellation's imaging opportunities in the next hours (each with the ground its satellite can image during
the window) and the revisit heat map inside each area (the longest gap, per cell, of the alliance's pool).

One computation serves every user (satellites and their orbits carry no label in Aquila); it takes seconds,
so `OutlookCache` computes it in the background and keeps the last one until a newer one is ready. An area
may carry a label (`sec:classification`, `sec:releasable_to`, `sec:caveats`, `sec:originator` among its
properties: where the alliance looks can itself be sensitive); `Outlook.for_user` then leaves it, its
opportunities and its revisit cells out for whoever may not read it. An area without one is the operator's,
shown to every user with a valid token.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import shapely
import shapely.geometry

from aquila.constellation.assets import Satellite
from aquila.orbits.access import AccessMode, compute_access
from aquila.orbits.coverage import coverage_grid
from aquila.orbits.footprints import window_footprints
from aquila.orbits.targets import Target
from aquila.security.labels import Label
from aquila.security.policy import User, decide

__all__ = ["Outlook", "compute_outlook", "OutlookCache", "instance_outlook", "area_label", "FOOTPRINTS_PER_AREA",
           "NO_AREAS_NOTE"]

_CELLS_PER_AXIS = 12  # heat-map cells across an area's longer side
_POINT_HALF_DEG = 0.5  # a point area of interest gets a heat map this far around it
FOOTPRINTS_PER_AREA = 1000  # windows per area drawn with their swath (later ones: the area itself)
NO_AREAS_NOTE = ("no areas of interest configured: aquila serve --aois FILE (a GeoJSON FeatureCollection, as "
                 "aquila access --targets takes)")
_SIMPLIFY_DEG = 0.01  # footprint outlines simplified to ~1 km: what a map at theatre scale can show


@dataclass
class Outlook:
    """What the picture's outlook layers show, as GeoJSON FeatureCollections."""

    start: datetime
    end: datetime
    aois: dict[str, Any]
    opportunities: dict[str, Any]
    revisit: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    computed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "aois": self.aois,
                "opportunities": self.opportunities, "revisit": self.revisit, "notes": self.notes,
                "computed_s": round(self.computed_s, 2)}

    def for_user(self, user: User) -> tuple[dict[str, Any], dict[str, tuple[str, Label]]]:
        """(`as_dict()` without the labelled areas `user` may not read, nor their opportunities and cells; the
        areas withheld -> (why, their label), for the audit). What is left says nothing of them: no id, name,
        count or geometry, the notes of an instance without areas when none is left, and no computing time
        (it grows with every area; left out for every user alike)."""
        withheld = {}
        for f in self.aois["features"]:
            if any(k.startswith("sec:") for k in f["properties"]):
                label = Label.from_properties(f["properties"])
                decision = decide(user, label)
                if not decision:
                    withheld[f["id"]] = (decision.reason, label)
        doc = self.as_dict()
        del doc["computed_s"]
        if withheld:
            doc["aois"] = _keep(doc["aois"], lambda f: f["id"] not in withheld)
            doc["opportunities"] = _keep(doc["opportunities"], lambda f: f["properties"]["aoi"] not in withheld)
            doc["revisit"] = _keep(doc["revisit"], lambda f: f["properties"]["aoi"] not in withheld)
        if not doc["aois"]["features"]:
            doc["notes"] = [NO_AREAS_NOTE]
        return doc, withheld


def area_label(target: Target) -> Label | None:
    """The label an area of interest carries in its properties, or None (the operator's, for every user)."""
    if not any(k.startswith("sec:") for k in target.properties):
        return None
    return Label.from_properties(target.properties, prefix=f"areas of interest: {target.id}: properties.")


def _keep(fc: dict[str, Any], keep: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return {**fc, "features": [f for f in fc["features"] if keep(f)]}




def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _geojson(geom: Any) -> dict[str, Any]:
    return shapely.geometry.mapping(shapely.simplify(geom, _SIMPLIFY_DEG, preserve_topology=True))


def _label_properties(target: Target) -> dict[str, Any]:
    label = area_label(target)
    return label.to_properties() if label is not None else {}


def _cells(target: Target) -> tuple[tuple[float, float, float, float], float, Any]:
    """(bbox, resolution, area the cells must touch) of one area's heat map."""
    g = target.geometry
    if target.is_point:
        x, y = g.x, g.y
        box = (x - _POINT_HALF_DEG, y - _POINT_HALF_DEG, x + _POINT_HALF_DEG, y + _POINT_HALF_DEG)
        return box, 2 * _POINT_HALF_DEG / 4, shapely.geometry.box(*box)
    w, s, e, n = g.bounds
    return (w, s, e, n), max(0.05, max(e - w, n - s) / _CELLS_PER_AXIS), g


def compute_outlook(satellites: Sequence[Satellite], targets: Sequence[Target], start: datetime,
                    hours: float = 24.0, *, step_s: float = 60.0, workers: int | None = None) -> Outlook:
    """Opportunities and per-area revisit over [start, start + hours] for the pooled `satellites`."""
    import time

    t0 = time.perf_counter()
    end = start + timedelta(hours=hours)
    aois = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": t.id, "geometry": shapely.geometry.mapping(t.geometry),
         "properties": {"id": t.id, "name": t.properties.get("name", t.id), **_label_properties(t)}}
        for t in targets]}
    notes = []
    nominal = sum(1 for s in satellites if s.nominal)
    if nominal:
        notes.append(f"{nominal} satellites use nominal elements: revisit is representative, pass times are not")
    opportunities: list[dict[str, Any]] = []
    if targets and satellites:
        res = compute_access(satellites, targets, start, end, mode=AccessMode.IMAGING, step_s=step_s,
                             workers=workers).sorted()
        c = res.columns
        iso = res.grid.to_iso
        starts, ends = iso(c["start_s"]), iso(c["end_s"])
        # capped per area: under one cap for all, the areas a user may not see would use up the footprints of
        # those it sees (which would then show as bare areas: a count of the hidden windows)
        for k, poly in enumerate(window_footprints(res, max_windows=FOOTPRINTS_PER_AREA, per_target=True)):
            sat = res.satellites[int(c["sat"][k])]
            tgt = res.targets[int(c["target"][k])]
            geom = _geojson(poly) if poly is not None else shapely.geometry.mapping(tgt.geometry)
            # the id names the window, not its place in the list: an index would count the windows over the
            # areas a user may not see
            opportunities.append({"type": "Feature", "id": f"{sat.norad_id}-{tgt.id}-{starts[k]}", "geometry": geom,
                                  "properties": {"satellite": sat.name, "norad_id": sat.norad_id,
                                                 "owner": sat.owner, "sensor": sat.sensor.type.value,
                                                 "aoi": tgt.id, "start": starts[k], "end": ends[k],
                                                 "best_gsd_m": round(float(c["best_gsd_m"][k]), 2),
                                                 "min_off_nadir_deg": round(float(c["min_off_nadir_deg"][k]), 1)}})
    cells: list[dict[str, Any]] = []
    for t in targets:
        if not satellites:
            break
        box, res_deg, area = _cells(t)
        grid = coverage_grid(satellites, box, res_deg, start, end, mode=AccessMode.IMAGING, workers=workers)
        dlat, dlon = grid.cell_size()
        for i, lat in enumerate(grid.lat_deg):
            for j, lon in enumerate(grid.lon_deg):
                cell = shapely.geometry.box(lon - dlon / 2, lat - dlat / 2, lon + dlon / 2, lat + dlat / 2)
                if not cell.intersects(area):
                    continue
                gap = float(grid.max_gap_s[i, j])
                cells.append({"type": "Feature", "geometry": shapely.geometry.mapping(cell),
                              "properties": {"aoi": t.id, "max_gap_h": round(gap / 3600, 3) if np.isfinite(gap)
                                             else None,
                                             "accesses_per_day": round(float(grid.accesses_per_day[i, j]), 2)}})
    return Outlook(start, end, aois, {"type": "FeatureCollection", "features": opportunities},
                   {"type": "FeatureCollection", "features": cells}, notes, time.perf_counter() - t0)


class OutlookCache:
    """The latest outlook, recomputed in a background thread when older than `refresh_s` (the old one is
    served meanwhile); `get` waits for the first one.

    A new outlook is published `publish_step_s` after its computation began, or the next whole multiple of it
    when the computation takes longer: how long an outlook took to compute grows with every area of
    interest, those a reader may not see included, and a reader polling across a refresh would otherwise
    time it. With a step longer than the computation, every outlook appears the same time after its
    `start` whatever the areas are (0: published when done)."""

    def __init__(self, compute: Callable[[datetime], Outlook], refresh_s: float = 3600.0,
                 publish_step_s: float = 0.0) -> None:
        self._compute = compute
        self._refresh_s = refresh_s
        self._publish_step_s = publish_step_s
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._value: Outlook | None = None
        self._error: Exception | None = None
        self._running = False

    def start(self) -> None:
        """Begin computing (if not already); returns at once."""
        with self._lock:
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name="aquila-outlook", daemon=True).start()

    def _run(self) -> None:
        began = time.monotonic()
        try:
            value = self._compute(datetime.now(UTC).replace(microsecond=0))
            self._hold(began)
            with self._lock:
                self._value, self._error = value, None
        except Exception as exc:  # kept and re-raised to the callers of `get`: the server keeps serving
            self._hold(began)  # a failure is no faster to read than a success
            with self._lock:
                self._error = exc
        finally:
            with self._lock:
                self._running = False
            self._ready.set()

    def _hold(self, began: float) -> None:
        """Wait, in the computing thread, until the next whole publication step after `began`."""
        step = self._publish_step_s
        if step <= 0:
            return
        elapsed = time.monotonic() - began
        due = began + max(1, math.ceil(elapsed / step)) * step
        while (left := due - time.monotonic()) > 0:
            threading.Event().wait(left)

    def get(self, timeout_s: float = 120.0) -> Outlook | None:
        """The latest outlook (starting a refresh when it is old); None if the first is not ready in time."""
        value = self._value
        if value is None or (datetime.now(UTC) - value.start).total_seconds() > self._refresh_s:
            self.start()
        if value is None:
            self._ready.wait(timeout_s)
            if self._error is not None and self._value is None:
                raise self._error
            value = self._value
        return value


def instance_outlook(aois: Any, data_dir: Any, hours: float = 24.0, step_s: float = 60.0,
                     publish_step_s: float = 30.0) -> OutlookCache:
    """The outlook cache of a served instance: the areas of `aois` (a GeoJSON file, validated now so that a bad
    file stops the server at start; None: no areas), the constellation stored under `data_dir`. One worker
    process: it runs beside the API, in its own thread."""
    from aquila.constellation.store import load_constellation
    from aquila.orbits.targets import load_targets

    targets = load_targets(aois) if aois is not None else []
    for t in targets:
        area_label(t)  # a malformed label stops the server at start, naming the area and the field

    def compute(start: datetime) -> Outlook:
        sats = list(load_constellation(data_dir, start)) if targets else []
        out = compute_outlook(sats, targets, start, hours, step_s=step_s, workers=1)
        if not targets:
            out.notes.append(NO_AREAS_NOTE)
        return out

    return OutlookCache(compute, publish_step_s=publish_step_s)
