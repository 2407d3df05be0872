"""The processing steps: Preprocess (split the input) and Evaluate (score the candidates)."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.definition import contract
from pipelines.definition.context import BuildContext, cache_config, job_retries

# sagemaker-scikit-learn:1.2-1-cpu-py3 runs python3 with pandas, numpy and scikit-learn: all
# the shipped preprocessor needs, whatever the model's framework.
PREPROCESS_IMAGE = ("sklearn", "1.2-1")


def _processor(ctx: BuildContext, image_uri: str, *, instance_count: Any) -> Any:
    from sagemaker.core.processing import ScriptProcessor

    return ScriptProcessor(
        role=ctx.wiring.role_arn,
        image_uri=image_uri,
        command=["python3"],
        instance_type=ctx.parameters.processing_instance_type,
        instance_count=instance_count,
        volume_size_in_gb=ctx.spec.preprocessing.volume_size_gb,
        volume_kms_key=ctx.wiring.kms_key_arn,
        output_kms_key=ctx.wiring.kms_key_arn,
        max_runtime_in_seconds=ctx.spec.training.max_runtime_seconds,
        sagemaker_session=ctx.session,
    )


def _input(name: str, uri: Any, local_path: str) -> Any:
    from sagemaker.core.processing import ProcessingInput
    from sagemaker.core.shapes import ProcessingS3Input

    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        ),
    )


def _output(name: str, uri: Any, local_path: str) -> Any:
    from sagemaker.core.processing import ProcessingOutput
    from sagemaker.core.shapes import ProcessingS3Output

    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(s3_uri=uri, local_path=local_path, s3_upload_mode="EndOfJob"),
    )


def preprocess_arguments(ctx: BuildContext) -> list[str]:
    """The shipped preprocessor's command line, from the spec (a script of the model's own
    gets the same arguments and may ignore what it does not need)."""
    spec = ctx.spec
    prep = spec.preprocessing
    arguments = [
        "--input-dir",
        contract.PREPROCESS_INPUT_DIR,
        "--output-dir",
        contract.PREPROCESS_OUTPUT_DIR,
        "--label-column",
        spec.data.label,
        "--task",
        spec.data.task,
        "--missing",
        prep.missing,
        "--validation-fraction",
        str(prep.validation_fraction),
        "--test-fraction",
        str(prep.test_fraction),
        "--seed",
        str(prep.seed),
    ]
    for column in prep.categorical:
        arguments += ["--categorical", column]
    return arguments


def preprocess_step(ctx: BuildContext) -> Any:
    from sagemaker.mlops.workflow import ProcessingStep

    framework, version = PREPROCESS_IMAGE
    processor = _processor(
        ctx,
        ctx.image(framework, version),
        instance_count=ctx.parameters.processing_instance_count,
    )
    return ProcessingStep(
        name=contract.PREPROCESS,
        step_args=processor.run(
            code=ctx.wiring.preprocess_code_uri,
            inputs=[_input("raw", ctx.parameters.input_uri, contract.PREPROCESS_INPUT_DIR)],
            outputs=[
                _output(name, ctx.run_uri(name), f"{contract.PREPROCESS_OUTPUT_DIR}/{name}")
                for name in contract.PREPROCESS_OUTPUTS
            ],
            arguments=preprocess_arguments(ctx),
        ),
        cache_config=cache_config(),
        retry_policies=job_retries(),
    )


def split_uri(step_preprocess: Any, split: str) -> Any:
    return step_preprocess.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri


def evaluate_step(ctx: BuildContext, step_preprocess: Any, candidates: Mapping[str, Any]) -> Any:
    """Score every candidate model on the test split with the model's own serving code
    (its inference script's model_fn and predict_fn), in the framework's image, and write the
    report for the selected one, with the naive predictor learnt from the train split."""
    from sagemaker.core.workflow import PropertyFile
    from sagemaker.mlops.workflow import ProcessingStep

    spec = ctx.spec
    processor = _processor(
        ctx,
        ctx.image(spec.training.framework, spec.training.image_version),
        instance_count=1,
    )
    report = PropertyFile(
        name=contract.EVALUATION_REPORT,
        output_name=contract.EVALUATION_OUTPUT,
        path=contract.EVALUATION_FILE,
    )
    model_arguments: list[Any] = []
    for name, uri in candidates.items():
        model_arguments += ["--model", name, uri]
    return ProcessingStep(
        name=contract.EVALUATE,
        step_args=processor.run(
            code=ctx.wiring.evaluate_code_uri,
            inputs=[
                _input("test", split_uri(step_preprocess, "test"), contract.EVALUATE_TEST_DIR),
                # The naive predictor learns from the training labels.
                _input("train", split_uri(step_preprocess, "train"), contract.EVALUATE_TRAIN_DIR),
                _input("source", ctx.wiring.source_uri, contract.EVALUATE_SOURCE_DIR),
                *(
                    _input(name, uri, f"{contract.EVALUATE_MODEL_DIR}/{name}")
                    for name, uri in candidates.items()
                ),
            ],
            outputs=[
                _output(
                    contract.EVALUATION_OUTPUT,
                    ctx.run_uri(contract.EVALUATION_OUTPUT),
                    contract.EVALUATE_OUTPUT_DIR,
                )
            ],
            arguments=[
                "--test-dir",
                contract.EVALUATE_TEST_DIR,
                "--train-dir",
                contract.EVALUATE_TRAIN_DIR,
                "--source-dir",
                contract.EVALUATE_SOURCE_DIR,
                "--inference",
                spec.inference_script,
                "--task",
                spec.data.task,
                "--metric",
                spec.gate_metric,
                "--model-root",
                contract.EVALUATE_MODEL_DIR,
                *model_arguments,
                "--output-dir",
                contract.EVALUATE_OUTPUT_DIR,
            ],
        ),
        property_files=[report],
        cache_config=cache_config(),
        retry_policies=job_retries(),
    )
