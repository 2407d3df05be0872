"""The deployer Lambda through its handler, against moto's SageMaker and Application Auto
Scaling, driven by EventBridge events built from the samples AWS documents
(tests/fixtures/eventbridge). Every request it sends is checked against botocore's shapes,
limits included, before moto sees it (tests/support/moto_sagemaker.py)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pipelines.lambdas import model_deployment as deploy
from tests.support.moto_sagemaker import (
    CheckedRequests,
    RefusedRequestError,
    UpdateBehaviour,
    checked_session,
    endpoint_updates,
    set_endpoint_status,
)

__all__ = ["endpoint_updates"]  # the fixture, used by name

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eventbridge"
REGION = "us-east-1"
GROUP = "mlops-dev-demo-models"
ENDPOINT = "mlops-dev-demo-endpoint"
SETTINGS = deploy.Settings(
    endpoint_name=ENDPOINT,
    model_package_group=GROUP,
    execution_role_arn="arn:aws:iam::123456789012:role/exec",
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
    min_capacity=1,
    max_capacity=3,
    capture_uri="s3://artifacts/endpoints/demo/data-capture",
    tags={"mlops:model": "demo"},
)
GUARDED = dataclasses.replace(
    SETTINGS,
    min_capacity=2,
    traffic="linear",
    traffic_step_percent=25,
    wait_seconds=120,
    rollback_alarms=(f"{ENDPOINT}-5xx-errors", f"{ENDPOINT}-model-latency"),
)
SERVERLESS = dataclasses.replace(SETTINGS, serverless={"memory_mb": 2048, "max_concurrency": 5})
# Requests a deployment may send; training or a pipeline execution would be a retraining.
DEPLOYER_OPERATIONS = {
    "DescribeEndpoint",
    "ListTags",
    "ListModelPackages",
    "DescribeModelPackage",
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "DescribeEndpointConfig",
    "UpdateEndpoint",
    "AddTags",
    "UpdateModelPackage",
    "DeleteEndpoint",
    "RegisterScalableTarget",
    "PutScalingPolicy",
    "DescribeScalableTargets",
    "DeregisterScalableTarget",
}


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return event


class Cloud:
    """moto's SageMaker, a registry for one model, and the deployer's handler run on events."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, session: Any, checked: CheckedRequests
    ) -> None:
        self.monkeypatch = monkeypatch
        self.session = session
        self.checked = checked
        self.sagemaker = session.client("sagemaker")
        self.autoscaling = session.client("application-autoscaling")
        self.ids = itertools.count(1)

    def register(self, status: str = "PendingManualApproval") -> str:
        arn: str = self.sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1",
                        "ModelDataUrl": "s3://artifacts/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
                "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
            },
        )["ModelPackageArn"]
        return arn

    def set_status(self, arn: str, status: str) -> dict[str, Any]:
        """Approve or reject a version, and the event SageMaker sends for it: the documented
        sample with this version's fields, as an approval-status change."""
        self.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        event = sample("model-package-state-change.json")
        event["id"] = f"00000000-0000-0000-0000-{next(self.ids):012d}"
        event["resources"] = [arn]
        event["detail"].update(
            ModelPackageGroupName=GROUP,
            ModelPackageVersion=int(arn.rsplit("/", 1)[1]),
            ModelPackageArn=arn,
            ModelApprovalStatus=status,
            UpdatedModelPackageFields=["ModelApprovalStatus"],
        )
        return event

    def endpoint_event(self, status: str = "IN_SERVICE") -> dict[str, Any]:
        event = sample("endpoint-state-change.json")
        arn = self.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
        event["resources"] = [arn]
        event["detail"].update(EndpointName=ENDPOINT, EndpointArn=arn, EndpointStatus=status)
        return event

    def call(self, event: dict[str, Any], settings: deploy.Settings = SETTINGS) -> dict[str, Any]:
        """The handler's answer to the event; ``checked`` then holds only its requests."""
        values = {**dataclasses.asdict(settings), "rollback_alarms": list(settings.rollback_alarms)}
        self.monkeypatch.setenv(deploy.SETTINGS_VARIABLE, json.dumps(values))
        self.checked.clear()
        result = deploy.handler(event, None)
        assert set(self.checked.operations()) <= DEPLOYER_OPERATIONS
        return result

    def run(self, event: dict[str, Any], settings: deploy.Settings = SETTINGS) -> str:
        return str(self.call(event, settings)["status"])

    def deploy_live(self, status: str = "Approved") -> str:
        """A version registered, approved and live: the state most tests start from."""
        arn = self.register()
        self.run(self.set_status(arn, status))
        assert self.run(self.endpoint_event()) == "deployed"
        return arn

    def tags(self) -> dict[str, str]:
        arn = self.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
        tags = self.sagemaker.list_tags(ResourceArn=arn)["Tags"]
        return {t["Key"]: t["Value"] for t in tags if t["Key"].startswith(deploy.TAG)}

    def serving(self) -> str:
        """The package the endpoint's model serves."""
        config_name = self.sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
        config = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        model = self.sagemaker.describe_model(
            ModelName=config["ProductionVariants"][0]["ModelName"]
        )
        return str(model["Containers"][0]["ModelPackageName"])

    def scaling(self) -> list[tuple[str, int, int]]:
        targets = self.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")
        return [
            (t["ResourceId"], t["MinCapacity"], t["MaxCapacity"])
            for t in targets["ScalableTargets"]
        ]


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch, endpoint_updates: UpdateBehaviour) -> Iterator[Cloud]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        session, checked = checked_session(REGION)
        # The handler makes its clients from boto3's default session: this one checks them.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        cloud = Cloud(monkeypatch, session, checked)
        cloud.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        yield cloud


def test_the_documented_sample_is_a_lifecycle_change_and_deploys_nothing(cloud: Cloud) -> None:
    event = sample("model-package-state-change.json")
    settings = dataclasses.replace(SETTINGS, model_package_group="versionedmp-p-idy6c3e1fiqj")
    assert cloud.run(event, settings) == "ignored"
    assert cloud.checked.sent == []


def test_an_approval_creates_the_endpoint_serving_exactly_that_package(cloud: Cloud) -> None:
    arn = cloud.register()
    event = cloud.set_status(arn, "Approved")
    assert cloud.run(event) == "creating"
    (model,) = cloud.checked.of("CreateModel")
    assert model["Containers"] == [{"ModelPackageName": arn}]
    assert cloud.serving() == arn
    # Recorded live, and scaled, once the endpoint's own event says it is in service.
    assert cloud.scaling() == []
    assert cloud.run(cloud.endpoint_event()) == "deployed"
    tags = cloud.tags()
    assert tags["deployment:live-version"] == "1"
    assert tags["deployment:live-package"] == arn
    assert tags["deployment:live-trigger"] == f"registry {GROUP} v1 Approved event {event['id']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tags["deployment:live-since"])
    assert tags["deployment:live-approved-by"]
    assert cloud.scaling() == [(f"endpoint/{ENDPOINT}/variant/AllTraffic", 1, 3)]


def test_duplicate_approval_events_deploy_once(cloud: Cloud) -> None:
    event = cloud.set_status(cloud.register(), "Approved")
    assert cloud.run(event) == "creating"
    set_endpoint_status(REGION, ENDPOINT, "Creating")
    assert cloud.run(copy.deepcopy(event)) == "busy"
    assert cloud.checked.operations() == ["DescribeEndpoint", "ListTags"]
    set_endpoint_status(REGION, ENDPOINT, "InService")
    assert cloud.run(cloud.endpoint_event()) == "deployed"
    applied = cloud.checked.of("PutScalingPolicy")
    assert cloud.run(copy.deepcopy(event)) == "current"
    assert not {"CreateModel", "CreateEndpoint", "UpdateEndpoint"} & set(cloud.checked.operations())
    # Autoscaling is applied again, exactly as before.
    assert cloud.checked.of("PutScalingPolicy") == applied


def test_approving_a_newer_version_updates_the_endpoint_and_keeps_its_scaling(
    cloud: Cloud, endpoint_updates: UpdateBehaviour
) -> None:
    cloud.deploy_live()
    newer = cloud.register()
    assert cloud.run(cloud.set_status(newer, "Approved")) == "updating"
    (request,) = cloud.checked.of("UpdateEndpoint")
    assert request["RetainAllVariantProperties"] is True
    assert "DeploymentConfig" not in request  # no guardrails asked for: SageMaker's default
    assert cloud.tags()["deployment:target-version"] == "2"
    assert cloud.run(cloud.endpoint_event()) == "deployed"
    assert (cloud.serving(), cloud.tags()["deployment:live-version"]) == (newer, "2")
    assert cloud.scaling() == [(f"endpoint/{ENDPOINT}/variant/AllTraffic", 1, 3)]
    assert len(endpoint_updates.requests) == 1


def test_rejecting_the_live_version_rolls_back_to_the_one_approved_before(cloud: Cloud) -> None:
    first = cloud.deploy_live()
    second = cloud.register()
    cloud.run(cloud.set_status(second, "Approved"))
    cloud.run(cloud.endpoint_event())
    assert cloud.run(cloud.set_status(second, "Rejected")) == "updating"
    assert cloud.run(cloud.endpoint_event()) == "deployed"
    assert (cloud.serving(), cloud.tags()["deployment:live-version"]) == (first, "1")
    assert cloud.tags()["deployment:live-trigger"].startswith(f"registry {GROUP} v2 Rejected")


def test_approving_an_older_version_deploys_it(cloud: Cloud) -> None:
    older = cloud.register()
    cloud.deploy_live()
    # A version that is not live changes nothing when rejected.
    assert cloud.run(cloud.set_status(older, "Rejected")) == "current"
    assert cloud.run(cloud.set_status(older, "Approved")) == "updating"
    assert cloud.run(cloud.endpoint_event()) == "deployed"
    assert (cloud.serving(), cloud.tags()["deployment:live-version"]) == (older, "1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ModelPackageGroupName": "another-model"}, "another model's version"),
        ({"UpdatedModelPackageFields": ["ModelLifeCycle"]}, "a lifecycle stage"),
        ({"UpdatedModelPackageFields": ["ApprovalDescription"]}, "a description"),
    ],
)
def test_registry_events_other_than_this_models_approvals_are_ignored(
    cloud: Cloud, change: dict[str, Any], reason: str
) -> None:
    event = cloud.set_status(cloud.register(), "Approved")
    event["detail"].update(change)
    assert cloud.run(event) == "ignored", reason
    assert cloud.checked.sent == []


def test_other_endpoints_and_other_events_are_ignored(cloud: Cloud) -> None:
    cloud.deploy_live()
    other = cloud.endpoint_event()
    other["detail"]["EndpointName"] = "someone-elses-endpoint"
    training = {**sample("endpoint-state-change.json"), "detail-type": "SageMaker Training Job"}
    for event in (other, training):
        assert cloud.run(event) == "ignored"
        assert cloud.checked.sent == []


def test_a_package_arn_given_by_hand_deploys_that_version(cloud: Cloud) -> None:
    arn = cloud.register()
    cloud.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert cloud.run({"ModelPackageArn": arn}) == "creating"
    assert cloud.serving() == arn
    assert cloud.run(cloud.endpoint_event()) == "deployed"
    assert cloud.tags()["deployment:live-trigger"] == f"by hand {arn}"


def test_a_package_arn_given_by_hand_must_be_an_approved_version_of_this_model(
    cloud: Cloud,
) -> None:
    pending = cloud.register()
    with pytest.raises(deploy.DeploymentError, match="v1 is PendingManualApproval: approve it"):
        cloud.run({"ModelPackageArn": pending})
    cloud.sagemaker.create_model_package_group(ModelPackageGroupName="another-model")
    foreign = cloud.sagemaker.create_model_package(
        ModelPackageGroupName="another-model", ModelApprovalStatus="Approved"
    )["ModelPackageArn"]
    with pytest.raises(
        deploy.DeploymentError, match=f"is a version of another-model, not of {GROUP}"
    ):
        cloud.run({"ModelPackageArn": foreign})
    assert "CreateModel" not in cloud.checked.operations()


def test_a_package_arn_given_by_hand_yields_to_a_later_approval(cloud: Cloud) -> None:
    older = cloud.register("Approved")
    cloud.deploy_live()
    result = cloud.call({"ModelPackageArn": older})
    assert (result["status"], result["live_version"]) == ("current", "2")
    assert result["message"].endswith("v2 was approved after v1, so it serves")


def test_the_training_pipelines_deploy_step_deploys_the_version_it_registered(
    cloud: Cloud,
) -> None:
    arn = cloud.register("Approved")
    event = {"trigger": "pipeline execution abc123", "model_package_arn": arn}
    assert cloud.run(event) == "creating"
    assert cloud.serving() == arn
    assert cloud.tags()["deployment:target-trigger"] == "pipeline execution abc123"


@pytest.mark.parametrize(
    ("status", "expected"), [("Approved", "creating"), ("PendingManualApproval", "ignored")]
)
def test_a_registration_event_deploys_a_version_registered_approved(
    cloud: Cloud, status: str, expected: str
) -> None:
    event = cloud.set_status(cloud.register(status), status)
    # AWS documents no UpdatedModelPackageFields for a registration.
    del event["detail"]["UpdatedModelPackageFields"]
    assert cloud.run(event) == expected


def test_rejecting_the_only_approved_version_keeps_it_serving_and_says_so(cloud: Cloud) -> None:
    only = cloud.deploy_live()
    event = cloud.set_status(only, "Rejected")
    result = cloud.call(event)
    assert (result["status"], result["live_version"]) == ("kept", "1")
    assert "no approved version left" in result["message"]
    assert cloud.serving() == only


def test_a_version_sagemaker_rolled_back_is_rejected_and_not_retried(
    cloud: Cloud, endpoint_updates: UpdateBehaviour
) -> None:
    first = cloud.deploy_live()
    bad = cloud.register()
    endpoint_updates.rollback = True
    assert cloud.run(cloud.set_status(bad, "Approved")) == "updating"
    assert cloud.run(cloud.endpoint_event()) == "rolled-back"
    package = cloud.sagemaker.describe_model_package(ModelPackageName=bad)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ApprovalDescription"].startswith("Deployment rolled back")
    # The rejection's own event, and any repeat, leave the old version serving.
    assert cloud.run(cloud.endpoint_event()) == "current"
    assert (cloud.serving(), len(endpoint_updates.requests)) == (first, 1)


def test_an_endpoint_that_fails_to_start_is_deleted_and_its_version_rejected(
    cloud: Cloud,
) -> None:
    arn = cloud.register()
    cloud.run(cloud.set_status(arn, "Approved"))
    set_endpoint_status(REGION, ENDPOINT, "Failed", "The primary container failed the ping")
    assert cloud.run(cloud.endpoint_event("FAILED")) == "failed"
    assert cloud.sagemaker.list_endpoints()["Endpoints"] == []
    package = cloud.sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert "failed the ping" in package["ApprovalDescription"]


def test_guardrails_asked_for_make_the_update_blue_green_with_the_alarms(cloud: Cloud) -> None:
    cloud.deploy_live()
    cloud.run(cloud.set_status(cloud.register(), "Approved"), GUARDED)
    (request,) = cloud.checked.of("UpdateEndpoint")
    config = request["DeploymentConfig"]
    assert config["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": name} for name in GUARDED.rollback_alarms
    ]
    policy = config["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "LINEAR",
        "WaitIntervalInSeconds": 120,
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
    }
    # Four steps of two minutes and the bake fit in the update's time limit.
    assert policy["MaximumExecutionTimeoutInSeconds"] > 4 * 120 + GUARDED.bake_seconds
    assert deploy.deployment_config(SETTINGS) is None


def test_moving_to_serverless_deregisters_autoscaling_first(cloud: Cloud) -> None:
    cloud.deploy_live()
    assert cloud.scaling()
    assert cloud.run(cloud.set_status(cloud.register(), "Approved"), SERVERLESS) == "updating"
    assert cloud.scaling() == []
    (request,) = cloud.checked.of("UpdateEndpoint")
    assert "RetainAllVariantProperties" not in request
    config = cloud.sagemaker.describe_endpoint_config(
        EndpointConfigName=request["EndpointConfigName"]
    )
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
    }
    assert config["KmsKeyId"] == SETTINGS.kms_key_arn
    assert not config.get("DataCaptureConfig")  # moto answers {} for none
    assert cloud.run(cloud.endpoint_event(), SERVERLESS) == "deployed"
    assert cloud.scaling() == []


def test_an_instance_endpoint_captures_data_with_the_key(cloud: Cloud) -> None:
    cloud.run(cloud.set_status(cloud.register(), "Approved"))
    (request,) = cloud.checked.of("CreateEndpointConfig")
    assert request["KmsKeyId"] == SETTINGS.kms_key_arn
    capture = request["DataCaptureConfig"]
    assert (capture["DestinationS3Uri"], capture["KmsKeyId"]) == (
        SETTINGS.capture_uri,
        SETTINGS.kms_key_arn,
    )
    assert {"Key": "mlops:model", "Value": "demo"} in request["Tags"]


def test_a_longest_endpoint_name_still_names_its_models_within_the_limit(cloud: Cloud) -> None:
    longest = dataclasses.replace(SETTINGS, endpoint_name="e" * 63)
    cloud.run(cloud.set_status(cloud.register(), "Approved"), longest)
    (model,) = cloud.checked.of("CreateModel")
    assert len(model["ModelName"]) == 63


def test_the_request_check_refuses_what_sagemaker_would(cloud: Cloud) -> None:
    with pytest.raises(RefusedRequestError, match="64 characters, over the maximum of 63"):
        cloud.sagemaker.delete_endpoint(EndpointName="e" * 64)
    with pytest.raises(RefusedRequestError, match="not one of Approved"):
        cloud.sagemaker.list_model_packages(ModelApprovalStatus="approved")


def test_tag_values_keep_to_what_sagemaker_accepts() -> None:
    value = deploy._tag_value("registry g v1 Approved, (by: someone) " + "x" * 300)
    assert len(value) == 256
    assert re.fullmatch(r"[\w .:/=+\-@]*", value)


def test_settings_come_from_the_environment_and_bad_ones_are_one_line() -> None:
    raw = '{"endpoint_name": "e", "model_package_group": "g", "execution_role_arn": "r"}'
    settings = deploy.Settings.from_environment({deploy.SETTINGS_VARIABLE: raw})
    assert (settings.endpoint_name, settings.rollback_alarms, settings.blue_green) == (
        "e",
        (),
        False,
    )
    with pytest.raises(deploy.DeploymentError, match="is not set"):
        deploy.Settings.from_environment({})
    with pytest.raises(deploy.DeploymentError, match="unexpected keyword argument 'colour'"):
        deploy.Settings.from_environment({deploy.SETTINGS_VARIABLE: raw[:-1] + ', "colour": 1}'})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"traffic": "sideways"}, "traffic = 'sideways': allowed all-at-once, canary, linear"),
        ({"min_capacity": 4}, "capacity min 4 / max 3: need 1 <= min <= max"),
        ({"traffic": "canary", "traffic_step_percent": 60}, "canary step 60%: need 1-50"),
        ({"traffic": "linear", "traffic_step_percent": 5}, "linear step 5%: need 10-50"),
        ({"bake_seconds": 7200}, "bake_seconds = 7200: need 0-3600"),
        ({"rollback_alarms": tuple("abcdefghijk")}, "11 rollback alarms: at most 10"),
        ({"serverless": {"memory_mb": 1000, "max_concurrency": 5}}, "memory_mb = 1000"),
        ({"serverless": {"memory_mb": 1024, "max_concurrency": 0}}, "max_concurrency = 0"),
        (
            {"serverless": {"memory_mb": 1024, "max_concurrency": 5}, "traffic": "canary"},
            "serverless shifts all at once",
        ),
    ],
)
def test_settings_sagemaker_would_refuse_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(deploy.DeploymentError, match=re.escape(message)):
        dataclasses.replace(SETTINGS, **change)
