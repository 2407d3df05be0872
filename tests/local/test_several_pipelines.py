"""An assembly with several pipelines, as one per model gives: all run by default, `--model`
picks, and one that cannot run on this machine is named in one line while the others run."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.local.support import definition, processing_step, run_cli, write_assembly

# A built-in algorithm: the image runs its own code, so there is no script to run locally.
BUILTIN_TRAINING = {
    "Name": "Train",
    "Type": "Training",
    "Arguments": {
        "AlgorithmSpecification": {
            "TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
            "TrainingInputMode": "File",
        },
        "HyperParameters": {"predictor_type": "binary_classifier"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "RoleArn": "arn:aws:iam::000000000000:role/test",
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    },
}


def two_pipelines(directory: Path) -> Path:
    """The support assembly's pipeline as model `script`, plus a built-in-algorithm one."""
    write_assembly(directory, definition([processing_step("A", "--value", "x")]))
    template_file = directory / "Stack.template.json"
    template: dict[str, Any] = json.loads(template_file.read_text())
    script = template["Resources"]["Pipeline"]
    builtin = copy.deepcopy(script)
    script["Properties"]["Tags"] = [{"Key": "model", "Value": "script"}]
    builtin["Properties"]["PipelineName"] = "local-builtin-pipeline"
    builtin["Properties"]["Tags"] = [{"Key": "model", "Value": "builtin"}]
    builtin["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"] = json.dumps(
        definition([BUILTIN_TRAINING])
    )
    template["Resources"]["BuiltinPipeline"] = builtin
    template_file.write_text(json.dumps(template))
    return directory


def test_every_pipeline_runs_and_one_that_cannot_run_here_is_named_in_one_line(
    tmp_path: Path,
) -> None:
    assembly = two_pipelines(tmp_path / "cdk.out")
    result = run_cli("run", "--assembly", assembly, "--run-dir", tmp_path / "run")
    assert result.code == 0, result.err
    skipped = [line for line in result.out.splitlines() if "not run locally" in line]
    assert skipped == [
        "builtin: not run locally: step Train: the image "
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1 would run its built-in "
        "algorithm; only script mode (sagemaker_program and sagemaker_submit_directory) runs "
        "locally"
    ]
    assert result.for_model("script").statuses() == {"A": "Succeeded"}
    assert "script: A" in result.out  # progress lines say whose they are


def test_model_picks_one_pipeline_and_an_unrunnable_one_alone_is_an_error(
    tmp_path: Path,
) -> None:
    assembly = two_pipelines(tmp_path / "cdk.out")
    picked = run_cli(
        "run", "--assembly", assembly, "--run-dir", tmp_path / "r1", "--model", "script"
    )
    assert picked.code == 0, picked.err
    assert "== " not in picked.out  # one pipeline: no per-model sections
    assert picked.statuses() == {"A": "Succeeded"}
    alone = run_cli(
        "run", "--assembly", assembly, "--run-dir", tmp_path / "r2", "--model", "builtin"
    )
    assert alone.code == 2
    assert alone.err.count("\n") == 1
    assert "would run its built-in algorithm" in alone.err


def test_an_unknown_model_or_a_summary_for_several_is_one_line(tmp_path: Path) -> None:
    assembly = two_pipelines(tmp_path / "cdk.out")
    unknown = run_cli("run", "--assembly", assembly, "--model", "nope")
    assert unknown.code == 2
    assert unknown.err == (
        f"error: --model nope: no pipeline for that model in {assembly}; models: builtin, script\n"
    )
    several = run_cli("run", "--assembly", assembly, "--summary", tmp_path / "s.json")
    assert several.code == 2
    assert several.err == ("error: --summary takes one pipeline: choose it with --model\n")
    assert not (tmp_path / "s.json").exists()


def test_the_step_cache_is_per_pipeline_as_in_sagemaker(tmp_path: Path) -> None:
    # Two models whose steps are identical: the second must run its own, not reuse the
    # first's cached outputs (SageMaker keeps a step cache per pipeline).
    assembly = two_pipelines(tmp_path / "cdk.out")
    template_file = assembly / "Stack.template.json"
    template: dict[str, Any] = json.loads(template_file.read_text())
    twin = copy.deepcopy(template["Resources"]["Pipeline"])
    twin["Properties"]["PipelineName"] = "local-twin-pipeline"
    twin["Properties"]["Tags"] = [{"Key": "model", "Value": "twin"}]
    template["Resources"]["TwinPipeline"] = twin
    template_file.write_text(json.dumps(template))
    run_dir = tmp_path / "run"
    first = run_cli("run", "--assembly", assembly, "--run-dir", run_dir, "--model", "script")
    again = run_cli("run", "--assembly", assembly, "--run-dir", run_dir, "--model", "script")
    twin_run = run_cli("run", "--assembly", assembly, "--run-dir", run_dir, "--model", "twin")
    assert (first.code, again.code, twin_run.code) == (0, 0, 0), twin_run.err
    assert again.statuses() == {"A": "Cached"}
    assert twin_run.statuses() == {"A": "Succeeded"}
