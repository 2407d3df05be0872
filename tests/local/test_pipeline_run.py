"""The project's own pipeline, synthesized with a 2-job tuning budget and run locally: the
approved path end to end, then the Fail branch, the not-approved branch and the step cache on
copies of that run's directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.definition.contract import METRIC_GROUPS
from pipelines.definition.spec import load_model_spec
from pipelines.local.objectstore import ObjectStore
from pipelines.local.registry import versions
from pipelines.project import MODELS_DIR
from tests.local.conftest import BUILTIN_MODELS, LOCAL_MODELS, SAMPLE_MODEL, BaseRun
from tests.local.support import CliRun, copy_run_dir, run_cli

GROUP = "mlops-dev-breast-cancer-models"
JOB_STEPS = ("Preprocess", "TrainBaseline", "Tune", "Evaluate")
DEPLOY_STEPS = ("CreateModel", "EndpointConfig", "Endpoint", "ConfigureAutoscaling")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def rerun(
    base_run: BaseRun, tmp_path: Path, *params: str, run_dir: Path | None = None
) -> tuple[CliRun, Path]:
    """The sample model again, on a copy of the base run's directory (or on ``run_dir``)."""
    run_dir = run_dir or copy_run_dir(base_run.run_dir, tmp_path / "run")
    arguments = [item for param in params for item in ("--param", param)]
    result = run_cli(
        "run",
        "--assembly",
        base_run.assembly,
        "--run-dir",
        run_dir,
        "--model",
        SAMPLE_MODEL,
        *arguments,
    )
    return result, run_dir


def report(result: CliRun) -> dict[str, Any]:
    files: dict[str, Any] = result.step("Evaluate")["property_files"]
    return dict(files["EvaluationReport"])


def test_every_step_on_the_approved_path_succeeds(base_run: BaseRun) -> None:
    statuses = base_run.result.statuses()
    assert statuses.pop("QualityTooLow") == "Skipped"
    assert set(statuses.values()) == {"Succeeded"}, statuses
    assert base_run.result.summary["status"] == "Succeeded"
    for step in JOB_STEPS:
        assert f"{step:<22} started" in base_run.result.out
        assert f"{step:<22} succeeded in" in base_run.result.out


def test_summary_json_is_written_where_it_says(base_run: BaseRun) -> None:
    summary = base_run.result.summary
    path = base_run.result.summary_path
    assert path == base_run.run_dir / "executions" / summary["execution_id"] / "summary.json"
    assert summary["parameters"]["ModelApprovalStatus"] == "Approved"
    assert [step["name"] for step in summary["steps"]][:4] == list(JOB_STEPS)
    assert all(step["duration_seconds"] is not None for step in summary["steps"][:4])


def test_tuning_honours_the_budget_and_writes_models_where_the_definition_reads(
    base_run: BaseRun,
) -> None:
    tune = base_run.result.step("Tune")["outputs"]
    assert tune["trials"] == "2 of 2 reported the objective"
    best = tune["best_training_job"]
    bucket = "mlops-dev-artifacts-000000000000-us-east-1"
    # get_top_model_s3_uri's Join: s3://<bucket>/<prefix>/<best job name>/output/model.tar.gz
    assert (
        tune["best_model"]
        == f"s3://{bucket}/pipelines/breast-cancer/models/{best}/output/model.tar.gz"
    )
    store = ObjectStore(base_run.run_dir / "s3")
    assert store.is_object(tune["best_model"])
    evaluation = report(base_run.result)
    uris = {
        "baseline": base_run.result.step("TrainBaseline")["outputs"]["model"],
        "tuned": tune["best_model"],
    }
    assert evaluation["selected_model"]["s3_uri"] == uris[evaluation["selected_model"]["name"]]


def test_the_local_endpoint_serves_a_prediction(base_run: BaseRun) -> None:
    prediction = base_run.result.summary["prediction"]
    assert prediction["status"] == 200
    assert prediction["content_type"] == "text/csv"
    records = prediction["response"]["predictions"]
    assert len(records) == prediction["rows"] == 3
    for record in records:
        assert 0.0 <= record["score"] <= 1.0
        assert record["label"] == int(record["score"] >= 0.5)
    assert "prediction: endpoint mlops-dev-breast-cancer-endpoint" in base_run.result.out


def test_the_registry_holds_one_version_with_its_metrics(base_run: BaseRun) -> None:
    (package,) = versions(base_run.run_dir, GROUP)
    assert package["ModelPackageVersion"] == 1
    assert package["ModelApprovalStatus"] == "Approved"
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    auc = statistics["Content"]["binary_classification_metrics"]["auc"]["value"]
    assert auc >= 0.9
    assert auc == report(base_run.result)["binary_classification_metrics"]["auc"]["value"]
    selected = base_run.result.summary["selected_model"]
    assert selected["metrics"]["auc"] == auc
    assert selected["model_package_arn"] == package["ModelPackageArn"]
    model_data = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert ObjectStore(base_run.run_dir / "s3").is_object(model_data)


def test_the_autoscaling_lambda_registers_target_and_policy(base_run: BaseRun) -> None:
    outputs = base_run.result.step("ConfigureAutoscaling")["outputs"]
    parameters = base_run.result.summary["parameters"]
    assert outputs["status"] == "registered"
    (target,) = outputs["scalable_targets"]
    assert target == {
        "resource_id": "endpoint/mlops-dev-breast-cancer-endpoint/variant/AllTraffic",
        "dimension": "sagemaker:variant:DesiredInstanceCount",
        "min_capacity": parameters["EndpointMinCapacity"],
        "max_capacity": parameters["EndpointMaxCapacity"],
    }
    (policy,) = outputs["scaling_policies"]
    assert policy["type"] == "TargetTrackingScaling"
    assert policy["target_value"] == float(parameters["TargetInvocationsPerInstance"])
    assert policy["metric"] == "SageMakerVariantInvocationsPerInstance"


def test_a_threshold_out_of_reach_takes_the_fail_branch(base_run: BaseRun, tmp_path: Path) -> None:
    before = len(versions(base_run.run_dir, GROUP))
    result, run_dir = rerun(base_run, tmp_path, "QualityThreshold=1.01")
    assert result.code == 1
    evaluation = report(result)
    auc = evaluation["binary_classification_metrics"]["auc"]["value"]
    naive = evaluation["naive_baseline"]
    message = (
        f"Model auc {auc} must be at least the quality threshold 1.01 and beat the naive "
        f"predictor (majority class, scored with the training positive rate) {naive['value']} "
        "by more than 0.0"
    )
    # The threshold is what fails here: the model beats the naive predictor by far.
    assert result.step("QualityGate")["outputs"]["evaluated"] == [
        f"{auc} GreaterThanOrEqualTo 1.01",
        # The margin 0.0 went through the CDK app's JSON, which spells it 0.
        f"{naive['improvement']} GreaterThan 0",
    ]
    assert naive["value"] == 0.5
    assert result.summary["failure"] == {
        "kind": "fail",
        "step": "QualityTooLow",
        "message": message,
    }
    assert f"error: QualityTooLow: {message}" in result.err
    assert f"run directory kept: {run_dir}" in result.err
    statuses = result.statuses()
    assert statuses["QualityTooLow"] == "Failed"
    assert {statuses[step] for step in ("RegisterModel", *DEPLOY_STEPS)} == {"Skipped"}
    assert len(versions(run_dir, GROUP)) == before


def test_pending_approval_registers_but_does_not_deploy(base_run: BaseRun, tmp_path: Path) -> None:
    result, run_dir = rerun(base_run, tmp_path, "ModelApprovalStatus=PendingManualApproval")
    assert result.code == 0, result.err
    statuses = result.statuses()
    assert statuses["RegisterModel"] == "Succeeded"
    assert result.step("DeployIfApproved")["outputs"]["outcome"] is False
    assert {statuses[step] for step in DEPLOY_STEPS} == {"Skipped"}
    assert result.summary["prediction"] is None
    latest = versions(run_dir, GROUP)[-1]
    assert latest["ModelPackageVersion"] == 2
    assert latest["ModelApprovalStatus"] == "PendingManualApproval"


def test_an_identical_rerun_reuses_every_cacheable_step(base_run: BaseRun, tmp_path: Path) -> None:
    """Through the real entry point, as the Makefile calls it."""
    run_dir = copy_run_dir(base_run.run_dir, tmp_path / "run")
    summary_path = tmp_path / "summary.json"
    command: list[str | Path] = [sys.executable, "-m", "pipelines.local", "run"]
    command += ["--assembly", base_run.assembly, "--model", SAMPLE_MODEL]
    process = subprocess.run(
        [*command, "--run-dir", run_dir, "--summary", summary_path],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert f"summary: {summary_path}" in process.stdout
    summary = json.loads(summary_path.read_text())
    first = base_run.result.summary
    steps = {step["name"]: step for step in summary["steps"]}
    for name in JOB_STEPS:
        assert steps[name]["status"] == "Cached"
        assert steps[name]["cached_from_execution"] == first["execution_id"]
        assert steps[name]["outputs"] == base_run.result.step(name)["outputs"]
        assert f"{name:<22} cached: reused the outputs of execution" in process.stdout
    # Reusing costs hash checks, not jobs.
    reused = sum(steps[name]["duration_seconds"] for name in JOB_STEPS)
    ran = sum(base_run.result.step(name)["duration_seconds"] for name in JOB_STEPS)
    assert reused < min(1.0, ran / 5)
    assert steps["Endpoint"]["status"] == "Succeeded"
    assert summary["prediction"]["status"] == 200


def test_instance_types_are_not_part_of_the_cache_key(base_run: BaseRun, tmp_path: Path) -> None:
    """As in SageMaker, whose cache key for a job leaves out its resources."""
    result, _ = rerun(
        base_run,
        tmp_path,
        "TrainingInstanceType=ml.m5.2xlarge",
        "ProcessingInstanceType=ml.c5.xlarge",
    )
    assert result.code == 0, result.err
    assert [result.statuses()[step] for step in JOB_STEPS] == ["Cached"] * 4


def test_new_input_data_reruns_the_step_that_reads_it_and_its_dependants(
    base_run: BaseRun, tmp_path: Path
) -> None:
    run_dir = copy_run_dir(base_run.run_dir, tmp_path / "run")
    store = ObjectStore(run_dir / "s3")
    sample = "s3://mlops-dev-data-000000000000-us-east-1/sample/breast-cancer.csv"
    smaller = sample.replace("breast-cancer.csv", "smaller.csv")
    rows = store.read_bytes(sample).decode().splitlines()
    store.put_bytes(smaller, ("\n".join(rows[:-40]) + "\n").encode())
    result, _ = rerun(base_run, tmp_path, f"InputDataUri={smaller}", run_dir=run_dir)
    assert result.code == 0, result.err
    assert [result.statuses()[step] for step in JOB_STEPS] == ["Succeeded"] * 4
    log = Path(result.step("Preprocess")["log"]).read_text()
    assert f"({len(rows) - 41} total, 30 features" in log
    new_id = result.summary["execution_id"]
    assert all(new_id in uri for uri in result.step("Preprocess")["outputs"].values())


# What each task's served prediction holds (pipelines/steps/inference.py, models/*/inference.py).
PREDICTION_KEYS = {
    "binary": {"score", "label", "probabilities"},
    "multiclass": {"label", "probabilities"},
    "regression": {"value"},
}


@pytest.mark.parametrize("model", LOCAL_MODELS)
def test_make_run_trains_gates_registers_and_serves_every_model(
    base_run: BaseRun, model: str
) -> None:
    spec = load_model_spec(MODELS_DIR / model)
    result = base_run.result.for_model(model)
    summary = result.summary
    assert summary["status"] == "Succeeded", summary["failure"]
    assert f"== {model}\n" in result.out
    (package,) = versions(base_run.run_dir, f"mlops-dev-{model}-models")
    content = package["ModelMetrics"]["ModelQuality"]["Statistics"]["Content"]
    metric = content[METRIC_GROUPS[spec.data.task]][spec.gate_metric]["value"]
    if spec.gate_direction == "Maximize":
        assert metric >= spec.gate_threshold
    else:
        assert metric <= spec.gate_threshold
    prediction = summary["prediction"]
    assert prediction["endpoint"] == f"mlops-dev-{model}-endpoint"
    assert prediction["status"] == 200
    records = prediction["response"]["predictions"]
    assert len(records) == 3
    assert all(set(record) == PREDICTION_KEYS[spec.data.task] for record in records)
    # A model carrying its fitted transform is sent rows as the data has them, header first.
    assert prediction["raw_rows"] is spec.carries_transform


def test_churn_gets_raw_rows_with_text_and_answers_in_the_data_s_label_values(
    base_run: BaseRun,
) -> None:
    result = base_run.result.for_model("churn")
    prediction = result.summary["prediction"]
    header, *rows = prediction["body"].splitlines()
    assert header == "tenure_months,monthly_charges,support_calls,plan,region"
    plans = {row.split(",")[3] for row in rows}
    assert plans <= {"basic", "standard", "pro"}
    assert plans
    records = prediction["response"]["predictions"]
    assert {record["label"] for record in records} <= {"yes", "no"}
    assert set(prediction["labels"]) <= {"yes", "no"}
    predicted = ", ".join(record["label"] for record in records)
    assert f"  predicted labels: {predicted}\n  true labels: " in result.out
    assert "    tenure_months,monthly_charges,support_calls,plan,region\n" in result.out


@pytest.mark.parametrize("model", BUILTIN_MODELS)
def test_make_run_names_a_builtin_algorithm_model_in_one_line_and_runs_the_others(
    base_run: BaseRun, model: str
) -> None:
    lines = [line for line in base_run.result.out.splitlines() if line.startswith(f"{model}:")]
    (skipped,) = lines
    assert skipped.startswith(f"{model}: not run locally: step Tune: the image ")
    assert "would run its built-in algorithm" in skipped
    assert f"== {model}\n" not in base_run.result.out
    assert versions(base_run.run_dir, f"mlops-dev-{model}-models") == []
