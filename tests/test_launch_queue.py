"""The launch queue config: a valid CreateTrainingJob body, in the stack and from the CLI."""

from __future__ import annotations

import json
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
from tests.support.iam import TemplateResolver

CREATE_TRAINING_JOB = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("CreateTrainingJob")
    .input_shape
)


def complete_request(body: dict[str, Any]) -> dict[str, Any]:
    """What a launcher adds per run: a job name and an image."""
    return {
        **body,
        "TrainingJobName": "mlops-dev-launch-run-1",
        "AlgorithmSpecification": {
            "TrainingImage": "111111111111.dkr.ecr.us-east-1.amazonaws.com/mlops-dev/training:v1",
            "TrainingInputMode": "File",
        },
    }


def queue_config_output(assembly: Assembly) -> dict[str, Any]:
    template = assembly.template("Foundation")
    value = TemplateResolver(template).resolve(template["Outputs"]["LaunchQueueConfig"]["Value"])
    body: dict[str, Any] = json.loads(value)
    return body


def test_stack_output_is_a_valid_create_training_job_body(dev: Assembly) -> None:
    body = queue_config_output(dev)
    report = ParamValidator().validate(complete_request(body), CREATE_TRAINING_JOB)
    assert not report.has_errors(), report.generate_report()
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
        role_arn="arn:aws:iam::111111111111:role/r",
        output_path="s3://b/launch/",
        key_arn="arn:aws:kms:us-east-1:111111111111:key/k",
    )
    assert ("VolumeKmsKeyId" in body["ResourceConfig"]) is not local_storage


TEMPLATE_WITH_OUTPUT = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "LaunchQueueConfig": {"Value": json.dumps({"RoleArn": "arn:aws:iam::123456789012:role/x"})}
    },
}


@mock_aws
def test_cli_prints_the_deployed_stacks_queue_config(capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="mlops-dev-foundation", TemplateBody=json.dumps(TEMPLATE_WITH_OUTPUT)
    )
    assert show_queue_config.main([]) == 0
    assert json.loads(capsys.readouterr().out) == {"RoleArn": "arn:aws:iam::123456789012:role/x"}


@mock_aws
def test_cli_reports_a_missing_stack_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert show_queue_config.main(["--stack", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'nope':")
    assert err.count("\n") == 1
