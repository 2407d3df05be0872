"""The quality gate and registration: the selected model goes into the model registry only
when its metric passes the threshold; otherwise the execution fails with both numbers."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

from typing import Any

from pipelines.definition import contract
from pipelines.definition.context import BuildContext
from pipelines.definition.deployment import deploy_gate, model_builder


def report_value(step_evaluate: Any, json_path: str) -> Any:
    from sagemaker.core.workflow import JsonGet

    (report,) = step_evaluate.property_files
    return JsonGet(step_name=step_evaluate.name, property_file=report, json_path=json_path)


def register_step(ctx: BuildContext, step_evaluate: Any, model_uri: Any) -> Any:
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.workflow import Join
    from sagemaker.mlops.workflow import ModelStep

    outputs = step_evaluate.properties.ProcessingOutputConfig.Outputs
    report_uri = Join(
        on="/",
        values=[outputs[contract.EVALUATION_OUTPUT].S3Output.S3Uri, contract.EVALUATION_FILE],
    )
    return ModelStep(
        name=contract.REGISTER,
        step_args=model_builder(ctx, model_uri).register(
            model_package_group_name=ctx.wiring.model_package_group,
            approval_status=ctx.parameters.approval_status,
            content_types=list(contract.CONTENT_TYPES),
            response_types=list(contract.RESPONSE_TYPES),
            inference_instances=[ctx.parameters.endpoint_instance_type],
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(content_type="application/json", s3_uri=report_uri)
            ),
        ),
    )


def quality_gate(ctx: BuildContext, step_evaluate: Any) -> Any:
    """Register (and deploy when approved) if the gate metric is on the right side of the
    threshold: at least it for a metric to maximize, at most it for one to minimize."""
    from sagemaker.core.workflow import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
        Join,
    )
    from sagemaker.mlops.workflow import ConditionStep, FailStep

    spec, threshold = ctx.spec, ctx.parameters.quality_threshold
    metric = report_value(
        step_evaluate, contract.report_json_path(spec.data.task, spec.gate_metric)
    )
    model_uri = report_value(step_evaluate, "selected_model.s3_uri")
    maximize = spec.gate_direction == "Maximize"
    condition = (ConditionGreaterThanOrEqualTo if maximize else ConditionLessThanOrEqualTo)(
        left=metric, right=threshold
    )
    step_register = register_step(ctx, step_evaluate, model_uri)
    step_fail = FailStep(
        name=contract.QUALITY_FAIL,
        error_message=Join(
            on=" ",
            values=[
                f"Model {spec.gate_metric}",
                metric,
                "is below" if maximize else "is above",
                "the quality threshold",
                threshold,
            ],
        ),
    )
    return ConditionStep(
        name=contract.QUALITY_GATE,
        conditions=[condition],
        if_steps=[step_register, deploy_gate(ctx, model_uri, step_register)],
        else_steps=[step_fail],
    )
