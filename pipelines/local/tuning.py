"""Tuning steps: the training job definition run once per point of the search, at most
``MaxParallelTrainingJobs`` at a time, and the best job picked by the objective metric.

Points come from :mod:`pipelines.local.sampling` (seeded by the config's ``RandomSeed`` when it
has one). Each trial is a full local training job named like SageMaker names them
(``<tuning job>-<NNN>-<hash>``), so its model lands at
``<S3OutputPath>/<trial>/output/model.tar.gz``: the path ``get_top_model_s3_uri`` builds from
``TrainingJobSummaries[k].TrainingJobName``. The summaries are ordered best first, as the
service orders them for that reference. Early stopping (``TrainingJobEarlyStoppingType``) is
not emulated: every trial runs to completion.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from pipelines.local.errors import DefinitionError, StepError
from pipelines.local.execution import StepContext, StepOutcome
from pipelines.local.graph import StepNode
from pipelines.local.interruption import StepInterruptedError, stop_requested
from pipelines.local.jobs import job_suffix, log_tail
from pipelines.local.sampling import DEFAULT_SEED, grid_points, parse_ranges, sample_points
from pipelines.local.training import (
    TrainingResult,
    check_job_definition,
    job_inputs,
    run_training_job,
)

_STRATEGIES = ("Bayesian", "Random", "Hyperband", "Grid")


@dataclass(frozen=True)
class Trial:
    index: int
    name: str
    tuned: dict[str, str]
    result: TrainingResult | None
    error: StepError | None
    objective: float | None


def _job_definition(arguments: Mapping[str, Any], step: str) -> Mapping[str, Any]:
    if "TrainingJobDefinitions" in arguments:
        raise DefinitionError(f"step {step}: several training job definitions are not supported")
    definition = arguments.get("TrainingJobDefinition")
    if not isinstance(definition, Mapping):
        raise DefinitionError(f"step {step}: no TrainingJobDefinition")
    return definition


class TuningExecutor:
    def check(self, node: StepNode) -> None:
        arguments = node.step.get("Arguments", {})
        config = arguments.get("HyperParameterTuningJobConfig")
        if not isinstance(config, Mapping):
            raise DefinitionError(f"step {node.name}: no HyperParameterTuningJobConfig")
        definition = _job_definition(arguments, node.name)
        check_job_definition(definition, definition.get("StaticHyperParameters"), node.name)
        strategy = config.get("Strategy", "Bayesian")
        if strategy not in _STRATEGIES:
            raise DefinitionError(f"step {node.name}: unknown tuning strategy {strategy!r}")
        objective = config.get("HyperParameterTuningJobObjective") or {}
        if objective.get("Type") not in ("Maximize", "Minimize"):
            raise DefinitionError(f"step {node.name}: objective Type must be Maximize or Minimize")
        metrics = (definition.get("AlgorithmSpecification") or {}).get("MetricDefinitions", [])
        if objective.get("MetricName") not in [metric.get("Name") for metric in metrics]:
            raise DefinitionError(
                f"step {node.name}: objective metric {objective.get('MetricName')!r} has no "
                "MetricDefinitions regex"
            )
        parse_ranges(config.get("ParameterRanges") or {}, node.name)

    def inputs(self, arguments: Any) -> list[str]:
        definition = arguments["TrainingJobDefinition"]
        return job_inputs(definition, definition["StaticHyperParameters"])

    def run(self, context: StepContext) -> StepOutcome:
        step = context.node.name
        execution = context.execution
        config = context.arguments["HyperParameterTuningJobConfig"]
        definition = context.arguments["TrainingJobDefinition"]
        objective = config["HyperParameterTuningJobObjective"]
        limits = config.get("ResourceLimits") or {}
        points = _points(config, step)
        parallel = max(1, min(int(limits.get("MaxParallelTrainingJobs", 1)), len(points)))
        tuning_job = f"{_slug(step)[:12]}-{execution.id}"[:32]
        context.progress(f"{len(points)} training jobs, {parallel} at a time")
        trials = _run_trials(
            context,
            definition,
            points,
            tuning_job=tuning_job,
            parallel=parallel,
            metric=objective["MetricName"],
        )
        scored = [trial for trial in trials if trial.objective is not None]
        if not scored:
            raise _no_objective(step, trials, objective["MetricName"], definition)
        ranked = _ranked(scored, maximize=objective["Type"] == "Maximize")
        return _outcome(context, tuning_job, objective, trials, ranked)


def _points(config: Mapping[str, Any], step: str) -> list[dict[str, str]]:
    """The hyperparameter values of each trial: the whole grid, or as many seeded samples as
    the job may run."""
    limits = config.get("ResourceLimits") or {}
    ranges = parse_ranges(config.get("ParameterRanges") or {}, step)
    if config.get("Strategy") == "Grid":
        return grid_points(ranges, step)
    count = int(limits.get("MaxNumberOfTrainingJobs", 1))
    return sample_points(ranges, count, int(config.get("RandomSeed", DEFAULT_SEED)))


def _run_trials(
    context: StepContext,
    definition: Mapping[str, Any],
    points: list[dict[str, str]],
    *,
    tuning_job: str,
    parallel: int,
    metric: str,
) -> list[Trial]:
    """One training job per point, ``parallel`` at a time, in the order they finish; a job
    that fails is a trial without a result, not the step's failure."""
    step = context.node.name
    execution = context.execution

    def run_trial(index: int, tuned: dict[str, str]) -> Trial:
        if stop_requested():
            raise StepInterruptedError(f"{step}: trial {index + 1} not started")
        name = f"{tuning_job}-{index + 1:03d}-{job_suffix(tuning_job, str(index), length=8)}"
        hyperparameters = {**definition["StaticHyperParameters"], **tuned}
        try:
            result = run_training_job(
                definition,
                hyperparameters,
                job_name=name,
                directory=context.directory / name,
                execution=execution,
                cpus=max(1, execution.cpus // parallel),
            )
        except StepError as error:
            return Trial(index, name, tuned, None, error, None)
        value = result.metrics.get(metric)
        return Trial(index, name, tuned, result, None, value)

    trials: list[Trial] = []
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix=step) as pool:
        futures = [pool.submit(run_trial, index, point) for index, point in enumerate(points)]
        for future in as_completed(futures):
            trial = future.result()
            trials.append(trial)
            context.progress(_describe(trial, len(points), metric))
    return trials


def _ranked(scored: list[Trial], *, maximize: bool) -> list[Trial]:
    def rank(trial: Trial) -> tuple[float, int]:
        # Best first; equal objectives keep the earlier trial first.
        value = trial.objective if trial.objective is not None else math.nan
        return (-value if maximize else value, trial.index)

    return sorted(scored, key=rank)


def _outcome(
    context: StepContext,
    tuning_job: str,
    objective: Mapping[str, Any],
    trials: list[Trial],
    ranked: list[Trial],
) -> StepOutcome:
    """The properties DescribeHyperParameterTuningJob would show, summaries best first."""
    execution = context.execution
    region, account = execution.region, execution.account
    others = sorted((t for t in trials if t.objective is None), key=lambda t: t.index)
    summaries = [_trial_summary(t, objective, region, account) for t in ranked]
    summaries += [_trial_summary(t, objective, region, account) for t in others]
    best = ranked[0]
    assert best.result is not None
    completed = sum(1 for t in trials if t.result is not None)
    properties = {
        **context.arguments,
        "HyperParameterTuningJobName": tuning_job,
        "HyperParameterTuningJobArn": (
            f"arn:aws:sagemaker:{region}:{account}:hyper-parameter-tuning-job/{tuning_job}"
        ),
        "HyperParameterTuningJobStatus": "Completed",
        "BestTrainingJob": summaries[0],
        "TrainingJobSummaries": summaries,
        "TrainingJobStatusCounters": {
            "Completed": completed,
            "InProgress": 0,
            "RetryableError": 0,
            "NonRetryableError": len(trials) - completed,
            "Stopped": 0,
        },
        "ObjectiveStatusCounters": {
            "Succeeded": len(ranked),
            "Pending": 0,
            "Failed": len(trials) - len(ranked),
        },
    }
    return StepOutcome(
        properties=properties,
        outputs={
            "best_training_job": best.name,
            objective["MetricName"]: best.objective,
            "best_hyperparameters": best.tuned,
            "best_model": best.result.model_uri,
            "trials": f"{len(ranked)} of {len(trials)} reported the objective",
        },
        objects=[t.result.model_uri for t in trials if t.result is not None],
        log=best.result.log,
    )


def _trial_summary(
    trial: Trial, objective: Mapping[str, Any], region: str, account: str
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "TrainingJobName": trial.name,
        "TrainingJobArn": f"arn:aws:sagemaker:{region}:{account}:training-job/{trial.name}",
        "TrainingJobStatus": "Completed" if trial.result is not None else "Failed",
        "TunedHyperParameters": trial.tuned,
        "ObjectiveStatus": "Succeeded" if trial.objective is not None else "Failed",
    }
    if trial.objective is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "MetricName": objective["MetricName"],
            "Value": trial.objective,
            "Type": objective["Type"],
        }
    if trial.error is not None:
        summary["FailureReason"] = str(trial.error)
    return summary


def _no_objective(
    step: str, trials: list[Trial], metric: str, definition: Mapping[str, Any]
) -> StepError:
    """Name the regex that matched nothing and show what one trial printed last, so a regex
    that does not fit the script's output is seen at once."""
    definitions = (definition.get("AlgorithmSpecification") or {}).get("MetricDefinitions", [])
    regex = next((d.get("Regex") for d in definitions if d.get("Name") == metric), None)
    failed = [trial for trial in trials if trial.error is not None]
    shown = min(trials, key=lambda t: (t.result is None, t.index))
    log = shown.result.log if shown.result is not None else None
    if log is None and shown.error is not None:
        log = shown.error.log
    tail = " | ".join(line.strip() for line in log_tail(log, 3) if line.strip())
    return StepError(
        f"{step}: no training job reported the objective metric {metric}: the regex "
        f"{regex!r} matched no line ({len(failed)} of {len(trials)} jobs failed); the last "
        f"lines of {shown.name}: {tail or '(nothing)'}",
        log=log,
    )


def _describe(trial: Trial, total: int, metric: str) -> str:
    position = f"trial {trial.index + 1}/{total} {trial.name}"
    if trial.error is not None:
        return f"{position} failed: {trial.error}"
    seconds = f" in {trial.result.seconds:.1f}s" if trial.result else ""
    value = "not reported" if trial.objective is None else f"{trial.objective:.6f}"
    tuned = " ".join(f"{name}={value}" for name, value in trial.tuned.items())
    return f"{position} {metric}={value}{seconds} ({tuned})"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "tuning"
