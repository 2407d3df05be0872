"""Names the CDK side, the CLIs, the local runner and the review report share: the physical
names of a model's resources and the resource types they look for."""

from __future__ import annotations

from dataclasses import dataclass

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

    @classmethod
    def of(cls, project_prefix: str, model: str) -> ModelNames:
        base = f"{project_prefix}-{model}"
        return cls(
            model=model,
            pipeline=f"{base}-pipeline",
            model_package_group=f"{base}-models",
            endpoint=f"{base}-endpoint",
            artifact_prefix=f"{PIPELINE_PREFIX}/{model}",
        )
