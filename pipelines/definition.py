"""The SageMaker Pipelines definition, built offline with the SageMaker Python SDK v3.

``build_definition`` depends on its ``PipelineSettings`` only: the CDK side calls it at synth
time and embeds the JSON string it returns. It makes no AWS or network call (the SDK gets a
session whose default bucket never probes S3, a config that turns telemetry off, S3 URIs instead
of local code, and an ARN instead of a Lambda script), and the same settings give byte-identical
output in any process, working directory, time zone or hash seed. While it runs it sets a few
environment variables and patches three SDK functions, and it puts all of them back afterwards
(so it is not thread-safe). The module never imports aws_cdk and imports nothing from sagemaker
until the build runs, so importing it is free.

Pipeline: Preprocess -> TrainBaseline and Tune -> Evaluate (picks the better of the two models)
-> QualityGate (AUC >= QualityThreshold, else QualityTooLow fails the execution) ->
RegisterModel -> DeployIfApproved (only when ModelApprovalStatus is Approved) -> CreateModel ->
EndpointConfig -> Endpoint -> ConfigureAutoscaling (a Lambda).
"""

# sagemaker (2 s, 250 MB to import) is imported inside the build only, never at import time.
# ruff: noqa: PLC0415

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Step names: the CDK side, the tests and the mermaid diagram refer to them.
PREPROCESS = "Preprocess"
TRAIN = "TrainBaseline"
TUNE = "Tune"
EVALUATE = "Evaluate"
QUALITY_GATE = "QualityGate"
QUALITY_FAIL = "QualityTooLow"
REGISTER = "RegisterModel"
DEPLOY_GATE = "DeployIfApproved"
CREATE_MODEL = "CreateModel"
ENDPOINT_CONFIG = "EndpointConfig"
ENDPOINT = "Endpoint"
AUTOSCALING = "ConfigureAutoscaling"

EVALUATION_REPORT = "EvaluationReport"
VARIANT_NAME = "AllTraffic"
OBJECTIVE_METRIC = "validation:auc"
# train.py prints the final validation AUC once as ``validation-auc:<value>``.
OBJECTIVE_REGEX = r"validation-auc:([0-9\.]+)"
CONTENT_TYPES = ("text/csv", "application/json")
RESPONSE_TYPES = ("application/json",)
SPLITS = ("train", "validation", "test")

# Container paths, matching the argparse defaults of pipelines/steps/*.py.
PROCESSING = "/opt/ml/processing"
PREPROCESS_INPUT_DIR = f"{PROCESSING}/input"
PREPROCESS_OUTPUT_DIR = f"{PROCESSING}/output"
EVALUATE_TEST_DIR = f"{PROCESSING}/test"
EVALUATE_MODEL_DIR = f"{PROCESSING}/model"
EVALUATE_OUTPUT_DIR = f"{PROCESSING}/evaluation"
CHECKPOINT_DIR = "/opt/ml/checkpoints"

# Fixed model hyperparameters of the baseline job (names as train.py parses them); the tuner
# overrides the ranged ones below and keeps the rest.
BASE_HYPERPARAMETERS: dict[str, int | float] = {
    "num_round": 200,
    "max_depth": 5,
    "eta": 0.2,
    "subsample": 0.8,
    "min_child_weight": 1.0,
    "early_stopping_rounds": 20,
    "seed": 42,
    "checkpoint_interval": 10,
}

# The SDK's own config, passed explicitly so no ~/.config/sagemaker/config.yaml is read, with
# telemetry (an STS call plus an HTTPS GET per run()/train()/build()/register()) turned off.
SDK_CONFIG: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}

# The environment during a build (None = unset). sagemaker.mlops/serve create boto3 clients in
# class bodies at import (NoRegionError without a region), and every client resolves
# credentials when it is created: without this a build would probe the EC2 metadata service,
# run a profile's credential_process, or fail on an AWS_PROFILE that does not exist here. The
# definition needs no credentials, so the build gets dummy ones and no AWS config files. The
# role check (ModelTrainer, ModelBuilder) would call iam:SimulatePrincipalPolicy.
_OFFLINE_ENV: dict[str, str | None] = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
    "AWS_ACCESS_KEY_ID": "offline-build",
    "AWS_SECRET_ACCESS_KEY": "offline-build",
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

# Expected, harmless warnings of a declarative build: "no job is started" (once per captured
# run/train/tune/build/register) and "the Lambda is not updated" (we pass an existing ARN).
_SDK_WARNINGS = (
    r"Running within a PipelineSession",
    r"Lambda function won't be updated",
)


@dataclass(frozen=True)
class PipelineSettings:
    """Plain values decided by config; the CDK side fills them.

    Markers may stand in for CloudFormation tokens (role, buckets, KMS key, Lambda ARN) as long
    as the role stays an ``arn:...:iam::...`` ARN and bucket names stay URL-safe: the SDK parses
    S3 URIs and would look up a role given by name.
    """

    pipeline_name: str
    region: str
    role_arn: str
    artifact_bucket: str
    artifact_prefix: str
    kms_key_arn: str
    default_input_uri: str
    preprocess_code_uri: str
    evaluate_code_uri: str
    training_source_uri: str
    model_package_group: str
    autoscaling_lambda_arn: str
    endpoint_name: str
    processing_instance_type: str = "ml.m5.xlarge"
    training_instance_type: str = "ml.m5.xlarge"
    endpoint_instance_type: str = "ml.m5.large"
    tuning_max_jobs: int = 6
    tuning_max_parallel_jobs: int = 2
    default_approval_status: str = "PendingManualApproval"
    default_quality_threshold: float = 0.9
    use_spot: bool = True
    data_capture: bool = False
    max_runtime_seconds: int = 3600
    max_wait_seconds: int = 7200
    # sagemaker-scikit-learn:1.2-1-cpu-py3 runs python3 with pandas, numpy and scikit-learn.
    sklearn_version: str = "1.2-1"
    xgboost_version: str = "3.0-5"
    # Optional additions.
    endpoint_prefix: str = "endpoints"  # data capture goes to s3://<bucket>/<endpoint_prefix>/
    data_capture_sampling_percentage: int = 20
    processing_volume_size_gb: int = 30
    training_volume_size_gb: int = 30
    endpoint_min_capacity: int = 1
    endpoint_max_capacity: int = 2
    target_invocations_per_instance: int = 100
    # SageMaker Experiments tracking (an SDK default only in some regions); off keeps the
    # definition region-independent and the execution role free of experiment permissions.
    experiment_tracking: bool = False

    def __post_init__(self) -> None:
        if self.tuning_max_parallel_jobs > self.tuning_max_jobs:
            raise ValueError("tuning_max_parallel_jobs must not exceed tuning_max_jobs")
        if self.use_spot and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError("max_wait_seconds must be >= max_runtime_seconds with managed spot")
        if self.artifact_prefix.strip("/") != self.artifact_prefix or not self.artifact_prefix:
            raise ValueError("artifact_prefix must be non-empty without leading/trailing '/'")


def build_definition(settings: PipelineSettings) -> str:
    """The pipeline definition JSON: compact, keys sorted, identical for identical settings."""
    with (
        _environment({**_OFFLINE_ENV, "AWS_DEFAULT_REGION": settings.region}),
        _quiet_sdk(),
        _memoized_config_validation(),
        _no_studio_project_tags(),
    ):
        raw = _build(settings)
    return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))


@contextlib.contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the build only."""
    previous = {name: os.environ.get(name) for name in values}

    def apply(settings: dict[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    apply(values)
    try:
        yield
    finally:
        apply(previous)


# The SDK's loggers: besides INFO chatter ("Applied value from config key ...", "Not applying
# SDK defaults ...") they warn about things a declarative build does on purpose.
_SDK_LOGGERS = ("sagemaker", "sagemaker.config")


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """Silence the SDK's warnings and logging; restore the logging state afterwards.

    Importing sagemaker runs ``logging.basicConfig(level=INFO)`` on the root logger (only the
    first import in a process does anything), ``sagemaker.config`` sets itself to INFO unless a
    level is already set, and botocore logs INFO about credentials. During the build, records
    of INFO and below are dropped everywhere and the SDK's loggers pass only errors.
    """
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in _SDK_LOGGERS}
    disabled = logging.root.manager.disable
    with warnings.catch_warnings():
        for message in _SDK_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        # The SDK's own modules still import each other's deprecated paths.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"sagemaker\.")
        logging.disable(max(disabled, logging.INFO))
        for name in _SDK_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            yield
        finally:
            logging.disable(disabled)
            root.handlers[:] = root_handlers
            root.setLevel(root_level)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


# Modules that bind sagemaker.core.config.config.validate_sagemaker_config under that name.
_CONFIG_VALIDATOR_MODULES = (
    "sagemaker.core.config.config",
    "sagemaker.core.config",
    "sagemaker.core.helper.session_helper",
    "sagemaker.core.local.local_session",
)


# Configs (as canonical JSON) that passed each validator, kept across builds in this process.
_VALIDATED: dict[str, set[str]] = {"class": set(), "function": set()}


@contextlib.contextmanager
def _memoized_config_validation() -> Iterator[None]:
    """Validate each distinct SDK config once instead of on every lookup; undo afterwards.

    With a non-empty ``sagemaker_config`` the SDK re-runs jsonschema (including a check of the
    schema itself, ~0.17 s) on every config lookup, ~80 times per build. The memo only skips
    repeats of a config that already passed, so the output is unchanged. Imports sagemaker,
    so it runs only inside ``build_definition``.
    """
    import importlib

    from sagemaker.core.config.config_manager import SageMakerConfig

    def memoize(validate: Any, validated: set[str]) -> Any:
        def memoized(sagemaker_config: dict[str, Any] | None = None) -> None:
            key = json.dumps(sagemaker_config, sort_keys=True, default=repr)
            if key not in validated:
                validate(sagemaker_config)
                validated.add(key)

        return memoized

    static = SageMakerConfig.__dict__["validate_sagemaker_config"]
    modules = [importlib.import_module(name) for name in _CONFIG_VALIDATOR_MODULES]
    name = "validate_sagemaker_config"
    function = getattr(modules[0], name)
    bound = [module for module in modules if getattr(module, name, None) is function]
    SageMakerConfig.validate_sagemaker_config = staticmethod(
        memoize(static.__func__, _VALIDATED["class"])
    )
    memoized_function = memoize(function, _VALIDATED["function"])
    for module in bound:
        setattr(module, name, memoized_function)
    try:
        yield
    finally:
        SageMakerConfig.validate_sagemaker_config = static
        for module in bound:
            setattr(module, name, function)


@contextlib.contextmanager
def _no_studio_project_tags() -> Iterator[None]:
    """Ignore a SageMaker Studio ``.sagemaker-code-config`` in the cwd or any parent.

    The SDK turns one into ``sagemaker:project-id/name`` Tags on jobs and endpoints, which would
    make the definition depend on where synth runs.
    """
    from sagemaker.core import _studio

    original = _studio._find_config

    def no_config(working_dir: str | None = None) -> None:
        return None

    _studio._find_config = no_config
    try:
        yield
    finally:
        _studio._find_config = original


def _build(s: PipelineSettings) -> str:  # noqa: PLR0915 - one linear recipe reads best whole
    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.core.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.core.shapes import MetricDefinition, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.training.configs import (
        CheckpointConfig,
        Compute,
        InputData,
        OutputDataConfig,
        StoppingCondition,
    )
    from sagemaker.core.workflow import (
        ConditionEquals,
        ConditionGreaterThanOrEqualTo,
        ExecutionVariables,
        Join,
        JsonGet,
        ParameterFloat,
        ParameterInteger,
        ParameterString,
        PropertyFile,
    )
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.pipeline_definition_config import PipelineDefinitionConfig
    from sagemaker.mlops.workflow import (
        CacheConfig,
        ConditionStep,
        EndpointConfigStep,
        EndpointStep,
        FailStep,
        LambdaOutput,
        LambdaStep,
        ModelStep,
        Pipeline,
        ProcessingStep,
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
        TrainingStep,
        TuningStep,
    )
    from sagemaker.mlops.workflow.lambda_step import LambdaOutputTypeEnum
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train.model_trainer import ModelTrainer
    from sagemaker.train.tuner import HyperparameterTuner

    class OfflinePipelineSession(PipelineSession):
        """A PipelineSession whose default bucket is the given name, never probed in S3."""

        def __init__(self, bucket: str, **kwargs: Any) -> None:
            super().__init__(default_bucket=bucket, **kwargs)
            self._offline_bucket = bucket

        def default_bucket(self) -> str:
            return self._offline_bucket

    sess = OfflinePipelineSession(
        bucket=s.artifact_bucket,
        boto_session=boto3.Session(region_name=s.region),
        sagemaker_config=SDK_CONFIG,
    )
    role, kms = s.role_arn, s.kms_key_arn
    sklearn_image = image_uris.retrieve(
        "sklearn",
        region=s.region,
        version=s.sklearn_version,
        py_version="py3",
        instance_type=s.processing_instance_type,
    )
    xgboost_image = image_uris.retrieve("xgboost", region=s.region, version=s.xgboost_version)

    # -- parameters: everything a user may change per execution ---------------------------
    p_input = ParameterString(name="InputDataUri", default_value=s.default_input_uri)
    p_proc_type = ParameterString(
        name="ProcessingInstanceType", default_value=s.processing_instance_type
    )
    p_proc_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    p_train_type = ParameterString(
        name="TrainingInstanceType", default_value=s.training_instance_type
    )
    p_threshold = ParameterFloat(name="QualityThreshold", default_value=s.default_quality_threshold)
    p_approval = ParameterString(
        name="ModelApprovalStatus",
        default_value=s.default_approval_status,
        enum_values=["Approved", "Rejected", "PendingManualApproval"],
    )
    p_ep_type = ParameterString(name="EndpointInstanceType", default_value=s.endpoint_instance_type)
    p_min = ParameterInteger(name="EndpointMinCapacity", default_value=s.endpoint_min_capacity)
    p_max = ParameterInteger(name="EndpointMaxCapacity", default_value=s.endpoint_max_capacity)
    p_target = ParameterInteger(
        name="TargetInvocationsPerInstance", default_value=s.target_invocations_per_instance
    )
    parameters = [
        p_input,
        p_proc_type,
        p_proc_count,
        p_train_type,
        p_threshold,
        p_approval,
        p_ep_type,
        p_min,
        p_max,
        p_target,
    ]

    bucket_uri = f"s3://{s.artifact_bucket}"
    models_key = f"{s.artifact_prefix}/models"

    def run_uri(*parts: str) -> Any:
        """s3://<bucket>/<prefix>/<execution id>/<parts...>, one flat Join."""
        return Join(
            on="/",
            values=[
                f"{bucket_uri}/{s.artifact_prefix}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                *parts,
            ],
        )

    cache = CacheConfig(enable_caching=True, expire_after="P30D")
    job_retries = [
        StepRetryPolicy(
            exception_types=[
                StepExceptionTypeEnum.SERVICE_FAULT,
                StepExceptionTypeEnum.THROTTLING,
            ],
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

    # -- preprocess ---------------------------------------------------------------------------
    preprocessor = ScriptProcessor(
        role=role,
        image_uri=sklearn_image,
        command=["python3"],
        instance_type=p_proc_type,
        instance_count=p_proc_count,
        volume_size_in_gb=s.processing_volume_size_gb,
        volume_kms_key=kms,
        output_kms_key=kms,
        max_runtime_in_seconds=s.max_runtime_seconds,
        sagemaker_session=sess,
    )
    step_preprocess = ProcessingStep(
        name=PREPROCESS,
        step_args=preprocessor.run(
            code=s.preprocess_code_uri,
            inputs=[
                ProcessingInput(
                    input_name="raw",
                    s3_input=ProcessingS3Input(
                        s3_uri=p_input,
                        local_path=PREPROCESS_INPUT_DIR,
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name=split,
                    s3_output=ProcessingS3Output(
                        s3_uri=run_uri(split),
                        local_path=f"{PREPROCESS_OUTPUT_DIR}/{split}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for split in SPLITS
            ],
            arguments=[
                "--input-dir",
                PREPROCESS_INPUT_DIR,
                "--output-dir",
                PREPROCESS_OUTPUT_DIR,
            ],
        ),
        cache_config=cache,
        retry_policies=job_retries,
    )

    def split_uri(split: str) -> Any:
        return step_preprocess.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri

    # -- train the baseline, tune ----------------------------------------------------------------
    def model_trainer(*, checkpoints: bool) -> Any:
        return ModelTrainer(
            sagemaker_session=sess,
            role=role,
            training_image=xgboost_image,
            base_job_name="xgboost",
            compute=Compute(
                instance_type=p_train_type,
                instance_count=1,
                volume_size_in_gb=s.training_volume_size_gb,
                volume_kms_key_id=kms,
                enable_managed_spot_training=s.use_spot,
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=s.max_runtime_seconds,
                **({"max_wait_time_in_seconds": s.max_wait_seconds} if s.use_spot else {}),
            ),
            # train.py resumes from the newest checkpoint it finds, so a checkpoint prefix must
            # belong to one training job: one per execution for the baseline. The tuner's jobs
            # would all share the trainer's prefix and resume from each other's boosters, so
            # they run without checkpoints (an interrupted spot job restarts from round 0).
            checkpoint_config=(
                CheckpointConfig(s3_uri=run_uri("checkpoints/"), local_path=CHECKPOINT_DIR)
                if checkpoints
                else None
            ),
            output_data_config=OutputDataConfig(
                s3_output_path=f"{bucket_uri}/{models_key}", kms_key_id=kms
            ),
            hyperparameters={
                # The XGBoost container runs train.py from this tar.gz (script mode).
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": s.training_source_uri,
                **BASE_HYPERPARAMETERS,
            },
        ).with_metric_definitions([MetricDefinition(name=OBJECTIVE_METRIC, regex=OBJECTIVE_REGEX)])

    channels = [
        InputData(channel_name=name, data_source=split_uri(name), content_type="text/csv")
        for name in ("train", "validation")
    ]
    step_train = TrainingStep(
        name=TRAIN,
        step_args=model_trainer(checkpoints=True).train(input_data_config=channels),
        cache_config=cache,
        retry_policies=job_retries,
    )

    class KmsTuningStep(TuningStep):
        """TuningStep that keeps the trainer's volume KMS key, which the SDK's tuner drops."""

        @property
        def arguments(self) -> Any:
            request = copy.deepcopy(super().arguments)
            resources = request["TrainingJobDefinition"]["ResourceConfig"]
            resources.setdefault("VolumeKmsKeyId", kms)
            return request

    tuner = HyperparameterTuner(
        model_trainer=model_trainer(checkpoints=False),
        objective_metric_name=OBJECTIVE_METRIC,
        objective_type="Maximize",
        metric_definitions=[{"Name": OBJECTIVE_METRIC, "Regex": OBJECTIVE_REGEX}],
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.01, 0.3),
            "max_depth": IntegerParameter(3, 10),
            "min_child_weight": ContinuousParameter(1, 10),
            "subsample": ContinuousParameter(0.5, 1.0),
            "num_round": IntegerParameter(50, 300),
        },
        strategy="Bayesian",
        max_jobs=s.tuning_max_jobs,
        max_parallel_jobs=s.tuning_max_parallel_jobs,
        early_stopping_type="Auto",
    )
    step_tune = KmsTuningStep(
        name=TUNE,
        step_args=tuner.tune(inputs=channels),
        cache_config=cache,
        retry_policies=job_retries,
    )

    # -- evaluate both candidates on the test split --------------------------------------------
    baseline_model_uri = step_train.properties.ModelArtifacts.S3ModelArtifacts
    # The tuner's jobs write to the trainer's output path: <models>/<job>/output/model.tar.gz.
    tuned_model_uri = step_tune.get_top_model_s3_uri(
        top_k=0, s3_bucket=s.artifact_bucket, prefix=models_key
    )
    report = PropertyFile(name=EVALUATION_REPORT, output_name="evaluation", path="evaluation.json")
    evaluator = ScriptProcessor(
        role=role,
        image_uri=xgboost_image,
        command=["python3"],
        instance_type=p_proc_type,
        instance_count=1,
        volume_size_in_gb=s.processing_volume_size_gb,
        volume_kms_key=kms,
        output_kms_key=kms,
        max_runtime_in_seconds=s.max_runtime_seconds,
        sagemaker_session=sess,
    )

    def s3_input(name: str, uri: Any, local_path: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    step_evaluate = ProcessingStep(
        name=EVALUATE,
        step_args=evaluator.run(
            code=s.evaluate_code_uri,
            inputs=[
                s3_input("test", split_uri("test"), EVALUATE_TEST_DIR),
                s3_input("baseline", baseline_model_uri, f"{EVALUATE_MODEL_DIR}/baseline"),
                s3_input("tuned", tuned_model_uri, f"{EVALUATE_MODEL_DIR}/tuned"),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    s3_output=ProcessingS3Output(
                        s3_uri=run_uri("evaluation"),
                        local_path=EVALUATE_OUTPUT_DIR,
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
            arguments=[
                "--test-dir",
                EVALUATE_TEST_DIR,
                "--baseline-model-dir",
                f"{EVALUATE_MODEL_DIR}/baseline",
                "--tuned-model-dir",
                f"{EVALUATE_MODEL_DIR}/tuned",
                "--baseline-model-uri",
                baseline_model_uri,
                "--tuned-model-uri",
                tuned_model_uri,
                "--output-dir",
                EVALUATE_OUTPUT_DIR,
            ],
        ),
        property_files=[report],
        cache_config=cache,
        retry_policies=job_retries,
    )
    evaluation_json_uri = Join(
        on="/",
        values=[
            step_evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json",
        ],
    )
    auc = JsonGet(
        step_name=step_evaluate.name,
        property_file=report,
        json_path="binary_classification_metrics.auc.value",
    )
    selected_model_uri = JsonGet(
        step_name=step_evaluate.name, property_file=report, json_path="selected_model.s3_uri"
    )

    # -- register, then deploy when approved -------------------------------------------------
    serving_env = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": s.training_source_uri,
    }

    def model_builder() -> Any:
        return ModelBuilder(
            image_uri=xgboost_image,
            s3_model_data_url=selected_model_uri,
            role_arn=role,
            env_vars=dict(serving_env),
            sagemaker_session=sess,
            log_level=logging.WARNING,
        )

    step_register = ModelStep(
        name=REGISTER,
        step_args=model_builder().register(
            model_package_group_name=s.model_package_group,
            approval_status=p_approval,
            content_types=list(CONTENT_TYPES),
            response_types=list(RESPONSE_TYPES),
            inference_instances=[p_ep_type],
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json", s3_uri=evaluation_json_uri
                )
            ),
        ),
    )
    step_model = ModelStep(name=CREATE_MODEL, step_args=model_builder().build())

    capture: dict[str, Any] | None = None
    if s.data_capture:
        capture = {
            "EnableCapture": True,
            "InitialSamplingPercentage": s.data_capture_sampling_percentage,
            "DestinationS3Uri": (
                f"{bucket_uri}/{s.endpoint_prefix}/{s.endpoint_name}/data-capture"
            ),
            "KmsKeyId": kms,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {
                "CsvContentTypes": ["text/csv"],
                "JsonContentTypes": ["application/json"],
            },
        }
    step_endpoint_config = EndpointConfigStep(
        name=ENDPOINT_CONFIG,
        step_args=sess.create_endpoint_config(
            name=f"{s.endpoint_name}-config",
            production_variants=[
                {
                    "VariantName": VARIANT_NAME,
                    "ModelName": step_model.properties.ModelName,
                    "InstanceType": p_ep_type,
                    "InitialInstanceCount": p_min,
                }
            ],
            kms_key=kms,
            data_capture_config_dict=capture,
        ),
    )
    step_endpoint = EndpointStep(
        name=ENDPOINT,
        step_args=sess.create_endpoint(
            endpoint_name=s.endpoint_name,
            config_name=step_endpoint_config.properties.EndpointConfigName,
        ),
    )
    step_autoscaling = LambdaStep(
        name=AUTOSCALING,
        lambda_func=Lambda(function_arn=s.autoscaling_lambda_arn, session=sess),
        # The event of pipelines/lambdas/endpoint_autoscaling.py (parse_request).
        inputs={
            "endpoint_name": s.endpoint_name,
            "variant_name": VARIANT_NAME,
            "min_capacity": p_min,
            "max_capacity": p_max,
            "target_invocations": p_target,
        },
        outputs=[LambdaOutput(output_name="status", output_type=LambdaOutputTypeEnum.String)],
        depends_on=[step_endpoint],
    )

    step_deploy_gate = ConditionStep(
        name=DEPLOY_GATE,
        conditions=[ConditionEquals(left=p_approval, right="Approved")],
        if_steps=[step_model, step_endpoint_config, step_endpoint, step_autoscaling],
        else_steps=[],
        depends_on=[step_register],
    )
    step_fail = FailStep(
        name=QUALITY_FAIL,
        error_message=Join(
            on=" ",
            values=["Model AUC", auc, "is below the quality threshold", p_threshold],
        ),
    )
    step_quality_gate = ConditionStep(
        name=QUALITY_GATE,
        conditions=[ConditionGreaterThanOrEqualTo(left=auc, right=p_threshold)],
        if_steps=[step_register, step_deploy_gate],
        else_steps=[step_fail],
    )

    pipeline = Pipeline(
        name=s.pipeline_name,
        parameters=parameters,
        steps=[step_preprocess, step_train, step_tune, step_evaluate, step_quality_gate],
        sagemaker_session=sess,
        pipeline_definition_config=PipelineDefinitionConfig(use_custom_job_prefix=False),
        **({} if s.experiment_tracking else {"pipeline_experiment_config": None}),
    )
    definition: str = pipeline.definition()
    return definition
