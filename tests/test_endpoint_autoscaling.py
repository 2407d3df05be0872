"""EndpointAutoscaling in a bare stack: one function for one endpoint, allowed to resize that
endpoint only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from infra.constructs.endpoint_autoscaling import AUTOSCALING_SLR_SERVICE, EndpointAutoscaling
from infra.stacks.pipeline import LAMBDA_CODE_DIR

ENDPOINT = "mlops-dev-churn-endpoint"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    stack = Stack(App(), "Bare", env={"account": "111122223333", "region": "eu-west-1"})
    EndpointAutoscaling(
        stack,
        "Autoscaling",
        model="churn",
        endpoint_name=ENDPOINT,
        log_group_name="/mlops-dev/lambda/churn-autoscaling",
        code_directory=LAMBDA_CODE_DIR,
    )
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def statements(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [policy] = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    return {s.get("Sid", ""): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def after_partition(arn: dict[str, Any]) -> str:
    """``arn:${AWS::Partition}:rest`` -> ``rest``: the part of an ARN this construct decides."""
    parts = arn["Fn::Join"][1]
    assert parts[:2] == ["arn:", {"Ref": "AWS::Partition"}]
    return "".join(parts[2:])


def test_one_function_runs_the_autoscaling_handler(resources: dict[str, Any]) -> None:
    [function] = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["Handler"] == "endpoint_autoscaling.handler"
    # It waits for a Creating endpoint, which takes minutes.
    assert function["Properties"]["Timeout"] == 900


def test_the_endpoint_it_may_resize_is_the_one_it_was_built_for(
    resources: dict[str, Any],
) -> None:
    resize = statements(resources)["ReadAndResizeTheEndpoint"]
    assert [after_partition(arn) for arn in resize["Resource"]] == [
        f":sagemaker:eu-west-1:111122223333:endpoint/{ENDPOINT}",
        f":sagemaker:eu-west-1:111122223333:endpoint-config/{ENDPOINT}-config*",
    ]
    alarms = statements(resources)["ManageTargetTrackingAlarms"]
    assert after_partition(alarms["Resource"]) == (
        f":cloudwatch:eu-west-1:111122223333:alarm:TargetTracking-endpoint/{ENDPOINT}/*"
    )


def test_scaling_calls_are_confined_to_sagemaker_variants(resources: dict[str, Any]) -> None:
    scale = statements(resources)["ScaleSageMakerVariantsOnly"]
    assert scale["Condition"]["StringEquals"] == {
        "application-autoscaling:service-namespace": "sagemaker",
        "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
    }


def test_it_may_create_only_the_autoscaling_service_linked_role(
    resources: dict[str, Any],
) -> None:
    create = statements(resources)["CreateAutoscalingServiceLinkedRole"]
    assert create["Condition"] == {"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SLR_SERVICE}}
    assert AUTOSCALING_SLR_SERVICE in json.dumps(create["Resource"])
