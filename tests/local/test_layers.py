"""The local runner's modules import one another one way: services below executors below the
scheduler. A cycle, even one hidden under ``TYPE_CHECKING``, means two modules that cannot be
read or changed apart, so the check reads every import statement, not just the ones that run.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pipelines.local

PACKAGE = "pipelines.local"
PACKAGE_DIR = Path(pipelines.local.__file__).parent


def imported_modules(source: str, package: str, modules: set[str]) -> set[str]:
    """The modules of ``package`` (short names, among ``modules``) that ``source`` imports
    anywhere: at the top, under ``TYPE_CHECKING`` or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else (node.module or "")
            if node.level and node.module:
                base = f"{package}.{node.module}"
            # `from pipelines.local import hosting` imports a module by its attribute name.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            head, _, rest = name.partition(f"{package}.")
            short = rest.split(".")[0]
            if not head and short in modules:
                found.add(short)
    return found


def import_graph(sources: Mapping[str, str], package: str) -> dict[str, set[str]]:
    modules = set(sources)
    return {name: imported_modules(text, package, modules) for name, text in sources.items()}


def cycle_in(graph: Mapping[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        cycle: list[str] = error.args[1]
        return cycle
    return None


def package_sources() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(PACKAGE_DIR.glob("*.py"))}


def test_local_runner_modules_import_each_other_without_a_cycle() -> None:
    graph = import_graph(package_sources(), PACKAGE)
    cycle = cycle_in(graph)
    assert cycle is None, f"import cycle in {PACKAGE}: {' -> '.join(cycle or [])}"


def test_the_hosting_control_plane_imports_no_step_machinery() -> None:
    # serve and the Endpoint step both use hosting; it must not need an execution to load.
    graph = import_graph(package_sources(), PACKAGE)
    assert graph["hosting"].isdisjoint({"execution", "jobs", "endpoint_steps", "runner"})
    assert graph["registry"] == set()


def test_a_cycle_through_a_type_checking_import_is_found() -> None:
    sources = {
        "jobs": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from pkg.hosting import Hosting\n"
        ),
        "hosting": "from pkg import jobs\n",
        "errors": "",
    }
    graph = import_graph(sources, "pkg")
    assert graph == {"jobs": {"hosting"}, "hosting": {"jobs"}, "errors": set()}
    assert set(cycle_in(graph) or []) == {"jobs", "hosting"}


def test_relative_and_function_level_imports_count() -> None:
    sources = {
        "a": "def f():\n    from .b import thing\n",
        "b": "from . import a\n",
    }
    assert set(cycle_in(import_graph(sources, "pkg")) or []) == {"a", "b"}
