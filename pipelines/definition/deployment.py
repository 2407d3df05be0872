"""Deployment when approved: CreateModel -> EndpointConfig -> Endpoint -> autoscaling."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

import logging
from typing import Any

from pipelines.definition import contract
from pipelines.definition.context import BuildContext


def model_builder(ctx: BuildContext, model_uri: Any) -> Any:
    """The served model: the framework image running the model's inference script from the
    same source bundle it was trained from."""
    from sagemaker.serve.model_builder import ModelBuilder

    script_mode = {
        "SAGEMAKER_PROGRAM": ctx.spec.inference_script,
        "SAGEMAKER_SUBMIT_DIRECTORY": ctx.wiring.source_uri,
    }
    return ModelBuilder(
        image_uri=ctx.training_image(scope="inference"),
        s3_model_data_url=model_uri,
        role_arn=ctx.wiring.role_arn,
        env_vars={} if ctx.spec.training.algorithm else script_mode,
        sagemaker_session=ctx.session,
        log_level=logging.WARNING,
    )


def _data_capture(ctx: BuildContext) -> dict[str, Any] | None:
    wiring = ctx.wiring
    if not wiring.data_capture:
        return None
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": contract.CAPTURE_SAMPLING_PERCENTAGE,
        "DestinationS3Uri": contract.data_capture_uri(
            ctx.bucket_uri, wiring.capture_prefix, wiring.endpoint_name
        ),
        "KmsKeyId": wiring.kms_key_arn,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }


def deploy_gate(ctx: BuildContext, model_uri: Any, step_register: Any) -> Any:
    """Deploy only when the registered version is Approved."""
    from sagemaker.core.lambda_helper import Lambda
    from sagemaker.core.workflow import ConditionEquals
    from sagemaker.mlops.workflow import (
        ConditionStep,
        EndpointConfigStep,
        EndpointStep,
        LambdaOutput,
        LambdaStep,
        ModelStep,
    )
    from sagemaker.mlops.workflow.lambda_step import LambdaOutputTypeEnum

    wiring, parameters, session = ctx.wiring, ctx.parameters, ctx.session
    step_model = ModelStep(
        name=contract.CREATE_MODEL, step_args=model_builder(ctx, model_uri).build()
    )
    step_config = EndpointConfigStep(
        name=contract.ENDPOINT_CONFIG,
        step_args=session.create_endpoint_config(
            name=f"{wiring.endpoint_name}-config",
            production_variants=[
                {
                    "VariantName": contract.VARIANT_NAME,
                    "ModelName": step_model.properties.ModelName,
                    "InstanceType": parameters.endpoint_instance_type,
                    "InitialInstanceCount": parameters.min_capacity,
                }
            ],
            kms_key=wiring.kms_key_arn,
            data_capture_config_dict=_data_capture(ctx),
        ),
    )
    step_endpoint = EndpointStep(
        name=contract.ENDPOINT,
        step_args=session.create_endpoint(
            endpoint_name=wiring.endpoint_name,
            config_name=step_config.properties.EndpointConfigName,
        ),
    )
    step_autoscaling = LambdaStep(
        name=contract.AUTOSCALING,
        lambda_func=Lambda(function_arn=wiring.autoscaling_lambda_arn, session=session),
        # The event of pipelines/lambdas/endpoint_autoscaling.py (parse_request).
        inputs={
            "endpoint_name": wiring.endpoint_name,
            "variant_name": contract.VARIANT_NAME,
            "min_capacity": parameters.min_capacity,
            "max_capacity": parameters.max_capacity,
            "target_invocations": parameters.target_invocations,
        },
        outputs=[LambdaOutput(output_name="status", output_type=LambdaOutputTypeEnum.String)],
        depends_on=[step_endpoint],
    )
    return ConditionStep(
        name=contract.DEPLOY_GATE,
        conditions=[ConditionEquals(left=parameters.approval_status, right="Approved")],
        if_steps=[step_model, step_config, step_endpoint, step_autoscaling],
        else_steps=[],
        depends_on=[step_register],
    )
