"""The physical names of a model's resources, shared by the CDK side that creates them and the
CLIs that operate them."""

from __future__ import annotations

from dataclasses import dataclass

# Every pipeline's step outputs live under s3://<artifact bucket>/pipelines/<model>/.
PIPELINE_PREFIX = "pipelines"
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
