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


ROUTER_MODULES = sorted(p.stem for p in (SRC / "api" / "routes").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", ROUTER_MODULES)
def test_each_router_module_imports_alone(name: str) -> None:
    """A router is a module of its own: importable alone, with its routes and conformance classes."""
    code = (f"import aquila.api.routes.{name} as m; "
            "assert m.router.routes, 'no routes'; assert isinstance(m.CONFORMANCE, list); "
            "print(len(m.router.routes))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_every_router_is_assembled_and_no_route_is_declared_twice() -> None:
    from aquila.api.routes import ROUTERS

    assert sorted(m.__name__.rsplit(".", 1)[1] for m in ROUTERS) == ROUTER_MODULES
    seen: set[tuple[str, str]] = set()
    for module in ROUTERS:
        for route in module.router.routes:
            for method in getattr(route, "methods", ()):
                key = (method, route.path)
                assert key not in seen, f"{key} declared twice"
                seen.add(key)


def test_conformance_is_the_union_of_the_routers() -> None:
    from aquila.api.app import conformance_classes
    from aquila.api.routes import ROUTERS

    classes = conformance_classes()
    assert len(classes) == len(set(classes))
    assert set(classes) == {c for m in ROUTERS for c in m.CONFORMANCE}
    for needed in ("https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search#filter",
                   "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction",
                   "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json"):
        assert needed in classes


def test_openapi_operation_ids_are_stable(tmp_path: Path) -> None:
    """Clients generated from the OpenAPI description keep working: route names are part of the contract."""
    from aquila.api.app import create_app
    from aquila.instance import Instance

    inst = Instance.open(tmp_path / "inst")
    try:
        spec = create_app(inst).openapi()
    finally:
        inst.close()
    ops = {op["operationId"]
           for path in spec["paths"].values() for op in path.values()}
    assert ops == {
        "landing__get", "conformance_conformance_get", "queryables_queryables_get",
        "collection_queryables_collections__cid__queryables_get", "collections_collections_get",
        "collection_collections__cid__get", "create_collection_collections_post",
        "update_collection_collections__cid__put", "delete_collection_collections__cid__delete",
        "items_collections__cid__items_get", "get_item_collections__cid__items__iid__get",
        "create_item_collections__cid__items_post", "update_item_collections__cid__items__iid__put",
        "patch_item_collections__cid__items__iid__patch", "delete_item_collections__cid__items__iid__delete",
        "put_asset_collections__cid__items__iid__assets__key__put",
        "get_asset_collections__cid__items__iid__assets__key__get",
        "delete_asset_collections__cid__items__iid__assets__key__delete", "search_get_search_get",
        "search_post_search_post", "audit_list_audit_get", "list_rules_release_rules_get",
        "create_rule_release_rules_post", "get_rule_release_rules__rule_id__get",
        "put_rule_release_rules__rule_id__put", "delete_rule_release_rules__rule_id__delete",
        "list_runs_pipelines_runs_get", "create_subscription_subscriptions_post",
        "delete_subscription_subscriptions__sid__delete", "get_subscription_subscriptions__sid__get",
        "list_alerts_alerts_get", "list_subscriptions_subscriptions_get", "stream_alerts_alerts_stream_get",
        "subscription_deliveries_subscriptions__sid__deliveries_get", "me_me_get", "outlook_outlook_get",
        "tilejson_tiles_footprints_json_get", "tile_tiles_footprints__z___x___y__png_get"}
