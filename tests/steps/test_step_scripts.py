"""What every step script must hold to run alone in a SageMaker container."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

STEPS_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "steps"
SCRIPTS = sorted(path for path in STEPS_DIR.glob("*.py") if path.name != "__init__.py")
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


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_parses_as_python_39(script: Path) -> None:
    # The processing images run Python 3.9; 3.10+ syntax would fail there, not here.
    try:
        ast.parse(script.read_text(), feature_version=(3, 9))
    except SyntaxError as error:
        pytest.fail(f"{script.name} is not Python 3.9 syntax: {error}")
