"""The pipeline definition: structure, wiring, offline build, determinism, import hygiene."""

from __future__ import annotations

import ast
import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from infra.config import PipelineConfig
from pipelines.assembly.steps import walk_steps
from pipelines.definition import PipelineWiring, build_definition, contract
from pipelines.definition.contract import CAPTURE_SAMPLING_PERCENTAGE
from pipelines.definition.spec import DeploymentSpec, ModelSpec, SpecError, load_model_spec
from pipelines.steps import evaluate, preprocess, train
from tests.pipeline.conftest import (
    ALL_BUILDS,
    EXAMPLE,
    MULTICLASS,
    REPO,
    VARIANT,
    Build,
    FreshBuild,
    Inputs,
    changed_spec,
    inputs_json,
    offline_build,
)
from tests.support.offline import no_network

SPEC, WIRING = EXAMPLE
EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}
REPORT = "Steps.Evaluate.PropertyFiles.EvaluationReport"

EXPECTED_TYPES = {
    "Preprocess": "Processing",
    "TrainBaseline": "Training",
    "Tune": "Tuning",
    "Evaluate": "Processing",
    "QualityGate": "Condition",
    "RegisterModel": "RegisterModel",
    "DeployIfApproved": "Condition",
    "CreateModel": "Model",
    "EndpointConfig": "EndpointConfig",
    "Endpoint": "Endpoint",
    "ConfigureAutoscaling": "Lambda",
    "QualityTooLow": "Fail",
}
JOB_STEPS = ("Preprocess", "TrainBaseline", "Tune", "Evaluate")
DEPLOY_STEPS = ("CreateModel", "EndpointConfig", "Endpoint", "ConfigureAutoscaling")
# Builds whose spec tunes (all but the untuned one).
TUNED_BUILDS = ("build", "variant_build", "multiclass_build", "regression_build")


@pytest.fixture
def any_build(request: pytest.FixtureRequest) -> Build:
    """The build named by the test's ``build_name`` parameter."""
    found: Build = request.getfixturevalue(request.param)
    return found


def over(*names: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("any_build", names, indirect=True)


def get(reference: str) -> dict[str, str]:
    return {"Get": reference}


def run_prefix(wiring: PipelineWiring) -> str:
    return f"s3://{wiring.artifact_bucket}/{wiring.artifact_prefix}"


def run_join(*parts: str, wiring: PipelineWiring = WIRING) -> dict[str, Any]:
    """The definition's s3://<bucket>/<prefix>/<execution id>/<parts> expression."""
    return {"Std:Join": {"On": "/", "Values": [run_prefix(wiring), EXECUTION_ID, *parts]}}


def split_output(split: str) -> dict[str, str]:
    return get(f"Steps.Preprocess.ProcessingOutputConfig.Outputs['{split}'].S3Output.S3Uri")


def json_get(path: str) -> dict[str, Any]:
    return {"Std:JsonGet": {"Path": path, "PropertyFile": get(REPORT)}}


def selected_model_json_get() -> dict[str, Any]:
    return json_get("selected_model.s3_uri")


def tuned_model_uri(wiring: PipelineWiring = WIRING) -> dict[str, Any]:
    return {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3:/",
                wiring.artifact_bucket,
                f"{wiring.artifact_prefix}/models",
                get("Steps.Tune.TrainingJobSummaries[0].TrainingJobName"),
                "output/model.tar.gz",
            ],
        }
    }


BASELINE_MODEL_URI = get("Steps.TrainBaseline.ModelArtifacts.S3ModelArtifacts")


def find(value: Any, key: str) -> list[Any]:
    """The values under ``key`` of every dict in ``value``, depth first."""
    found = []
    if isinstance(value, dict):
        if key in value:
            found.append(value[key])
        for item in value.values():
            found += find(item, key)
    elif isinstance(value, list):
        for item in value:
            found += find(item, key)
    return found


def render(value: Any) -> str:
    """An expression as text, for checks on where URIs point: {"Get": ref} -> <ref>."""
    if isinstance(value, dict) and "Get" in value:
        return f"<{value['Get']}>"
    if isinstance(value, dict) and "Std:Join" in value:
        join = value["Std:Join"]
        return str(join["On"]).join(render(item) for item in join["Values"])
    if isinstance(value, dict) and "Std:JsonGet" in value:
        return f"<JsonGet:{value['Std:JsonGet']['Path']}>"
    return str(value)


def strings_and_joins(value: Any) -> list[str]:
    """Every string literal and rendered Join in ``value``."""
    if isinstance(value, dict) and "Std:Join" in value:
        return [render(value)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings_and_joins(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings_and_joins(item)]
    return [value] if isinstance(value, str) else []


def concrete_argv(arguments: list[Any]) -> list[str]:
    """Container arguments with expressions replaced by a recognisable string."""
    return [value if isinstance(value, str) else render(value) for value in arguments]


def model_arguments(arguments: list[Any]) -> list[tuple[str, Any]]:
    """The (name, URI) pairs of every ``--model NAME URI`` in the container arguments."""
    return [
        (arguments[index + 1], arguments[index + 2])
        for index, value in enumerate(arguments)
        if value == "--model"
    ]


def stringified(values: dict[str, Any]) -> dict[str, str]:
    """Hyperparameters as the definition carries them: strings."""
    return {name: str(value) for name, value in values.items()}


# -- structure ----------------------------------------------------------------------------------


def test_every_step_has_the_expected_name_and_type_nested_ones_included(definition):
    found = {step["Name"]: step["Type"] for step in walk_steps(definition["Steps"])}
    assert found == EXPECTED_TYPES
    assert len(list(walk_steps(definition["Steps"]))) == len(EXPECTED_TYPES)  # names are unique


def test_step_names_are_the_contract_s(definition):
    names = {step["Name"] for step in walk_steps(definition["Steps"])}
    assert names == {
        contract.PREPROCESS,
        contract.TRAIN,
        contract.TUNE,
        contract.EVALUATE,
        contract.QUALITY_GATE,
        contract.QUALITY_FAIL,
        contract.REGISTER,
        contract.DEPLOY_GATE,
        contract.CREATE_MODEL,
        contract.ENDPOINT_CONFIG,
        contract.ENDPOINT,
        contract.AUTOSCALING,
    }


def test_top_level_steps_are_the_jobs_then_the_quality_gate(definition):
    assert [step["Name"] for step in definition["Steps"]] == [*JOB_STEPS, "QualityGate"]


def test_a_spec_without_tuning_has_no_tune_step_and_one_candidate(untuned_build: Build):
    definition = untuned_build.definition
    found = {step["Name"]: step["Type"] for step in walk_steps(definition["Steps"])}
    assert found == {name: kind for name, kind in EXPECTED_TYPES.items() if name != "Tune"}
    assert [step["Name"] for step in definition["Steps"]] == [
        "Preprocess",
        "TrainBaseline",
        "Evaluate",
        "QualityGate",
    ]
    args = untuned_build.steps["Evaluate"]["Arguments"]
    container_args = args["AppSpecification"]["ContainerArguments"]
    assert model_arguments(container_args) == [("baseline", BASELINE_MODEL_URI)]
    inputs = {i["InputName"] for i in args["ProcessingInputs"]}
    assert inputs == {"test", "train", "source", "baseline", "code"}
    assert "Steps.Tune" not in untuned_build.text


def test_definition_is_a_2020_12_01_pipeline_without_experiment_or_mlflow_config(definition):
    assert definition["Version"] == "2020-12-01"
    assert definition["PipelineExperimentConfig"] is None
    assert definition["MlflowConfig"] is None


def test_parameters_have_names_types_and_defaults_from_the_spec_and_wiring(definition):
    parameters = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    assert parameters == {
        "InputDataUri": ("String", "s3://data-bucket-marker/samples/breast-cancer.csv"),
        "ProcessingInstanceType": ("String", "ml.m5.xlarge"),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "QualityThreshold": ("Float", 0.9),
        "ModelApprovalStatus": ("String", "PendingManualApproval"),
        "EndpointInstanceType": ("String", "ml.m5.large"),
        "EndpointMinCapacity": ("Integer", 1),
        "EndpointMaxCapacity": ("Integer", 2),
        "TargetInvocationsPerInstance": ("Integer", 70),
    }
    approval = next(p for p in definition["Parameters"] if p["Name"] == "ModelApprovalStatus")
    assert approval["EnumValues"] == ["Approved", "Rejected", "PendingManualApproval"]


def test_parameter_defaults_follow_every_spec_and_wiring_value(definition, multiclass_build: Build):
    spec, wiring = MULTICLASS
    parameters = {p["Name"]: p["DefaultValue"] for p in multiclass_build.definition["Parameters"]}
    assert parameters == {
        "InputDataUri": wiring.default_input_uri,
        "ProcessingInstanceType": spec.preprocessing.instance_type,
        "ProcessingInstanceCount": 1,
        "TrainingInstanceType": spec.training.instance_type,
        "QualityThreshold": spec.evaluation.threshold,
        "ModelApprovalStatus": wiring.approval_status,
        "EndpointInstanceType": spec.deployment.instance_type,
        "EndpointMinCapacity": spec.deployment.min_capacity,
        "EndpointMaxCapacity": spec.deployment.max_capacity,
        "TargetInvocationsPerInstance": spec.deployment.target_invocations_per_instance,
    }
    # Every value differs from the example's, so none of them is a constant.
    example = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    same = [name for name in parameters if parameters[name] == example[name]]
    assert same == ["ProcessingInstanceCount"]


@over(*ALL_BUILDS)
def test_every_parameter_reference_names_a_declared_parameter(any_build: Build):
    declared = {p["Name"] for p in any_build.definition["Parameters"]}
    referenced = {
        reference.removeprefix("Parameters.")
        for reference in find(any_build.definition["Steps"], "Get")
        if reference.startswith("Parameters.")
    }
    assert referenced == declared  # every parameter is used, none is misspelt


@over(*ALL_BUILDS)
def test_every_step_reference_names_an_earlier_step(any_build: Build):
    all_steps = list(walk_steps(any_build.definition["Steps"]))
    order = [step["Name"] for step in all_steps]
    checked = 0
    for step in all_steps:
        arguments = {
            key: value
            for key, value in step.get("Arguments", {}).items()
            if key not in ("IfSteps", "ElseSteps")
        }
        for reference in find(arguments, "Get"):
            if reference.startswith("Steps."):
                source = reference.split(".")[1].split("[")[0]
                assert source in order, (step["Name"], reference)
                assert order.index(source) < order.index(step["Name"]), (step["Name"], source)
                checked += 1
    assert checked > 0


# -- preprocess ---------------------------------------------------------------------------------


@over(*ALL_BUILDS)
def test_preprocess_runs_the_code_asset_with_python3_in_the_sklearn_image(any_build: Build):
    wiring = any_build.inputs.wiring
    args = any_build.steps["Preprocess"]["Arguments"]
    image = args["AppSpecification"]["ImageUri"]
    # The shipped preprocessor needs pandas and scikit-learn, whatever the model's framework.
    assert image.endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    code_name = PurePosixPath(wiring.preprocess_code_uri).name
    assert args["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        f"/opt/ml/processing/input/code/{code_name}",
    ]
    code = next(i for i in args["ProcessingInputs"] if i["InputName"] == "code")
    assert code["S3Input"]["S3Uri"] == wiring.preprocess_code_uri


def test_preprocess_reads_the_input_parameter_and_writes_splits_and_transform_under_the_execution(
    steps,
):
    args = steps["Preprocess"]["Arguments"]
    raw = next(i for i in args["ProcessingInputs"] if i["InputName"] == "raw")["S3Input"]
    assert raw["S3Uri"] == get("Parameters.InputDataUri")
    assert raw["LocalPath"] == "/opt/ml/processing/input"
    outputs = {o["OutputName"]: o["S3Output"] for o in args["ProcessingOutputConfig"]["Outputs"]}
    # The splits, and the fitted transform in an output no training channel reads.
    assert set(outputs) == {"train", "validation", "test", "transform"}
    for split, output in outputs.items():
        assert output["LocalPath"] == f"/opt/ml/processing/output/{split}"
        assert output["S3Uri"] == run_join(split)


def test_preprocess_arguments_are_the_spec_s_and_accepted_by_the_script(steps):
    args = steps["Preprocess"]["Arguments"]
    container_args = args["AppSpecification"]["ContainerArguments"]
    assert container_args == [
        "--input-dir",
        "/opt/ml/processing/input",
        "--output-dir",
        "/opt/ml/processing/output",
        "--label-column",
        "target",
        "--task",
        "binary",
        "--missing",
        "error",
        "--validation-fraction",
        "0.15",
        "--test-fraction",
        "0.15",
        "--seed",
        "42",
    ]
    parsed = preprocess.parse_args(container_args)
    raw = next(i for i in args["ProcessingInputs"] if i["InputName"] == "raw")["S3Input"]
    assert str(parsed.input_dir) == raw["LocalPath"]
    for output in args["ProcessingOutputConfig"]["Outputs"]:
        # preprocess.py writes <output-dir>/<split>/<split>.csv
        assert output["S3Output"]["LocalPath"] == str(parsed.output_dir / output["OutputName"])


@over("build", "multiclass_build", "regression_build")
def test_preprocess_arguments_carry_every_preprocessing_setting(any_build: Build):
    spec = any_build.inputs.spec
    container_args = any_build.steps["Preprocess"]["Arguments"]["AppSpecification"][
        "ContainerArguments"
    ]
    parsed = preprocess.parse_args(container_args)
    assert parsed.label_column == spec.data.label
    assert parsed.task == spec.data.task
    assert parsed.missing == spec.preprocessing.missing
    assert parsed.categorical == list(spec.preprocessing.categorical)
    assert parsed.validation_fraction == spec.preprocessing.validation_fraction
    assert parsed.test_fraction == spec.preprocessing.test_fraction
    assert parsed.seed == spec.preprocessing.seed


def test_processing_instance_type_and_count_come_from_parameters(steps):
    cluster = steps["Preprocess"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == get("Parameters.ProcessingInstanceType")
    assert cluster["InstanceCount"] == get("Parameters.ProcessingInstanceCount")
    evaluate_cluster = steps["Evaluate"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert evaluate_cluster["InstanceType"] == get("Parameters.ProcessingInstanceType")
    assert evaluate_cluster["InstanceCount"] == 1


@over("build", "multiclass_build")
def test_processing_volumes_are_the_spec_s_size(any_build: Build):
    size = any_build.inputs.spec.preprocessing.volume_size_gb
    for name in ("Preprocess", "Evaluate"):
        cluster = any_build.steps[name]["Arguments"]["ProcessingResources"]["ClusterConfig"]
        assert cluster["VolumeSizeInGB"] == size, name


# -- training and tuning --------------------------------------------------------------------------


@over(*TUNED_BUILDS)
def test_training_channels_read_the_preprocess_outputs(any_build: Build):
    steps = any_build.steps
    for name, args in (
        ("TrainBaseline", steps["TrainBaseline"]["Arguments"]),
        ("Tune", steps["Tune"]["Arguments"]["TrainingJobDefinition"]),
    ):
        channels = {c["ChannelName"]: c for c in args["InputDataConfig"]}
        # The shipped trainer also gets the shipped preprocessor's fitted transform, which it
        # packs into the model; own scripts, own preprocessing and built-ins do not.
        spec = any_build.inputs.spec
        expected = {"train", "validation", *(["transform"] if spec.carries_transform else [])}
        assert set(channels) == expected, name
        for channel_name, channel in channels.items():
            assert channel["DataSource"]["S3DataSource"]["S3Uri"] == split_output(channel_name)
            kind = "application/json" if channel_name == "transform" else "text/csv"
            assert channel["ContentType"] == kind


def test_training_runs_train_py_from_the_source_tarball_in_the_xgboost_image(steps):
    args = steps["TrainBaseline"]["Arguments"]
    image = args["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith("/sagemaker-xgboost:3.0-5")
    hyperparameters = args["HyperParameters"]
    assert hyperparameters["sagemaker_program"] == "train.py"
    assert hyperparameters["sagemaker_submit_directory"] == WIRING.source_uri
    assert (REPO / "pipelines/steps" / hyperparameters["sagemaker_program"]).is_file()
    assert args["InputDataConfig"][0]["InputMode"] == "File"


def test_own_scripts_run_in_the_framework_image_of_the_spec_s_version(multiclass_build: Build):
    spec, wiring = MULTICLASS
    steps = multiclass_build.steps
    for args in (
        steps["TrainBaseline"]["Arguments"],
        steps["Tune"]["Arguments"]["TrainingJobDefinition"],
    ):
        image = args["AlgorithmSpecification"]["TrainingImage"]
        assert image.endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    hyperparameters = steps["TrainBaseline"]["Arguments"]["HyperParameters"]
    assert hyperparameters["sagemaker_program"] == spec.training.entry_point == "fit.py"
    assert hyperparameters["sagemaker_submit_directory"] == wiring.source_uri
    evaluate_image = steps["Evaluate"]["Arguments"]["AppSpecification"]["ImageUri"]
    assert evaluate_image.endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")


@over("build", "regression_build")
def test_training_hyperparameters_are_strings_that_train_py_accepts(any_build: Build, capsys):
    spec = any_build.inputs.spec
    hyperparameters = any_build.steps["TrainBaseline"]["Arguments"]["HyperParameters"]
    assert all(isinstance(value, str) for value in hyperparameters.values())
    model_hyperparameters = {
        name: value for name, value in hyperparameters.items() if not name.startswith("sagemaker_")
    }
    assert model_hyperparameters["task"] == spec.data.task
    argv = [item for name, value in model_hyperparameters.items() for item in (f"--{name}", value)]
    parsed = vars(train.parse_args(argv))
    assert "ignoring unknown argument" not in capsys.readouterr().err
    for name, value in model_hyperparameters.items():
        assert parsed[name] == type(parsed[name])(value), name


def test_shipped_trainer_gets_its_defaults_with_the_task_and_the_spec_s_values_merged(
    steps, regression_build: Build
):
    example = steps["TrainBaseline"]["Arguments"]["HyperParameters"]
    assert example == {
        "num_round": "200",
        "max_depth": "5",
        "eta": "0.2",
        "subsample": "0.8",
        "min_child_weight": "1.0",
        "early_stopping_rounds": "20",
        "seed": "42",
        "checkpoint_interval": "10",
        "task": "binary",
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": WIRING.source_uri,
    }
    regression = regression_build.steps["TrainBaseline"]["Arguments"]["HyperParameters"]
    changed = {name for name in regression if regression[name] != example.get(name)}
    assert changed == {"max_depth", "eta", "task"}
    assert (regression["max_depth"], regression["eta"], regression["task"]) == (
        "3",
        "0.1",
        "regression",
    )


@pytest.mark.parametrize("inputs", [EXAMPLE, MULTICLASS], ids=["example", "multiclass"])
def test_training_jobs_are_named_after_the_model(build: Build, inputs):
    """The definition leaves job names to the service, which prefixes them with the trainer's
    base job name: the model's name, so jobs of different models tell apart."""
    from pipelines.definition import sdk, training
    from pipelines.definition.context import BuildContext, pipeline_parameters

    spec, wiring = inputs
    with sdk.offline_sdk(wiring.region), no_network() as attempts:
        session = sdk.session(bucket=wiring.artifact_bucket, region=wiring.region)
        ctx = BuildContext(spec, wiring, session, pipeline_parameters(spec, wiring))
        trainer = training._trainer(ctx, checkpoints=False)
    assert attempts == []
    assert trainer.base_job_name == spec.name


def test_own_entry_point_gets_exactly_the_spec_s_hyperparameters(multiclass_build: Build):
    spec, wiring = MULTICLASS
    hyperparameters = multiclass_build.steps["TrainBaseline"]["Arguments"]["HyperParameters"]
    assert hyperparameters == {
        **stringified(spec.training.hyperparameters),
        "sagemaker_program": "fit.py",
        "sagemaker_submit_directory": wiring.source_uri,
    }
    assert "task" not in hyperparameters  # the shipped trainer's, not a script's own


def test_tuning_ranges_and_static_hyperparameters_are_train_py_arguments(steps, capsys):
    config = steps["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    ranges = config["ParameterRanges"]
    tuned = {
        r["Name"]: (r["MinValue"], r["MaxValue"])
        for kind in ("ContinuousParameterRanges", "IntegerParameterRanges")
        for r in ranges.get(kind, [])
    }
    assert tuned == {
        "eta": ("0.01", "0.3"),
        "max_depth": ("3", "10"),
        "min_child_weight": ("1.0", "10.0"),
        "subsample": ("0.5", "1.0"),
        "num_round": ("50", "300"),
    }
    assert {r["Name"] for r in ranges["IntegerParameterRanges"]} == {"max_depth", "num_round"}
    static = steps["Tune"]["Arguments"]["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["sagemaker_program"] == "train.py"
    assert static["sagemaker_submit_directory"] == WIRING.source_uri
    assert static["task"] == "binary"
    assert not set(static) & set(tuned)  # a tuned hyperparameter is never also fixed
    argv = []
    for name, (low, _) in tuned.items():
        argv += [f"--{name}", low]
    for name, value in static.items():
        if not name.startswith("sagemaker_"):
            argv += [f"--{name}", value]
    train.parse_args(argv)
    assert "ignoring unknown argument" not in capsys.readouterr().err


def test_own_ranges_of_every_kind_reach_the_tuner(multiclass_build: Build):
    spec, _ = MULTICLASS
    tune = multiclass_build.steps["Tune"]["Arguments"]
    assert tune["HyperParameterTuningJobConfig"]["ParameterRanges"] == {
        "CategoricalParameterRanges": [{"Name": "criterion", "Values": ["gini", "entropy"]}],
        "ContinuousParameterRanges": [
            {"Name": "max_features", "MinValue": "0.2", "MaxValue": "1.0", "ScalingType": "Linear"}
        ],
        "IntegerParameterRanges": [
            {"Name": "n_estimators", "MinValue": "50", "MaxValue": "400", "ScalingType": "Auto"}
        ],
    }
    static = tune["TrainingJobDefinition"]["StaticHyperParameters"]
    # n_estimators and criterion are tuned, so only max_depth stays fixed.
    assert {name for name in static if not name.startswith("sagemaker_")} == {"max_depth"}
    assert static["max_depth"] == str(spec.training.hyperparameters["max_depth"])


@over("build", "regression_build")
def test_shipped_trainer_objective_regex_reads_the_line_train_py_prints(any_build: Build, capsys):
    task = any_build.inputs.spec.data.task
    _, metric, maximized = train.TASKS[task]
    steps = any_build.steps
    definitions = steps["TrainBaseline"]["Arguments"]["AlgorithmSpecification"]["MetricDefinitions"]
    assert definitions == [{"Name": f"validation:{metric}", "Regex": contract.metric_regex(metric)}]
    tune = steps["Tune"]["Arguments"]
    algorithm = tune["TrainingJobDefinition"]["AlgorithmSpecification"]
    assert algorithm["MetricDefinitions"] == definitions
    objective = tune["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    assert objective == {
        "MetricName": f"validation:{metric}",
        "Type": "Maximize" if maximized else "Minimize",
    }
    # train.py's final line, and one of its per-round lines (which must not match).
    assert re.search(
        r"^\s+print\(metric_line\(", (REPO / "pipelines/steps/train.py").read_text(), re.M
    )
    final_line = train.metric_line(metric, 0.9731)
    assert final_line == contract.metric_line(metric, 0.9731)
    final = re.search(definitions[0]["Regex"], final_line)
    assert final is not None
    assert final.group(1) == "0.973100"

    class Booster:
        def num_boosted_rounds(self) -> int:
            return 10

    train.RoundLogger().after_iteration(
        Booster(), 9, {"train": {metric: [0.9]}, "validation": {metric: [0.8]}}
    )
    round_line = capsys.readouterr().out
    assert f"validation-{metric}=" in round_line
    assert re.search(definitions[0]["Regex"], round_line) is None


def test_the_example_objective_is_validation_auc_and_regression_s_validation_rmse(
    steps, regression_build: Build
):
    objectives = [
        build_steps["Tune"]["Arguments"]["HyperParameterTuningJobConfig"][
            "HyperParameterTuningJobObjective"
        ]
        for build_steps in (steps, regression_build.steps)
    ]
    assert objectives == [
        {"MetricName": "validation:auc", "Type": "Maximize"},
        {"MetricName": "validation:rmse", "Type": "Minimize"},
    ]


def test_own_objective_is_the_spec_s(multiclass_build: Build):
    objective = MULTICLASS.spec.objective
    steps = multiclass_build.steps
    expected = [{"Name": "validation:accuracy", "Regex": r"validation-accuracy:([0-9\.]+)"}]
    assert [objective.model_dump(include={"metric", "regex"})] == [
        {"metric": expected[0]["Name"], "regex": expected[0]["Regex"]}
    ]
    baseline = steps["TrainBaseline"]["Arguments"]["AlgorithmSpecification"]
    assert baseline["MetricDefinitions"] == expected
    config = steps["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "MetricName": "validation:accuracy",
        "Type": "Maximize",
    }


def test_tuning_is_bayesian_with_auto_early_stopping_and_limits_from_the_spec(steps):
    config = steps["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert SPEC.tuning is not None
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": SPEC.tuning.max_jobs,
        "MaxParallelTrainingJobs": SPEC.tuning.max_parallel_jobs,
    }
    assert (SPEC.tuning.max_jobs, SPEC.tuning.max_parallel_jobs) == (6, 2)


def test_tuning_strategy_early_stopping_and_limits_follow_the_spec(multiclass_build: Build):
    config = multiclass_build.steps["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random"
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 8,
        "MaxParallelTrainingJobs": 4,
    }


def test_training_uses_managed_spot_with_checkpoints_under_the_execution(steps):
    args = steps["TrainBaseline"]["Arguments"]
    assert args["EnableManagedSpotTraining"] is True
    assert args["StoppingCondition"] == {
        "MaxRuntimeInSeconds": SPEC.training.max_runtime_seconds,
        "MaxWaitTimeInSeconds": SPEC.training.max_wait_seconds,
    }
    assert args["CheckpointConfig"] == {
        "LocalPath": "/opt/ml/checkpoints",
        "S3Uri": run_join("checkpoints/"),
    }
    assert args["ResourceConfig"]["InstanceType"] == get("Parameters.TrainingInstanceType")
    assert args["ResourceConfig"]["InstanceCount"] == SPEC.training.instance_count
    assert args["ResourceConfig"]["VolumeSizeInGB"] == SPEC.training.volume_size_gb


def test_tuning_jobs_use_spot_but_share_no_checkpoint_prefix(steps):
    # train.py resumes from any checkpoint it finds; parallel tuning jobs sharing one prefix
    # would resume from each other's boosters, so the tuner runs without checkpoints.
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == steps["TrainBaseline"]["Arguments"]["StoppingCondition"]
    assert "CheckpointConfig" not in job


def test_own_entry_point_trains_without_checkpoints_in_the_spec_s_limits(multiclass_build):
    # Only the shipped trainer is known to resume from a checkpoint.
    training = MULTICLASS.spec.training
    args = multiclass_build.steps["TrainBaseline"]["Arguments"]
    assert "CheckpointConfig" not in args
    assert args["StoppingCondition"] == {
        "MaxRuntimeInSeconds": training.max_runtime_seconds,
        "MaxWaitTimeInSeconds": training.max_wait_seconds,
    }
    assert args["ResourceConfig"]["VolumeSizeInGB"] == training.volume_size_gb


def test_switching_spot_off_drops_spot_and_max_wait(variant_build: Build):
    variant = variant_build.steps
    for args in (
        variant["TrainBaseline"]["Arguments"],
        variant["Tune"]["Arguments"]["TrainingJobDefinition"],
    ):
        assert args.get("EnableManagedSpotTraining") in (False, None)
        assert args["StoppingCondition"] == {
            "MaxRuntimeInSeconds": VARIANT.spec.training.max_runtime_seconds
        }


@over(*TUNED_BUILDS)
def test_models_are_written_under_the_artifact_prefix_with_the_kms_key(any_build: Build):
    wiring = any_build.inputs.wiring
    expected = f"{run_prefix(wiring)}/models"
    for args in (
        any_build.steps["TrainBaseline"]["Arguments"],
        any_build.steps["Tune"]["Arguments"]["TrainingJobDefinition"],
    ):
        assert args["OutputDataConfig"]["S3OutputPath"] == expected
        assert args["OutputDataConfig"]["KmsKeyId"] == wiring.kms_key_arn
        assert args["ResourceConfig"]["VolumeKmsKeyId"] == wiring.kms_key_arn


# -- evaluation and gates -------------------------------------------------------------------------


def test_evaluate_reads_the_test_and_train_splits_the_source_bundle_and_both_candidates(steps):
    inputs = {
        i["InputName"]: i["S3Input"] for i in steps["Evaluate"]["Arguments"]["ProcessingInputs"]
    }
    assert set(inputs) == {"test", "train", "source", "baseline", "tuned", "code"}
    assert inputs["test"]["S3Uri"] == split_output("test")
    # The naive predictor learns from the training labels, never from the test split's.
    assert inputs["train"]["S3Uri"] == split_output("train")
    assert inputs["train"]["LocalPath"] == "/opt/ml/processing/train"
    assert inputs["source"]["S3Uri"] == WIRING.source_uri
    assert inputs["baseline"]["S3Uri"] == BASELINE_MODEL_URI
    assert inputs["tuned"]["S3Uri"] == tuned_model_uri()
    assert inputs["code"]["S3Uri"] == WIRING.evaluate_code_uri
    assert inputs["source"]["LocalPath"] == "/opt/ml/processing/source"
    assert inputs["baseline"]["LocalPath"] == "/opt/ml/processing/model/baseline"
    assert inputs["tuned"]["LocalPath"] == "/opt/ml/processing/model/tuned"


def test_tuned_model_uri_is_the_tuner_output_path_of_the_best_job(steps):
    # get_top_model_s3_uri only joins strings: it must equal <S3OutputPath>/<job>/output/...
    output_path = steps["Tune"]["Arguments"]["TrainingJobDefinition"]["OutputDataConfig"][
        "S3OutputPath"
    ]
    assert render(tuned_model_uri()) == (
        f"{output_path}/<Steps.Tune.TrainingJobSummaries[0].TrainingJobName>/output/model.tar.gz"
    )


def test_evaluate_runs_python3_in_the_xgboost_image_with_arguments_the_script_accepts(steps):
    args = steps["Evaluate"]["Arguments"]
    app = args["AppSpecification"]
    assert app["ImageUri"].endswith("/sagemaker-xgboost:3.0-5")
    assert app["ContainerEntrypoint"] == [
        "python3",
        f"/opt/ml/processing/input/code/{PurePosixPath(str(WIRING.evaluate_code_uri)).name}",
    ]
    assert model_arguments(app["ContainerArguments"]) == [
        ("baseline", BASELINE_MODEL_URI),
        ("tuned", tuned_model_uri()),
    ]
    parsed = evaluate.parse_args(concrete_argv(app["ContainerArguments"]))
    assert parsed.model == [
        ("baseline", render(BASELINE_MODEL_URI)),
        ("tuned", render(tuned_model_uri())),
    ]
    assert (parsed.task, parsed.metric, parsed.inference) == ("binary", "auc", "inference.py")
    assert (REPO / "pipelines/steps" / parsed.inference).is_file()
    inputs = {i["InputName"]: i["S3Input"]["LocalPath"] for i in args["ProcessingInputs"]}
    assert str(parsed.test_dir) == inputs["test"]
    assert str(parsed.train_dir) == inputs["train"]
    assert str(parsed.source_dir) == inputs["source"]
    for name, _ in parsed.model:
        assert str(parsed.model_root / name) == inputs[name]
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "evaluation"
    assert str(parsed.output_dir) == output["S3Output"]["LocalPath"]
    assert output["S3Output"]["S3Uri"] == run_join("evaluation")


@over("multiclass_build", "regression_build")
def test_evaluate_scores_with_the_spec_s_serving_script_task_and_gate_metric(any_build: Build):
    spec, wiring = any_build.inputs
    container_args = any_build.steps["Evaluate"]["Arguments"]["AppSpecification"][
        "ContainerArguments"
    ]
    parsed = evaluate.parse_args(concrete_argv(container_args))
    assert parsed.inference == spec.inference_script
    assert parsed.task == spec.data.task
    assert parsed.metric == spec.gate_metric
    assert model_arguments(container_args) == [
        ("baseline", BASELINE_MODEL_URI),
        ("tuned", tuned_model_uri(wiring)),
    ]


def test_evaluation_report_is_a_property_file_of_the_evaluation_output(steps):
    assert steps["Evaluate"]["PropertyFiles"] == [
        {
            "FilePath": "evaluation.json",
            "OutputName": "evaluation",
            "PropertyFileName": "EvaluationReport",
        }
    ]


def _json_path(document: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        document = document[key]
    return document


# The XGBoost objective of each task, for a model the shipped serving script can score.
BOOSTER_PARAMS = {
    "binary": {"objective": "binary:logistic"},
    "multiclass": {"objective": "multi:softprob", "num_class": 3},
    "regression": {"objective": "reg:squarederror"},
}


def _labels(task: str, features: Any) -> Any:
    if task == "binary":
        return (features[:, 0] > 0).astype(np.float64)
    if task == "multiclass":
        return np.digitize(features[:, 0], [-0.5, 0.5]).astype(np.float64)
    return features[:, 0] * 10.0 + 50.0


@over("build", "multiclass_build", "regression_build")
def test_json_paths_read_by_the_pipeline_exist_in_a_real_evaluate_report(tmp_path, any_build):
    """The evaluate script, run with the definition's own arguments on small models, writes
    every value the gate, the failure message and the registration read."""
    container_args = any_build.steps["Evaluate"]["Arguments"]["AppSpecification"][
        "ContainerArguments"
    ]
    args = evaluate.parse_args(concrete_argv(container_args))
    task = args.task
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 3)).astype(np.float32)
    labels = _labels(task, features)
    booster = xgb.train(BOOSTER_PARAMS[task], xgb.DMatrix(features, label=labels), 2)
    booster.set_attr(task=task)  # as train.py records it
    model_file = tmp_path / "xgboost-model"
    model_file.write_bytes(bytes(booster.save_raw(raw_format="json")))
    source = tmp_path / "source"
    source.mkdir()
    # The shipped serving script stands in for a model's own: the report layout is the same.
    (source / "inference.py").write_text((REPO / "pipelines/steps/inference.py").read_text())
    uris = {}
    for name, _ in args.model:
        directory = tmp_path / "models" / name
        directory.mkdir(parents=True)
        with tarfile.open(directory / "model.tar.gz", "w:gz") as tar:
            tar.add(model_file, arcname=model_file.name)
        uris[name] = f"s3://bucket/{name}/model.tar.gz"
    args.source_dir, args.model_root, args.inference = source, tmp_path / "models", "inference.py"
    args.model = list(uris.items())
    # The first half of the rows stands in for the training labels.
    report = evaluate.evaluate(args, evaluate.Dataset(features, labels), labels[:30])
    spec = any_build.inputs.spec
    gate_path = contract.report_json_path(spec.data.task, spec.gate_metric)
    paths = {json_get["Path"] for json_get in find(any_build.definition, "Std:JsonGet")}
    naive_paths = {contract.NAIVE_VALUE_PATH, contract.NAIVE_IMPROVEMENT_PATH}
    assert paths == {gate_path, "selected_model.s3_uri", *naive_paths}
    for path in (gate_path, *naive_paths):
        assert isinstance(_json_path(report, path), float)
    assert _json_path(report, "selected_model.s3_uri") in uris.values()


def test_report_layout_of_the_contract_is_the_evaluate_script_s():
    assert evaluate.METRIC_GROUPS == contract.METRIC_GROUPS
    assert evaluate.TASK_METRICS == contract.TASK_METRICS
    assert evaluate.DEFAULT_GATE_METRIC == contract.DEFAULT_GATE_METRIC
    assert evaluate.REPORT_FILE == contract.EVALUATION_FILE
    assert evaluate.NAIVE_STRATEGIES == contract.NAIVE_STRATEGIES
    assert evaluate.NAIVE_SECTION == contract.NAIVE_SECTION
    assert evaluate.TRAIN_DIR == contract.EVALUATE_TRAIN_DIR
    assert (evaluate.TEST_DIR, evaluate.SOURCE_DIR, evaluate.MODEL_ROOT, evaluate.OUTPUT_DIR) == (
        contract.EVALUATE_TEST_DIR,
        contract.EVALUATE_SOURCE_DIR,
        contract.EVALUATE_MODEL_DIR,
        contract.EVALUATE_OUTPUT_DIR,
    )


def test_quality_gate_compares_the_reported_auc_with_the_threshold_and_the_naive_predictor(
    steps,
):
    threshold, naive = steps["QualityGate"]["Arguments"]["Conditions"]
    assert threshold == {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": json_get("binary_classification_metrics.auc.value"),
        "RightValue": get("Parameters.QualityThreshold"),
    }
    # Strictly better than the naive predictor by default (naive_margin 0).
    assert naive == {
        "Type": "GreaterThan",
        "LeftValue": json_get("naive_baseline.improvement"),
        "RightValue": 0.0,
    }


def test_the_naive_margin_of_the_spec_is_the_right_value_of_the_second_condition():
    spec = changed_spec(SPEC, {"evaluation": {"naive_margin": 0.05}})
    steps = offline_build(Inputs(spec, WIRING)).steps
    _, naive = steps["QualityGate"]["Arguments"]["Conditions"]
    assert naive["RightValue"] == 0.05
    message = steps["QualityTooLow"]["Arguments"]["ErrorMessage"]
    assert render(message).endswith("by more than 0.05")


@pytest.mark.parametrize(
    ("build_name", "kind", "path"),
    [
        ("multiclass_build", "GreaterThanOrEqualTo", "multiclass_classification_metrics"),
        ("regression_build", "LessThanOrEqualTo", "regression_metrics.rmse.value"),
    ],
)
def test_quality_gate_direction_and_metric_follow_the_task(request, build_name, kind, path):
    found: Build = request.getfixturevalue(build_name)
    spec = found.inputs.spec
    expected_path = contract.report_json_path(spec.data.task, spec.gate_metric)
    assert expected_path.startswith(path)
    condition, naive = found.steps["QualityGate"]["Arguments"]["Conditions"]
    assert condition == {
        "Type": kind,
        "LeftValue": json_get(expected_path),
        "RightValue": get("Parameters.QualityThreshold"),
    }
    # The improvement is signed by the evaluator, so "greater" is better for every direction.
    assert naive["Type"] == "GreaterThan"
    assert naive["LeftValue"] == json_get(contract.NAIVE_IMPROVEMENT_PATH)


@pytest.mark.parametrize(
    ("build_name", "metric", "verdict"),
    [
        ("build", "auc", "must be at least"),
        ("multiclass_build", "weighted_f1", "must be at least"),
        ("regression_build", "rmse", "must be at most"),
    ],
)
def test_failing_the_gate_fails_with_a_message_naming_metric_threshold_and_naive_predictor(
    request, build_name, metric, verdict
):
    found: Build = request.getfixturevalue(build_name)
    spec = found.inputs.spec
    else_steps = found.steps["QualityGate"]["Arguments"]["ElseSteps"]
    assert [step["Name"] for step in else_steps] == ["QualityTooLow"]
    message = else_steps[0]["Arguments"]["ErrorMessage"]
    metric_value = json_get(contract.report_json_path(spec.data.task, metric))
    assert metric_value in message["Std:Join"]["Values"]
    assert get("Parameters.QualityThreshold") in message["Std:Join"]["Values"]
    strategy = contract.NAIVE_STRATEGIES[spec.data.task]
    assert render(message) == (
        f"Model {metric} <JsonGet:{metric_value['Std:JsonGet']['Path']}> {verdict} "
        "the quality threshold <Parameters.QualityThreshold> and beat the naive predictor "
        f"({strategy}) <JsonGet:naive_baseline.value> by more than 0.0"
    )


def test_passing_the_gate_registers_then_considers_deploying(steps):
    if_steps = steps["QualityGate"]["Arguments"]["IfSteps"]
    assert [step["Name"] for step in if_steps] == ["RegisterModel", "DeployIfApproved"]
    assert steps["DeployIfApproved"]["DependsOn"] == ["RegisterModel"]


def test_deployment_happens_only_when_the_approval_parameter_is_approved(definition, steps):
    gate = steps["DeployIfApproved"]["Arguments"]
    assert gate["Conditions"] == [
        {
            "Type": "Equals",
            "LeftValue": get("Parameters.ModelApprovalStatus"),
            "RightValue": "Approved",
        }
    ]
    assert [step["Name"] for step in gate["IfSteps"]] == list(DEPLOY_STEPS)
    assert gate["ElseSteps"] == []
    # No deployment step anywhere else in the pipeline.
    outside = [
        step["Name"]
        for step in walk_steps(definition["Steps"])
        if step["Name"] != "DeployIfApproved"
        for branch in ("IfSteps", "ElseSteps")
        for nested in step.get("Arguments", {}).get(branch, [])
        if nested["Name"] in DEPLOY_STEPS
    ]
    assert outside == []
    top_level = {step["Name"] for step in definition["Steps"]}
    assert not top_level & set(DEPLOY_STEPS)


# -- registration and deployment ------------------------------------------------------------------


def test_register_puts_the_selected_model_into_the_group_with_the_approval_parameter(steps):
    args = steps["RegisterModel"]["Arguments"]
    assert args["ModelPackageGroupName"] == WIRING.model_package_group
    assert args["ModelApprovalStatus"] == get("Parameters.ModelApprovalStatus")
    (container,) = args["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == selected_model_json_get()
    assert container["Image"].endswith("/sagemaker-xgboost:3.0-5")
    spec = args["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv", "application/json"]
    assert spec["SupportedResponseMIMETypes"] == ["application/json"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == [
        get("Parameters.EndpointInstanceType")
    ]


def test_register_attaches_the_evaluation_report_as_model_quality_metrics(steps):
    statistics = steps["RegisterModel"]["Arguments"]["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    evaluation_output = "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
    assert statistics["S3Uri"] == {
        "Std:Join": {"On": "/", "Values": [get(evaluation_output), "evaluation.json"]}
    }


def test_register_points_the_version_s_customer_metadata_at_its_signature(steps):
    metadata = steps["RegisterModel"]["Arguments"]["CustomerMetadataProperties"]
    transform_output = "Steps.Preprocess.ProcessingOutputConfig.Outputs['transform'].S3Output.S3Uri"
    assert metadata == {
        "signature": {"Std:Join": {"On": "/", "Values": [get(transform_output), "signature.json"]}}
    }


@over("multiclass_build", "builtin_build")
def test_a_model_without_the_fitted_transform_registers_no_signature(any_build: Build):
    steps = walk_steps(any_build.definition["Steps"])
    (register,) = [step for step in steps if step["Type"] == "RegisterModel"]
    assert "CustomerMetadataProperties" not in register["Arguments"]


@over("build", "multiclass_build")
def test_registered_and_deployed_models_serve_the_inference_script_from_the_source_tarball(
    any_build: Build,
):
    spec, wiring = any_build.inputs
    steps = any_build.steps
    containers = [
        steps["RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"][0],
        steps["CreateModel"]["Arguments"]["PrimaryContainer"],
    ]
    framework_image = steps["TrainBaseline"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    for container in containers:
        assert container["Environment"]["SAGEMAKER_PROGRAM"] == spec.inference_script
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == wiring.source_uri
        assert container["ModelDataUrl"] == selected_model_json_get()
        # Script mode: the image that trained the model serves it.
        assert container["Image"] == framework_image
    assert steps["CreateModel"]["Arguments"]["ExecutionRoleArn"] == wiring.role_arn


def test_the_shipped_serving_script_is_the_example_s():
    assert SPEC.inference_script == "inference.py"
    assert (REPO / "pipelines/steps" / SPEC.inference_script).is_file()
    assert MULTICLASS.spec.inference_script == "serve.py"


def test_endpoint_config_serves_the_created_model_with_the_kms_key(steps):
    args = steps["EndpointConfig"]["Arguments"]
    assert args["EndpointConfigName"] == f"{WIRING.endpoint_name}-config"
    assert args["KmsKeyId"] == WIRING.kms_key_arn
    assert args["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": get("Steps.CreateModel.ModelName"),
            "InstanceType": get("Parameters.EndpointInstanceType"),
            "InitialInstanceCount": get("Parameters.EndpointMinCapacity"),
        }
    ]
    assert "DataCaptureConfig" not in args  # off in the example's wiring


def test_data_capture_writes_to_the_capture_prefix_with_the_kms_key(variant_build: Build):
    wiring = VARIANT.wiring
    capture = variant_build.steps["EndpointConfig"]["Arguments"]["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["DestinationS3Uri"] == (
        f"s3://{wiring.artifact_bucket}/{wiring.capture_prefix}/{wiring.endpoint_name}/data-capture"
    )
    assert capture["KmsKeyId"] == wiring.kms_key_arn
    assert capture["InitialSamplingPercentage"] == CAPTURE_SAMPLING_PERCENTAGE
    assert 0 < CAPTURE_SAMPLING_PERCENTAGE <= 100
    assert {option["CaptureMode"] for option in capture["CaptureOptions"]} == {"Input", "Output"}


def test_endpoint_uses_the_configured_name_and_the_config_steps_output(steps):
    assert steps["Endpoint"]["Arguments"] == {
        "EndpointName": WIRING.endpoint_name,
        "EndpointConfigName": get("Steps.EndpointConfig.EndpointConfigName"),
        "Tags": [],
    }


def test_autoscaling_lambda_runs_after_the_endpoint_with_the_capacity_parameters(steps):
    step = steps["ConfigureAutoscaling"]
    assert step["FunctionArn"] == WIRING.autoscaling_lambda_arn
    assert step["DependsOn"] == ["Endpoint"]
    assert step["Arguments"] == {
        "endpoint_name": WIRING.endpoint_name,
        "variant_name": "AllTraffic",
        "min_capacity": get("Parameters.EndpointMinCapacity"),
        "max_capacity": get("Parameters.EndpointMaxCapacity"),
        "target_invocations": get("Parameters.TargetInvocationsPerInstance"),
    }
    assert step["OutputParameters"] == [{"OutputName": "status", "OutputType": "String"}]


@over("build", "multiclass_build")
def test_autoscaling_inputs_with_parameter_defaults_are_accepted_by_the_handler(any_build):
    from pipelines.lambdas import endpoint_autoscaling

    spec, wiring = any_build.inputs
    defaults = {
        f"Parameters.{p['Name']}": p["DefaultValue"] for p in any_build.definition["Parameters"]
    }
    step = any_build.steps["ConfigureAutoscaling"]
    event = {
        name: defaults[value["Get"]] if isinstance(value, dict) else value
        for name, value in step["Arguments"].items()
    }
    request = endpoint_autoscaling.parse_request(event)
    assert request["endpoint_name"] == wiring.endpoint_name
    assert request["variant_name"] == "AllTraffic"
    assert (request["min_capacity"], request["max_capacity"]) == (
        spec.deployment.min_capacity,
        spec.deployment.max_capacity,
    )
    assert request["target_invocations"] == spec.deployment.target_invocations_per_instance

    class FakeAutoScaling:
        def register_scalable_target(self, **_: Any) -> None:
            return None

        def put_scaling_policy(self, **_: Any) -> dict[str, str]:
            return {"PolicyARN": "arn:aws:autoscaling:policy"}

    answer = endpoint_autoscaling.apply_scaling(FakeAutoScaling(), request)
    outputs = [output["OutputName"] for output in step["OutputParameters"]]
    assert set(outputs) <= set(answer)  # every declared output is a key of the answer


# -- retries, caching, encryption, locations ------------------------------------------------------


@pytest.mark.parametrize("name", JOB_STEPS)
def test_job_steps_retry_throttling_faults_and_capacity_errors(steps, name):
    exception_types = {
        exception
        for policy in steps[name]["RetryPolicies"]
        for exception in policy["ExceptionType"]
    }
    assert {"Step.THROTTLING", "Step.SERVICE_FAULT", "SageMaker.CAPACITY_ERROR"} <= (
        exception_types
    )
    assert all(policy["MaxAttempts"] >= 2 for policy in steps[name]["RetryPolicies"])


@pytest.mark.parametrize("name", JOB_STEPS)
def test_job_steps_cache_results_for_30_days(steps, name):
    assert steps[name]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}


@pytest.mark.parametrize("name", ["Preprocess", "Evaluate"])
def test_processing_outputs_and_volumes_are_encrypted_with_the_kms_key(steps, name):
    args = steps[name]["Arguments"]
    assert args["ProcessingOutputConfig"]["KmsKeyId"] == WIRING.kms_key_arn
    assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == WIRING.kms_key_arn


@over(*ALL_BUILDS)
def test_every_job_runs_as_the_execution_role(any_build: Build):
    jobs = [step for step in walk_steps(any_build.definition["Steps"]) if "RetryPolicies" in step]
    assert [step["Name"] for step in jobs] == [
        name for name in JOB_STEPS if name in any_build.steps
    ]
    for step in jobs:
        args = step["Arguments"]
        role = (
            args["TrainingJobDefinition"]["RoleArn"]
            if step["Type"] == "Tuning"
            else args["RoleArn"]
        )
        assert role == any_build.inputs.wiring.role_arn, step["Name"]


@over(*ALL_BUILDS)
def test_every_s3_location_is_an_input_asset_or_under_an_allowed_artifact_prefix(any_build):
    wiring = any_build.inputs.wiring
    allowed_prefixes = (
        f"s3://{wiring.artifact_bucket}/{wiring.artifact_prefix}/",
        f"s3://{wiring.artifact_bucket}/{wiring.capture_prefix}/{wiring.endpoint_name}/",
    )
    inputs = {
        wiring.default_input_uri,
        wiring.preprocess_code_uri,
        wiring.evaluate_code_uri,
        wiring.source_uri,
    }
    locations = [
        text for text in strings_and_joins(any_build.definition) if text.startswith("s3:/")
    ]
    assert locations
    outside = [
        location
        for location in locations
        if location not in inputs
        and not location.startswith(allowed_prefixes)
        and not location.startswith("s3://<")  # a step property, checked where it is made
    ]
    assert outside == []


@over(*ALL_BUILDS)
def test_nothing_local_timestamped_or_named_per_build_leaks_into_the_definition(any_build):
    for needle in ("/tmp", str(REPO), os.getcwd(), "sm_drivers", "sagemaker:project"):
        assert needle not in any_build.text, needle
    for step in walk_steps(any_build.definition["Steps"]):
        for name_field in ("ProcessingJobName", "TrainingJobName", "HyperParameterTuningJobName"):
            assert name_field not in step.get("Arguments", {}), (step["Name"], name_field)
        if step["Type"] == "Model":  # the SDK's random model-xxxx name is dropped too
            assert "ModelName" not in step["Arguments"]


def test_markers_pass_through_verbatim_for_the_cdk_side_to_replace(build: Build):
    for marker in (
        WIRING.role_arn,
        WIRING.artifact_bucket,
        WIRING.kms_key_arn,
        WIRING.autoscaling_lambda_arn,
        "data-bucket-marker",
    ):
        assert marker in build.text, marker


@over(*ALL_BUILDS)
def test_definition_is_compact_sorted_json_far_below_the_api_limit(any_build: Build):
    text = any_build.text
    assert text == json.dumps(any_build.definition, sort_keys=True, separators=(",", ":"))
    assert len(text.encode()) < 1_048_576 // 10


def test_each_model_s_definition_names_only_its_own_resources(multiclass_build: Build):
    _, wiring = MULTICLASS
    for name in (wiring.pipeline_name, WIRING.endpoint_name, WIRING.model_package_group):
        assert name not in multiclass_build.text
    assert f"/{WIRING.artifact_prefix}/" not in multiclass_build.text
    assert f"/{wiring.artifact_prefix}/" in multiclass_build.text
    assert wiring.endpoint_name in multiclass_build.text


# -- the spec and the wiring ----------------------------------------------------------------------

SHIPPED_SPEC = REPO / "models" / "breast-cancer"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tuning": {"max_jobs": 2, "max_parallel_jobs": 3}}, "tuning.max_parallel_jobs"),
        (
            {"training": {"max_runtime_seconds": 7200, "max_wait_seconds": 3600}},
            "training.max_wait_seconds",
        ),
        ({"deployment": {"min_capacity": 3, "max_capacity": 2}}, "deployment.min_capacity"),
    ],
)
def test_inconsistent_spec_values_are_one_line_spec_errors_naming_the_field(overrides, field):
    with pytest.raises(SpecError) as raised:
        load_model_spec(SHIPPED_SPEC, overrides)
    text = str(raised.value)
    assert text.startswith("models/breast-cancer/model.toml"), text
    assert field in text
    assert "\n" not in text


def test_spot_off_allows_max_wait_below_max_runtime():
    spec = load_model_spec(
        SHIPPED_SPEC,
        {"training": {"spot": False, "max_runtime_seconds": 7200, "max_wait_seconds": 3600}},
    )
    assert spec.training.spot is False


@pytest.mark.parametrize("prefix", ["/pipelines", "pipelines/", ""])
def test_an_artifact_prefix_with_slashes_at_the_ends_or_empty_is_rejected(prefix):
    with pytest.raises(ValueError, match="artifact_prefix"):
        dataclasses.replace(WIRING, artifact_prefix=prefix)


def test_target_invocations_per_instance_has_one_source_the_spec(definition):
    """There used to be two defaults for one setting (100 in the builder, 70 in the app
    settings). Now the spec's deployment section is the only one, and the app settings and
    the README no longer declare it."""
    parameters = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert parameters["TargetInvocationsPerInstance"] == 70
    assert DeploymentSpec().target_invocations_per_instance == 70
    assert SPEC.deployment.target_invocations_per_instance == 70  # the spec sets no value
    assert "target_invocations_per_instance" not in PipelineConfig.model_fields
    environments = json.loads((REPO / "cdk.json").read_text())["context"]["environments"]
    for name, environment in environments.items():
        assert "target_invocations_per_instance" not in environment.get("pipeline", {}), name
    assert "`pipeline.target_invocations_per_instance`" not in (REPO / "README.md").read_text()


def test_pipeline_config_has_only_the_environment_switches():
    assert set(PipelineConfig.model_fields) == {"approval_status", "data_capture"}


def test_wiring_keeps_the_agreed_api():
    fields = {field.name: field for field in dataclasses.fields(PipelineWiring)}
    required = [name for name, field in fields.items() if field.default is dataclasses.MISSING]
    assert required == [
        "pipeline_name",
        "region",
        "role_arn",
        "artifact_bucket",
        "artifact_prefix",
        "kms_key_arn",
        "default_input_uri",
        "preprocess_code_uri",
        "evaluate_code_uri",
        "source_uri",
        "model_package_group",
        "autoscaling_lambda_arn",
        "endpoint_name",
        "capture_prefix",
        "approval_status",
        "data_capture",
    ]
    assert WIRING.experiment_tracking is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        WIRING.region = "eu-west-1"  # type: ignore[misc]


def test_specs_are_frozen():
    with pytest.raises(ValueError, match="frozen"):
        SPEC.training.spot = False


# -- offline, side effects, determinism, import hygiene ------------------------------------------


@over(*ALL_BUILDS)
def test_build_makes_no_network_or_aws_call(any_build: Build):
    assert any_build.attempts == []


@over("build", "multiclass_build")
def test_build_restores_environment_logging_and_sdk_patches(any_build: Build):
    assert any_build.env_after == any_build.env_before
    assert any_build.logging_after == any_build.logging_before
    from sagemaker.core import _studio
    from sagemaker.core.config import config as config_module
    from sagemaker.core.config.config_manager import SageMakerConfig
    from sagemaker.core.helper import session_helper

    assert _studio._find_config.__module__ == "sagemaker.core._studio"
    assert config_module.validate_sagemaker_config.__module__ == "sagemaker.core.config.config"
    assert session_helper.validate_sagemaker_config is config_module.validate_sagemaker_config
    validator = SageMakerConfig.__dict__["validate_sagemaker_config"].__func__
    assert validator.__module__ == "sagemaker.core.config.config_manager"


def test_warm_build_is_identical_and_emits_no_sdk_log_records_or_warnings(build: Build, caplog):
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = build_definition(*EXAMPLE)
    assert text == build.text
    sdk_records = [r for r in caplog.records if r.name.split(".")[0] == "sagemaker"]
    assert [record.getMessage() for record in sdk_records] == []
    assert [str(warning.message) for warning in caught] == []


@pytest.mark.parametrize("inputs", [EXAMPLE, MULTICLASS], ids=["example", "multiclass"])
def test_inputs_survive_the_json_round_trip_of_the_fresh_builds(inputs):
    """The fresh processes rebuild from JSON: equal inputs there mean the same definition."""
    copied = json.loads(inputs_json(inputs))
    spec, wiring = ModelSpec(**copied["spec"]), PipelineWiring(**copied["wiring"])
    assert (spec, wiring) == inputs
    assert spec.fingerprint() == inputs.spec.fingerprint()


def test_fresh_processes_build_identical_bytes_offline_silently_without_credentials(
    build: Build, fresh_builds: list[FreshBuild]
):
    outputs = []
    for fresh in fresh_builds:
        stdout, stderr = fresh.process.communicate(timeout=180)
        assert fresh.process.returncode == 0, (fresh.description, stderr.decode())
        assert stderr == b"", fresh.description
        assert not fresh.credential_process_marker.exists(), fresh.description
        outputs.append(stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] == build.text.encode()


DEFINITION_MODULES = sorted(path.stem for path in (REPO / "pipelines/definition").glob("*.py"))

IMPORT_ONLY = """
import importlib, json, logging, os, sys
env = dict(os.environ)
handlers = list(logging.getLogger().handlers)
import pipelines.definition, pipelines.mermaid
for name in sys.argv[1:]:
    importlib.import_module(f"pipelines.definition.{name}")
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"sagemaker", "boto3", "botocore", "aws_cdk", "jsii"}
)
print(json.dumps({"heavy": heavy, "env_changed": dict(os.environ) != env,
                  "logging_changed": logging.getLogger().handlers != handlers}))
"""


def test_importing_the_package_imports_no_sdk_and_changes_nothing():
    assert "builder" in DEFINITION_MODULES
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY, *DEFINITION_MODULES],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == {
        "heavy": [],
        "env_changed": False,
        "logging_changed": False,
    }


@pytest.mark.parametrize(
    "module", [f"definition/{name}.py" for name in DEFINITION_MODULES] + ["mermaid.py"]
)
def test_pipeline_modules_never_import_aws_cdk_and_import_sagemaker_only_lazily(module):
    tree = ast.parse((REPO / "pipelines" / module).read_text())
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [(alias.name, node.col_offset) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append((node.module, node.col_offset))
    assert imported
    roots = {name.split(".")[0] for name, _ in imported}
    assert not roots & {"aws_cdk", "constructs", "cdk_nag", "jsii", "infra"}
    top_level = {name.split(".")[0] for name, offset in imported if offset == 0}
    assert not top_level & {"sagemaker", "boto3", "botocore"}


def test_the_old_single_module_and_cache_module_are_gone():
    assert not (REPO / "pipelines/definition.py").exists()
    assert not (REPO / "pipelines/definition_cache.py").exists()
    assert Path(contract.__file__).parent == REPO / "pipelines/definition"


def test_a_builtin_algorithm_is_tuned_and_gated_on_its_own_objective(
    builtin_build: Build,
) -> None:
    steps = builtin_build.steps
    assert [step["Name"] for step in builtin_build.definition["Steps"]] == [
        "Preprocess",
        "Tune",
        "QualityGate",
    ]
    tune = steps["Tune"]["Arguments"]
    job = tune["TrainingJobDefinition"]
    # The algorithm's own image and metrics: no script, no metric definitions to send.
    assert job["AlgorithmSpecification"]["TrainingImage"].endswith("/linear-learner:1")
    assert "MetricDefinitions" not in job["AlgorithmSpecification"]
    assert "sagemaker_program" not in job["StaticHyperParameters"]
    assert job["StaticHyperParameters"]["predictor_type"] == "binary_classifier"
    assert tune["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"] == {
        "MetricName": "validation:binary_classification_accuracy",
        "Type": "Maximize",
    }
    (condition,) = steps["QualityGate"]["Arguments"]["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["LeftValue"] == {
        "Get": "Steps.Tune.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value"
    }
    # No evaluator, so no naive predictor: the threshold alone, as before.
    assert render(steps["QualityTooLow"]["Arguments"]["ErrorMessage"]) == (
        "Model validation:binary_classification_accuracy "
        "<Steps.Tune.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value> "
        "is below the quality threshold <Parameters.QualityThreshold>"
    )
    # Registered and served by the same image, with no evaluation report to attach.
    register = steps["RegisterModel"]["Arguments"]
    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["Image"] == job["AlgorithmSpecification"]["TrainingImage"]
    assert "ModelMetrics" not in register


def test_a_script_mode_build_refuses_wiring_without_its_source_or_evaluator() -> None:
    wiring = dataclasses.replace(WIRING, source_uri=None)
    with pytest.raises(ValueError, match="script mode needs the wiring's source and evaluator"):
        build_definition(EXAMPLE.spec, wiring)
