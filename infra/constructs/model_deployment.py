"""One model's deployer: the Lambda that makes the endpoint serve the most recently approved
version (pipelines/lambdas/model_deployment.py), and the EventBridge rule that runs it when a
version of the model's group is approved or rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.endpoint_autoscaling import (
    create_the_service_linked_role,
    manage_target_tracking_alarms,
)
from infra.constructs.lambda_function import ProjectFunction
from infra.constructs.sagemaker_statements import (
    grant_key_to_sagemaker_only,
    pass_role_to_sagemaker_only,
)
from infra.constructs.statement_groups import StatementGroup, add_statement_groups
from pipelines.definition.contract import CAPTURE_SAMPLING_PERCENTAGE, VARIANT_NAME
from pipelines.definition.spec import DeploymentSpec
from pipelines.lambdas.model_deployment import SCALABLE_DIMENSION, SETTINGS_VARIABLE
from pipelines.names import MODEL_TAG, ModelNames

APPROVAL_STATUSES = ("Approved", "Rejected")
SETTLED_STATUSES = ("IN_SERVICE", "FAILED")


def registry_event_pattern(group: str) -> events.EventPattern:
    """An approval or a rejection of one of the model's versions: an approval deploys it, a
    rejection of the live version rolls back. Other state changes (a model card, a lifecycle
    stage) carry a status too, and the handler finds nothing to change for them."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=["SageMaker Model Package State Change"],
        detail={
            "ModelPackageGroupName": [group],
            "ModelApprovalStatus": list(APPROVAL_STATUSES),
        },
    )


def endpoint_event_pattern(endpoint: str) -> events.EventPattern:
    """The endpoint settled after a deployment (EventBridge spells the statuses in upper snake
    case): the deployer records the version live, or rejects one that could not start."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=["SageMaker Endpoint State Change"],
        detail={"EndpointName": [endpoint], "EndpointStatus": list(SETTLED_STATUSES)},
    )


def deployment_settings(
    deployment: DeploymentSpec,
    *,
    names: ModelNames,
    execution_role_arn: str,
    key_arn: str,
    capture_uri: str | None,
) -> dict[str, Any]:
    """The deployer's ``Settings``: the spec's deployment section in the names the handler
    reads, so every trigger deploys alike."""
    return {
        "endpoint_name": names.endpoint,
        "model_package_group": names.model_package_group,
        "execution_role_arn": execution_role_arn,
        "variant_name": VARIANT_NAME,
        "kms_key_arn": key_arn,
        "min_capacity": deployment.min_capacity,
        "max_capacity": deployment.max_capacity,
        "target_invocations": float(deployment.target_invocations_per_instance),
        "capture_uri": capture_uri,
        "capture_percent": CAPTURE_SAMPLING_PERCENTAGE,
        "tags": {MODEL_TAG: names.model},
    }


class ModelDeployment(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: ModelNames,
        deployment: DeploymentSpec,
        execution_role: iam.IRole,
        key: kms.IKey,
        capture_uri: str | None,
        code_directory: Path,
    ) -> None:
        super().__init__(scope, id_)
        self.dead_letters = _dead_letters(self, names)
        settings = deployment_settings(
            deployment,
            names=names,
            execution_role_arn=execution_role.role_arn,
            key_arn=key.key_arn,
            capture_uri=capture_uri,
        )
        deployer = ProjectFunction(
            self,
            "Deployer",
            description=f"Deploys the latest approved version of {names.model} to its endpoint",
            log_group_name=names.deployer_log_group,
            code_directory=str(code_directory),
            handler="model_deployment.handler",
            # A run makes a few API calls and returns; it does not wait for the endpoint.
            timeout=Duration.minutes(2),
            dead_letter_queue=self.dead_letters,
            environment={SETTINGS_VARIABLE: json.dumps(settings)},
        )
        self.function = deployer.function
        self.role = deployer.role
        _grant_deployment(deployer.role, self, names, execution_role, key)
        self._run_on(
            "OnApproval",
            registry_event_pattern(names.model_package_group),
            f"An approval or rejection in {names.model_package_group} redeploys",
        )
        self._run_on(
            "OnEndpointSettled",
            endpoint_event_pattern(names.endpoint),
            f"A deployment to {names.endpoint} ended: record it live or reject it",
        )

    def _run_on(self, rule_id: str, pattern: events.EventPattern, description: str) -> None:
        events.Rule(
            self,
            rule_id,
            description=description,
            event_pattern=pattern,
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(2),
                )
            ],
        )


def _dead_letters(scope: Construct, names: ModelNames) -> sqs.Queue:
    """Events the deployer failed on after Lambda's retries, or EventBridge could not deliver:
    an approval that deployed nothing must not vanish. SQS-managed encryption, as EventBridge
    delivers to it as a service, which the data key's policy (in the Foundation stack) does not
    admit; the messages hold event metadata."""
    queue = sqs.Queue(
        scope,
        "DeadLetters",
        queue_name=names.deployer_dead_letters,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    queue.node.default_child.add_metadata(
        "checkov",
        {
            "skip": [
                {
                    "id": "CKV_AWS_27",
                    "comment": "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the "
                    "check looks for a KMS key only",
                }
            ]
        },
    )
    return queue


def _grant_deployment(
    role: iam.Role, scope: Construct, names: ModelNames, execution_role: iam.IRole, key: kms.IKey
) -> None:
    """What the deployer may do: read its model's registry, create models and configs named
    after its endpoint, change that endpoint and scale its variant; nothing of other models."""
    stack = Stack.of(scope)
    add_statement_groups(
        role,
        _read_the_registry(stack, names),
        _deploy_the_endpoint(stack, names, execution_role, key),
        _scale_the_variant(),
        manage_target_tracking_alarms(stack, names.endpoint),
        create_the_service_linked_role(stack),
    )


def _sagemaker_arn(stack: Stack, resource: str, name: str) -> str:
    arn: str = stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
    return arn


def _read_the_registry(stack: Stack, names: ModelNames) -> StatementGroup:
    packages = _sagemaker_arn(stack, "model-package", f"{names.model_package_group}/*")
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="ListTheRegistry",
                # ListModelPackages has no resource type; the handler names its group.
                actions=["sagemaker:ListModelPackages"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="ReadVersions", actions=["sagemaker:DescribeModelPackage"], resources=[packages]
            ),
            iam.PolicyStatement(
                sid="RejectVersionsThatFailed",
                # A version SageMaker rolled back or could not start is rejected, so it is not
                # deployed again; approving stays with people.
                actions=["sagemaker:UpdateModelPackage"],
                resources=[packages],
                conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": "Rejected"}},
            ),
        ],
        wildcards={
            "*": "ListModelPackages has no resource type, and Application Auto Scaling targets "
            "have generated IDs; conditions confine scaling to SageMaker variants",
            packages: "Versions are numbered by SageMaker inside the group; the role may read "
            "only versions of this model's group",
        },
    )


def _deploy_the_endpoint(
    stack: Stack, names: ModelNames, execution_role: iam.IRole, key: kms.IKey
) -> StatementGroup:
    # <endpoint>-v<version>-<deployment time>: one model and one config per deployment.
    models = _sagemaker_arn(stack, "model", f"{names.endpoint}-v*")
    configs = _sagemaker_arn(stack, "endpoint-config", f"{names.endpoint}-*")
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="CreateVersionModelsAndConfigs",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:AddTags",
                ],
                resources=[models, configs],
            ),
            iam.PolicyStatement(
                sid="ChangeTheEndpoint",
                actions=[
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:ListTags",
                    "sagemaker:AddTags",
                    # Only an endpoint that failed to start, which serves nothing.
                    "sagemaker:DeleteEndpoint",
                    # Application Auto Scaling checks that its caller could resize the variant.
                    "sagemaker:UpdateEndpointWeightsAndCapacities",
                ],
                resources=[_sagemaker_arn(stack, "endpoint", names.endpoint)],
            ),
            pass_role_to_sagemaker_only(execution_role),
            # Endpoint configs encrypt the instances' volumes and captured data with the key.
            grant_key_to_sagemaker_only(key),
        ],
        wildcards={
            models: "One model per deployed version, named <endpoint>-v<version>-<time>; the "
            "role may create only models named after this model's endpoint",
            configs: "One endpoint config per deployment, named after the endpoint; the role "
            "may create and read only this endpoint's configs",
        },
    )


def _scale_the_variant() -> StatementGroup:
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="ScaleSageMakerVariantsOnly",
                # Scalable targets get generated IDs; the conditions confine the calls to
                # SageMaker variant counts. Deregistering comes before an instance-type change.
                actions=[
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:PutScalingPolicy",
                ],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "application-autoscaling:service-namespace": "sagemaker",
                        "application-autoscaling:scalable-dimension": SCALABLE_DIMENSION,
                    }
                },
            ),
            iam.PolicyStatement(
                sid="ReadScalableTargets",
                # A read with neither resource types nor condition keys.
                actions=["application-autoscaling:DescribeScalableTargets"],
                resources=["*"],
            ),
        ]
    )
