"""The curated public API: every name in __all__ exists, and nothing private leaks into it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import aquila

# Every module of every package (the command-line entry point `aquila.__main__` runs on import).
MODULES = ["aquila"] + sorted(m.name for m in pkgutil.walk_packages(aquila.__path__, "aquila.")
                              if m.name != "aquila.__main__")


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


def test_packages_are_covered() -> None:
    assert {"aquila.api", "aquila.catalog", "aquila.cli", "aquila.constellation", "aquila.orbits",
            "aquila.security"} <= set(MODULES)


def test_error_tree() -> None:
    from aquila import errors

    classes = [getattr(errors, n) for n in errors.__all__ if inspect.isclass(getattr(errors, n))]
    assert all(issubclass(c, errors.AquilaError) for c in classes)
    assert issubclass(errors.ElementSetError, ValueError)
    for c in classes:  # the tree drawn in the docstring names every class
        assert re.search(rf"\b{c.__name__}\b", errors.__doc__ or ""), f"{c.__name__} missing from the drawn tree"
    # every status in the one table is reachable: no entry shadowed by a more general one before it
    for k, (kind, _, _) in enumerate(errors.STATUS):
        assert not any(issubclass(kind, earlier) for earlier, _, _ in errors.STATUS[:k]), kind


@pytest.mark.parametrize("name", MODULES)
def test_every_exception_is_in_the_one_tree(name: str) -> None:
    """No module defines an exception of its own: they all live in aquila.errors."""
    mod = importlib.import_module(name)
    own = [c for _, c in inspect.getmembers(mod, inspect.isclass)
           if issubclass(c, BaseException) and c.__module__ == name]
    assert name == "aquila.errors" or not own, f"{name} defines {own}: move them to aquila.errors"
