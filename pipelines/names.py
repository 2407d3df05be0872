"""Names the CDK side, the CLIs, the local runner and the review report share: the physical
names of a model's resources and the resource types they look for."""

from __future__ import annotations

import re
from dataclasses import dataclass

# One prefix names every physical resource a user must know; it has to satisfy the strictest
# of the S3, ECR and SageMaker naming rules at once, with room for suffixes.
PROJECT_PREFIX = re.compile(r"(?=.{3,20}$)[a-z][a-z0-9]*(-[a-z0-9]+)*")
PROJECT_PREFIX_RULE = (
    "3-20 characters: lowercase letters, digits and single inner hyphens, starting with a letter"
)
# A model's name goes into the pipeline, model package group and endpoint names
# (<prefix>-<model>-endpoint-config is at most 53 of the 63 characters SageMaker allows,
# leaving room for the suffix the endpoint-config step appends).
MODEL_NAME = re.compile(r"(?=.{2,16}$)[a-z][a-z0-9]*(-[a-z0-9]+)*")
MODEL_NAME_RULE = (
    "2-16 characters: lowercase letters, digits and single inner hyphens, starting with a letter"
)

# Every pipeline's step outputs live under s3://<artifact bucket>/pipelines/<model>/.
PIPELINE_PREFIX = "pipelines"
PIPELINE_TYPE = "AWS::SageMaker::Pipeline"
# Resources whose replacement or removal loses (or strands) data: retained on deletion by the
# stacks, flagged as danger by the review report.
DATA_BEARING_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::ECR::Repository",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::Logs::LogGroup",
    }
)
# The tag on each AWS::SageMaker::Pipeline naming its model: the local runner selects by it.
MODEL_TAG = "model"


@dataclass(frozen=True)
class ModelNames:
    """The physical names of one model's resources, all ``<prefix>-<model>-...``, so adding a
    model never renames another's."""

    model: str
    pipeline: str
    model_package_group: str
    endpoint: str
    artifact_prefix: str
    autoscaling_log_group: str
    deployer_log_group: str
    deployer_dead_letters: str

    @classmethod
    def of(cls, project_prefix: str, model: str) -> ModelNames:
        base = f"{project_prefix}-{model}"
        return cls(
            model=model,
            pipeline=f"{base}-pipeline",
            model_package_group=f"{base}-models",
            endpoint=f"{base}-endpoint",
            artifact_prefix=f"{PIPELINE_PREFIX}/{model}",
            autoscaling_log_group=lambda_log_group(project_prefix, f"{model}-autoscaling"),
            deployer_log_group=lambda_log_group(project_prefix, f"{model}-deployer"),
            deployer_dead_letters=f"{base}-deployer-dead-letters",
        )


def lambda_log_group(project_prefix: str, function: str) -> str:
    """The log group of one of the project's Lambdas: a fixed name, so a deploy after a destroy
    adopts the retained group."""
    return f"/{project_prefix}/lambda/{function}"
