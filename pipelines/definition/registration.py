"""The quality gate and registration: the selected model goes into the model registry only
when its metric passes the threshold and beats the naive predictor; otherwise the execution
fails with the numbers it was judged on."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.definition import contract
from pipelines.definition.context import BuildContext
from pipelines.definition.deployment import deploy_gate, model_builder
from pipelines.definition.processing import split_uri


@dataclass(frozen=True)
class NaiveInputs:
    """The naive predictor's value on the gate metric and the model's improvement over it
    (positive is better): pipeline expressions."""

    value: Any
    improvement: Any


@dataclass(frozen=True)
class GateInputs:
    """What the gate judges and what it registers: pipeline expressions."""

    metric: Any
    model_uri: Any
    # The evaluation report, registered as the version's model metrics (None: no report).
    report_uri: Any | None
    # The naive predictor's value and the model's improvement over it (None: no evaluator).
    naive: NaiveInputs | None = None
    # The version's signature (None: the model carries no fitted transform).
    signature_uri: Any | None = None


def evaluated(ctx: BuildContext, step_preprocess: Any, step_evaluate: Any) -> GateInputs:
    """The candidate the Evaluate step selected, with its report and signature."""
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
        naive=NaiveInputs(
            value=value(contract.NAIVE_VALUE_PATH),
            improvement=value(contract.NAIVE_IMPROVEMENT_PATH),
        ),
        signature_uri=Join(
            on="/",
            values=[split_uri(step_preprocess, contract.TRANSFORM_OUTPUT), contract.SIGNATURE_FILE],
        )
        if spec.carries_transform
        else None,
    )


def best_tuned(step_tune: Any, model_uri: Any) -> GateInputs:
    """A built-in algorithm's best tuning job, judged on its own objective metric."""
    best = step_tune.properties.BestTrainingJob
    return GateInputs(
        metric=best.FinalHyperParameterTuningJobObjectiveMetric.Value,
        model_uri=model_uri,
        report_uri=None,
    )


def signature_metadata(inputs: GateInputs) -> dict[str, Any]:
    """The signature's location in the version's customer metadata, where `pipelines.cli
    signature` and a console user find what the version accepts and answers."""
    if inputs.signature_uri is None:
        return {}
    return {"customer_metadata_properties": {contract.SIGNATURE_METADATA: inputs.signature_uri}}


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
            **signature_metadata(inputs),
        ),
    )


def gate_conditions(ctx: BuildContext, inputs: GateInputs) -> list[Any]:
    """The metric on the right side of the threshold (at least it to maximize, at most it to
    minimize) and, with an evaluator, an improvement over the naive predictor above the
    margin: a threshold alone passes a constant predictor on imbalanced data."""
    from sagemaker.core.workflow import (
        ConditionGreaterThan,
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )

    spec = ctx.spec
    maximize = spec.gate_direction == "Maximize"
    conditions = [
        (ConditionGreaterThanOrEqualTo if maximize else ConditionLessThanOrEqualTo)(
            left=inputs.metric, right=ctx.parameters.quality_threshold
        )
    ]
    if inputs.naive is not None:
        conditions.append(
            ConditionGreaterThan(left=inputs.naive.improvement, right=spec.evaluation.naive_margin)
        )
    return conditions


def fail_message(ctx: BuildContext, inputs: GateInputs) -> Any:
    """Every number the gate judged: the model's metric, the threshold and, with an
    evaluator, the naive predictor's value and the margin."""
    from sagemaker.core.workflow import Join

    spec, threshold = ctx.spec, ctx.parameters.quality_threshold
    maximize = spec.gate_direction == "Maximize"
    if inputs.naive is None:
        # A built-in algorithm's gate, unchanged: its threshold is all it is judged on.
        verdict = ["is below" if maximize else "is above", "the quality threshold", threshold]
        return Join(on=" ", values=[f"Model {spec.gate_metric}", inputs.metric, *verdict])
    strategy = contract.NAIVE_STRATEGIES[spec.data.task]
    return Join(
        on=" ",
        values=[
            f"Model {spec.gate_metric}",
            inputs.metric,
            "must be at least" if maximize else "must be at most",
            "the quality threshold",
            threshold,
            f"and beat the naive predictor ({strategy})",
            inputs.naive.value,
            f"by more than {spec.evaluation.naive_margin}",
        ],
    )


def quality_gate(ctx: BuildContext, inputs: GateInputs) -> Any:
    """Register (and deploy when approved) if every gate condition holds; otherwise fail with
    the numbers."""
    from sagemaker.mlops.workflow import ConditionStep, FailStep

    step_register = register_step(ctx, inputs)
    step_fail = FailStep(name=contract.QUALITY_FAIL, error_message=fail_message(ctx, inputs))
    return ConditionStep(
        name=contract.QUALITY_GATE,
        conditions=gate_conditions(ctx, inputs),
        if_steps=[step_register, deploy_gate(ctx, inputs.model_uri, step_register)],
        else_steps=[step_fail],
    )
