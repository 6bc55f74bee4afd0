"""Aquila: allied, space-based surveillance sharing.

The pooled virtual constellation (`aquila.constellation`), its access windows, revisit and
sharing gain (`aquila.orbits`), and the command line (`aquila`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aquila.errors import AquilaError, ElementSetError, InputError, PropagationError, TargetError, TimeWindowError
from aquila.lazy import lazy_exports

if TYPE_CHECKING:
    from aquila.constellation import Constellation, ElementSet, Satellite, Sensor, SensorType, builtin_constellation
    from aquila.orbits import AccessResult, Window, compute_access, load_targets, revisit_statistics, sharing_gain

__version__ = "0.1.0"

_EXPORTS = {
    **dict.fromkeys(("Constellation", "ElementSet", "Satellite", "Sensor", "SensorType", "builtin_constellation"),
                    "aquila.constellation"),
    **dict.fromkeys(("AccessResult", "Window", "compute_access", "load_targets", "revisit_statistics",
                     "sharing_gain"), "aquila.orbits"),
}


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
"""The orbit and constellation names on first use (PEP 562): `import aquila.analytics` stays light."""

__all__ = [
    "AccessResult",
    "AquilaError",
    "Constellation",
    "ElementSet",
    "ElementSetError",
    "InputError",
    "PropagationError",
    "Satellite",
    "Sensor",
    "SensorType",
    "TargetError",
    "TimeWindowError",
    "Window",
    "__version__",
    "builtin_constellation",
    "compute_access",
    "load_targets",
    "revisit_statistics",
    "sharing_gain",
]
