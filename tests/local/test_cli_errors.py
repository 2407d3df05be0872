"""Unusable input stops the run before any step with one ``error:`` line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.local.support import CliRun, definition, processing_step, run_cli, write_assembly

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def assert_one_error_line(result: CliRun, expected: str) -> None:
    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert expected in lines[0]


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("Colour=red", "--param Colour: no such pipeline parameter"),
        ("QualityThreshold=high", "--param QualityThreshold = 'high': not a valid Float"),
        ("EndpointMaxCapacity=2.5", "--param EndpointMaxCapacity = '2.5': not a valid Integer"),
        ("ModelApprovalStatus=Yes", "not one of the allowed values (Approved, Rejected, Pending"),
        # The spec's rules, not only the types: the same values are refused in model.toml.
        (
            "TrainingInstanceType=ml.m5.huge",
            "--param TrainingInstanceType = 'ml.m5.huge': not a SageMaker training instance",
        ),
        (
            "ProcessingInstanceCount=0",
            "--param ProcessingInstanceCount = 0: Input should be greater than or equal to 1",
        ),
        (
            "EndpointMinCapacity=5",
            "--param EndpointMinCapacity (5) must be <= EndpointMaxCapacity (2)",
        ),
        ("InputDataUri=/tmp/data.csv", "--param InputDataUri = '/tmp/data.csv': must be an s3://"),
        (
            "ModelApprovalStatus=Rejected",
            "--param ModelApprovalStatus = 'Rejected': must be Approved or PendingManualApproval",
        ),
    ],
)
def test_bad_parameters(small_assembly: Path, tmp_path: Path, param: str, expected: str) -> None:
    run_dir = tmp_path / "run"
    result = run_cli("run", "--assembly", small_assembly, "--run-dir", run_dir, "--param", param)
    assert_one_error_line(result, expected)
    assert not run_dir.exists()


def bad_definitions() -> list[tuple[Any, str]]:
    transform = {"Name": "Score", "Type": "Transform", "Arguments": {}}
    unknown_reference = processing_step("A", "--value", {"Get": "Parameters.Nope"})
    cycle = [
        processing_step("A", depends_on=["B"]),
        processing_step("B", depends_on=["A"]),
    ]
    shell = processing_step("A")
    shell["Arguments"]["AppSpecification"]["ContainerEntrypoint"] = ["bash", "run.sh"]
    return [
        (definition([transform]), "step Score: step type 'Transform' is not supported locally"),
        ("{not json", "malformed pipeline definition in local-test/Pipeline: not JSON"),
        ({"Steps": "all of them"}, "malformed definition: Steps must be a non-empty list"),
        (definition([unknown_reference]), "{'Get': 'Parameters.Nope'}: unknown parameter 'Nope'"),
        (definition(cycle), "dependency cycle: A -> B -> A"),
        (definition([shell]), "step A: unsupported ContainerEntrypoint 'bash'"),
    ]


@pytest.mark.parametrize(("pipeline", "expected"), bad_definitions())
def test_bad_definitions(tmp_path: Path, pipeline: Any, expected: str) -> None:
    assembly = write_assembly(tmp_path / "cdk.out", pipeline)
    result = run_cli("run", "--assembly", assembly, "--run-dir", tmp_path / "run")
    assert_one_error_line(result, expected)


def test_no_pipeline_in_the_assembly(tmp_path: Path) -> None:
    assembly = write_assembly(tmp_path / "cdk.out", definition([processing_step("A")]))
    result = run_cli("run", "--assembly", assembly, "--pipeline", "other")
    assert_one_error_line(result, "no SageMaker pipeline named 'other' in the cloud assembly")


def test_bad_command_line() -> None:
    assert_one_error_line(run_cli("run", "--colour"), "unrecognized arguments: --colour")
    assert_one_error_line(run_cli("walk"), "invalid choice: 'walk'")


def test_missing_assembly_through_the_entry_point(tmp_path: Path) -> None:
    missing = tmp_path / "cdk.out"
    process = subprocess.run(
        [sys.executable, "-m", "pipelines.local", "run", "--assembly", missing],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert process.returncode == 2
    assert process.stdout == ""
    assert process.stderr == (
        f"error: cloud assembly not found: {missing} (run `cdk synth` first, or pass --assembly)\n"
    )


@pytest.mark.parametrize("where", ["run-dir", "parent"])
def test_a_run_dir_that_is_a_file_is_one_line(
    small_assembly: Path, tmp_path: Path, where: str
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("keep me\n")
    run_dir = file if where == "run-dir" else file / "run"
    result = run_cli("run", "--assembly", small_assembly, "--run-dir", run_dir)
    assert_one_error_line(result, f"--run-dir {run_dir}: ")
    assert "is a file" in result.err
    assert file.read_text() == "keep me\n"


def test_a_summary_path_that_is_a_directory_is_one_line(
    small_assembly: Path, tmp_path: Path
) -> None:
    result = run_cli("run", "--assembly", small_assembly, "--summary", tmp_path, "--model", "wine")
    assert_one_error_line(result, f"--summary {tmp_path}: is a directory; give a file path")
