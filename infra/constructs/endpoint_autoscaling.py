"""The Lambda a model pipeline's last step calls to put target tracking on its endpoint."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.lambda_function import ProjectFunction
from infra.constructs.statement_groups import StatementGroup, add_statement_groups

AUTOSCALING_SLR_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"


class EndpointAutoscaling(Construct):
    """Registers one endpoint's variant with Application Auto Scaling, and nothing else."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        model: str,
        endpoint_name: str,
        log_group_name: str,
        code_directory: Path,
    ) -> None:
        super().__init__(scope, id_)
        lambda_function = ProjectFunction(
            self,
            "Handler",
            description=f"Registers autoscaling for the {model} model's endpoint",
            log_group_name=log_group_name,
            code_directory=str(code_directory),
            handler="endpoint_autoscaling.handler",
            # The handler waits for a Creating endpoint to come InService before registering.
            timeout=Duration.minutes(15),
        )
        self.function = lambda_function.function
        stack = Stack.of(self)
        add_statement_groups(
            lambda_function.role,
            _register_the_variant(stack, endpoint_name),
            manage_target_tracking_alarms(stack, endpoint_name),
            create_the_service_linked_role(stack),
        )


def _register_the_variant(stack: Stack, endpoint_name: str) -> StatementGroup:
    # Application Auto Scaling checks that its caller may itself read the endpoint and change
    # its instance count before it registers the variant.
    endpoint_configs = stack.format_arn(
        service="sagemaker",
        resource="endpoint-config",
        resource_name=f"{endpoint_name}-config*",
    )
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="ReadAndResizeTheEndpoint",
                actions=[
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:UpdateEndpointWeightsAndCapacities",
                ],
                resources=[
                    stack.format_arn(
                        service="sagemaker", resource="endpoint", resource_name=endpoint_name
                    ),
                    endpoint_configs,
                ],
            ),
            iam.PolicyStatement(
                sid="ScaleSageMakerVariantsOnly",
                # Scalable targets and policies get generated IDs, so no resource ARN can be
                # known in advance; the conditions confine the calls to SageMaker variants.
                actions=[
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:PutScalingPolicy",
                ],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "application-autoscaling:service-namespace": "sagemaker",
                        "application-autoscaling:scalable-dimension": (
                            "sagemaker:variant:DesiredInstanceCount"
                        ),
                    }
                },
            ),
        ],
        wildcards={
            "*": "Application Auto Scaling targets and policies have generated IDs; conditions "
            "confine the calls to the SageMaker variant-count dimension",
            endpoint_configs: "The pipeline's endpoint-config step suffixes the configured name "
            "per execution; the role may only describe this endpoint's configs",
        },
    )


def manage_target_tracking_alarms(stack: Stack, endpoint_name: str) -> StatementGroup:
    alarms = stack.format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name=f"TargetTracking-endpoint/{endpoint_name}/*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="ManageTargetTrackingAlarms",
                # Target tracking creates and deletes its alarms as the caller.
                actions=[
                    "cloudwatch:PutMetricAlarm",
                    "cloudwatch:DescribeAlarms",
                    "cloudwatch:DeleteAlarms",
                ],
                resources=[alarms],
            )
        ],
        wildcards={
            alarms: "Target tracking names its alarms itself, with a suffix; the role may "
            "manage only alarms of this endpoint",
        },
    )


def create_the_service_linked_role(stack: Stack) -> StatementGroup:
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="CreateAutoscalingServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[
                    stack.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name=(
                            f"aws-service-role/{AUTOSCALING_SLR_SERVICE}/"
                            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
                        ),
                    )
                ],
                conditions={"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SLR_SERVICE}},
            )
        ]
    )
