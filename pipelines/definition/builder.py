"""Composes one model's pipeline from the step builders."""

# ruff: noqa: PLC0415 - the SDK is imported inside the build only

from __future__ import annotations

import json

from pipelines.definition import sdk
from pipelines.definition.context import BuildContext, PipelineWiring, pipeline_parameters
from pipelines.definition.processing import evaluate_step, preprocess_step
from pipelines.definition.registration import best_tuned, evaluated, quality_gate
from pipelines.definition.requests import RequestShapeError, check_requests
from pipelines.definition.spec import SPEC_FILE, ModelSpec, SpecError
from pipelines.definition.training import baseline_step, candidate_models, tuning_step


def build_definition(spec: ModelSpec, wiring: PipelineWiring) -> str:
    """The pipeline definition JSON: compact, keys sorted, identical for identical inputs.
    Raises SpecError when a step's request would be refused by the SageMaker API."""
    with sdk.offline_sdk(wiring.region):
        raw = _build(spec, wiring)
    definition = json.loads(raw)
    try:
        check_requests(definition)
    except RequestShapeError as error:
        raise SpecError(f"models/{spec.name}/{SPEC_FILE}: {error}") from None
    return json.dumps(definition, sort_keys=True, separators=(",", ":"))


def _build(spec: ModelSpec, wiring: PipelineWiring) -> str:
    from sagemaker.core.workflow.pipeline_definition_config import PipelineDefinitionConfig
    from sagemaker.mlops.workflow import Pipeline

    script_mode = spec.training.algorithm is None
    if script_mode and (wiring.source_uri is None or wiring.evaluate_code_uri is None):
        raise ValueError(f"{spec.name}: script mode needs the wiring's source and evaluator")
    session = sdk.session(bucket=wiring.artifact_bucket, region=wiring.region)
    ctx = BuildContext(spec, wiring, session, pipeline_parameters(spec, wiring))
    step_preprocess = preprocess_step(ctx)
    if spec.training.algorithm is not None:
        # A built-in algorithm's model is opaque to the evaluator: the best tuning job, judged
        # on the algorithm's own validation metric, is the candidate.
        step_tune = tuning_step(ctx, step_preprocess)
        jobs = [step_preprocess, step_tune]
        inputs = best_tuned(step_tune, candidate_models(ctx, None, step_tune)["tuned"])
    else:
        step_train = baseline_step(ctx, step_preprocess)
        step_tune = tuning_step(ctx, step_preprocess) if spec.tunes else None
        candidates = candidate_models(ctx, step_train, step_tune)
        step_evaluate = evaluate_step(ctx, step_preprocess, candidates)
        jobs = [step_preprocess, step_train, *([step_tune] if step_tune else []), step_evaluate]
        inputs = evaluated(ctx, step_preprocess, step_evaluate)
    pipeline = Pipeline(
        name=wiring.pipeline_name,
        parameters=ctx.parameters.all(),
        steps=[*jobs, quality_gate(ctx, inputs)],
        sagemaker_session=session,
        pipeline_definition_config=PipelineDefinitionConfig(use_custom_job_prefix=False),
        **({} if wiring.experiment_tracking else {"pipeline_experiment_config": None}),
    )
    definition: str = pipeline.definition()
    return definition
