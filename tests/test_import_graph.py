"""No import cycle anywhere in the project's own packages: two modules that import each other,
even under ``TYPE_CHECKING`` or inside a function, cannot be read or changed apart
(tests/local/test_layers.py holds the local runner's layers to their order)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.local.test_layers import cycle_in

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipelines", "infra", "review")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file; a package is its ``__init__.py``."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    # `pipelines.names.ModelNames` is the module `pipelines.names`.
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, source: str, modules: dict[str, Path], is_package: bool) -> set[str]:
    """The project modules ``source`` imports anywhere; ``from a import b`` means module
    ``a.b`` when that is one, else ``a``."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            candidates = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        found |= {known for c in candidates if (known := _known(c, modules)) not in (None, name)}
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {
        name: imports_of(name, path.read_text(), modules, path.name == "__init__.py")
        for name, path in modules.items()
    }


def test_the_project_s_modules_import_each_other_without_a_cycle() -> None:
    modules = module_files()
    assert len(modules) > 50, "the project's packages were not found"
    graph = import_graph(modules)
    assert "pipelines.lambdas.model_deployment" in graph["pipelines.deployment_status"]
    assert cycle_in(graph) is None, cycle_in(graph)


def test_a_cycle_through_a_from_import_inside_a_function_is_found(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "__init__.py").write_text("")
    (tmp_path / "pipelines" / "a.py").write_text("from pipelines.b import thing\n")
    (tmp_path / "pipelines" / "b.py").write_text("def f():\n    from pipelines import a\n")
    modules = {k: v for k, v in module_files(tmp_path).items() if k.startswith("pipelines")}
    assert cycle_in(import_graph(modules)) is not None
