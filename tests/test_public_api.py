"""The curated public API: every name in __all__ exists, and nothing private leaks into it."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["aquila", "aquila.errors", "aquila.config", "aquila.constellation", "aquila.orbits",
           "aquila.orbits.access", "aquila.orbits.revisit", "aquila.orbits.engine", "aquila.orbits.targets",
           "aquila.constellation.elements", "aquila.cli.main"]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_explicit_and_resolves(name: str) -> None:
    mod = importlib.import_module(name)
    assert hasattr(mod, "__all__"), f"{name} has no __all__"
    for attr in mod.__all__:
        assert hasattr(mod, attr), f"{name}.__all__ names missing {attr}"
        assert not attr.startswith("_") or attr == "__version__"


def test_top_level_api() -> None:
    import aquila

    assert sorted(aquila.__all__) == aquila.__all__
    assert {"compute_access", "sharing_gain", "builtin_constellation", "Satellite"} <= set(aquila.__all__)


def test_error_tree() -> None:
    from aquila import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.AquilaError)
    assert issubclass(errors.ElementSetError, ValueError)
