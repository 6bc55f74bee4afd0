"""The virtual constellation: element sets, satellites with their sensors, the built-in catalogue."""

from aquila.constellation.assets import GENERIC_SENSOR, Constellation, OwnerKind, Satellite, Sensor, SensorType
from aquila.constellation.builtin import BUILTIN_FACTS, builtin_constellation
from aquila.constellation.elements import ElementSet, load_elements, parse_omm, parse_tle, tle_checksum
from aquila.constellation.nominal import nominal_elements, sun_synchronous_inclination_deg

__all__ = [
    "BUILTIN_FACTS",
    "Constellation",
    "ElementSet",
    "GENERIC_SENSOR",
    "OwnerKind",
    "Satellite",
    "Sensor",
    "SensorType",
    "builtin_constellation",
    "load_elements",
    "nominal_elements",
    "parse_omm",
    "parse_tle",
    "sun_synchronous_inclination_deg",
    "tle_checksum",
]
