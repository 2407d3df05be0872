"""The role SageMaker Pipelines assumes to run the pipeline's steps."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.sagemaker_statements import (
    grant_key_to_sagemaker_only,
    pass_role_to_sagemaker_only,
)
from infra.constructs.statement_groups import StatementGroup, add_statement_groups

# SageMaker Pipelines names the jobs and models it creates itself (execution ID plus a random
# suffix), so these can only be scoped by resource type; everything with a name we choose
# (endpoint, endpoint config, model package group, Lambda) is scoped by that name.
_AUTO_NAMED_TYPES = ("processing-job", "training-job", "hyper-parameter-tuning-job", "model")


class PipelineRole(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        execution_role: iam.IRole,
        artifact_bucket: s3.IBucket,
        key: kms.IKey,
        artifact_prefix: str,
        model_package_group_name: str,
        endpoint_name: str,
        autoscaling_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, id_)
        self.role = iam.Role(
            self,
            "Role",
            description=f"Assumed by SageMaker Pipelines to run the pipeline of {artifact_prefix}",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        stack = Stack.of(self)
        add_statement_groups(
            self.role,
            _run_jobs(stack),
            _deploy_endpoint(stack, endpoint_name),
            _register_models(stack, model_package_group_name),
            _delegate_steps(execution_role, autoscaling_function),
            _read_outputs_under_the_key(artifact_bucket, artifact_prefix, key),
        )


def _sagemaker_arn(stack: Stack, resource: str, name: str) -> str:
    arn: str = stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
    return arn


def _run_jobs(stack: Stack) -> StatementGroup:
    jobs = {kind: _sagemaker_arn(stack, kind, "*") for kind in _AUTO_NAMED_TYPES}
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="RunPipelineJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:CreateHyperParameterTuningJob",
                    "sagemaker:DescribeHyperParameterTuningJob",
                    "sagemaker:StopHyperParameterTuningJob",
                    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:AddTags",
                ],
                resources=list(jobs.values()),
            )
        ],
        wildcards={
            arn: f"SageMaker Pipelines generates the names of the {kind}s it runs; the role may "
            "create, watch and stop that one resource type"
            for kind, arn in jobs.items()
        },
    )


def _deploy_endpoint(stack: Stack, endpoint_name: str) -> StatementGroup:
    # The SDK names the config "<endpoint>-config"; the pipeline appends a suffix to it.
    endpoint_configs = _sagemaker_arn(stack, "endpoint-config", f"{endpoint_name}-config*")
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="DeployTheEndpoint",
                actions=[
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:AddTags",
                ],
                resources=[endpoint_configs, _sagemaker_arn(stack, "endpoint", endpoint_name)],
            )
        ],
        wildcards={
            endpoint_configs: "The endpoint-config step appends an execution-unique suffix to "
            "the configured name; the role is limited to configs of this endpoint",
        },
    )


def _register_models(stack: Stack, model_package_group_name: str) -> StatementGroup:
    model_packages = _sagemaker_arn(stack, "model-package", f"{model_package_group_name}/*")
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="RegisterModels",
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:AddTags",
                ],
                resources=[
                    _sagemaker_arn(stack, "model-package-group", model_package_group_name),
                    model_packages,
                ],
            )
        ],
        wildcards={
            model_packages: "Model package versions are numbered by SageMaker inside the "
            "group; the role may register only into this project's model package group",
        },
    )


def _delegate_steps(
    execution_role: iam.IRole, autoscaling_function: lambda_.IFunction
) -> StatementGroup:
    """The jobs run as the execution role; the last step is the autoscaling Lambda."""
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="InvokeAutoscalingStep",
                actions=["lambda:InvokeFunction"],
                resources=[autoscaling_function.function_arn],
            ),
            pass_role_to_sagemaker_only(execution_role),
        ]
    )


def _read_outputs_under_the_key(
    artifact_bucket: s3.IBucket, artifact_prefix: str, key: kms.IKey
) -> StatementGroup:
    """Reading step outputs (the evaluation report for JsonGet), and letting SageMaker encrypt
    job volumes with the project key."""
    pipeline_objects = artifact_bucket.arn_for_objects(f"{artifact_prefix}/*")
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="ReadPipelineOutputs",
                actions=["s3:GetObject"],
                resources=[pipeline_objects],
            ),
            iam.PolicyStatement(
                sid="DecryptPipelineOutputs",
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            ),
            grant_key_to_sagemaker_only(key),
        ],
        wildcards={
            pipeline_objects: "Pipelines read step outputs (the evaluation report behind "
            "JsonGet) under execution-specific keys of this model's prefix only",
        },
    )
