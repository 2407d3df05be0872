"""What every step builder gets: the spec, the platform's wiring, the session, the
parameters, and the few helpers all job steps share."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.definition.catalogue import py_version
from pipelines.definition.spec import ModelSpec


@dataclass(frozen=True)
class PipelineWiring:
    """The names and ARNs the platform decides for one model's pipeline (no settings: those
    are in the spec and the app settings).

    Stand-ins may replace CloudFormation tokens (role, buckets, KMS key, Lambda ARN) as long
    as the role stays an ``arn:...:iam::...`` ARN and bucket names stay URL-safe: the SDK
    parses S3 URIs and would look up a role given by name.
    """

    pipeline_name: str
    region: str
    role_arn: str
    artifact_bucket: str
    # s3://<artifact bucket>/<artifact_prefix>/<execution id>/... holds every step output.
    artifact_prefix: str
    kms_key_arn: str
    default_input_uri: str
    preprocess_code_uri: str
    # The shipped evaluator and the tar.gz with the entry point and the serving script:
    # script mode only (None for a built-in algorithm, which uses neither).
    evaluate_code_uri: str | None
    source_uri: str | None
    model_package_group: str
    autoscaling_lambda_arn: str
    endpoint_name: str
    # Data capture goes to s3://<artifact bucket>/<capture_prefix>/<endpoint>/data-capture.
    capture_prefix: str
    # Environment switches from the app settings.
    approval_status: str
    data_capture: bool
    # SageMaker Experiments tracking (an SDK default only in some regions); off keeps the
    # definition region-independent and the execution role free of experiment permissions.
    experiment_tracking: bool = False

    def __post_init__(self) -> None:
        if self.artifact_prefix.strip("/") != self.artifact_prefix or not self.artifact_prefix:
            raise ValueError("artifact_prefix must be non-empty without leading/trailing '/'")


@dataclass(frozen=True)
class Parameters:
    """Pipeline parameters: what a user may change per execution."""

    input_uri: Any
    processing_instance_type: Any
    processing_instance_count: Any
    training_instance_type: Any
    quality_threshold: Any
    approval_status: Any
    endpoint_instance_type: Any
    min_capacity: Any
    max_capacity: Any
    target_invocations: Any

    def all(self) -> list[Any]:
        return list(vars(self).values())


@dataclass(frozen=True)
class BuildContext:
    spec: ModelSpec
    wiring: PipelineWiring
    session: Any
    parameters: Parameters

    @property
    def bucket_uri(self) -> str:
        return f"s3://{self.wiring.artifact_bucket}"

    @property
    def models_key(self) -> str:
        """Where training jobs write their model.tar.gz (<job>/output/model.tar.gz)."""
        return f"{self.wiring.artifact_prefix}/models"

    def run_uri(self, *parts: str) -> Any:
        """s3://<bucket>/<prefix>/<execution id>/<parts...>, one flat Join."""
        from sagemaker.core.workflow import ExecutionVariables, Join

        return Join(
            on="/",
            values=[
                f"{self.bucket_uri}/{self.wiring.artifact_prefix}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                *parts,
            ],
        )

    def image(self, framework: str, version: str, *, scope: str = "training") -> str:
        """A SageMaker framework image of the region, from the SDK's offline catalogue."""
        from sagemaker.core import image_uris

        python = py_version(framework, version, scope)
        uri: str = image_uris.retrieve(
            framework,
            region=self.wiring.region,
            version=version,
            # CPU images: the instance type is a parameter, only known per execution.
            instance_type="ml.m5.xlarge",
            image_scope=scope,
            **({"py_version": python} if python else {}),
        )
        return uri

    def training_image(self, *, scope: str = "training") -> str:
        """The image that trains (and, for a built-in algorithm, also serves) the model."""
        training = self.spec.training
        if training.algorithm is not None:
            from sagemaker.core import image_uris

            uri: str = image_uris.retrieve(training.algorithm, region=self.wiring.region)
            return uri
        return self.image(training.framework, training.image_version, scope=scope)


def cache_config() -> Any:
    from sagemaker.mlops.workflow import CacheConfig

    return CacheConfig(enable_caching=True, expire_after="P30D")


def job_retries() -> list[Any]:
    """Retry the faults that are not the job's own: service errors, throttling, capacity."""
    from sagemaker.mlops.workflow import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )

    return [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            interval_seconds=10,
            backoff_rate=2.0,
            max_attempts=5,
        ),
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            ],
            interval_seconds=60,
            backoff_rate=2.0,
            max_attempts=5,
        ),
    ]


def pipeline_parameters(spec: ModelSpec, wiring: PipelineWiring) -> Parameters:
    from sagemaker.core.workflow import ParameterFloat, ParameterInteger, ParameterString

    return Parameters(
        input_uri=ParameterString(name="InputDataUri", default_value=wiring.default_input_uri),
        processing_instance_type=ParameterString(
            name="ProcessingInstanceType", default_value=spec.preprocessing.instance_type
        ),
        processing_instance_count=ParameterInteger(name="ProcessingInstanceCount", default_value=1),
        training_instance_type=ParameterString(
            name="TrainingInstanceType", default_value=spec.training.instance_type
        ),
        quality_threshold=ParameterFloat(
            name="QualityThreshold", default_value=spec.gate_threshold
        ),
        approval_status=ParameterString(
            name="ModelApprovalStatus",
            default_value=wiring.approval_status,
            enum_values=["Approved", "Rejected", "PendingManualApproval"],
        ),
        endpoint_instance_type=ParameterString(
            name="EndpointInstanceType", default_value=spec.deployment.instance_type
        ),
        min_capacity=ParameterInteger(
            name="EndpointMinCapacity", default_value=spec.deployment.min_capacity
        ),
        max_capacity=ParameterInteger(
            name="EndpointMaxCapacity", default_value=spec.deployment.max_capacity
        ),
        target_invocations=ParameterInteger(
            name="TargetInvocationsPerInstance",
            default_value=spec.deployment.target_invocations_per_instance,
        ),
    )
