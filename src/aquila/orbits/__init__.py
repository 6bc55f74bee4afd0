"""Orbits: propagation, access windows, revisit and the sharing gain of the pooled constellation."""

from aquila.orbits.access import AccessMode, AccessResult, Window, check_time_window, compute_access
from aquila.orbits.coverage import CoverageGrid, coverage_grid
from aquila.orbits.frames import TimeGrid
from aquila.orbits.propagate import ACCELERATED, propagate
from aquila.orbits.revisit import RevisitStats, SharingGain, revisit_statistics, sharing_gain
from aquila.orbits.targets import Target, TargetSet, load_targets, parse_targets

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
