"""PipelineRole in a bare stack: SageMaker Pipelines alone assumes it, and what it delegates
goes to the execution role and the model's own autoscaling function only."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from infra.constructs.pipeline_role import PipelineRole

EXECUTION_ROLE = "arn:aws:iam::111122223333:role/execution"
AUTOSCALING = "arn:aws:lambda:eu-west-1:111122223333:function:churn-autoscaling"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    stack = Stack(App(), "Bare")
    PipelineRole(
        stack,
        "PipelineRole",
        execution_role=iam.Role.from_role_arn(stack, "Execution", EXECUTION_ROLE),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Artifacts", "artifacts"),
        key=kms.Key(stack, "Key"),
        artifact_prefix="pipelines/churn",
        model_package_group_name="mlops-dev-churn-models",
        endpoint_name="mlops-dev-churn-endpoint",
        autoscaling_function=lambda_.Function.from_function_arn(stack, "Autoscaling", AUTOSCALING),
    )
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def statements(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [policy] = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_only_sagemaker_acting_for_this_account_may_assume_it(
    resources: dict[str, Any],
) -> None:
    [role] = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_it_invokes_only_the_models_autoscaling_function(resources: dict[str, Any]) -> None:
    assert statements(resources)["InvokeAutoscalingStep"]["Resource"] == AUTOSCALING


def test_it_passes_only_the_execution_role_and_only_to_sagemaker(
    resources: dict[str, Any],
) -> None:
    [passing] = [s for s in statements(resources).values() if s["Action"] == "iam:PassRole"]
    assert passing["Resource"] == EXECUTION_ROLE
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_it_reads_outputs_under_the_models_prefix_only(resources: dict[str, Any]) -> None:
    read = statements(resources)["ReadPipelineOutputs"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][-1] == ":s3:::artifacts/pipelines/churn/*"
