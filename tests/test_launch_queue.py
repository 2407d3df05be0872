"""The launch queue config: a valid CreateTrainingJob body, in the stack and from the CLI."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator
from moto import mock_aws

from infra import show_queue_config
from infra.config import LaunchAgentSettings
from infra.launch_queue import has_instance_storage, training_job_request
from tests.conftest import Assembly
from tests.support.iam import PolicyMatrix, Query, resolve_alone

CREATE_TRAINING_JOB = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("CreateTrainingJob")
    .input_shape
)


def complete_request(body: dict[str, Any]) -> dict[str, Any]:
    """What a launcher makes of the body per run: the run id in the job name, and an image."""
    return {
        **body,
        "TrainingJobName": body["TrainingJobName"].replace("${run_id}", "run1"),
        "AlgorithmSpecification": {
            "TrainingImage": "111111111111.dkr.ecr.us-east-1.amazonaws.com/mlops-dev/training:v1",
            "TrainingInputMode": "File",
        },
    }


def queue_config_output(assembly: Assembly) -> dict[str, Any]:
    template = assembly.template("Foundation")
    value = resolve_alone(template, template["Outputs"]["LaunchQueueConfig"]["Value"])
    body: dict[str, Any] = json.loads(value)
    return body


def test_stack_output_is_a_valid_create_training_job_body(dev: Assembly) -> None:
    body = queue_config_output(dev)
    report = ParamValidator().validate(complete_request(body), CREATE_TRAINING_JOB)
    assert not report.has_errors(), report.generate_report()
    assert body["TrainingJobName"] == "mlops-dev-launch-${run_id}"
    assert body["RoleArn"].startswith("arn:aws:iam::")
    assert body["OutputDataConfig"]["S3OutputPath"].startswith("s3://")
    assert body["OutputDataConfig"]["S3OutputPath"].endswith("/launch/")
    assert body["ResourceConfig"]["InstanceType"] == dev.settings.launch_agent.instance_type
    assert body["ResourceConfig"]["VolumeKmsKeyId"] == body["OutputDataConfig"]["KmsKeyId"]
    assert body["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600


def test_validator_catches_a_broken_body(dev: Assembly) -> None:
    body = queue_config_output(dev)
    del body["ResourceConfig"]["InstanceCount"]
    body["StoppingCondition"]["MaxRuntimeInSeconds"] = "one hour"
    report = ParamValidator().validate(complete_request(body), CREATE_TRAINING_JOB)
    assert report.has_errors()


@pytest.mark.parametrize(
    ("instance_type", "local_storage"),
    [
        ("ml.m5.xlarge", False),
        ("ml.c5.2xlarge", False),
        ("ml.r5d.xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.p4d.24xlarge", True),
        ("ml.g5.xlarge", True),
        ("ml.trn1.2xlarge", True),
        ("ml.p3.2xlarge", False),
    ],
)
def test_volume_key_is_omitted_for_instance_store_types(
    instance_type: str, local_storage: bool
) -> None:
    assert has_instance_storage(instance_type) is local_storage
    body = training_job_request(
        settings=LaunchAgentSettings(instance_type=instance_type),
        job_name_prefix="p",
        role_arn="arn:aws:iam::111111111111:role/r",
        output_path="s3://b/launch/",
        key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
    )
    assert ("VolumeKmsKeyId" in body["ResourceConfig"]) is not local_storage


def template_with_output(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"LaunchQueueConfig": {"Value": json.dumps(body)}},
    }


@pytest.mark.parametrize(
    ("body", "note"),
    [
        (
            {"TrainingJobName": "team-launch-${run_id}", "RoleArn": "arn:aws:iam::1:role/x"},
            "note: W&B Launch names each job team-launch-${run_id} with the run's id; any other "
            "launcher must set a unique TrainingJobName starting with 'team-launch-' "
            "(the launch-agent role's scope)",
        ),
        # A stack deployed before the body named its jobs.
        (
            {"RoleArn": "arn:aws:iam::1:role/x"},
            "warning: this queue config sets no TrainingJobName '<prefix>-${run_id}', so W&B "
            "Launch names each job after its bare run id, which the launch-agent role may not "
            "create: redeploy the foundation stack (make deploy)",
        ),
    ],
)
@mock_aws
def test_cli_prints_the_deployed_stacks_queue_config_and_how_jobs_are_named(
    capsys: pytest.CaptureFixture[str], body: dict[str, Any], note: str
) -> None:
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="mlops-dev-foundation", TemplateBody=json.dumps(template_with_output(body))
    )
    assert show_queue_config.main([]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == body
    assert err.splitlines() == [note]


@mock_aws
def test_cli_reports_a_missing_stack_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert show_queue_config.main(["--stack", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'nope':")
    assert err.count("\n") == 1


# -- what W&B Launch's SageMaker runner makes of the published body ----------------------------

TRAINING_JOB_NAME = CREATE_TRAINING_JOB.members["TrainingJobName"]
IMAGE = "111111111111.dkr.ecr.us-east-1.amazonaws.com/mlops-dev/training:v1"
AGENT_JOB_ACTIONS = ("DescribeTrainingJob", "StopTrainingJob", "AddTags")


def wandb_create_training_job_request(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The CreateTrainingJob request W&B's agent sends for a run of a queue with ``body`` as its
    config, built by wandb's own code, and the run id wandb generated for it."""
    from wandb.sdk.launch._project_spec import LaunchProject
    from wandb.sdk.launch.runner.sagemaker_runner import build_sagemaker_args
    from wandb.sdk.launch.utils import MAX_ENV_LENGTHS

    # The agent's W&B API is only read for the base URL and key it puts in the environment.
    api = SimpleNamespace(settings={"base_url": "https://api.wandb.ai"}, api_key="test-key")
    spec = {
        "entity": "acme",
        "project": "churn",
        "docker": {"docker_image": IMAGE},
        "resource": "sagemaker",
        "resource_args": {"sagemaker": body},
    }
    project = LaunchProject.from_spec(spec, api)  # type: ignore[arg-type]
    request = build_sagemaker_args(
        project,
        api,  # type: ignore[arg-type]
        body["RoleArn"],
        None,
        [],
        MAX_ENV_LENGTHS["SageMakerRunner"],
        IMAGE,
    )
    return request, project.run_id


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_wandb_names_each_job_inside_the_launch_agent_roles_scope(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    assembly = assemblies[variant]
    matrix = PolicyMatrix(assembly.template("Foundation"), assembly.settings)
    body = json.loads(matrix.output("LaunchQueueConfig"))
    request, run_id = wandb_create_training_job_request(body)

    name = request["TrainingJobName"]
    assert name == f"{assembly.settings.training_job_prefix}-{run_id}"
    assert re.fullmatch(TRAINING_JOB_NAME.metadata["pattern"], name), name
    assert len(name) <= TRAINING_JOB_NAME.metadata["max"]
    report = ParamValidator().validate(request, CREATE_TRAINING_JOB)
    assert not report.has_errors(), report.generate_report()

    agent = matrix.role_from_output("LaunchAgentRoleArn")
    job = f"arn:aws:sagemaker:{matrix.region}:{matrix.account}:training-job/{name}"
    keys = {
        "sagemaker:OutputKmsKeyArn": request["OutputDataConfig"]["KmsKeyId"],
        "sagemaker:VolumeKmsKeyArn": request["ResourceConfig"]["VolumeKmsKeyId"],
    }
    queries = [
        Query(agent, "sagemaker:CreateTrainingJob", job, keys),
        # CreateTrainingJob with Tags (wandb always adds WandbRunId) also needs AddTags.
        *(Query(agent, f"sagemaker:{action}", job) for action in AGENT_JOB_ACTIONS),
        Query(
            agent,
            "iam:PassRole",
            request["RoleArn"],
            {"iam:PassedToService": "sagemaker.amazonaws.com"},
        ),
    ]
    assert matrix.evaluate(queries) == ["Allowed"] * len(queries)


def test_the_longest_allowed_prefix_leaves_room_for_wandbs_run_id() -> None:
    prefix = "a" * 40  # the limit of launch_agent.job_name_prefix
    body = training_job_request(
        settings=LaunchAgentSettings(),
        job_name_prefix=prefix,
        role_arn="arn:aws:iam::111111111111:role/r",
        output_path="s3://b/launch/",
        key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
    )
    request, run_id = wandb_create_training_job_request(body)
    assert request["TrainingJobName"] == f"{prefix}-{run_id}"
    assert len(request["TrainingJobName"]) <= TRAINING_JOB_NAME.metadata["max"]
    assert re.fullmatch(TRAINING_JOB_NAME.metadata["pattern"], request["TrainingJobName"])
