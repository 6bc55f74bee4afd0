"""The layout holds: only backends touch SQLite, only the API touches the web framework, routers stand alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "aquila"
WEB = {"fastapi", "starlette", "uvicorn"}


def _imports(path: Path) -> set[str]:
    """Top-level package names a module imports, anywhere in it (lazy imports inside functions too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


MODULES = sorted(SRC.rglob("*.py"))


def _rel(p: Path) -> str:
    return p.relative_to(SRC).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_only_backends_import_sqlite3(path: Path) -> None:
    if _rel(path).startswith("catalog/backends/"):
        return
    assert "sqlite3" not in _imports(path), f"{_rel(path)} imports sqlite3: put it behind aquila.catalog.backends"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_core_packages_do_not_import_the_web_framework(path: Path) -> None:
    rel = _rel(path)
    if rel.startswith(("api/", "cli/")):  # the HTTP layer, and the command that serves it
        return
    assert not (_imports(path) & WEB), f"{rel} imports {_imports(path) & WEB}: core code must not know HTTP"


def test_cli_imports_the_api_only_lazily() -> None:
    """`aquila passes` must not pay for (or depend on) the web stack."""
    code = "import sys, aquila.cli.main; print(sorted(m for m in ('fastapi', 'starlette') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
