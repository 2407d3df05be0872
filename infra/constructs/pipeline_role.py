"""The role SageMaker Pipelines assumes to run the pipeline's steps."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.acknowledgments import acknowledge, wildcard_resource_finding
from infra.constructs.sagemaker_statements import (
    grant_key_to_sagemaker_only,
    pass_role_to_sagemaker_only,
)

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
        stack = Stack.of(self)

        def sagemaker_arn(resource: str, name: str) -> str:
            arn: str = stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
            return arn

        self.role = iam.Role(
            self,
            "Role",
            description=f"Assumed by SageMaker Pipelines to run the pipeline of {artifact_prefix}",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        job_resources = [sagemaker_arn(kind, "*") for kind in _AUTO_NAMED_TYPES]
        self.role.add_to_policy(
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
                resources=job_resources,
            )
        )
        # The SDK names the config "<endpoint>-config"; the pipeline appends a suffix to it.
        endpoint_configs = sagemaker_arn("endpoint-config", f"{endpoint_name}-config*")
        self.role.add_to_policy(
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
                resources=[endpoint_configs, sagemaker_arn("endpoint", endpoint_name)],
            )
        )
        model_packages = sagemaker_arn("model-package", f"{model_package_group_name}/*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterModels",
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:AddTags",
                ],
                resources=[
                    sagemaker_arn("model-package-group", model_package_group_name),
                    model_packages,
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeAutoscalingStep",
                actions=["lambda:InvokeFunction"],
                resources=[autoscaling_function.function_arn],
            )
        )
        self.role.add_to_policy(pass_role_to_sagemaker_only(execution_role))
        # Reading step outputs (the evaluation report for JsonGet) and letting SageMaker encrypt
        # job volumes with the project key.
        pipeline_objects = artifact_bucket.arn_for_objects(f"{artifact_prefix}/*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadPipelineOutputs",
                actions=["s3:GetObject"],
                resources=[pipeline_objects],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptPipelineOutputs",
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            )
        )
        self.role.add_to_policy(grant_key_to_sagemaker_only(key))
        policy = self.role.node.find_child("DefaultPolicy")
        for resource, reason in [
            *(
                (
                    arn,
                    f"SageMaker Pipelines generates the names of the {kind}s it runs; the "
                    "role may create, watch and stop that one resource type",
                )
                for arn, kind in zip(job_resources, _AUTO_NAMED_TYPES, strict=True)
            ),
            (
                endpoint_configs,
                "The endpoint-config step appends an execution-unique suffix to the configured "
                "name; the role is limited to configs of this endpoint",
            ),
            (
                model_packages,
                "Model package versions are numbered by SageMaker inside the group; the role "
                "may register only into this project's model package group",
            ),
            (
                pipeline_objects,
                "Pipelines read step outputs (the evaluation report behind JsonGet) under "
                "execution-specific keys of this model's prefix only",
            ),
        ]:
            acknowledge(policy, wildcard_resource_finding(self, resource), reason)
