"""`pipelines.local approve` and `reject` run the deployer Lambda's code against the local
control plane: the Approved version approved last serves, and `serve` brings it up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipelines.local.control_plane import LocalSageMaker, RefusedRequestError
from pipelines.local.deployments import last_deployment
from pipelines.local.registry import add_version, versions
from pipelines.local.serve import model_names
from tests.local.conftest import SAMPLE_MODEL, BaseRun
from tests.local.support import CliRun, copy_run_dir, run_cli

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-models/1"


def _object(run_dir: Path, url: str) -> Path:
    return run_dir / "s3" / url.removeprefix("s3://")


def _register_second_version(run_dir: Path, group: str) -> dict[str, Any]:
    """v2: v1's record with its own copy of the model artifact, pending approval, as a second
    training run would register it."""
    first = versions(run_dir, group)[0]
    second: dict[str, Any] = json.loads(json.dumps(first))
    container = second["InferenceSpecification"]["Containers"][0]
    url = container["ModelDataUrl"]
    container["ModelDataUrl"] = url.replace("model.tar.gz", "v2/model.tar.gz")
    copied = _object(run_dir, container["ModelDataUrl"])
    copied.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_object(run_dir, url), copied)
    second.update(
        ModelPackageVersion=2,
        ModelPackageArn=first["ModelPackageArn"][: -len("/1")] + "/2",
        ModelPackageName=f"{group}/2",
        ModelApprovalStatus="PendingManualApproval",
    )
    add_version(run_dir, group, 2, second)
    return second


@pytest.fixture
def scenario(base_run: BaseRun, tmp_path: Path) -> tuple[Path, str, str]:
    run_dir = copy_run_dir(base_run.run_dir, tmp_path / "run")
    endpoint, group = model_names(base_run.assembly, SAMPLE_MODEL)
    return run_dir, endpoint, group


def _local(base_run: BaseRun, run_dir: Path, command: str, version: int | str) -> CliRun:
    return run_cli(
        command,
        SAMPLE_MODEL,
        str(version),
        "--assembly",
        base_run.assembly,
        "--run-dir",
        run_dir,
    )


def _served_url(run_dir: Path, endpoint: str) -> str:
    deployment = last_deployment(run_dir, endpoint)
    assert deployment is not None
    return deployment.model_data_url


def test_approving_a_version_deploys_it_and_rejecting_it_rolls_back(
    base_run: BaseRun, scenario: tuple[Path, str, str]
) -> None:
    run_dir, endpoint, group = scenario
    first_url = _served_url(run_dir, endpoint)
    second = _register_second_version(run_dir, group)

    approved = _local(base_run, run_dir, "approve", 2)
    assert approved.code == 0, approved.err
    assert approved.out.strip() == f"{SAMPLE_MODEL}: v2 serves (was v1); approved v2"
    assert (
        _served_url(run_dir, endpoint)
        == second["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    )

    rejected = _local(base_run, run_dir, "reject", 2)
    assert rejected.code == 0, rejected.err
    assert rejected.out.strip() == f"{SAMPLE_MODEL}: v1 serves (was v2); rejected v2"
    assert _served_url(run_dir, endpoint) == first_url
    statuses = [entry["ModelApprovalStatus"] for entry in versions(run_dir, group)]
    assert statuses == ["Approved", "Rejected"]


def test_approving_an_older_version_again_serves_it_as_approved_last(
    base_run: BaseRun, scenario: tuple[Path, str, str]
) -> None:
    run_dir, endpoint, group = scenario
    first_url = _served_url(run_dir, endpoint)
    _register_second_version(run_dir, group)
    assert _local(base_run, run_dir, "approve", 2).code == 0

    again = _local(base_run, run_dir, "approve", 1)

    assert again.code == 0, again.err
    assert again.out.strip() == f"{SAMPLE_MODEL}: v1 serves (was v2); approved v1"
    assert _served_url(run_dir, endpoint) == first_url


def test_rejecting_the_only_approved_version_says_nothing_is_approved(
    base_run: BaseRun, scenario: tuple[Path, str, str]
) -> None:
    run_dir, _, group = scenario

    result = _local(base_run, run_dir, "reject", 1)

    assert result.code == 1
    assert result.err.strip().splitlines() == [
        f"error: {SAMPLE_MODEL}: rejected v1; no approved version left, v1 keeps serving"
    ]
    assert versions(run_dir, group)[0]["ModelApprovalStatus"] == "Rejected"


@pytest.mark.parametrize(
    ("model", "version", "message"),
    [
        ("no-such-model", "1", "model 'no-such-model': no pipeline for it"),
        (SAMPLE_MODEL, "7", "v7 is not registered in"),
        (SAMPLE_MODEL, "latest", "invalid int value"),
    ],
)
def test_bad_approvals_are_one_line(
    base_run: BaseRun, scenario: tuple[Path, str, str], model: str, version: str, message: str
) -> None:
    run_dir, _, _ = scenario
    result = run_cli(
        "approve", model, version, "--assembly", base_run.assembly, "--run-dir", run_dir
    )
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: "), line
    assert message in line, line


def test_the_control_plane_refuses_what_sagemaker_would(tmp_path: Path) -> None:
    plane = LocalSageMaker(tmp_path, "eu-west-1", "123456789012")
    with pytest.raises(RefusedRequestError, match="EndpointName"):
        plane.describe_endpoint(EndpointName="x" * 64)
    with pytest.raises(RefusedRequestError, match="ModelApprovalStatus"):
        plane.update_model_package(ModelPackageArn=ARN, ModelApprovalStatus="Maybe")
