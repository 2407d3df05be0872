"""The step scripts ship alone into their containers, so each keeps its own copy of the
contract's values: these tests hold the copies, and the argparse defaults, to
pipelines/definition/contract.py, the spec's defaults and the builder's arguments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, cast, get_args

import pytest

from pipelines.definition import contract, processing
from pipelines.definition.spec import (
    XGBOOST_HYPERPARAMETERS,
    ModelSpec,
    PreprocessingSpec,
    discover_models,
)
from pipelines.steps import evaluate, inference, preprocess, train
from tests.steps.runner import MODELS_DIR, STEPS_DIR

if TYPE_CHECKING:
    from pipelines.definition.context import BuildContext

SPECS = discover_models(MODELS_DIR)
SHIPPED_TRAINER_SPECS = [spec for spec in SPECS if spec.training.uses_shipped_trainer]
# The models the shipped evaluator judges (a built-in algorithm is gated on its own metric).
EVALUATED_SPECS = [spec for spec in SPECS if spec.training.algorithm is None]


class _Context:
    """The one attribute preprocess_arguments reads from a build context."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec


def test_the_example_models_cover_every_task() -> None:
    assert sorted({spec.data.task for spec in SPECS}) == sorted(contract.TASKS)
    assert any(spec.training.algorithm for spec in SPECS), "no built-in algorithm example"


def test_the_shipped_scripts_are_the_files_the_contract_names() -> None:
    assert (STEPS_DIR / contract.SHIPPED_TRAINER).read_bytes() == Path(train.__file__).read_bytes()
    assert Path(inference.__file__).name == contract.SHIPPED_INFERENCE


def test_preprocess_copies_and_defaults_match_the_contract_and_the_spec() -> None:
    args = preprocess.parse_args([])
    defaults = PreprocessingSpec()

    assert preprocess.TASKS == contract.TASKS
    assert preprocess.SPLITS == contract.SPLITS
    assert preprocess.TRANSFORM_OUTPUT == contract.TRANSFORM_OUTPUT
    assert preprocess.TRANSFORM_FILE == contract.TRANSFORM_FILE
    assert train.TRANSFORM_FILE == contract.TRANSFORM_FILE
    assert inference.TRANSFORM_FILE == contract.TRANSFORM_FILE
    assert preprocess.SIGNATURE_FILE == train.SIGNATURE_FILE == contract.SIGNATURE_FILE
    assert preprocess.RAW_TEST_FILE == evaluate.RAW_TEST_FILE == contract.RAW_TEST_FILE
    assert evaluate.TRANSFORM_FILE == contract.TRANSFORM_FILE
    missing_policies = get_args(PreprocessingSpec.model_fields["missing"].annotation)
    assert missing_policies == preprocess.MISSING_POLICIES
    assert args.input_dir == Path(contract.PREPROCESS_INPUT_DIR)
    assert args.output_dir == Path(contract.PREPROCESS_OUTPUT_DIR)
    assert (args.validation_fraction, args.test_fraction, args.seed, args.missing) == (
        defaults.validation_fraction,
        defaults.test_fraction,
        defaults.seed,
        defaults.missing,
    )
    assert args.categorical == []


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_preprocess_parses_the_builders_arguments_for_every_model(spec: ModelSpec) -> None:
    arguments = processing.preprocess_arguments(cast("BuildContext", _Context(spec)))

    args = preprocess.parse_args([*arguments, "--categorical", "extra"])

    assert (args.task, args.label_column, args.missing) == (
        spec.data.task,
        spec.data.label,
        spec.preprocessing.missing,
    )
    assert args.categorical == [*spec.preprocessing.categorical, "extra"]
    assert args.validation_fraction == spec.preprocessing.validation_fraction


def test_train_metrics_and_paths_match_the_contract() -> None:
    reported = {
        task: (metric, "Maximize" if higher else "Minimize")
        for task, (_, metric, higher) in train.TASKS.items()
    }

    assert reported == contract.TRAINER_METRIC
    assert train.parse_args([]).task == "binary"
    assert train.CHECKPOINT_DIR == contract.CHECKPOINT_DIR
    assert train.TASK_ATTRIBUTE == inference.TASK_ATTRIBUTE
    assert train.MODEL_FILE_NAME == inference.MODEL_FILE_NAME


@pytest.mark.parametrize("value", [0.987654321, 55.25, 1e-9])
def test_the_trainers_metric_line_is_the_contracts_and_its_regex_reads_it(value: float) -> None:
    line = train.metric_line("rmse", value)

    assert line == contract.metric_line("rmse", value)
    match = re.fullmatch(contract.metric_regex("rmse"), line)
    assert match is not None
    assert float(match.group(1)) == pytest.approx(value, abs=1e-6)


def test_train_defaults_are_the_specs_shipped_hyperparameters() -> None:
    args = vars(train.parse_args([]))

    assert {name: args[name] for name in XGBOOST_HYPERPARAMETERS} == XGBOOST_HYPERPARAMETERS


@pytest.mark.parametrize("spec", SHIPPED_TRAINER_SPECS, ids=lambda spec: spec.name)
def test_every_shipped_trainer_models_hyperparameters_and_ranges_are_train_arguments(
    spec: ModelSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        item for name, value in spec.hyperparameters.items() for item in (f"--{name}", str(value))
    ]

    args = train.parse_args(argv)

    assert capsys.readouterr().err == ""
    assert args.task == spec.data.task
    assert set(spec.ranges) <= set(vars(args))
    assert spec.objective.regex == contract.metric_regex(train.TASKS[spec.data.task][1])


def test_evaluate_copies_and_defaults_match_the_contract() -> None:
    args = evaluate.parse_args(["--model", "baseline", "s3://b/m.tar.gz"])

    assert evaluate.METRIC_GROUPS == contract.METRIC_GROUPS
    assert evaluate.TASK_METRICS == contract.TASK_METRICS
    assert evaluate.DEFAULT_GATE_METRIC == contract.DEFAULT_GATE_METRIC
    assert evaluate.REPORT_FILE == contract.EVALUATION_FILE
    assert evaluate.NAIVE_STRATEGIES == contract.NAIVE_STRATEGIES
    assert evaluate.NAIVE_SECTION == contract.NAIVE_SECTION
    assert args.inference == contract.SHIPPED_INFERENCE
    assert args.train_dir == Path(contract.EVALUATE_TRAIN_DIR)
    assert (args.test_dir, args.source_dir, args.model_root, args.output_dir) == (
        Path(contract.EVALUATE_TEST_DIR),
        Path(contract.EVALUATE_SOURCE_DIR),
        Path(contract.EVALUATE_MODEL_DIR),
        Path(contract.EVALUATE_OUTPUT_DIR),
    )
    assert all(evaluate.CANDIDATE_NAME.fullmatch(name) for name in contract.CANDIDATES)


@pytest.mark.parametrize("spec", EVALUATED_SPECS, ids=lambda spec: spec.name)
def test_evaluate_accepts_every_models_gate_metric(spec: ModelSpec) -> None:
    args = evaluate.parse_args(
        [
            *("--task", spec.data.task, "--metric", spec.gate_metric),
            *("--inference", spec.inference_script, "--model", "baseline", "s3://b/m"),
        ]
    )

    assert evaluate.TASK_METRICS[args.task][args.metric] == spec.gate_direction


def test_inference_serves_the_contracts_content_types() -> None:
    assert contract.CONTENT_TYPES == (inference.CSV, inference.JSON)
    assert contract.RESPONSE_TYPES == (inference.JSON,)
    assert inference.TASKS == contract.TASKS
