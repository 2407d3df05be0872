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
import time
import warnings
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from pipelines.definition import PipelineSettings, build_definition
from pipelines.steps import evaluate, preprocess, train
from tests.pipeline.conftest import EXAMPLE, REPO, VARIANT, Build, FreshBuild, walk_steps

EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}
RUN_PREFIX = f"s3://{EXAMPLE.artifact_bucket}/{EXAMPLE.artifact_prefix}"

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


def get(reference: str) -> dict[str, str]:
    return {"Get": reference}


def run_join(*parts: str) -> dict[str, Any]:
    """The definition's s3://<bucket>/<prefix>/<execution id>/<parts> expression."""
    return {"Std:Join": {"On": "/", "Values": [RUN_PREFIX, EXECUTION_ID, *parts]}}


def split_output(split: str) -> dict[str, str]:
    return get(f"Steps.Preprocess.ProcessingOutputConfig.Outputs['{split}'].S3Output.S3Uri")


def auc_json_get() -> dict[str, Any]:
    return {
        "Std:JsonGet": {
            "Path": "binary_classification_metrics.auc.value",
            "PropertyFile": get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
        }
    }


def selected_model_json_get() -> dict[str, Any]:
    return {
        "Std:JsonGet": {
            "Path": "selected_model.s3_uri",
            "PropertyFile": get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
        }
    }


TUNED_MODEL_URI = {
    "Std:Join": {
        "On": "/",
        "Values": [
            "s3:/",
            EXAMPLE.artifact_bucket,
            f"{EXAMPLE.artifact_prefix}/models",
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


def argument_pairs(arguments: list[Any]) -> dict[str, Any]:
    return dict(zip(arguments[::2], arguments[1::2], strict=True))


def concrete_argv(arguments: list[Any]) -> list[str]:
    """Container arguments with expressions replaced by a recognisable string."""
    return [value if isinstance(value, str) else render(value) for value in arguments]


# -- structure ----------------------------------------------------------------------------------


def test_every_step_has_the_expected_name_and_type_nested_ones_included(definition):
    found = {step["Name"]: step["Type"] for step in walk_steps(definition["Steps"])}
    assert found == EXPECTED_TYPES
    assert len(walk_steps(definition["Steps"])) == len(EXPECTED_TYPES)  # names are unique


def test_top_level_steps_are_the_jobs_then_the_quality_gate(definition):
    assert [step["Name"] for step in definition["Steps"]] == [*JOB_STEPS, "QualityGate"]


def test_definition_is_a_2020_12_01_pipeline_without_experiment_or_mlflow_config(definition):
    assert definition["Version"] == "2020-12-01"
    assert definition["PipelineExperimentConfig"] is None
    assert definition["MlflowConfig"] is None


def test_parameters_have_names_types_and_defaults_from_the_settings(definition):
    parameters = {p["Name"]: (p["Type"], p["DefaultValue"]) for p in definition["Parameters"]}
    assert parameters == {
        "InputDataUri": ("String", EXAMPLE.default_input_uri),
        "ProcessingInstanceType": ("String", EXAMPLE.processing_instance_type),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", EXAMPLE.training_instance_type),
        "QualityThreshold": ("Float", EXAMPLE.default_quality_threshold),
        "ModelApprovalStatus": ("String", EXAMPLE.default_approval_status),
        "EndpointInstanceType": ("String", EXAMPLE.endpoint_instance_type),
        "EndpointMinCapacity": ("Integer", EXAMPLE.endpoint_min_capacity),
        "EndpointMaxCapacity": ("Integer", EXAMPLE.endpoint_max_capacity),
        "TargetInvocationsPerInstance": ("Integer", EXAMPLE.target_invocations_per_instance),
    }
    approval = next(p for p in definition["Parameters"] if p["Name"] == "ModelApprovalStatus")
    assert approval["EnumValues"] == ["Approved", "Rejected", "PendingManualApproval"]


def test_every_parameter_reference_names_a_declared_parameter(definition):
    declared = {p["Name"] for p in definition["Parameters"]}
    referenced = {
        reference.removeprefix("Parameters.")
        for reference in find(definition["Steps"], "Get")
        if reference.startswith("Parameters.")
    }
    assert referenced == declared  # every parameter is used, none is misspelt


def test_every_step_reference_names_an_earlier_step(definition):
    order = [step["Name"] for step in walk_steps(definition["Steps"])]
    for step in walk_steps(definition["Steps"]):
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


# -- preprocess ---------------------------------------------------------------------------------


def test_preprocess_runs_the_code_asset_with_python3_in_the_sklearn_image(steps):
    args = steps["Preprocess"]["Arguments"]
    image = args["AppSpecification"]["ImageUri"]
    assert image.endswith(f"/sagemaker-scikit-learn:{EXAMPLE.sklearn_version}-cpu-py3")
    code_name = PurePosixPath(EXAMPLE.preprocess_code_uri).name
    assert args["AppSpecification"]["ContainerEntrypoint"] == [
        "python3",
        f"/opt/ml/processing/input/code/{code_name}",
    ]
    code = next(i for i in args["ProcessingInputs"] if i["InputName"] == "code")
    assert code["S3Input"]["S3Uri"] == EXAMPLE.preprocess_code_uri


def test_preprocess_reads_the_input_parameter_and_writes_splits_under_the_execution(steps):
    args = steps["Preprocess"]["Arguments"]
    raw = next(i for i in args["ProcessingInputs"] if i["InputName"] == "raw")["S3Input"]
    assert raw["S3Uri"] == get("Parameters.InputDataUri")
    assert raw["LocalPath"] == "/opt/ml/processing/input"
    outputs = {o["OutputName"]: o["S3Output"] for o in args["ProcessingOutputConfig"]["Outputs"]}
    assert set(outputs) == {"train", "validation", "test"}
    for split, output in outputs.items():
        assert output["LocalPath"] == f"/opt/ml/processing/output/{split}"
        assert output["S3Uri"] == run_join(split)


def test_preprocess_arguments_are_accepted_by_the_script_and_match_the_mounts(steps):
    args = steps["Preprocess"]["Arguments"]
    container_args = args["AppSpecification"]["ContainerArguments"]
    assert container_args == [
        "--input-dir",
        "/opt/ml/processing/input",
        "--output-dir",
        "/opt/ml/processing/output",
    ]
    parsed = preprocess.parse_args(container_args)
    raw = next(i for i in args["ProcessingInputs"] if i["InputName"] == "raw")["S3Input"]
    assert str(parsed.input_dir) == raw["LocalPath"]
    for output in args["ProcessingOutputConfig"]["Outputs"]:
        # preprocess.py writes <output-dir>/<split>/<split>.csv
        assert output["S3Output"]["LocalPath"] == str(parsed.output_dir / output["OutputName"])


def test_processing_instance_type_and_count_come_from_parameters(steps):
    cluster = steps["Preprocess"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == get("Parameters.ProcessingInstanceType")
    assert cluster["InstanceCount"] == get("Parameters.ProcessingInstanceCount")
    evaluate_cluster = steps["Evaluate"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert evaluate_cluster["InstanceType"] == get("Parameters.ProcessingInstanceType")


# -- training and tuning --------------------------------------------------------------------------


def test_training_channels_read_the_preprocess_outputs(steps):
    for name, args in (
        ("TrainBaseline", steps["TrainBaseline"]["Arguments"]),
        ("Tune", steps["Tune"]["Arguments"]["TrainingJobDefinition"]),
    ):
        channels = {c["ChannelName"]: c for c in args["InputDataConfig"]}
        assert set(channels) == {"train", "validation"}, name
        for channel_name, channel in channels.items():
            assert channel["DataSource"]["S3DataSource"]["S3Uri"] == split_output(channel_name)
            assert channel["ContentType"] == "text/csv"


def test_training_runs_train_py_from_the_source_tarball_in_the_xgboost_image(steps):
    args = steps["TrainBaseline"]["Arguments"]
    image = args["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith(f"/sagemaker-xgboost:{EXAMPLE.xgboost_version}")
    hyperparameters = args["HyperParameters"]
    assert hyperparameters["sagemaker_program"] == "train.py"
    assert hyperparameters["sagemaker_submit_directory"] == EXAMPLE.training_source_uri
    assert (REPO / "pipelines/steps" / hyperparameters["sagemaker_program"]).is_file()
    assert args["InputDataConfig"][0]["InputMode"] == "File"


def test_training_hyperparameters_are_strings_that_train_py_accepts(steps, capsys):
    hyperparameters = steps["TrainBaseline"]["Arguments"]["HyperParameters"]
    assert all(isinstance(value, str) for value in hyperparameters.values())
    model_hyperparameters = {
        name: value for name, value in hyperparameters.items() if not name.startswith("sagemaker_")
    }
    argv = [item for name, value in model_hyperparameters.items() for item in (f"--{name}", value)]
    parsed = vars(train.parse_args(argv))
    assert "ignoring unknown argument" not in capsys.readouterr().err
    for name, value in model_hyperparameters.items():
        assert parsed[name] == type(parsed[name])(value), name


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
        "min_child_weight": ("1", "10"),
        "subsample": ("0.5", "1.0"),
        "num_round": ("50", "300"),
    }
    assert {r["Name"] for r in ranges["IntegerParameterRanges"]} == {"max_depth", "num_round"}
    static = steps["Tune"]["Arguments"]["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["sagemaker_program"] == "train.py"
    assert static["sagemaker_submit_directory"] == EXAMPLE.training_source_uri
    assert not set(static) & set(tuned)  # a tuned hyperparameter is never also fixed
    argv = []
    for name, (low, _) in tuned.items():
        argv += [f"--{name}", low]
    for name, value in static.items():
        if not name.startswith("sagemaker_"):
            argv += [f"--{name}", value]
    train.parse_args(argv)
    assert "ignoring unknown argument" not in capsys.readouterr().err


def test_objective_metric_regex_matches_what_train_py_prints(steps):
    definitions = steps["TrainBaseline"]["Arguments"]["AlgorithmSpecification"]["MetricDefinitions"]
    assert definitions == [{"Name": "validation:auc", "Regex": r"validation-auc:([0-9\.]+)"}]
    tune = steps["Tune"]["Arguments"]
    spec = tune["TrainingJobDefinition"]["AlgorithmSpecification"]
    assert spec["MetricDefinitions"] == definitions
    objective = tune["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    assert objective == {"MetricName": "validation:auc", "Type": "Maximize"}
    # train.py's final line, and one of its per-round lines (which must not match).
    assert (
        'print(f"validation-auc:{result.validation_auc:.6f}")'
        in (REPO / "pipelines/steps/train.py").read_text()
    )
    final = re.search(definitions[0]["Regex"], "validation-auc:0.973100")
    assert final is not None
    assert final.group(1) == "0.973100"
    assert re.search(definitions[0]["Regex"], "[round 10] train-auc=0.9 validation-auc=0.8") is None


def test_tuning_is_bayesian_with_auto_early_stopping_and_limits_from_settings(steps):
    config = steps["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": EXAMPLE.tuning_max_jobs,
        "MaxParallelTrainingJobs": EXAMPLE.tuning_max_parallel_jobs,
    }


def test_training_uses_managed_spot_with_checkpoints_under_the_execution(steps):
    args = steps["TrainBaseline"]["Arguments"]
    assert args["EnableManagedSpotTraining"] is True
    assert args["StoppingCondition"] == {
        "MaxRuntimeInSeconds": EXAMPLE.max_runtime_seconds,
        "MaxWaitTimeInSeconds": EXAMPLE.max_wait_seconds,
    }
    assert args["CheckpointConfig"] == {
        "LocalPath": "/opt/ml/checkpoints",
        "S3Uri": run_join("checkpoints/"),
    }
    assert args["ResourceConfig"]["InstanceType"] == get("Parameters.TrainingInstanceType")


def test_tuning_jobs_use_spot_but_share_no_checkpoint_prefix(steps):
    # train.py resumes from any checkpoint it finds; parallel tuning jobs sharing one prefix
    # would resume from each other's boosters, so the tuner runs without checkpoints.
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == steps["TrainBaseline"]["Arguments"]["StoppingCondition"]
    assert "CheckpointConfig" not in job


def test_switching_spot_off_drops_spot_and_max_wait(variant_build: Build):
    variant = {step["Name"]: step for step in walk_steps(variant_build.definition["Steps"])}
    for args in (
        variant["TrainBaseline"]["Arguments"],
        variant["Tune"]["Arguments"]["TrainingJobDefinition"],
    ):
        assert args.get("EnableManagedSpotTraining") in (False, None)
        assert args["StoppingCondition"] == {"MaxRuntimeInSeconds": VARIANT.max_runtime_seconds}


def test_models_are_written_under_the_artifact_prefix_with_the_kms_key(steps):
    expected = f"s3://{EXAMPLE.artifact_bucket}/{EXAMPLE.artifact_prefix}/models"
    for args in (
        steps["TrainBaseline"]["Arguments"],
        steps["Tune"]["Arguments"]["TrainingJobDefinition"],
    ):
        assert args["OutputDataConfig"]["S3OutputPath"] == expected
        assert args["OutputDataConfig"]["KmsKeyId"] == EXAMPLE.kms_key_arn
        assert args["ResourceConfig"]["VolumeKmsKeyId"] == EXAMPLE.kms_key_arn


# -- evaluation and gates -------------------------------------------------------------------------


def test_evaluate_reads_the_test_split_and_both_candidate_models(steps):
    inputs = {
        i["InputName"]: i["S3Input"] for i in steps["Evaluate"]["Arguments"]["ProcessingInputs"]
    }
    assert inputs["test"]["S3Uri"] == split_output("test")
    assert inputs["baseline"]["S3Uri"] == BASELINE_MODEL_URI
    assert inputs["tuned"]["S3Uri"] == TUNED_MODEL_URI
    assert inputs["code"]["S3Uri"] == EXAMPLE.evaluate_code_uri
    assert inputs["baseline"]["LocalPath"] == "/opt/ml/processing/model/baseline"
    assert inputs["tuned"]["LocalPath"] == "/opt/ml/processing/model/tuned"


def test_tuned_model_uri_is_the_tuner_output_path_of_the_best_job(steps):
    # get_top_model_s3_uri only joins strings: it must equal <S3OutputPath>/<job>/output/...
    output_path = steps["Tune"]["Arguments"]["TrainingJobDefinition"]["OutputDataConfig"][
        "S3OutputPath"
    ]
    assert render(TUNED_MODEL_URI) == (
        f"{output_path}/<Steps.Tune.TrainingJobSummaries[0].TrainingJobName>/output/model.tar.gz"
    )


def test_evaluate_runs_python3_in_the_xgboost_image_with_arguments_the_script_accepts(steps):
    args = steps["Evaluate"]["Arguments"]
    app = args["AppSpecification"]
    assert app["ImageUri"].endswith(f"/sagemaker-xgboost:{EXAMPLE.xgboost_version}")
    assert app["ContainerEntrypoint"][0] == "python3"
    pairs = argument_pairs(app["ContainerArguments"])
    assert pairs["--baseline-model-uri"] == BASELINE_MODEL_URI
    assert pairs["--tuned-model-uri"] == TUNED_MODEL_URI
    parsed = evaluate.parse_args(concrete_argv(app["ContainerArguments"]))
    inputs = {i["InputName"]: i["S3Input"]["LocalPath"] for i in args["ProcessingInputs"]}
    assert str(parsed.test_dir) == inputs["test"]
    assert str(parsed.baseline_model_dir) == inputs["baseline"]
    assert str(parsed.tuned_model_dir) == inputs["tuned"]
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "evaluation"
    assert str(parsed.output_dir) == output["S3Output"]["LocalPath"]
    assert output["S3Output"]["S3Uri"] == run_join("evaluation")


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


def test_json_paths_read_by_the_pipeline_exist_in_a_real_evaluate_report(tmp_path, build: Build):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3)).astype(np.float32)
    labels = (features[:, 0] > 0).astype(np.int64)
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(features, label=labels), 2)
    model_file = tmp_path / evaluate.MODEL_FILE_NAME
    model_file.write_bytes(bytes(booster.save_raw(raw_format="json")))  # as train.py writes it
    dirs, uris = {}, {}
    for name in evaluate.CANDIDATES:
        directory = tmp_path / name
        directory.mkdir()
        with tarfile.open(directory / "model.tar.gz", "w:gz") as tar:
            tar.add(model_file, arcname=evaluate.MODEL_FILE_NAME)
        dirs[name], uris[name] = directory, f"s3://bucket/{name}/model.tar.gz"
    report = evaluate.evaluate(evaluate.Dataset(features, labels), dirs, uris)
    paths = {json_get["Path"] for json_get in find(build.definition, "Std:JsonGet")}
    assert paths == {"binary_classification_metrics.auc.value", "selected_model.s3_uri"}
    assert isinstance(_json_path(report, "binary_classification_metrics.auc.value"), float)
    assert _json_path(report, "selected_model.s3_uri") in uris.values()


def test_quality_gate_compares_the_reported_auc_with_the_threshold_parameter(steps):
    (condition,) = steps["QualityGate"]["Arguments"]["Conditions"]
    assert condition == {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": auc_json_get(),
        "RightValue": get("Parameters.QualityThreshold"),
    }


def test_failing_the_gate_fails_with_a_message_naming_auc_and_threshold(steps):
    else_steps = steps["QualityGate"]["Arguments"]["ElseSteps"]
    assert [step["Name"] for step in else_steps] == ["QualityTooLow"]
    message = else_steps[0]["Arguments"]["ErrorMessage"]["Std:Join"]
    assert auc_json_get() in message["Values"]
    assert get("Parameters.QualityThreshold") in message["Values"]
    assert "AUC" in render(else_steps[0]["Arguments"]["ErrorMessage"])


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
    assert args["ModelPackageGroupName"] == EXAMPLE.model_package_group
    assert args["ModelApprovalStatus"] == get("Parameters.ModelApprovalStatus")
    (container,) = args["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == selected_model_json_get()
    assert container["Image"].endswith(f"/sagemaker-xgboost:{EXAMPLE.xgboost_version}")
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


def test_registered_and_deployed_models_serve_inference_py_from_the_source_tarball(steps):
    containers = [
        steps["RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"][0],
        steps["CreateModel"]["Arguments"]["PrimaryContainer"],
    ]
    for container in containers:
        assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == (
            EXAMPLE.training_source_uri
        )
        assert container["ModelDataUrl"] == selected_model_json_get()
        assert container["Image"] == containers[0]["Image"]
    assert (REPO / "pipelines/steps/inference.py").is_file()
    assert steps["CreateModel"]["Arguments"]["ExecutionRoleArn"] == EXAMPLE.role_arn


def test_endpoint_config_serves_the_created_model_with_the_kms_key(steps):
    args = steps["EndpointConfig"]["Arguments"]
    assert args["KmsKeyId"] == EXAMPLE.kms_key_arn
    assert args["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": get("Steps.CreateModel.ModelName"),
            "InstanceType": get("Parameters.EndpointInstanceType"),
            "InitialInstanceCount": get("Parameters.EndpointMinCapacity"),
        }
    ]
    assert "DataCaptureConfig" not in args  # off by default


def test_data_capture_writes_to_the_endpoint_prefix_with_the_kms_key(variant_build: Build):
    variant = {step["Name"]: step for step in walk_steps(variant_build.definition["Steps"])}
    capture = variant["EndpointConfig"]["Arguments"]["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["DestinationS3Uri"].startswith(
        f"s3://{VARIANT.artifact_bucket}/{VARIANT.endpoint_prefix}/{VARIANT.endpoint_name}/"
    )
    assert capture["KmsKeyId"] == VARIANT.kms_key_arn
    assert capture["InitialSamplingPercentage"] == VARIANT.data_capture_sampling_percentage
    assert {option["CaptureMode"] for option in capture["CaptureOptions"]} == {"Input", "Output"}


def test_endpoint_uses_the_configured_name_and_the_config_steps_output(steps):
    assert steps["Endpoint"]["Arguments"] == {
        "EndpointName": EXAMPLE.endpoint_name,
        "EndpointConfigName": get("Steps.EndpointConfig.EndpointConfigName"),
        "Tags": [],
    }


def test_autoscaling_lambda_runs_after_the_endpoint_with_the_capacity_parameters(steps):
    step = steps["ConfigureAutoscaling"]
    assert step["FunctionArn"] == EXAMPLE.autoscaling_lambda_arn
    assert step["DependsOn"] == ["Endpoint"]
    assert step["Arguments"] == {
        "endpoint_name": EXAMPLE.endpoint_name,
        "variant_name": "AllTraffic",
        "min_capacity": get("Parameters.EndpointMinCapacity"),
        "max_capacity": get("Parameters.EndpointMaxCapacity"),
        "target_invocations": get("Parameters.TargetInvocationsPerInstance"),
    }
    assert step["OutputParameters"] == [{"OutputName": "status", "OutputType": "String"}]


def test_autoscaling_inputs_with_parameter_defaults_are_accepted_by_the_handler(definition, steps):
    from pipelines.lambdas import endpoint_autoscaling

    defaults = {f"Parameters.{p['Name']}": p["DefaultValue"] for p in definition["Parameters"]}
    event = {
        name: defaults[value["Get"]] if isinstance(value, dict) else value
        for name, value in steps["ConfigureAutoscaling"]["Arguments"].items()
    }
    request = endpoint_autoscaling.parse_request(event)
    assert request["endpoint_name"] == EXAMPLE.endpoint_name
    assert request["variant_name"] == "AllTraffic"
    assert (request["min_capacity"], request["max_capacity"]) == (
        EXAMPLE.endpoint_min_capacity,
        EXAMPLE.endpoint_max_capacity,
    )
    assert request["target_invocations"] == EXAMPLE.target_invocations_per_instance

    class FakeAutoScaling:
        def register_scalable_target(self, **_: Any) -> None:
            return None

        def put_scaling_policy(self, **_: Any) -> dict[str, str]:
            return {"PolicyARN": "arn:aws:autoscaling:policy"}

    answer = endpoint_autoscaling.apply_scaling(FakeAutoScaling(), request)
    outputs = [output["OutputName"] for output in steps["ConfigureAutoscaling"]["OutputParameters"]]
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
    assert args["ProcessingOutputConfig"]["KmsKeyId"] == EXAMPLE.kms_key_arn
    assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == EXAMPLE.kms_key_arn


def test_every_job_runs_as_the_execution_role(steps):
    for name in JOB_STEPS:
        args = steps[name]["Arguments"]
        role = args["TrainingJobDefinition"]["RoleArn"] if name == "Tune" else args["RoleArn"]
        assert role == EXAMPLE.role_arn, name


def test_every_s3_location_is_an_input_asset_or_under_an_allowed_artifact_prefix(definition):
    allowed_prefixes = (
        f"s3://{EXAMPLE.artifact_bucket}/{EXAMPLE.artifact_prefix}/",
        f"s3://{EXAMPLE.artifact_bucket}/{EXAMPLE.endpoint_prefix}/",
    )
    inputs = {
        EXAMPLE.default_input_uri,
        EXAMPLE.preprocess_code_uri,
        EXAMPLE.evaluate_code_uri,
        EXAMPLE.training_source_uri,
    }
    locations = [text for text in strings_and_joins(definition) if text.startswith("s3:/")]
    assert locations
    outside = [
        location
        for location in locations
        if location not in inputs
        and not location.startswith(allowed_prefixes)
        and not location.startswith("s3://<")  # a step property, checked where it is made
    ]
    assert outside == []


def test_nothing_local_timestamped_or_named_per_build_leaks_into_the_definition(build: Build):
    for needle in ("/tmp", str(REPO), os.getcwd(), "sm_drivers", "sagemaker:project"):
        assert needle not in build.text, needle
    for step in walk_steps(build.definition["Steps"]):
        for name_field in ("ProcessingJobName", "TrainingJobName", "HyperParameterTuningJobName"):
            assert name_field not in step.get("Arguments", {}), (step["Name"], name_field)
        if step["Type"] == "Model":  # the SDK's random model-xxxx name is dropped too
            assert "ModelName" not in step["Arguments"]


def test_markers_pass_through_verbatim_for_the_cdk_side_to_replace(build: Build):
    for marker in (
        EXAMPLE.role_arn,
        EXAMPLE.artifact_bucket,
        EXAMPLE.kms_key_arn,
        EXAMPLE.autoscaling_lambda_arn,
        "data-bucket-marker",
    ):
        assert marker in build.text, marker


def test_definition_is_compact_sorted_json_far_below_the_api_limit(build: Build):
    assert build.text == json.dumps(build.definition, sort_keys=True, separators=(",", ":"))
    assert len(build.text.encode()) < 1_048_576 // 10


# -- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tuning_max_jobs": 2, "tuning_max_parallel_jobs": 3}, "tuning_max_parallel_jobs"),
        ({"max_runtime_seconds": 7200, "max_wait_seconds": 3600}, "max_wait_seconds"),
        ({"artifact_prefix": "/pipelines"}, "artifact_prefix"),
        ({"artifact_prefix": ""}, "artifact_prefix"),
    ],
)
def test_inconsistent_settings_are_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(EXAMPLE, **changes)


# -- offline, side effects, determinism, import hygiene ------------------------------------------


def test_build_makes_no_network_or_aws_call(build: Build, variant_build: Build):
    assert build.attempts == []
    assert variant_build.attempts == []


def test_build_restores_environment_logging_and_sdk_patches(build: Build):
    assert build.env_after == build.env_before
    assert build.logging_after == build.logging_before
    from sagemaker.core import _studio
    from sagemaker.core.config import config as config_module
    from sagemaker.core.config.config_manager import SageMakerConfig
    from sagemaker.core.helper import session_helper

    assert _studio._find_config.__module__ == "sagemaker.core._studio"
    assert config_module.validate_sagemaker_config.__module__ == "sagemaker.core.config.config"
    assert session_helper.validate_sagemaker_config is config_module.validate_sagemaker_config
    validator = SageMakerConfig.__dict__["validate_sagemaker_config"].__func__
    assert validator.__module__ == "sagemaker.core.config.config_manager"


def test_warm_build_is_fast_and_emits_no_sdk_log_records_or_warnings(build: Build, caplog):
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        text = build_definition(EXAMPLE)
        seconds = time.perf_counter() - start
    assert text == build.text
    sdk_records = [r for r in caplog.records if r.name.split(".")[0] == "sagemaker"]
    assert [record.getMessage() for record in sdk_records] == []
    assert [str(warning.message) for warning in caught] == []
    assert seconds < 10


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


IMPORT_ONLY = """
import json, logging, os, sys
env = dict(os.environ)
handlers = list(logging.getLogger().handlers)
import pipelines.definition, pipelines.mermaid
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"sagemaker", "boto3", "botocore", "aws_cdk", "jsii"}
)
print(json.dumps({"heavy": heavy, "env_changed": dict(os.environ) != env,
                  "logging_changed": logging.getLogger().handlers != handlers}))
"""


def test_importing_the_module_imports_no_sdk_and_changes_nothing():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY],
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


@pytest.mark.parametrize("module", ["definition.py", "mermaid.py"])
def test_pipeline_modules_never_import_aws_cdk_and_import_sagemaker_only_lazily(module):
    tree = ast.parse((REPO / "pipelines" / module).read_text())
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [(alias.name, node.col_offset) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append((node.module, node.col_offset))
    roots = {name.split(".")[0] for name, _ in imported}
    assert not roots & {"aws_cdk", "constructs", "cdk_nag", "jsii"}
    top_level = {name.split(".")[0] for name, offset in imported if offset == 0}
    assert not top_level & {"sagemaker", "boto3", "botocore"}


def test_settings_keep_the_agreed_api():
    fields = {field.name: field for field in dataclasses.fields(PipelineSettings)}
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
        "training_source_uri",
        "model_package_group",
        "autoscaling_lambda_arn",
        "endpoint_name",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        EXAMPLE.region = "eu-west-1"  # type: ignore[misc]
