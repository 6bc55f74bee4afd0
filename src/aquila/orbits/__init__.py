"""Orbits: propagation, access windows, revisit and the sharing gain of the pooled constellation.

Names are imported on first use (PEP 562): `import aquila.orbits.frames` or a command that never
propagates does not pay for compiling or loading the access engine's kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aquila.lazy import lazy_exports

if TYPE_CHECKING:
    from aquila.orbits.access import AccessMode, AccessResult, Window, check_time_window, compute_access
    from aquila.orbits.coverage import CoverageGrid, coverage_grid
    from aquila.orbits.frames import TimeGrid
    from aquila.orbits.propagate import ACCELERATED, propagate
    from aquila.orbits.revisit import RevisitStats, SharingGain, revisit_statistics, sharing_gain
    from aquila.orbits.targets import Target, TargetSet, load_targets, parse_targets

_EXPORTS = {
    **dict.fromkeys(("AccessMode", "AccessResult", "Window", "check_time_window", "compute_access"),
                    "aquila.orbits.access"),
    **dict.fromkeys(("CoverageGrid", "coverage_grid"), "aquila.orbits.coverage"),
    "TimeGrid": "aquila.orbits.frames",
    **dict.fromkeys(("ACCELERATED", "propagate"), "aquila.orbits.propagate"),
    **dict.fromkeys(("RevisitStats", "SharingGain", "revisit_statistics", "sharing_gain"), "aquila.orbits.revisit"),
    **dict.fromkeys(("Target", "TargetSet", "load_targets", "parse_targets"), "aquila.orbits.targets"),
}


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "ACCELERATED",
    "AccessMode",
    "AccessResult",
    "CoverageGrid",
    "RevisitStats",
    "SharingGain",
    "Target",
    "TargetSet",
    "TimeGrid",
    "Window",
    "check_time_window",
    "compute_access",
    "coverage_grid",
    "load_targets",
    "parse_targets",
    "propagate",
    "revisit_statistics",
    "sharing_gain",
]
