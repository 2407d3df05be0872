"""Each default of infra.aspects.DataDefaults, as cdk-nag tests its rules: a resource lacking
the setting gets it, one that has it keeps it, a resource of another kind is left alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from infra.aspects import LOG_RETENTION_DAYS, DataDefaults


def synth(build: Callable[[cdk.Stack], object]) -> dict[str, Any]:
    """The resources of a bare stack holding the project key and what ``build`` adds."""
    stack = cdk.Stack(cdk.App(), "Bare")
    key = kms.Key(stack, "ProjectKey")
    cdk.Aspects.of(stack).add(DataDefaults(log_key=key))
    build(stack)
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def only(resources: dict[str, Any], type_: str) -> dict[str, Any]:
    [resource] = [r for r in resources.values() if r["Type"] == type_]
    found: dict[str, Any] = resource
    return found


def retained(resource: dict[str, Any]) -> bool:
    return resource.get("DeletionPolicy") == "Retain" == resource.get("UpdateReplacePolicy")


DATA_BEARING_WITHOUT_POLICY: dict[str, Callable[[cdk.Stack], object]] = {
    "AWS::S3::Bucket": lambda stack: s3.CfnBucket(stack, "Bucket"),
    "AWS::ECR::Repository": lambda stack: ecr.CfnRepository(stack, "Repository"),
    "AWS::SageMaker::ModelPackageGroup": lambda stack: sagemaker.CfnModelPackageGroup(
        stack, "Group", model_package_group_name="group"
    ),
    "AWS::Logs::LogGroup": lambda stack: logs.CfnLogGroup(stack, "Logs"),
}


@pytest.mark.parametrize("type_", sorted(DATA_BEARING_WITHOUT_POLICY))
def test_a_data_bearing_resource_without_a_removal_policy_is_retained(type_: str) -> None:
    assert retained(only(synth(DATA_BEARING_WITHOUT_POLICY[type_]), type_))


def test_a_key_without_a_removal_policy_is_retained() -> None:
    resources = synth(lambda stack: kms.CfnKey(stack, "Bare"))
    assert all(retained(r) for r in resources.values() if r["Type"] == "AWS::KMS::Key")


def test_a_data_bearing_resource_set_to_be_destroyed_is_retained() -> None:
    bucket = only(
        synth(lambda stack: s3.Bucket(stack, "Bucket", removal_policy=cdk.RemovalPolicy.DESTROY)),
        "AWS::S3::Bucket",
    )
    assert retained(bucket)


def test_a_retained_resource_stays_retained() -> None:
    bucket = only(
        synth(lambda stack: s3.Bucket(stack, "Bucket", removal_policy=cdk.RemovalPolicy.RETAIN)),
        "AWS::S3::Bucket",
    )
    assert retained(bucket)


def test_a_resource_that_holds_no_data_keeps_its_removal_policy() -> None:
    queue = only(
        synth(lambda stack: sqs.Queue(stack, "Queue", removal_policy=cdk.RemovalPolicy.DESTROY)),
        "AWS::SQS::Queue",
    )
    assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Delete"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, LOG_RETENTION_DAYS),  # never expires: capped
        (731, LOG_RETENTION_DAYS),  # the CDK LogGroup's default of two years: capped
        (LOG_RETENTION_DAYS, LOG_RETENTION_DAYS),
        (30, 30),  # a construct that needs less keeps less
    ],
)
def test_log_groups_keep_events_at_most_a_year(given: int | None, kept: int) -> None:
    group = only(
        synth(lambda stack: logs.CfnLogGroup(stack, "Logs", retention_in_days=given)),
        "AWS::Logs::LogGroup",
    )
    assert group["Properties"]["RetentionInDays"] == kept


def test_a_log_group_without_a_key_is_encrypted_with_the_project_key() -> None:
    group = only(synth(lambda stack: logs.LogGroup(stack, "Logs")), "AWS::Logs::LogGroup")
    key_id = group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]
    assert key_id.startswith("ProjectKey")


def test_a_log_group_with_its_own_key_keeps_it() -> None:
    def build(stack: cdk.Stack) -> None:
        logs.LogGroup(stack, "Logs", encryption_key=kms.Key(stack, "OwnKey"))

    group = only(synth(build), "AWS::Logs::LogGroup")
    assert group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0].startswith("OwnKey")


def test_a_resource_of_another_kind_gets_no_log_settings() -> None:
    queue = only(synth(lambda stack: sqs.CfnQueue(stack, "Queue")), "AWS::SQS::Queue")
    assert "KmsKeyId" not in queue.get("Properties", {})
    assert "MessageRetentionPeriod" not in queue.get("Properties", {})
