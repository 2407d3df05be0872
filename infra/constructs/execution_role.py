"""The role SageMaker jobs and endpoints run as."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.statement_groups import StatementGroup, add_statement_groups
from infra.layout import (
    EXECUTION_ROLE_ARTIFACT_PREFIXES,
    SAGEMAKER_LOG_GROUP_PREFIX,
    SAGEMAKER_METRIC_NAMESPACE_PATTERN,
)


class SageMakerExecutionRole(Construct):
    """Read the data bucket, read/write the artifact prefixes, pull images, write logs/metrics.

    S3 access is granted in the buckets' own policies: the data owner's policy is then the one
    list of who may touch the data, and object ARNs (which always need a wildcard) stay out of
    the role's identity policy.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        data_bucket: s3.IBucket,
        artifact_bucket: s3.IBucket,
        key: kms.IKey,
        repositories: list[ecr.IRepository],
    ) -> None:
        super().__init__(scope, id_)
        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by SageMaker jobs, pipelines and endpoints of this project",
            # Confused-deputy guard: only SageMaker acting for this account may assume it.
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com").with_conditions(
                {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        role_principal = iam.ArnPrincipal(self.role.role_arn)
        data_bucket.add_to_resource_policy(_read_data(data_bucket, role_principal))
        for statement in _use_artifacts(artifact_bucket, role_principal):
            artifact_bucket.add_to_resource_policy(statement)
        add_statement_groups(
            self.role,
            _use_the_data_key(key),
            _pull_project_images(repositories),
            _logs_metrics_and_registry_login(Stack.of(self)),
        )


def _read_data(data_bucket: s3.IBucket, role: iam.IPrincipal) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ExecutionRoleReadsData",
        principals=[role],
        actions=["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
        resources=[data_bucket.bucket_arn, data_bucket.arn_for_objects("*")],
    )


def _use_artifacts(artifact_bucket: s3.IBucket, role: iam.IPrincipal) -> list[iam.PolicyStatement]:
    """List, read and write the artifact bucket under the execution role's prefixes only."""
    return [
        iam.PolicyStatement(
            sid="ExecutionRoleListsArtifactPrefixes",
            principals=[role],
            actions=["s3:ListBucket"],
            resources=[artifact_bucket.bucket_arn],
            conditions={
                "StringLike": {
                    "s3:prefix": [
                        pattern
                        for prefix in EXECUTION_ROLE_ARTIFACT_PREFIXES
                        for pattern in (prefix, f"{prefix}/*")
                    ]
                }
            },
        ),
        iam.PolicyStatement(
            sid="ExecutionRoleReadsWritesArtifacts",
            principals=[role],
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[
                artifact_bucket.arn_for_objects(f"{prefix}/*")
                for prefix in EXECUTION_ROLE_ARTIFACT_PREFIXES
            ],
        ),
    ]


def _use_the_data_key(key: kms.IKey) -> StatementGroup:
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="UseDataKeyThroughS3AndSageMaker",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"s3.{Aws.REGION}.amazonaws.com",
                            f"sagemaker.{Aws.REGION}.amazonaws.com",
                        ]
                    }
                },
            )
        ]
    )


def _pull_project_images(repositories: list[ecr.IRepository]) -> StatementGroup:
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="PullProjectImages",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[repository.repository_arn for repository in repositories],
            )
        ]
    )


def _logs_metrics_and_registry_login(stack: Stack) -> StatementGroup:
    """What a job reports to CloudWatch, and the registry login its image pull starts with."""
    sagemaker_logs = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"{SAGEMAKER_LOG_GROUP_PREFIX}*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return StatementGroup(
        [
            iam.PolicyStatement(
                sid="WriteSageMakerLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[sagemaker_logs],
            ),
            # Neither action supports resource-level permissions, so both need Resource "*";
            # the namespace condition confines metrics to SageMaker's own namespaces.
            iam.PolicyStatement(
                sid="PublishSageMakerMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringLike": {"cloudwatch:namespace": SAGEMAKER_METRIC_NAMESPACE_PATTERN}
                },
            ),
            iam.PolicyStatement(
                sid="GetImageRegistryToken",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            ),
        ],
        wildcards={
            "*": "cloudwatch:PutMetricData and ecr:GetAuthorizationToken have no resource-level "
            "permissions; a namespace condition limits metrics to SageMaker's namespaces",
            sagemaker_logs: "SageMaker names each job's log group and stream itself under "
            "/aws/sagemaker/; the role may write only there",
        },
    )
