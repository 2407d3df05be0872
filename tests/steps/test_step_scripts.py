"""What every step script must hold to run alone in a SageMaker container."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS_DIR = REPO_ROOT / "pipelines" / "steps"
SCRIPTS = sorted(path for path in STEPS_DIR.glob("*.py") if path.name != "__init__.py")
# The example models' own scripts run in the same images.
MODEL_SCRIPTS = sorted((REPO_ROOT / "models").glob("*/*.py"))
# What the scikit-learn processing and XGBoost framework images provide besides the stdlib.
CONTAINER_PACKAGES = {"numpy", "pandas", "sklearn", "xgboost"}


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            roots.add("." if node.level else (node.module or "").split(".")[0])
    return roots


def test_all_four_step_scripts_are_checked() -> None:
    assert [path.stem for path in SCRIPTS] == ["evaluate", "inference", "preprocess", "train"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_imports_only_the_stdlib_and_container_packages(script: Path) -> None:
    roots = imported_roots(ast.parse(script.read_text()))

    assert roots - set(sys.stdlib_module_names) - CONTAINER_PACKAGES == set()


@pytest.mark.parametrize(
    "script",
    [*SCRIPTS, *MODEL_SCRIPTS],
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_parses_as_python_39(script: Path) -> None:
    # The processing images run Python 3.9; 3.10+ syntax would fail there, not here.
    try:
        ast.parse(script.read_text(), feature_version=(3, 9))
    except SyntaxError as error:
        pytest.fail(f"{script.name} is not Python 3.9 syntax: {error}")


def test_the_evaluator_needs_only_numpy_so_it_runs_in_any_frameworks_image() -> None:
    roots = imported_roots(ast.parse((STEPS_DIR / "evaluate.py").read_text()))

    assert roots - set(sys.stdlib_module_names) == {"numpy"}
