"""Simulated AIS for synthetic scenes: tracks through each ship at the image time, some ships dark.

Each ship that is not dark broadcasts along a straight track through its position at the image time
(speed 0-14 kn, course its heading; anchored ships every 3 min, moving ones every 10 s, from 30 min
before to 30 min after, with a random phase), with its length in its static data. `spoofed` vessels
broadcast positions inside the scene where no ship is (what fusion must report as unseen).
"""

from __future__ import annotations

import math

import numpy as np

from aquila.analytics.ais.model import AisData, Vessel
from aquila.analytics.sar.synth import Scene
from aquila.constants import EARTH_MEAN_RADIUS_M

__all__ = ["simulate_ais"]



def simulate_ais(scene: Scene, image_time_s: float, seed: int = 0, dark_share: float = 0.2, spoofed: int = 2,
                 ) -> tuple[AisData, set[int]]:
    """(AIS data, the indices of the scene's ships that are dark)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, float, float, float, float, float]] = []
    vessels: dict[int, Vessel] = {}
    dark: set[int] = set()

    def track(mmsi: int, lon: float, lat: float, speed_kn: float, course: float) -> None:
        step = 180.0 if speed_kn < 0.5 else 10.0
        t = image_time_s - 1800.0 + rng.uniform(0, step)
        v = speed_kn * 1852 / 3600
        while t <= image_time_s + 1800.0:
            dt = t - image_time_s
            north, east = v * dt * math.cos(math.radians(course)), v * dt * math.sin(math.radians(course))
            la = lat + math.degrees(north / EARTH_MEAN_RADIUS_M)
            lo = lon + math.degrees(east / (EARTH_MEAN_RADIUS_M * math.cos(math.radians(lat))))
            rows.append((mmsi, t, la, lo, speed_kn, course))
            t += step

    for k, ship in enumerate(scene.ships):
        if rng.uniform() < dark_share:
            dark.add(k)
            continue
        mmsi = 230_000_000 + k
        speed = 0.0 if ship.group == "anchorage" else float(rng.uniform(0, 14))
        vessels[mmsi] = Vessel(mmsi, f"SIM {k}", 70, ship.length_m, ship.width_m)
        track(mmsi, ship.lon_deg, ship.lat_deg, speed, ship.heading_deg)
    n = scene.image.shape[0]
    for s in range(spoofed):
        r, c = rng.uniform(0.2 * n, 0.8 * n, 2)
        lon, lat = scene.lonlat(r, c)
        mmsi = 240_000_000 + s
        vessels[mmsi] = Vessel(mmsi, f"SPOOF {s}", 80, 120.0, 20.0)
        track(mmsi, lon, lat, float(rng.uniform(5, 12)), float(rng.uniform(0, 360)))
    arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return AisData.from_columns(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5],
                                vessels=vessels), dark
