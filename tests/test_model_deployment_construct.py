"""The deployer of each model (infra/constructs/model_deployment.py) in a bare stack: the
EventBridge rule's pattern, checked against AWS's sample event by moto's EventBridge, its
target and dead letters, and the settings the handler reads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from infra.constructs.model_deployment import (
    ModelDeployment,
    endpoint_event_pattern,
    registry_event_pattern,
)
from infra.stacks.pipeline import LAMBDA_CODE_DIR
from pipelines.definition.spec import DeploymentSpec
from pipelines.lambdas.model_deployment import SETTINGS_VARIABLE
from pipelines.names import ModelNames

FIXTURES = Path(__file__).parent / "fixtures" / "eventbridge"
SAMPLE_EVENT = FIXTURES / "model-package-state-change.json"
ENDPOINT_EVENT = FIXTURES / "endpoint-state-change.json"
NAMES = ModelNames.of("mlops-dev", "churn")


@pytest.fixture(scope="module")
def template() -> Template:
    stack = Stack(App(), "Bare")
    ModelDeployment(
        stack,
        "Deployment",
        names=NAMES,
        deployment=DeploymentSpec(min_capacity=2, max_capacity=4),
        execution_role=iam.Role.from_role_arn(
            stack, "Execution", "arn:aws:iam::111122223333:role/execution"
        ),
        key=kms.Key(stack, "Key"),
        capture_uri="s3://artifacts/endpoints/mlops-dev-churn-endpoint/data-capture",
        code_directory=LAMBDA_CODE_DIR,
    )
    return Template.from_stack(stack)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching as moto's event bus routes PutEvents (moto answers the
    TestEventPattern API with no result, so its matcher is called directly)."""
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))  # type: ignore[arg-type]


def sample_event(group: str, status: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(json.loads(SAMPLE_EVENT.read_text()))
    event["detail"]["ModelPackageGroupName"] = group
    event["detail"]["ModelApprovalStatus"] = status
    return event


def rendered(pattern: Any) -> dict[str, Any]:
    """An EventPattern as the template writes it."""
    values: dict[str, Any] = Stack(App()).resolve(pattern._values)
    return {key.replace("_", "-"): value for key, value in values.items()}


@pytest.fixture(scope="module")
def pattern() -> dict[str, Any]:
    return rendered(registry_event_pattern(NAMES.model_package_group))


@pytest.mark.parametrize(
    ("endpoint", "status", "expected"),
    [
        (NAMES.endpoint, "IN_SERVICE", True),
        (NAMES.endpoint, "FAILED", True),
        (NAMES.endpoint, "UPDATING", False),
        ("mlops-dev-wine-endpoint", "IN_SERVICE", False),
    ],
    ids=["in service", "failed", "updating", "another endpoint"],
)
def test_the_settled_rule_matches_aws_s_sample_endpoint_event(
    endpoint: str, status: str, expected: bool
) -> None:
    event = json.loads(ENDPOINT_EVENT.read_text())
    event["detail"]["EndpointName"] = endpoint
    event["detail"]["EndpointStatus"] = status
    assert matches(rendered(endpoint_event_pattern(NAMES.endpoint)), event) is expected


@pytest.mark.parametrize(
    ("group", "status", "expected"),
    [
        (NAMES.model_package_group, "Approved", True),
        (NAMES.model_package_group, "Rejected", True),
        (NAMES.model_package_group, "PendingManualApproval", False),
        ("mlops-dev-wine-models", "Approved", False),
    ],
    ids=["approved", "rejected", "pending", "another model's group"],
)
def test_the_rule_matches_aws_s_sample_event_for_an_approval_or_rejection_of_its_group(
    pattern: dict[str, Any], group: str, status: str, expected: bool
) -> None:
    assert matches(pattern, sample_event(group, status)) is expected


def test_the_rule_in_the_template_is_that_pattern_and_targets_the_deployer(
    template: Template, pattern: dict[str, Any]
) -> None:
    rules = template.find_resources("AWS::Events::Rule").values()
    (rule,) = [r for r in rules if "ModelPackageGroupName" in json.dumps(r)]
    assert rule["Properties"]["EventPattern"] == pattern
    (target,) = rule["Properties"]["Targets"]
    assert "DeadLetterConfig" in target
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}


def test_the_deployer_reads_the_spec_s_deployment_from_its_environment(
    template: Template,
) -> None:
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": "model_deployment.handler"}},
    )
    (function,) = functions.values()
    settings = function["Properties"]["Environment"]["Variables"][SETTINGS_VARIABLE]
    text = json.dumps(settings)
    for expected in (
        '\\"endpoint_name\\": \\"mlops-dev-churn-endpoint\\"',
        '\\"model_package_group\\": \\"mlops-dev-churn-models\\"',
        '\\"min_capacity\\": 2',
        '\\"max_capacity\\": 4',
        "data-capture",
    ):
        assert expected in text, expected
    assert "DeadLetterConfig" in function["Properties"]
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/mlops-dev/lambda/churn-deployer"}
    )
