"""The role an external launcher (Weights & Biases Launch and the like) assumes to submit
SageMaker training jobs through CreateTrainingJob."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.sagemaker_statements import (
    grant_key_to_sagemaker_only,
    pass_role_to_sagemaker_only,
)
from infra.constructs.statement_groups import StatementGroup, add_statement_groups
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
        stack = Stack.of(self)
        add_statement_groups(
            self.role,
            _prefixed_training_jobs(stack, job_name_prefix, key),
            _hand_jobs_to_sagemaker(execution_role, key),
            _read_training_logs(stack),
        )
        if allow_image_build:
            add_statement_groups(self.role, _push_training_images(training_repository))


def _prefixed_training_jobs(stack: Stack, job_name_prefix: str, key: kms.IKey) -> StatementGroup:
    training_jobs = stack.format_arn(
        service="sagemaker", resource="training-job", resource_name=f"{job_name_prefix}-*"
    )
    return StatementGroup(
        [
            # The jobs run as the execution role, which reads all project data: a job must
            # write its model (and, where the instance has an EBS volume, that volume) under
            # the project key, so a launcher cannot move data out unencrypted or under a key
            # it controls.
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
            ),
            iam.PolicyStatement(
                sid="ManagePrefixedTrainingJobs",
                actions=[
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[training_jobs],
            ),
        ],
        wildcards={
            training_jobs: "Training job names are chosen per run by the launcher; the role is "
            "confined to jobs whose name starts with the configured job-name prefix",
        },
    )


def _hand_jobs_to_sagemaker(execution_role: iam.IRole, key: kms.IKey) -> StatementGroup:
    """SageMaker runs the job as the execution role and encrypts its volume with the key."""
    return StatementGroup(
        [pass_role_to_sagemaker_only(execution_role), grant_key_to_sagemaker_only(key)]
    )


def _read_training_logs(stack: Stack) -> StatementGroup:
    training_logs = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"{TRAINING_JOB_LOG_GROUP}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="ReadTrainingJobLogs",
                actions=["logs:DescribeLogStreams", "logs:GetLogEvents"],
                resources=[training_logs],
            )
        ],
        wildcards={
            training_logs: "Log streams are created by SageMaker per job; read-only access is "
            "limited to the training-job log group, as the launcher tails its jobs' logs",
        },
    )


def _push_training_images(repository: ecr.IRepository) -> StatementGroup:
    return StatementGroup(
        [
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
            ),
            iam.PolicyStatement(
                sid="GetImageRegistryToken",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            ),
        ],
        wildcards={
            "*": "ecr:GetAuthorizationToken has no resource-level permissions; pushes "
            "themselves are limited to the training repository",
        },
    )
