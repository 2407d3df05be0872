"""One local execution of the pipeline: load, check, schedule the steps, report.

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
import os
import secrets
import shutil
import string
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pipelines.environment import environment_snapshot
from pipelines.local.assembly import load_assembly, populate_store
from pipelines.local.cache import KEY_ATTRIBUTES, CacheEntry, StepCache, cache_config, cache_key
from pipelines.local.control import ConditionExecutor, FailExecutor
from pipelines.local.deployments import add_example
from pipelines.local.endpoint_steps import (
    EndpointConfigExecutor,
    EndpointExecutor,
    ModelExecutor,
)
from pipelines.local.errors import DefinitionError, FailStepError, StepError
from pipelines.local.execution import Execution, Executor, StepContext, StepOutcome
from pipelines.local.expressions import (
    Scope,
    StepRecord,
    check_reference,
    declared_parameters,
    evaluate,
    references,
    resolve_parameters,
)
from pipelines.local.graph import PipelineGraph, StepNode, build_graph, own_content
from pipelines.local.hosting import Hosting, LocalEndpoint
from pipelines.local.interruption import (
    StepInterruptedError,
    interrupted_error,
    stop_requested,
)
from pipelines.local.jobs import job_suffix, log_tail
from pipelines.local.lambda_step import LambdaExecutor, prewarm
from pipelines.local.objectstore import ObjectStore
from pipelines.local.processing import ProcessingExecutor
from pipelines.local.register_step import RegisterModelExecutor
from pipelines.local.training import TrainingExecutor
from pipelines.local.tuning import TuningExecutor
from pipelines.local.warmpool import WarmPool, installed_modules, module_imports, sources_of

EXECUTORS: dict[str, Executor] = {
    "Processing": ProcessingExecutor(),
    "Training": TrainingExecutor(),
    "Tuning": TuningExecutor(),
    "Condition": ConditionExecutor(),
    "Fail": FailExecutor(),
    "RegisterModel": RegisterModelExecutor(),
    "Model": ModelExecutor(),
    "EndpointConfig": EndpointConfigExecutor(),
    "Endpoint": EndpointExecutor(),
    "Lambda": LambdaExecutor(),
}
# The job steps whose CacheConfig is honoured; the others always run, as in SageMaker.
CACHEABLE = frozenset(KEY_ATTRIBUTES)

SUCCEEDED, CACHED, FAILED = "Succeeded", "Cached", "Failed"
SKIPPED, NOT_STARTED, STOPPED = "Skipped", "NotStarted", "Stopped"
PENDING, RUNNING = "Pending", "Executing"
DONE = frozenset({SUCCEEDED, CACHED})
TERMINAL = frozenset({SUCCEEDED, CACHED, FAILED, SKIPPED, NOT_STARTED, STOPPED})
SMOKE_ROWS = 3
_WORDS = {NOT_STARTED: "not started"}


def default_parallel_steps() -> int:
    """As many steps at once as there are CPUs, and at least two: the baseline training and
    the tuning job of this pipeline are independent and should overlap."""
    return max(2, os.cpu_count() or 1)


@dataclass
class RunOptions:
    assembly: Path = Path("cdk.out")
    run_dir: Path = Path(".run/local")
    params: Sequence[str] = ()
    use_cache: bool = True
    summary: Path | None = None
    pipeline: str | None = None
    # Prefix of progress lines, when several pipelines run at once, and how many do.
    label: str | None = None
    pipelines: int = 1
    max_parallel_steps: int = field(default_factory=default_parallel_steps)
    warm_pool: bool = True


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


@dataclass
class RunResult:
    exit_code: int
    summary_path: Path
    summary: dict[str, Any]
    reports: list[StepReport]
    failure_log: list[str]


_PRINT_LOCK = threading.Lock()


class Reporter:
    """Progress lines, one per event, prefixed with the time since the run started."""

    def __init__(self, out: TextIO, label: str | None = None) -> None:
        self.out = out
        # With several pipelines running at once, each line says whose it is.
        self.label = f"{label}: " if label else ""
        self.started = time.monotonic()
        # Shared by every reporter: pipelines running at once print to the same stream.
        self._lock = _PRINT_LOCK

    def line(self, step: str, message: str) -> None:
        elapsed = time.monotonic() - self.started
        with self._lock:
            print(f"[{elapsed:6.1f}s] {self.label}{step:<22} {message}", file=self.out, flush=True)

    def note(self, message: str) -> None:
        with self._lock:
            print(f"{self.label}{message}", file=self.out, flush=True)


def preflight(definition: Mapping[str, Any], graph: PipelineGraph) -> None:
    """Reject what cannot run before anything does: unknown step kinds, steps an executor
    cannot handle, references that can never resolve, malformed cache settings."""
    parameters = declared_parameters(definition)
    experiment = definition.get("PipelineExperimentConfig") or {}
    steps = {name: node.step for name, node in graph.nodes.items()}
    for node in graph.nodes.values():
        executor = EXECUTORS.get(node.type)
        if executor is None:
            supported = ", ".join(sorted(EXECUTORS))
            raise DefinitionError(
                f"step {node.name}: step type {node.type!r} is not supported locally "
                f"(supported: {supported})"
            )
        for reference in references(own_content(node.step)):
            check_reference(
                reference,
                parameters=parameters,
                steps=steps,
                experiment=experiment,
                where=f"step {node.name}",
            )
        executor.check(node)
        cache_config(node.step)


def cpu_share(cpus: int, max_parallel_steps: int, pipelines: int) -> int:
    """Threads per job: each step that may run at once, in every pipeline running at once,
    gets an equal share of the machine, and at least one."""
    return max(1, cpus // (max_parallel_steps * pipelines))


def new_execution_id() -> str:
    """Twelve lowercase letters and digits, the shape of a SageMaker execution ID."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(12))


def run_pipeline(options: RunOptions, out: TextIO) -> RunResult:
    """Run the pipeline; pre-run problems raise LocalRunError, step failures are reported."""
    reporter = Reporter(out, options.label)
    assembly = load_assembly(options.assembly, options.pipeline)
    definition = assembly.definition
    graph = build_graph(definition)
    preflight(definition, graph)
    parameters = resolve_parameters(declared_parameters(definition), options.params)

    run_dir = options.run_dir.resolve()
    store = ObjectStore(run_dir / "s3")
    populate_store(assembly, store)
    execution_id = new_execution_id()
    started = datetime.now(UTC)
    region, account = assembly.region, assembly.account
    pipeline_arn = f"arn:aws:sagemaker:{region}:{account}:pipeline/{assembly.pipeline_name.lower()}"
    execution = Execution(
        id=execution_id,
        pipeline_name=assembly.pipeline_name,
        pipeline_arn=pipeline_arn,
        arn=f"{pipeline_arn}/execution/{execution_id}",
        region=region,
        account=account,
        started=started,
        run_dir=run_dir,
        directory=run_dir / "executions" / execution_id,
        store=store,
        assembly=assembly,
        hosting=Hosting(),
        base_env=environment_snapshot(),
        cpus=cpu_share(os.cpu_count() or 1, options.max_parallel_steps, options.pipelines),
        report=reporter.line,
    )
    if options.warm_pool:
        sources = sources_of(asset.source for asset in assembly.assets)
        modules = installed_modules(name for text in sources for name in module_imports(text))
        execution.pool = WarmPool(modules, execution.cpus, execution.base_env)
        # Every run needs the pool, for its jobs or at least its endpoint: start its imports
        # now, while the cache is checked and the store is filled.
        threading.Thread(target=execution.pool.start, name="warm-pool", daemon=True).start()
    execution.directory.mkdir(parents=True, exist_ok=True)
    reporter.note(
        f"pipeline {assembly.pipeline_name} from {options.assembly}: "
        f"execution {execution_id}, run directory {run_dir}"
    )
    overridden = [item.partition("=")[0] for item in options.params]
    if overridden:
        shown = ", ".join(f"{name}={parameters[name]}" for name in dict.fromkeys(overridden))
        reporter.note(f"parameters: {shown} (others at their defaults)")
    if not options.use_cache:
        reporter.note("step cache: off (--no-cache)")

    scheduler = Scheduler(
        graph=graph,
        execution=execution,
        parameters=parameters,
        experiment=definition.get("PipelineExperimentConfig") or {},
        # Per pipeline, as SageMaker keeps its step cache.
        cache=StepCache(run_dir / "cache" / assembly.pipeline_name, store),
        use_cache=options.use_cache,
        max_parallel=options.max_parallel_steps,
    )
    prediction = None
    try:
        failure = scheduler.run()
        if failure is None and not stop_requested():
            prediction = _smoke_prediction(execution, scheduler)
            if prediction is not None and prediction.get("status") != 200:
                failure = Failure(
                    "prediction",
                    prediction["endpoint"],
                    f"the smoke prediction failed: {prediction.get('error') or prediction}",
                )
    finally:
        execution.hosting.stop_all()
    if stop_requested():
        raise interrupted_error()

    if failure is None:
        # The job scratch copies are rebuilt on every run; logs and outputs stay.
        for scratch in execution.directory.glob("**/container"):
            shutil.rmtree(scratch, ignore_errors=True)
    summary = _summary(
        options=options,
        execution=execution,
        parameters=parameters,
        scheduler=scheduler,
        failure=failure,
        prediction=prediction,
        reporter=reporter,
    )
    summary_path = (options.summary or execution.directory / "summary.json").resolve()
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    failed_step = scheduler.reports.get(failure.step) if failure else None
    tail = log_tail(failed_step.log) if failed_step and failure and failure.kind == "step" else []
    return RunResult(
        exit_code=0 if failure is None else 1,
        summary_path=summary_path,
        summary=summary,
        reports=sorted(scheduler.reports.values(), key=lambda r: r.index),
        failure_log=tail,
    )


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


def _smoke_prediction(execution: Execution, scheduler: Scheduler) -> dict[str, Any] | None:
    """A few rows of the test split sent to the first endpoint as text/csv.

    The rows come from a processing output named ``test``; in the SageMaker XGBoost CSV
    layout the pipeline writes, the label is the first column, so it is dropped from the
    request and reported next to the predictions instead.
    """
    endpoints = list(execution.hosting.endpoints.values())
    if not endpoints:
        return None
    endpoint: LocalEndpoint = endpoints[0]
    rows: list[str] = []
    source = None
    for name in scheduler.graph.order:
        properties = scheduler.records.get(name, StepRecord()).properties
        for output in (properties.get("ProcessingOutputConfig") or {}).get("Outputs", []):
            if output.get("OutputName") == "test" and not rows:
                source = str(output["S3Output"]["S3Uri"])
                folder = execution.store.path(source)
                for path in sorted(folder.rglob("*.csv")) if folder.is_dir() else []:
                    rows = [line for line in path.read_text().splitlines() if line.strip()]
                    break
    if not rows:
        return {
            "endpoint": endpoint.name,
            "status": 200,
            "skipped": "no processing output named 'test' to take rows from",
        }
    cells = _smoke_rows([row.split(",") for row in rows])
    body = "\n".join(",".join(row[1:]) for row in cells) + "\n"
    try:
        status, text = endpoint.invoke(body.encode(), "text/csv", "application/json")
    except OSError as error:
        return {"endpoint": endpoint.name, "status": None, "error": f"{endpoint.url}: {error}"}
    try:
        response: Any = json.loads(text)
    except json.JSONDecodeError:
        response = text
    result = {
        "endpoint": endpoint.name,
        "url": endpoint.url,
        "content_type": "text/csv",
        "rows": len(cells),
        "source": source,
        "labels": [row[0] for row in cells],
        "status": status,
        "response": response,
    }
    execution.report(endpoint.name, f"prediction for {len(cells)} test rows: HTTP {status}")
    example = {"content_type": "text/csv", "body": body, "status": status, "response": response}
    add_example(execution.run_dir, endpoint.name, example)
    return result


def _smoke_rows(rows: list[list[str]]) -> list[list[str]]:
    """The first row of each label, then the next rows, up to SMOKE_ROWS: a smoke test that
    only ever sends one class would not show the model telling them apart."""
    chosen: list[list[str]] = []
    for row in rows:
        if row[0] not in {picked[0] for picked in chosen}:
            chosen.append(row)
    chosen = chosen[:SMOKE_ROWS]
    chosen += [row for row in rows if row not in chosen][: SMOKE_ROWS - len(chosen)]
    return chosen


def _model_metrics(package: Mapping[str, Any]) -> dict[str, Any]:
    """Metric values of SageMaker's model-quality JSON (``*_metrics: {name: {value}}``)."""
    values: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            content = node.get("Content")
            if isinstance(content, Mapping):
                for group, metrics in content.items():
                    if str(group).endswith("_metrics") and isinstance(metrics, Mapping):
                        for metric, value in metrics.items():
                            if isinstance(value, Mapping) and "value" in value:
                                values[metric] = value["value"]
                    if group == "selected_model" and isinstance(metrics, Mapping):
                        values["selected_model"] = metrics.get("name", dict(metrics))
            for item in node.values():
                walk(item)

    walk(package.get("ModelMetrics") or {})
    return values


def _summary(
    *,
    options: RunOptions,
    execution: Execution,
    parameters: Mapping[str, Any],
    scheduler: Scheduler,
    failure: Failure | None,
    prediction: dict[str, Any] | None,
    reporter: Reporter,
) -> dict[str, Any]:
    reports = sorted(scheduler.reports.values(), key=lambda r: r.index)
    registered = [
        scheduler.records[r.name].properties
        for r in reports
        if r.type == "RegisterModel" and r.status in DONE
    ]
    selected = None
    if registered:
        package = registered[-1]
        container = package["InferenceSpecification"]["Containers"][0]
        selected = {
            "model_package_arn": package["ModelPackageArn"],
            "approval": package["ModelApprovalStatus"],
            "model_data": container.get("ModelDataUrl"),
            "metrics": _model_metrics(package),
        }
    return {
        "pipeline": execution.pipeline_name,
        "execution_id": execution.id,
        "execution_arn": execution.arn,
        "status": "Succeeded" if failure is None else "Failed",
        "failure": None if failure is None else dataclasses.asdict(failure),
        "started": execution.started.isoformat(),
        "duration_seconds": round(time.monotonic() - reporter.started, 2),
        "assembly": str(options.assembly.resolve()),
        "run_dir": str(execution.run_dir),
        "cache": "on" if options.use_cache else "off",
        "parameters": dict(parameters),
        "steps": [report.to_json() for report in reports],
        "selected_model": selected,
        "prediction": prediction,
    }
