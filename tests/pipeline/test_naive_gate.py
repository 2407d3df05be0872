"""Issue 22: a constant predictor on imbalanced data passes an accuracy threshold, so the gate
also compares with the naive predictor. The real evaluator runs with the built definition's
own arguments, and the built QualityGate is judged by the local runner's expression code."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.definition import contract
from pipelines.local.expressions import (
    Scope,
    StepRecord,
    condition_outcome,
    declared_parameters,
    evaluate,
    resolve_parameters,
    to_text,
)
from pipelines.steps import evaluate as evaluator
from tests.pipeline.conftest import EXAMPLE, Build, Inputs, changed_spec, offline_build

# Always class 0: right on every negative, so its accuracy is the share of negatives.
CONSTANT_SCRIPT = """
import numpy as np


def model_fn(model_dir):
    return None


def predict_fn(features, model):
    return np.zeros(len(features))
"""
# Reads the label off the first feature, which write_split makes informative.
INFORMED_SCRIPT = CONSTANT_SCRIPT.replace(
    "np.zeros(len(features))", "(features[:, 0] > 1.5).astype(float)"
)


@pytest.fixture(scope="module")
def accuracy_build() -> Build:
    """The issue's spec: the breast-cancer model gated on accuracy at 0.9."""
    spec = changed_spec(EXAMPLE.spec, {"evaluation": {"metric": "accuracy", "threshold": 0.9}})
    return offline_build(Inputs(spec, EXAMPLE.wiring))


def write_split(directory: Path, rows: int, positives: int, seed: int) -> None:
    """Headerless CSV, label first; the first feature is the label times 3 plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(rows)
    labels[rng.choice(rows, positives, replace=False)] = 1
    features = rng.normal(scale=0.3, size=(rows, 3))
    features[:, 0] += labels * 3
    directory.mkdir(parents=True)
    np.savetxt(directory / "part.csv", np.column_stack([labels, features]), delimiter=",")


def container(root: Path, value: str) -> str:
    """A container path mapped under ``root``, as the local runner maps /opt/ml."""
    if value.startswith(contract.PROCESSING):
        return str(root / value.removeprefix(contract.PROCESSING + "/"))
    return value


def run_evaluator(build: Build, root: Path, script: str) -> dict[str, Any]:
    """evaluate.py's main with the definition's own arguments, on 40 test rows with 3
    positives and a training split as imbalanced, every candidate scored by ``script``."""
    write_split(root / "test", rows=40, positives=3, seed=0)
    write_split(root / "train", rows=140, positives=10, seed=1)
    (root / "source").mkdir()
    (root / "source" / "inference.py").write_text(script)
    arguments = build.steps["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    # The model URIs are expressions; any string stands in for them.
    argv = [container(root, value) if isinstance(value, str) else "s3://b/m" for value in arguments]
    for name in contract.CANDIDATES:
        (root / "model" / name).mkdir(parents=True)
        with tarfile.open(root / "model" / name / "model.tar.gz", "w:gz") as tar:
            tar.add(root / "source" / "inference.py", arcname="unused.txt")
    assert evaluator.main(argv) == 0
    report: dict[str, Any] = json.loads((root / "evaluation" / "evaluation.json").read_text())
    return report


def resolved(build: Build, report: dict[str, Any], value: Any) -> Any:
    """``value`` of the definition evaluated with its parameter defaults and ``report`` as
    the Evaluate step's property file."""
    scope = Scope(
        parameters=resolve_parameters(declared_parameters(build.definition), []),
        execution={},
        steps={"Evaluate": StepRecord(property_files={contract.EVALUATION_REPORT: report})},
        read_json=lambda uri: pytest.fail(f"the gate reads only the property file, not {uri}"),
    )
    return evaluate(value, scope)


def holds(build: Build, report: dict[str, Any], conditions: list[Any]) -> bool:
    """The ConditionStep's outcome: its conditions ANDed."""
    return all(condition_outcome(item) for item in resolved(build, report, conditions))


def test_a_constant_predictor_on_imbalanced_data_fails_the_gate_with_both_numbers(
    accuracy_build: Build, tmp_path: Path
) -> None:
    report = run_evaluator(accuracy_build, tmp_path, CONSTANT_SCRIPT)

    accuracy = report["binary_classification_metrics"]["accuracy"]["value"]
    naive = report["naive_baseline"]
    # 37 of 40 right: above the 0.9 threshold, and exactly what the naive predictor scores.
    assert accuracy == 37 / 40
    assert (naive["value"], naive["improvement"]) == (37 / 40, 0.0)
    conditions = accuracy_build.steps["QualityGate"]["Arguments"]["Conditions"]
    threshold, beats_naive = conditions
    # What made issue 22 possible: the threshold alone holds.
    assert holds(accuracy_build, report, [threshold])
    assert not holds(accuracy_build, report, [beats_naive])
    assert not holds(accuracy_build, report, conditions)
    message = resolved(accuracy_build, report, accuracy_build.steps["QualityTooLow"]["Arguments"])
    assert to_text(message["ErrorMessage"]) == (
        "Model accuracy 0.925 must be at least the quality threshold 0.9 and beat the naive "
        "predictor (majority class, scored with the training positive rate) 0.925 "
        "by more than 0.0"
    )


def test_a_model_that_beats_the_naive_predictor_passes_the_same_gate(
    accuracy_build: Build, tmp_path: Path
) -> None:
    report = run_evaluator(accuracy_build, tmp_path, INFORMED_SCRIPT)

    assert report["binary_classification_metrics"]["accuracy"]["value"] == 1.0
    assert report["naive_baseline"]["improvement"] == pytest.approx(3 / 40)
    conditions = accuracy_build.steps["QualityGate"]["Arguments"]["Conditions"]
    assert holds(accuracy_build, report, conditions)


def test_a_margin_larger_than_the_improvement_fails_the_same_model(tmp_path: Path) -> None:
    spec = changed_spec(
        EXAMPLE.spec,
        {"evaluation": {"metric": "accuracy", "threshold": 0.9, "naive_margin": 0.1}},
    )
    build = offline_build(Inputs(spec, EXAMPLE.wiring))
    report = run_evaluator(build, tmp_path, INFORMED_SCRIPT)

    # 3/40 = 0.075 better than the naive predictor: not the 0.1 asked for.
    assert not holds(build, report, build.steps["QualityGate"]["Arguments"]["Conditions"])
