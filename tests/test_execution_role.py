"""SageMakerExecutionRole in a bare stack: who may assume it, and that its S3 access lives in
the buckets' own policies rather than in the role."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from infra.constructs.execution_role import SageMakerExecutionRole
from infra.layout import EXECUTION_ROLE_ARTIFACT_PREFIXES


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    stack = Stack(App(), "Bare")
    SageMakerExecutionRole(
        stack,
        "ExecutionRole",
        data_bucket=s3.Bucket(stack, "Data"),
        artifact_bucket=s3.Bucket(stack, "Artifacts"),
        key=kms.Key(stack, "Key"),
        repositories=[ecr.Repository(stack, "Training")],
    )
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def of_type(resources: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [resource for resource in resources.values() if resource["Type"] == type_]


def bucket_statements(resources: dict[str, Any], bucket_prefix: str) -> dict[str, Any]:
    """The statements of the policy on the bucket whose logical ID starts with the prefix."""
    for policy in of_type(resources, "AWS::S3::BucketPolicy"):
        if policy["Properties"]["Bucket"]["Ref"].startswith(bucket_prefix):
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            return {s["Sid"]: s for s in statements}
    raise AssertionError(f"no policy on {bucket_prefix}")


def test_only_sagemaker_acting_for_this_account_may_assume_it(
    resources: dict[str, Any],
) -> None:
    [role] = of_type(resources, "AWS::IAM::Role")
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_s3_access_is_granted_by_the_buckets_not_the_role(resources: dict[str, Any]) -> None:
    [policy] = of_type(resources, "AWS::IAM::Policy")
    actions = [
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    ]
    assert not [action for action in actions if action.startswith("s3:")]
    assert "ExecutionRoleReadsData" in bucket_statements(resources, "Data")


def test_the_data_bucket_is_read_only_to_it(resources: dict[str, Any]) -> None:
    read = bucket_statements(resources, "Data")["ExecutionRoleReadsData"]
    assert sorted(read["Action"]) == ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"]


def test_artifacts_are_written_under_the_execution_prefixes_only(
    resources: dict[str, Any],
) -> None:
    write = bucket_statements(resources, "Artifacts")["ExecutionRoleReadsWritesArtifacts"]
    suffixes = [arn["Fn::Join"][1][-1] for arn in write["Resource"]]
    assert suffixes == [f"/{prefix}/*" for prefix in EXECUTION_ROLE_ARTIFACT_PREFIXES]
