"""The scheduler of one execution: which step may start, running it (or reusing its cached
outcome) and what became of it.

Steps start as soon as everything they wait for has finished (independent steps run at the
same time, as in SageMaker), in definition order among those ready. A branch step runs only
when its condition chose its branch; a step after a skipped step is skipped too. After the
first failure no new step starts, the running ones finish, and the execution fails.
``RetryPolicies`` are not applied: the faults they retry (throttling, capacity, service
errors) do not happen on this machine, and a script error is not retried by SageMaker either.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.local.cache import KEY_ATTRIBUTES, CacheEntry, StepCache, cache_config, cache_key
from pipelines.local.errors import FailStepError, StepError
from pipelines.local.execution import Execution, StepContext, StepOutcome
from pipelines.local.executors import EXECUTORS
from pipelines.local.expressions import Scope, StepRecord, evaluate
from pipelines.local.graph import PipelineGraph, StepNode, own_content
from pipelines.local.interruption import StepInterruptedError, stop_requested
from pipelines.local.jobs import job_suffix
from pipelines.local.lambda_step import prewarm

# The job steps whose CacheConfig is honoured; the others always run, as in SageMaker.
CACHEABLE = frozenset(KEY_ATTRIBUTES)

SUCCEEDED, CACHED, FAILED = "Succeeded", "Cached", "Failed"
SKIPPED, NOT_STARTED, STOPPED = "Skipped", "NotStarted", "Stopped"
PENDING, RUNNING = "Pending", "Executing"
DONE = frozenset({SUCCEEDED, CACHED})
TERMINAL = frozenset({SUCCEEDED, CACHED, FAILED, SKIPPED, NOT_STARTED, STOPPED})
_WORDS = {NOT_STARTED: "not started"}


@dataclass
class StepReport:
    name: str
    type: str
    index: int
    branch_of: str | None
    status: str = PENDING
    seconds: float | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    log: Path | None = None
    cached_from: str | None = None
    job_name: str | None = None
    property_files: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "duration_seconds": None if self.seconds is None else round(self.seconds, 2),
            "cached_from_execution": self.cached_from,
            "job_name": self.job_name,
            "branch_of": self.branch_of,
            "outputs": self.outputs,
            "property_files": self.property_files,
            "message": self.message,
            "log": None if self.log is None else str(self.log),
        }


@dataclass(frozen=True)
class Failure:
    # "step": a step failed; "fail": a Fail step ran; "prediction": the endpoint did not answer.
    kind: str
    step: str
    message: str


class Scheduler:
    def __init__(
        self,
        *,
        graph: PipelineGraph,
        execution: Execution,
        parameters: Mapping[str, Any],
        experiment: Mapping[str, Any],
        cache: StepCache,
        use_cache: bool,
        max_parallel: int,
    ) -> None:
        self.graph = graph
        self.execution = execution
        self.cache = cache
        self.use_cache = use_cache
        self.max_parallel = max_parallel
        self.records: dict[str, StepRecord] = {}
        self._prewarm: threading.Thread | None = None
        self.scope = Scope(
            parameters=parameters,
            execution=self._execution_variables(),
            steps=self.records,
            read_json=lambda uri: json.loads(execution.store.read_bytes(uri)),
            experiment=experiment,
        )
        self.reports = {
            name: StepReport(name, node.type, node.index, node.parent)
            for name, node in graph.nodes.items()
        }

    def _execution_variables(self) -> dict[str, str]:
        execution = self.execution
        return {
            "PipelineExecutionId": execution.id,
            "PipelineExecutionArn": execution.arn,
            "PipelineName": execution.pipeline_name,
            "PipelineArn": execution.pipeline_arn,
            "StartDateTime": execution.started.isoformat(),
        }

    def run(self) -> Failure | None:
        pending = list(self.graph.order)
        running: dict[Future[tuple[StepOutcome, StepRecord]], str] = {}
        failure: Failure | None = None
        with ThreadPoolExecutor(self.max_parallel, thread_name_prefix="step") as pool:
            while True:
                # Deciding that a step will not run can make its dependants ready at once.
                changed = True
                while changed:
                    changed = False
                    for name in list(pending):
                        node = self.graph.nodes[name]
                        if not all(self.reports[d].status in TERMINAL for d in node.depends_on):
                            continue
                        pending.remove(name)
                        changed = True
                        verdict = self._blocked(node)
                        if verdict is None and failure is not None:
                            verdict = (NOT_STARTED, f"the execution failed at {failure.step}")
                        if verdict is None and stop_requested():
                            verdict = (NOT_STARTED, "the run was interrupted")
                        if verdict is not None:
                            self._finish_unrun(name, *verdict)
                        else:
                            self.reports[name].status = RUNNING
                            self._prewarm_for(name)
                            running[pool.submit(self._execute, node)] = name
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: self.graph.nodes[running[f]].index):
                    name = running.pop(future)
                    step_failure = self._collect(name, future)
                    # The first failure is the execution's; later ones are in their reports.
                    failure = failure or step_failure
        for name in pending:
            self._finish_unrun(name, NOT_STARTED, "its dependencies never finished")
        if self._prewarm is not None:
            self._prewarm.join()
        return failure

    def _prewarm_for(self, name: str) -> None:
        """Start importing what a Lambda step needs once a step it waits for starts (not its
        condition: the branch may not be taken)."""
        if self._prewarm is not None:
            return
        if any(
            node.type == "Lambda" and name in node.depends_on and node.parent != name
            for node in self.graph.nodes.values()
        ):
            self._prewarm = threading.Thread(target=prewarm, name="prewarm-lambda")
            self._prewarm.start()

    def _blocked(self, node: StepNode) -> tuple[str, str] | None:
        """Why ``node`` must not run (status, reason), or None when it may."""
        if node.parent is not None:
            parent = self.reports[node.parent]
            if parent.status in DONE:
                outcome = self.records[node.parent].properties.get("Outcome")
                chosen = "IfSteps" if outcome else "ElseSteps"
                if node.branch != chosen:
                    return SKIPPED, f"{node.branch} of {node.parent}, whose outcome was {outcome}"
        for dep in node.depends_on:
            status = self.reports[dep].status
            if status == SKIPPED:
                return SKIPPED, f"{dep} was skipped"
            if status in (FAILED, NOT_STARTED):
                return NOT_STARTED, f"{dep} did not succeed"
        return None

    def _finish_unrun(self, name: str, status: str, reason: str) -> None:
        report = self.reports[name]
        report.status, report.message = status, reason
        self.execution.report(name, f"{_WORDS.get(status, status.lower())}: {reason}")

    def _collect(self, name: str, future: Future[tuple[StepOutcome, StepRecord]]) -> Failure | None:
        report = self.reports[name]
        if future.exception() is not None and stop_requested():
            # A job stopped by the signal fails in its own way; that is not the step's fault.
            report.status, report.message = STOPPED, "stopped: the run was interrupted"
            self.execution.report(name, report.message)
            return None
        try:
            outcome, record = future.result()
        except FailStepError as failure:
            report.status, report.message = FAILED, str(failure)
            self.execution.report(name, f"failed: {failure}")
            return Failure("fail", name, str(failure))
        except StepError as error:
            # Executors name the step in their messages; the report names it already.
            message = str(error).removeprefix(f"{name}: ")
            report.status, report.message = FAILED, message
            report.log = report.log or error.log
            self.execution.report(name, f"failed after {report.seconds or 0:.1f}s: {message}")
            return Failure("step", name, message)
        except Exception as error:
            # Arguments the preflight could not foresee (or a runner bug): the step fails with
            # the exception, and its traceback goes to the step's log.
            message = f"unexpected {type(error).__name__}: {error}"
            log = self.execution.directory / name / "log.txt"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as sink:
                traceback.print_exception(error, file=sink)
            report.status, report.message, report.log = FAILED, message, log
            self.execution.report(name, f"failed after {report.seconds or 0:.1f}s: {message}")
            return Failure("step", name, message)
        self.records[name] = record
        report.outputs = outcome.outputs
        report.property_files = record.property_files
        report.log = report.log or outcome.log
        if report.cached_from is not None:
            report.status = CACHED
            self.execution.report(
                name, f"cached: reused the outputs of execution {report.cached_from}"
            )
        else:
            report.status = SUCCEEDED
            extra = ""
            if "outcome" in outcome.outputs:
                branch = "IfSteps" if outcome.outputs["outcome"] else "ElseSteps"
                extra = f" (outcome {outcome.outputs['outcome']}: {branch})"
            self.execution.report(name, f"succeeded in {report.seconds or 0:.1f}s{extra}")
        return None

    def _execute(self, node: StepNode) -> tuple[StepOutcome, StepRecord]:
        started = time.monotonic()
        report = self.reports[node.name]
        try:
            return self._execute_step(node, report)
        finally:
            report.seconds = time.monotonic() - started

    def _execute_step(self, node: StepNode, report: StepReport) -> tuple[StepOutcome, StepRecord]:
        execution = self.execution
        executor = EXECUTORS[node.type]
        job_name = f"pipelines-{execution.id}-{node.name}-{job_suffix(execution.id, node.name)}"
        job_name = job_name[:63]
        variables = {
            **self.scope.execution,
            "CurrentDateTime": datetime.now(UTC).isoformat(),
            "TrainingJobName" if node.type == "Training" else "ProcessingJobName": job_name,
        }
        scope = dataclasses.replace(self.scope, execution=variables)
        raw = own_content(node.step).get("Arguments", {})
        try:
            arguments = evaluate(raw, scope)
        except StepError as error:
            raise StepError(f"{node.name}: {error}") from None
        report.job_name = job_name if node.type in CACHEABLE else None
        context = StepContext(node, arguments, job_name, execution.directory / node.name, execution)
        report.log = context.log if node.type in CACHEABLE else None

        max_age = cache_config(node.step) if node.type in CACHEABLE else None
        key = None
        outcome: StepOutcome | None = None
        if max_age is not None:
            masked = evaluate(raw, dataclasses.replace(scope, masked=True))
            digests = {uri: execution.store.digest(uri) for uri in executor.inputs(arguments)}
            key = cache_key(node.type, masked, digests)
            entry = self.cache.lookup(node.name, key, max_age) if self.use_cache else None
            if entry is not None:
                outcome = StepOutcome(entry.properties, entry.outputs, entry.objects)
                report.cached_from = entry.execution_id
                report.job_name = entry.properties.get(
                    "TrainingJobName",
                    entry.properties.get(
                        "ProcessingJobName", entry.properties.get("HyperParameterTuningJobName")
                    ),
                )
                report.log = None
        if outcome is None:
            self.execution.report(node.name, f"started ({node.type})")
            outcome = executor.run(context)
            if stop_requested():
                # Its jobs may have been stopped half-way: never cache or pass on the result.
                raise StepInterruptedError(node.name)
            if key is not None:
                self.cache.save(
                    node.name,
                    CacheEntry(
                        key=key,
                        execution_id=execution.id,
                        created=datetime.now(UTC),
                        properties=outcome.properties,
                        outputs=outcome.outputs,
                        objects=outcome.objects,
                    ),
                )
        record = StepRecord(outcome.properties, self._property_files(node, outcome.properties))
        return outcome, record

    def _property_files(self, node: StepNode, properties: Mapping[str, Any]) -> dict[str, Any]:
        files: dict[str, Any] = {}
        outputs = (properties.get("ProcessingOutputConfig") or {}).get("Outputs", [])
        for declared in node.step.get("PropertyFiles", []):
            name, output_name = declared["PropertyFileName"], declared["OutputName"]
            output = next((o for o in outputs if o.get("OutputName") == output_name), None)
            if output is None:
                raise StepError(f"{node.name}: property file {name}: no output {output_name!r}")
            uri = f"{str(output['S3Output']['S3Uri']).rstrip('/')}/{declared['FilePath']}"
            try:
                files[name] = json.loads(self.execution.store.read_bytes(uri))
            except json.JSONDecodeError as exc:
                raise StepError(
                    f"{node.name}: property file {name} ({uri}) is not JSON: {exc}"
                ) from None
            except StepError:
                raise StepError(f"{node.name}: property file {name}: no object at {uri}") from None
        return files
