"""The foundation stack: the key, buckets, image repositories and the two roles."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import Settings
from infra.constructs.data_key import DataKey
from infra.constructs.execution_role import SageMakerExecutionRole
from infra.constructs.launch_agent_role import LaunchAgentRole
from infra.constructs.repositories import ImageRepositories
from infra.constructs.storage import Storage
from infra.launch_queue import training_job_request
from infra.layout import LAUNCH_PREFIX, bucket_name

LAUNCH_QUEUE_CONFIG_OUTPUT = "LaunchQueueConfig"
BUCKET_PURPOSES = ("data", "artifacts", "access-logs")


def storage_bucket_names(stack: Stack, settings: Settings) -> dict[str, str]:
    """The foundation's bucket names as any stack of this app can compute them."""
    return {
        purpose: bucket_name(
            stack.account, settings.region, project_prefix=settings.project_prefix, purpose=purpose
        )
        for purpose in BUCKET_PURPOSES
    }


class FoundationStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, settings: Settings, **kwargs: object) -> None:
        super().__init__(scope, id_, **kwargs)
        self.key = DataKey(self, "DataKey", alias=f"alias/{settings.project_prefix}-data").key
        self.storage = Storage(
            self,
            "Storage",
            settings=settings.storage,
            key=self.key,
            names=storage_bucket_names(self, settings),
        )
        self.repositories = ImageRepositories(
            self,
            "Repositories",
            name_prefix=settings.project_prefix,
            settings=settings.repositories,
            key=self.key,
        )
        self.execution_role = SageMakerExecutionRole(
            self,
            "ExecutionRole",
            data_bucket=self.storage.data_bucket,
            artifact_bucket=self.storage.artifact_bucket,
            key=self.key,
            repositories=[self.repositories.training, self.repositories.inference],
        ).role
        self.launch_agent_role = LaunchAgentRole(
            self,
            "LaunchAgentRole",
            trusted_principals=settings.launch_agent.trusted_principals,
            job_name_prefix=settings.training_job_prefix,
            execution_role=self.execution_role,
            key=self.key,
            training_repository=self.repositories.training,
            allow_image_build=settings.launch_agent.allow_image_build,
        ).role
        self._outputs(settings)

    def _outputs(self, settings: Settings) -> None:
        outputs = {
            "DataBucketName": self.storage.data_bucket.bucket_name,
            "ArtifactBucketName": self.storage.artifact_bucket.bucket_name,
            "AccessLogBucketName": self.storage.access_log_bucket.bucket_name,
            "DataKeyArn": self.key.key_arn,
            "TrainingRepositoryUri": self.repositories.training.repository_uri,
            "InferenceRepositoryUri": self.repositories.inference.repository_uri,
            "ExecutionRoleArn": self.execution_role.role_arn,
            "LaunchAgentRoleArn": self.launch_agent_role.role_arn,
            "TrainingJobNamePrefix": settings.training_job_prefix,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        body = training_job_request(
            settings=settings.launch_agent,
            job_name_prefix=settings.training_job_prefix,
            role_arn=self.execution_role.role_arn,
            output_path=f"s3://{self.storage.artifact_bucket.bucket_name}/{LAUNCH_PREFIX}/",
            key_arn=self.key.key_arn,
        )
        CfnOutput(
            self,
            LAUNCH_QUEUE_CONFIG_OUTPUT,
            description="CreateTrainingJob request body for a launch queue (JSON)",
            value=self.to_json_string(body),
        )
