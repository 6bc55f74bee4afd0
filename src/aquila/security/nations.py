"""Nation codes (ISO 3166-1 alpha-3) and the groups a label may release to."""

from __future__ import annotations

from functools import lru_cache

import pycountry

__all__ = ["GROUPS", "is_nation", "expand", "check_nation"]

NATO = ("ALB", "BEL", "BGR", "CAN", "HRV", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "ISL", "ITA",
        "LVA", "LTU", "LUX", "MNE", "NLD", "MKD", "NOR", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE", "TUR",
        "GBR", "USA")
FVEY = ("AUS", "CAN", "NZL", "GBR", "USA")
EU = ("AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "IRL", "ITA", "LVA",
      "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE")

GROUPS: dict[str, frozenset[str]] = {"NATO": frozenset(NATO), "FVEY": frozenset(FVEY), "EU": frozenset(EU)}


@lru_cache(maxsize=1)
def _alpha3() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.countries)


def is_nation(code: str) -> bool:
    return code in _alpha3()


def check_nation(code: object) -> str:
    """The code if it is an ISO 3166-1 alpha-3 nation, else ValueError naming the expected form."""
    if not isinstance(code, str) or not is_nation(code):
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-3 nation code (e.g. FRA, DEU, USA)")
    return code


def expand(codes: frozenset[str] | set[str] | tuple[str, ...]) -> frozenset[str]:
    """Nations named directly or through a group (NATO = its 32 members)."""
    return _expand(codes if isinstance(codes, frozenset) else frozenset(codes))


@lru_cache(maxsize=4096)
def _expand(codes: frozenset[str]) -> frozenset[str]:
    """Memoized: a page of 10,000 items has a handful of distinct releasabilities, and each item's audit scope
    asks its collection's audience."""
    out: set[str] = set()
    for c in codes:
        out |= GROUPS.get(c, {c})
    return frozenset(out)
