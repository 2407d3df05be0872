"""Where things live in the artifact bucket, shared by the roles that grant access to it and
the code that writes there, so a prefix is never spelled twice."""

from __future__ import annotations

from pipelines.names import PIPELINE_PREFIX

LAUNCH_PREFIX = "launch"
ENDPOINT_PREFIX = "endpoints"

# Everything the SageMaker execution role may read and write in the artifact bucket.
EXECUTION_ROLE_ARTIFACT_PREFIXES = (PIPELINE_PREFIX, LAUNCH_PREFIX, ENDPOINT_PREFIX)

# SageMaker writes job logs under this group prefix and job metrics under this namespace.
SAGEMAKER_LOG_GROUP_PREFIX = "/aws/sagemaker/"
TRAINING_JOB_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
SAGEMAKER_METRIC_NAMESPACE_PATTERN = "/aws/sagemaker/*"


def bucket_name(account: str, region: str, *, project_prefix: str, purpose: str) -> str:
    """Predictable bucket names, so other stacks, Studio users and the CLI can address a bucket
    without a cross-stack reference. Account and region make them globally unique; at most
    20 + 11 + 12 + 14 + 3 = 60 characters, within S3's 63."""
    return f"{project_prefix}-{purpose}-{account}-{region}"
