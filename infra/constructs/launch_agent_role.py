"""The role an external launcher (Weights & Biases Launch and the like) assumes to submit
SageMaker training jobs through CreateTrainingJob."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.acknowledgments import acknowledge, wildcard_resource_finding
from infra.constructs.sagemaker_statements import (
    grant_key_to_sagemaker_only,
    pass_role_to_sagemaker_only,
)
from infra.layout import TRAINING_JOB_LOG_GROUP


class LaunchAgentRole(Construct):
    """Create, watch and stop training jobs named with one prefix, as the execution role only.

    Deliberate differences from the W&B documentation's policy are listed in the README.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        trusted_principals: Sequence[str],
        job_name_prefix: str,
        execution_role: iam.IRole,
        key: kms.IKey,
        training_repository: ecr.IRepository,
        allow_image_build: bool,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        principals: list[iam.IPrincipal] = [iam.ArnPrincipal(arn) for arn in trusted_principals]
        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by an external launcher to submit SageMaker training jobs",
            # Without configured principals the account itself is trusted: its IAM
            # administrators then grant sts:AssumeRole to whoever runs the agent.
            assumed_by=iam.CompositePrincipal(*principals)
            if principals
            else iam.AccountRootPrincipal(),
        )
        training_jobs = stack.format_arn(
            service="sagemaker", resource="training-job", resource_name=f"{job_name_prefix}-*"
        )
        # The jobs run as the execution role, which reads all project data: a job must write
        # its model (and, where the instance has an EBS volume, that volume) under the project
        # key, so a launcher cannot move data out unencrypted or under a key it controls.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CreatePrefixedTrainingJobsUnderTheDataKey",
                actions=["sagemaker:CreateTrainingJob"],
                resources=[training_jobs],
                # The *Arn keys replaced the deprecated OutputKmsKey/VolumeKmsKey; they match
                # only when the request names the key by ARN, as the queue config does.
                conditions={
                    "ArnEquals": {"sagemaker:OutputKmsKeyArn": key.key_arn},
                    "ArnEqualsIfExists": {"sagemaker:VolumeKmsKeyArn": key.key_arn},
                },
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ManagePrefixedTrainingJobs",
                actions=[
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[training_jobs],
            )
        )
        self.role.add_to_policy(pass_role_to_sagemaker_only(execution_role))
        self.role.add_to_policy(grant_key_to_sagemaker_only(key))
        training_logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{TRAINING_JOB_LOG_GROUP}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTrainingJobLogs",
                actions=["logs:DescribeLogStreams", "logs:GetLogEvents"],
                resources=[training_logs],
            )
        )
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            wildcard_resource_finding(self, training_jobs),
            "Training job names are chosen per run by the launcher; the role is confined to "
            "jobs whose name starts with the configured job-name prefix",
        )
        acknowledge(
            policy,
            wildcard_resource_finding(self, training_logs),
            "Log streams are created by SageMaker per job; read-only access is limited to the "
            "training-job log group, as the launcher tails its jobs' logs",
        )
        if allow_image_build:
            self._allow_image_build(training_repository, policy)

    def _allow_image_build(self, repository: ecr.IRepository, policy: Construct) -> None:
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PushTrainingImages",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload",
                    "ecr:PutImage",
                ],
                resources=[repository.repository_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="GetImageRegistryToken",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            )
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; pushes themselves "
            "are limited to the training repository",
        )
