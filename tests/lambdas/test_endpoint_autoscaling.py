"""The autoscaling step's Lambda handler against moto's SageMaker and Application Auto Scaling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pipelines.lambdas import endpoint_autoscaling as scaling

REGION = "us-east-1"
EVENT = {
    "endpoint_name": "mlops-dev-endpoint",
    "variant_name": "AllTraffic",
    "min_capacity": "1",
    "max_capacity": "4",
    "target_invocations": "70",
}


class FakeContext:
    def get_remaining_time_in_millis(self) -> int:
        return 120_000


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model(
            ModelName="m",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/exec",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName="mlops-dev-endpoint", EndpointConfigName="c")
        yield


def registered(client: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    targets = client.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = client.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    return targets, policies


@pytest.mark.usefixtures("aws")
def test_handler_registers_target_and_target_tracking_policy() -> None:
    result = scaling.handler(dict(EVENT), FakeContext())
    assert result["status"] == "registered"
    assert result["resource_id"] == "endpoint/mlops-dev-endpoint/variant/AllTraffic"
    targets, policies = registered(boto3.client("application-autoscaling", region_name=REGION))
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 4)]
    (policy,) = policies
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 70.0
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == scaling.METRIC
    assert policy["PolicyARN"] == result["policy_arn"]


@pytest.mark.usefixtures("aws")
def test_rerun_with_new_bounds_updates_instead_of_duplicating() -> None:
    scaling.handler(dict(EVENT), FakeContext())
    scaling.handler({**EVENT, "max_capacity": "6", "target_invocations": "50"}, FakeContext())
    targets, policies = registered(boto3.client("application-autoscaling", region_name=REGION))
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 6)]
    assert len(policies) == 1
    assert policies[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 50.0


@pytest.mark.usefixtures("aws")
def test_missing_endpoint_fails_the_step() -> None:
    with pytest.raises(Exception, match="Could not find endpoint"):
        scaling.handler({**EVENT, "endpoint_name": "absent"}, FakeContext())


class Statuses:
    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)

    def describe_endpoint(self, EndpointName: str) -> dict[str, str]:  # noqa: N803 - boto3 style
        return {"EndpointStatus": self.statuses.pop(0)}


def test_waits_while_endpoint_is_creating() -> None:
    naps: list[float] = []
    status = scaling.wait_until_in_service(
        Statuses("Creating", "Creating", "InService"), "e", deadline=float("inf"), sleep=naps.append
    )
    assert status == "InService"
    assert naps == [scaling.POLL_SECONDS, scaling.POLL_SECONDS]


def test_gives_up_on_failed_endpoint_and_at_deadline() -> None:
    with pytest.raises(scaling.ScalingError, match="is Failed"):
        scaling.wait_until_in_service(Statuses("Failed"), "e", deadline=float("inf"))
    with pytest.raises(scaling.ScalingError, match="still Creating"):
        scaling.wait_until_in_service(Statuses("Creating"), "e", deadline=0.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"endpoint_name": ""}, "'endpoint_name' is missing"),
        ({"min_capacity": "x"}, "min_capacity = 'x': must be an integer"),
        ({"min_capacity": "5"}, "need 1 <= min <= max"),
        ({"min_capacity": "0"}, "need 1 <= min <= max"),
        ({"target_invocations": "0"}, "target_invocations = '0': must be > 0"),
    ],
)
def test_bad_inputs_are_named(change: dict[str, str], message: str) -> None:
    with pytest.raises(scaling.ScalingError, match=message):
        scaling.parse_request({**EVENT, **change})
