"""Aquila: allied, space-based surveillance sharing.

The pooled virtual constellation (`aquila.constellation`), its access windows, revisit and
sharing gain (`aquila.orbits`), and the command line (`aquila`).
"""

from aquila.constellation import Constellation, ElementSet, Satellite, Sensor, SensorType, builtin_constellation
from aquila.errors import AquilaError, ElementSetError, InputError, PropagationError, TargetError, TimeWindowError
from aquila.orbits import AccessResult, Window, compute_access, load_targets, revisit_statistics, sharing_gain

__version__ = "0.1.0"

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
