"""pipelines.cli against moto's SageMaker, and its follow loop against a scripted fake client.

moto 5.2.5 emulates CreatePipeline/DescribePipeline/StartPipelineExecution/
DescribePipelineExecution/ListPipelineParametersForExecution and the model registry calls used
here, but runs no steps: an execution is "Succeeded" the moment it starts and
ListPipelineExecutionSteps is not implemented (NotImplementedError). The follow loop is
therefore tested with FakeSageMaker below.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends

from pipelines import cli
from tests.support.imports import packages_loaded_by

REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's account
PIPELINE = "mlops-dev-breast-cancer-pipeline"
GROUP = "mlops-dev-breast-cancer-models"
ROLE_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/pipeline"
EXECUTION_ARN = f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:pipeline/{PIPELINE}/execution/x1"

# A cut-down definition with the deployed pipeline's parameter declarations.
DEFINITION: dict[str, Any] = {
    "Version": "2020-12-01",
    "Metadata": {},
    "Parameters": [
        {"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://data/sample.csv"},
        {"Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": 1},
        {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        {"Name": "EndpointMinCapacity", "Type": "Integer", "DefaultValue": 1},
        {"Name": "EndpointMaxCapacity", "Type": "Integer", "DefaultValue": 2},
        {"Name": "QualityThreshold", "Type": "Float", "DefaultValue": 0.7},
        {
            "Name": "ModelApprovalStatus",
            "Type": "String",
            "DefaultValue": "PendingManualApproval",
            "EnumValues": ["Approved", "Rejected", "PendingManualApproval"],
        },
    ],
    "Steps": [
        {"Name": "Preprocess", "Type": "Processing", "Arguments": {}},
        {"Name": "TrainBaseline", "Type": "Training", "Arguments": {}},
    ],
}


@pytest.fixture(autouse=True)
def only_the_test_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No profile, credentials or region of the machine reach a test."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(scope="module")
def session() -> boto3.session.Session:
    """One session for the module: its clients share the parsed SageMaker model (~0.3 s each)."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@pytest.fixture
def sm(session: boto3.session.Session) -> Iterator[Any]:
    """A moto SageMaker client, in an environment where the boto3 chain finds only moto."""
    with mock_aws():
        yield session.client("sagemaker")


@pytest.fixture
def run(sm: Any) -> Callable[..., int]:
    """cli.main on the moto client (test_start_passes_overrides... covers the default client)."""

    def run(argv: list[str], **kwargs: Any) -> int:
        return cli.main(argv, client_factory=lambda region: sm, **kwargs)

    return run


@pytest.fixture
def pipeline(sm: Any) -> str:
    sm.create_pipeline(
        PipelineName=PIPELINE, PipelineDefinition=json.dumps(DEFINITION), RoleArn=ROLE_ARN
    )
    return PIPELINE


def executions(sm: Any, name: str = PIPELINE) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = sm.list_pipeline_executions(PipelineName=name)[
        "PipelineExecutionSummaries"
    ]
    return summaries


def one_error_line(err: str) -> str:
    """The whole of stderr must be exactly one 'error: ...' line."""
    assert err.count("\n") == 1, err
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    assert "usage:" not in err
    return err.strip()


# --- start ---------------------------------------------------------------------------------------


def test_start_passes_overrides_and_display_name_through(
    sm: Any, pipeline: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        [
            "start",
            "--param",
            "QualityThreshold=0.85",
            "--param",
            "ModelApprovalStatus=Approved",
            "--param",
            "InputDataUri=s3://bucket/key?version=2",  # a value may contain '='
            "--display-name",
            "nightly-1",
        ]
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    arn = out.strip()
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:{DEFAULT_ACCOUNT_ID}:pipeline/{pipeline}/")
    parameters = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    assert sorted(parameters["PipelineParameters"], key=lambda p: p["Name"]) == [
        {"Name": "InputDataUri", "Value": "s3://bucket/key?version=2"},
        {"Name": "ModelApprovalStatus", "Value": "Approved"},
        {"Name": "QualityThreshold", "Value": "0.85"},
    ]
    execution = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert execution["PipelineExecutionDisplayName"] == "nightly-1"


def test_start_targets_the_prefixed_or_named_pipeline(
    sm: Any, pipeline: str, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    sm.create_pipeline(
        PipelineName="team-breast-cancer-pipeline",
        PipelineDefinition=json.dumps(DEFINITION),
        RoleArn=ROLE_ARN,
    )
    assert run(["start", "--prefix", "team"]) == 0
    assert run(["--prefix", "team", "start"]) == 0  # global options go either side
    assert run(["--prefix", "nope", "start", "--pipeline", "team-breast-cancer-pipeline"]) == 0
    assert len(executions(sm, "team-breast-cancer-pipeline")) == 3
    assert executions(sm, pipeline) == []
    assert "team-breast-cancer-pipeline/execution/" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (["Bogus=1"], "unknown parameter Bogus"),
        (["QualityThreshold=0.9", "Bogus=1", "Other=2"], "unknown parameters Bogus, Other"),
    ],
)
@pytest.mark.usefixtures("pipeline")
def test_start_rejects_unknown_parameters_listing_the_declared_ones(
    sm: Any,
    run: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    params: list[str],
    expected: str,
) -> None:
    argv = ["start"] + [arg for param in params for arg in ("--param", param)]
    assert run(argv) == 2
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert expected in line
    assert (
        "its parameters are: InputDataUri, ProcessingInstanceCount, TrainingInstanceType, "
        "EndpointMinCapacity, EndpointMaxCapacity, QualityThreshold, ModelApprovalStatus"
    ) in line
    assert out == ""
    assert executions(sm) == []


@pytest.mark.parametrize("param", ["QualityThreshold", "=0.9", "QualityThreshold:0.9"])
def test_start_rejects_a_malformed_param_before_any_aws_call(
    capsys: pytest.CaptureFixture[str], param: str
) -> None:
    def no_client(region: str | None) -> Any:
        raise AssertionError("a malformed --param must fail before a client is made")

    assert cli.main(["start", "--param", param], client_factory=no_client) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"malformed --param {param!r}" in line
    assert "Name=value" in line


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("QualityThreshold=high", "QualityThreshold is of type Float"),
        ("ProcessingInstanceCount=1.5", "ProcessingInstanceCount is of type Integer"),
        ("ModelApprovalStatus=approved", "must be one of Approved, Rejected"),
        ("QualityThreshold=1", None),  # an integer literal is a valid Float
        # The spec's rules, checked on the values the execution would run with.
        ("ProcessingInstanceCount=0", "--param ProcessingInstanceCount = 0: Input should be"),
        ("TrainingInstanceType=ml.m5.huge", "not a SageMaker training instance type"),
        ("EndpointMinCapacity=5", "--param EndpointMinCapacity (5) must be <= EndpointMaxCapa"),
        ("EndpointMinCapacity=2", None),
    ],
)
@pytest.mark.usefixtures("pipeline")
def test_start_checks_types_and_enum_values(
    sm: Any,
    run: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    param: str,
    expected: str | None,
) -> None:
    code = run(["start", "--param", param])
    err = capsys.readouterr().err
    if expected is None:
        assert (code, err, len(executions(sm))) == (0, "", 1)
    else:
        assert code == 2
        assert expected in one_error_line(err)
        assert executions(sm) == []


@pytest.mark.usefixtures("pipeline")
def test_start_rejects_a_duplicate_param(
    sm: Any, run: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["start", "--param", "QualityThreshold=0.8", "--param", "QualityThreshold=0.9"]
    assert run(argv) == 2
    assert "QualityThreshold is given more than once" in one_error_line(capsys.readouterr().err)
    assert executions(sm) == []


def test_start_on_a_missing_pipeline_is_one_line(
    sm: Any, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    assert run(["start", "--prefix", "ghost"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "pipeline 'ghost-breast-cancer-pipeline'" in line
    assert "DescribePipeline" in line


# --- follow (fake client: moto runs no steps) -------------------------------------------------


def step(name: str, status: str, reason: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"StepName": name, "StepStatus": status}
    if reason:
        entry["FailureReason"] = reason
    return entry


class FakeSageMaker:
    """Plays back one (execution status, steps) snapshot per DescribePipelineExecution call.

    Steps come back two per page so following has to page through NextToken.
    """

    def __init__(
        self,
        polls: list[tuple[str, list[dict[str, Any]]]],
        *,
        failure_reason: str = "",
        definition: dict[str, Any] | None = None,
    ) -> None:
        self.polls = polls
        self.failure_reason = failure_reason
        self.definition = definition or DEFINITION
        self.described = 0
        self.started: list[dict[str, Any]] = []

    def describe_pipeline(self, PipelineName: str) -> dict[str, Any]:  # noqa: N803
        return {"PipelineName": PipelineName, "PipelineDefinition": json.dumps(self.definition)}

    def start_pipeline_execution(self, **request: Any) -> dict[str, Any]:
        self.started.append(request)
        return {"PipelineExecutionArn": EXECUTION_ARN}

    def describe_pipeline_execution(self, PipelineExecutionArn: str) -> dict[str, Any]:  # noqa: N803
        assert PipelineExecutionArn == EXECUTION_ARN
        status, _ = self.polls[min(self.described, len(self.polls) - 1)]
        self.described += 1
        response = {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": status}
        if status == "Failed":
            response["FailureReason"] = self.failure_reason
        return response

    def list_pipeline_execution_steps(
        self,
        PipelineExecutionArn: str,  # noqa: N803
        SortOrder: str,  # noqa: N803
        NextToken: str | None = None,  # noqa: N803
    ) -> dict[str, Any]:
        assert (PipelineExecutionArn, SortOrder) == (EXECUTION_ARN, "Ascending")
        _, steps = self.polls[self.described - 1]
        start = int(NextToken or 0)
        response: dict[str, Any] = {"PipelineExecutionSteps": steps[start : start + 2]}
        if start + 2 < len(steps):
            response["NextToken"] = str(start + 2)
        return response


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


SUCCEEDING = [
    ("Executing", [step("Preprocess", "Starting")]),
    ("Executing", [step("Preprocess", "Executing")]),
    ("Executing", [step("Preprocess", "Succeeded"), step("TrainBaseline", "Executing")]),
    ("Executing", [step("Preprocess", "Succeeded"), step("TrainBaseline", "Executing")]),
    (
        "Succeeded",
        [
            step("Preprocess", "Succeeded"),
            step("TrainBaseline", "Succeeded"),
            step("Evaluate", "Succeeded"),
        ],
    ),
]


def test_follow_prints_each_step_change_once_and_returns_0_on_success() -> None:
    fake, time = FakeSageMaker(SUCCEEDING), FakeTime()
    out = io.StringIO()
    code = cli.follow(
        fake, EXECUTION_ARN, poll_seconds=30, sleep=time.sleep, clock=time.clock, out=out
    )
    lines = out.getvalue().splitlines()
    assert code == 0
    assert lines == [
        "[      0s] Preprocess: Starting",
        "[     30s] Preprocess: Executing",
        "[   1m00s] Preprocess: Succeeded",
        "[   1m00s] TrainBaseline: Executing",
        "[   2m00s] TrainBaseline: Succeeded",
        "[   2m00s] Evaluate: Succeeded",
        "execution Succeeded after 2m00s (3 steps: 3 succeeded)",
    ]
    # No sleep after the terminal poll, and every sleep was the requested interval.
    assert time.sleeps == [30, 30, 30, 30]
    assert fake.described == 5


@pytest.mark.parametrize("final", ["Failed", "Stopped"])
def test_follow_shows_failure_reasons_and_returns_1_unless_succeeded(
    capsys: pytest.CaptureFixture[str], final: str
) -> None:
    failed_step = step("QualityTooLow", "Failed", "Model AUC 0.61\nbelow threshold 0.7")
    polls = [
        ("Executing", [step("Evaluate", "Executing")]),
        (
            final,
            [step("Evaluate", "Succeeded"), step("QualityGate", "Succeeded"), failed_step],
        ),
    ]
    fake, time = FakeSageMaker(polls, failure_reason="Step failure: QualityTooLow"), FakeTime()
    code = cli.follow(fake, EXECUTION_ARN, poll_seconds=5, sleep=time.sleep, clock=time.clock)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "[      5s] QualityTooLow: Failed - Model AUC 0.61 below threshold 0.7" in lines
    assert lines[-1].startswith(f"execution {final} after 5s (3 steps: 1 failed, 2 succeeded)")
    assert lines[-1].endswith(": Step failure: QualityTooLow") == (final == "Failed")
    assert time.sleeps == [5]


def test_follow_command_uses_the_injected_poll_interval(capsys: pytest.CaptureFixture[str]) -> None:
    fake, time = FakeSageMaker(SUCCEEDING), FakeTime()
    argv = ["follow", EXECUTION_ARN, "--poll-seconds", "2.5", "--region", "eu-west-1"]
    regions: list[str | None] = []

    def factory(region: str | None) -> FakeSageMaker:
        regions.append(region)
        return fake

    assert cli.main(argv, client_factory=factory, sleep=time.sleep, clock=time.clock) == 0
    assert regions == ["eu-west-1"]
    assert time.sleeps == [2.5] * 4
    assert capsys.readouterr().out.splitlines()[-1].startswith("execution Succeeded after 10s")


def test_start_follow_prints_the_arn_then_follows(capsys: pytest.CaptureFixture[str]) -> None:
    polls = [("Failed", [step("Preprocess", "Failed", "ClientError: bad input")])]
    fake, time = FakeSageMaker(polls, failure_reason="Step failure"), FakeTime()
    code = cli.main(
        ["start", "--param", "QualityThreshold=0.9", "--follow"],
        client_factory=lambda _: fake,
        sleep=time.sleep,
        clock=time.clock,
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert fake.started == [
        {
            "PipelineName": PIPELINE,
            "PipelineParameters": [{"Name": "QualityThreshold", "Value": "0.9"}],
        }
    ]
    assert lines[0] == EXECUTION_ARN
    assert lines[1] == "[      0s] Preprocess: Failed - ClientError: bad input"
    assert lines[2] == "execution Failed after 0s (1 step: 1 failed): Step failure"


def test_follow_on_a_missing_execution_is_one_line(
    sm: Any, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    assert run(["follow", EXECUTION_ARN], sleep=FakeTime().sleep) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "DescribePipelineExecution" in line
    assert "ValidationException" in line


# --- approve -------------------------------------------------------------------------------------


@pytest.fixture
def group(sm: Any) -> list[str]:
    """A group with versions 1..3, each created an hour after the previous one."""
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    arns = [
        sm.create_model_package(
            ModelPackageGroupName=GROUP, ModelApprovalStatus="PendingManualApproval"
        )["ModelPackageArn"]
        for _ in range(3)
    ]
    # moto stamps creation times in quick succession; make their order unambiguous.
    backend = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for index, arn in enumerate(arns):
        backend.model_packages[arn].creation_time = base + timedelta(hours=index)
    return arns


def statuses(sm: Any, arns: list[str]) -> list[str]:
    return [sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] for arn in arns]


def test_approve_approves_only_the_latest_version(
    sm: Any, group: list[str], capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    assert run(["approve"]) == 0
    out = capsys.readouterr().out
    assert statuses(sm, group) == ["PendingManualApproval", "PendingManualApproval", "Approved"]
    assert f"approved {GROUP} version 3 (was PendingManualApproval)" in out
    assert group[2] in out


def test_approve_a_given_version(
    sm: Any, group: list[str], capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    assert run(["approve", "--group", GROUP, "--version", "2"]) == 0
    assert statuses(sm, group) == ["PendingManualApproval", "Approved", "PendingManualApproval"]
    assert "version 2" in capsys.readouterr().out
    assert run(["approve", "--version", "2"]) == 0
    assert "already Approved" in capsys.readouterr().out


def test_approve_an_absent_version_fails_cleanly(
    sm: Any, group: list[str], capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    assert run(["approve", "--version", "7"]) == 1
    assert f"{GROUP!r} has no version 7" in one_error_line(capsys.readouterr().err)
    assert "Approved" not in statuses(sm, group)


def test_approve_on_an_empty_group_fails_cleanly(
    sm: Any, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    assert run(["approve"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{GROUP!r} has no model packages" in one_error_line(err)


def test_approve_on_a_missing_group_fails_cleanly(
    sm: Any, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    assert run(["approve", "--prefix", "ghost"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "model package group 'ghost-breast-cancer-models'" in line
    assert "DescribeModelPackageGroup" in line


# --- definition ----------------------------------------------------------------------------------


def test_definition_writes_the_deployed_json_pretty_printed(
    pipeline: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    out = tmp_path / "definition.json"
    out.write_text("stale")
    assert run(["definition", "--out", str(out)]) == 0
    text = out.read_text()
    assert json.loads(text) == DEFINITION
    assert text == json.dumps(DEFINITION, indent=2) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["definition.json"]  # no temp left
    assert str(out) in capsys.readouterr().out


def test_definition_of_a_missing_pipeline_writes_nothing(
    sm: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    out, kept = tmp_path / "new.json", tmp_path / "old.json"
    kept.write_text("previous")
    assert run(["definition", "--pipeline", "ghost", "--out", str(out)]) == 1
    assert "pipeline 'ghost'" in one_error_line(capsys.readouterr().err)
    assert run(["definition", "--pipeline", "ghost", "--out", str(kept)]) == 1
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]
    assert kept.read_text() == "previous"


def test_definition_failing_mid_write_leaves_the_old_file_and_no_temp(
    pipeline: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    run: Callable[..., int],
) -> None:
    out = tmp_path / "definition.json"
    out.write_text("previous")
    renamed: list[Path] = []

    def failing_replace(source: Path, target: Path) -> None:
        renamed.append(Path(source))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    assert run(["definition", "--out", str(out)]) == 1
    assert "No space left on device" in one_error_line(capsys.readouterr().err)
    assert [path.parent for path in renamed] == [tmp_path]  # it did go through a temp file
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["definition.json"]


def test_definition_into_a_missing_directory_is_one_line(
    pipeline: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], run: Callable[..., int]
) -> None:
    # A newline in the file name must not break the one-line error.
    assert run(["definition", "--out", str(tmp_path / "no" / "d\n.json")]) == 1
    assert "cannot write" in one_error_line(capsys.readouterr().err)


# --- main: exit codes and one-line errors ----------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "required: COMMAND"),
        (["deploy"], "invalid choice: 'deploy'"),
        (["definition"], "required: --out"),
        (["follow"], "required: EXECUTION_ARN"),
        (["follow", EXECUTION_ARN, "--poll-seconds", "0"], "must be > 0"),
        (["approve", "--version", "0"], "must be >= 1"),
        (["approve", "--version", "latest"], "not an integer"),
        (["start", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    def no_client(region: str | None) -> Any:
        raise AssertionError("no client for a bad command line")

    assert cli.main(argv, client_factory=no_client) == 2
    out, err = capsys.readouterr()
    assert expected in one_error_line(err)
    assert out == ""


def test_the_region_comes_from_aws_region_when_boto3_would_find_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    regions: list[str] = []

    fake, clock = FakeSageMaker(SUCCEEDING), FakeTime()

    def factory(region: str) -> FakeSageMaker:
        regions.append(region)
        return fake

    argv = ["follow", EXECUTION_ARN]
    assert cli.main(argv, client_factory=factory, sleep=clock.sleep, clock=clock.clock) == 0
    assert regions == ["eu-west-1"]


def no_client(region: str) -> Any:
    raise AssertionError("nothing is sent to AWS before the arguments are checked")


@pytest.mark.parametrize(
    ("argv", "variables", "expected"),
    [
        (["--region", "us-mars-1", "approve"], {}, (2, "--region = 'us-mars-1': not a region")),
        (["approve"], {"AWS_REGION": "moon-1"}, (2, "AWS_REGION = 'moon-1': not a region")),
        (["approve"], {"AWS_DEFAULT_REGION": ""}, (1, "no AWS region: pass --region, set AWS_")),
        (["--model", "../x", "approve"], {}, (2, "--model '../x': must be 2-16 characters")),
        (["approve", "--prefix", "Team A"], {}, (2, "--prefix 'Team A': must be 3-20 characters")),
    ],
)
def test_a_region_or_name_that_cannot_work_is_refused_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    variables: dict[str, str],
    expected: tuple[int, str],
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert cli.main(argv, client_factory=no_client) == expected[0]
    assert expected[1] in one_error_line(capsys.readouterr().err)


def test_help_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["start", "--help"]) == 0
    assert "--param NAME=VALUE" in capsys.readouterr().out


def test_client_error_outside_the_named_checks_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Denied(FakeSageMaker):
        def start_pipeline_execution(self, **request: Any) -> dict[str, Any]:
            error = {"Code": "AccessDeniedException", "Message": "not\nallowed"}
            raise ClientError({"Error": error}, "StartPipelineExecution")

    assert cli.main(["start"], client_factory=lambda _: Denied([])) == 1
    assert one_error_line(capsys.readouterr().err) == (
        "error: StartPipelineExecution: AccessDeniedException: not allowed"
    )


def test_no_region_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert cli.main(["approve"]) == 1
    assert "region" in one_error_line(capsys.readouterr().err).lower()


def test_import_is_cheap_and_silent() -> None:
    loaded, stderr = packages_loaded_by("pipelines.cli")
    assert (loaded & {"aws_cdk", "sagemaker", "jsii"}, stderr) == (set(), "")
