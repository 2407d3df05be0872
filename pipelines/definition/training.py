"""The training steps: TrainBaseline with the spec's hyperparameters and, when the spec has
tuning, Tune over its ranges. Both run the entry point in script mode."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

import copy
from typing import Any

from pipelines.definition import contract
from pipelines.definition.context import BuildContext, cache_config, job_retries
from pipelines.definition.processing import split_uri
from pipelines.definition.spec import Range

# The XGBoost container runs `sagemaker_program` from the tar.gz named by
# `sagemaker_submit_directory` (script mode); the scikit-learn and PyTorch containers too.
PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"


def _trainer(ctx: BuildContext, *, checkpoints: bool) -> Any:
    from sagemaker.core.shapes import MetricDefinition
    from sagemaker.core.training.configs import (
        CheckpointConfig,
        Compute,
        OutputDataConfig,
        StoppingCondition,
    )
    from sagemaker.train.model_trainer import ModelTrainer

    spec, kms = ctx.spec, ctx.wiring.kms_key_arn
    training = spec.training
    objective = spec.objective
    script_mode = {PROGRAM: spec.entry_point, SUBMIT_DIRECTORY: ctx.wiring.source_uri}
    trainer = ModelTrainer(
        sagemaker_session=ctx.session,
        role=ctx.wiring.role_arn,
        training_image=ctx.training_image(),
        base_job_name=spec.name,
        compute=Compute(
            instance_type=ctx.parameters.training_instance_type,
            instance_count=training.instance_count,
            volume_size_in_gb=training.volume_size_gb,
            volume_kms_key_id=kms,
            enable_managed_spot_training=training.spot,
        ),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=training.max_runtime_seconds,
            **({"max_wait_time_in_seconds": training.max_wait_seconds} if training.spot else {}),
        ),
        # The shipped trainer resumes from the newest checkpoint it finds, so a checkpoint
        # prefix must belong to one training job: one per execution for the baseline. The
        # tuner's jobs would all share the trainer's prefix and resume from each other's
        # boosters, so they run without checkpoints (an interrupted spot job restarts).
        checkpoint_config=(
            CheckpointConfig(s3_uri=ctx.run_uri("checkpoints/"), local_path=contract.CHECKPOINT_DIR)
            if checkpoints
            else None
        ),
        output_data_config=OutputDataConfig(
            s3_output_path=f"{ctx.bucket_uri}/{ctx.models_key}", kms_key_id=kms
        ),
        hyperparameters={
            **({} if training.algorithm else script_mode),
            **spec.hyperparameters,
        },
    )
    if objective.regex is None:
        # A built-in algorithm reports its metrics itself; SageMaker rejects definitions.
        return trainer
    return trainer.with_metric_definitions(
        [MetricDefinition(name=objective.metric, regex=objective.regex)]
    )


def _channels(ctx: BuildContext, step_preprocess: Any) -> list[Any]:
    from sagemaker.core.training.configs import InputData

    channels = [
        InputData(
            channel_name=name,
            data_source=split_uri(step_preprocess, name),
            content_type="text/csv",
        )
        for name in contract.TRAINING_CHANNELS
    ]
    # What is served carries what it was trained on.
    if ctx.spec.carries_transform:
        channels.append(
            InputData(
                channel_name=contract.TRANSFORM_OUTPUT,
                data_source=split_uri(step_preprocess, contract.TRANSFORM_OUTPUT),
                content_type="application/json",
            )
        )
    return channels


def baseline_step(ctx: BuildContext, step_preprocess: Any) -> Any:
    from sagemaker.mlops.workflow import TrainingStep

    trainer = _trainer(ctx, checkpoints=ctx.spec.training.uses_shipped_trainer)
    return TrainingStep(
        name=contract.TRAIN,
        step_args=trainer.train(input_data_config=_channels(ctx, step_preprocess)),
        cache_config=cache_config(),
        retry_policies=job_retries(),
    )


def _sdk_range(value: Range) -> Any:
    from sagemaker.core.parameter import (
        CategoricalParameter,
        ContinuousParameter,
        IntegerParameter,
    )

    if value.type == "categorical":
        return CategoricalParameter(list(value.values))
    kind = IntegerParameter if value.type == "integer" else ContinuousParameter
    low, high = value.min, value.max
    if value.type == "integer":
        low, high = int(low or 0), int(high or 0)
    return kind(low, high, scaling_type=value.scaling)


def tuning_step(ctx: BuildContext, step_preprocess: Any) -> Any:
    from sagemaker.mlops.workflow import TuningStep
    from sagemaker.train.tuner import HyperparameterTuner

    spec, kms = ctx.spec, ctx.wiring.kms_key_arn
    tuning = spec.tuning
    assert tuning is not None

    class KmsTuningStep(TuningStep):
        """TuningStep that keeps the trainer's volume KMS key, which the SDK's tuner drops."""

        @property
        def arguments(self) -> Any:
            request = copy.deepcopy(super().arguments)
            resources = request["TrainingJobDefinition"]["ResourceConfig"]
            resources.setdefault("VolumeKmsKeyId", kms)
            return request

    objective = spec.objective
    definitions = None
    if objective.regex is not None:
        definitions = [{"Name": objective.metric, "Regex": objective.regex}]
    tuner = HyperparameterTuner(
        model_trainer=_trainer(ctx, checkpoints=False),
        objective_metric_name=objective.metric,
        objective_type=objective.direction,
        metric_definitions=definitions,
        hyperparameter_ranges={name: _sdk_range(value) for name, value in spec.ranges.items()},
        strategy=tuning.strategy,
        max_jobs=tuning.max_jobs,
        max_parallel_jobs=tuning.max_parallel_jobs,
        # Hyperband stops trials itself; SageMaker rejects another early-stopping type with it.
        early_stopping_type=(
            "Auto" if tuning.early_stopping and tuning.strategy != "Hyperband" else "Off"
        ),
    )
    return KmsTuningStep(
        name=contract.TUNE,
        step_args=tuner.tune(inputs=_channels(ctx, step_preprocess)),
        cache_config=cache_config(),
        retry_policies=job_retries(),
    )


def candidate_models(
    ctx: BuildContext, step_train: Any | None, step_tune: Any | None
) -> dict[str, Any]:
    """The model.tar.gz URI of each candidate, by name."""
    candidates = {}
    if step_train is not None:
        candidates["baseline"] = step_train.properties.ModelArtifacts.S3ModelArtifacts
    if step_tune is not None:
        # The tuner's jobs write to the trainer's output path: <models>/<job>/output/...
        candidates["tuned"] = step_tune.get_top_model_s3_uri(
            top_k=0, s3_bucket=ctx.wiring.artifact_bucket, prefix=ctx.models_key
        )
    return candidates
