"""The quality gate and registration: the selected model goes into the model registry only
when its metric passes the threshold; otherwise the execution fails with both numbers."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.definition import contract
from pipelines.definition.context import BuildContext
from pipelines.definition.deployment import deploy_gate, model_builder


@dataclass(frozen=True)
class GateInputs:
    """What the gate judges and what it registers: pipeline expressions."""

    metric: Any
    model_uri: Any
    # The evaluation report, registered as the version's model metrics (None: no report).
    report_uri: Any | None


def evaluated(ctx: BuildContext, step_evaluate: Any) -> GateInputs:
    """The candidate the Evaluate step selected, with its report."""
    from sagemaker.core.workflow import Join, JsonGet

    (report,) = step_evaluate.property_files

    def value(json_path: str) -> Any:
        return JsonGet(step_name=step_evaluate.name, property_file=report, json_path=json_path)

    spec = ctx.spec
    outputs = step_evaluate.properties.ProcessingOutputConfig.Outputs
    return GateInputs(
        metric=value(contract.report_json_path(spec.data.task, spec.gate_metric)),
        model_uri=value("selected_model.s3_uri"),
        report_uri=Join(
            on="/",
            values=[outputs[contract.EVALUATION_OUTPUT].S3Output.S3Uri, contract.EVALUATION_FILE],
        ),
    )


def best_tuned(step_tune: Any, model_uri: Any) -> GateInputs:
    """A built-in algorithm's best tuning job, judged on its own objective metric."""
    best = step_tune.properties.BestTrainingJob
    return GateInputs(
        metric=best.FinalHyperParameterTuningJobObjectiveMetric.Value,
        model_uri=model_uri,
        report_uri=None,
    )


def register_step(ctx: BuildContext, inputs: GateInputs) -> Any:
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.mlops.workflow import ModelStep

    metrics = (
        {}
        if inputs.report_uri is None
        else {
            "model_metrics": ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json", s3_uri=inputs.report_uri
                )
            )
        }
    )
    return ModelStep(
        name=contract.REGISTER,
        step_args=model_builder(ctx, inputs.model_uri).register(
            model_package_group_name=ctx.wiring.model_package_group,
            approval_status=ctx.parameters.approval_status,
            content_types=list(contract.CONTENT_TYPES),
            response_types=list(contract.RESPONSE_TYPES),
            inference_instances=[ctx.parameters.endpoint_instance_type],
            **metrics,
        ),
    )


def quality_gate(ctx: BuildContext, inputs: GateInputs) -> Any:
    """Register (and deploy when approved) if the gate metric is on the right side of the
    threshold: at least it for a metric to maximize, at most it for one to minimize."""
    from sagemaker.core.workflow import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
        Join,
    )
    from sagemaker.mlops.workflow import ConditionStep, FailStep

    spec, threshold = ctx.spec, ctx.parameters.quality_threshold
    maximize = spec.gate_direction == "Maximize"
    condition = (ConditionGreaterThanOrEqualTo if maximize else ConditionLessThanOrEqualTo)(
        left=inputs.metric, right=threshold
    )
    step_register = register_step(ctx, inputs)
    step_fail = FailStep(
        name=contract.QUALITY_FAIL,
        error_message=Join(
            on=" ",
            values=[
                f"Model {spec.gate_metric}",
                inputs.metric,
                "is below" if maximize else "is above",
                "the quality threshold",
                threshold,
            ],
        ),
    )
    return ConditionStep(
        name=contract.QUALITY_GATE,
        conditions=[condition],
        if_steps=[step_register, deploy_gate(ctx, inputs.model_uri, step_register)],
        else_steps=[step_fail],
    )
