"""One local execution of the pipeline, start to end: load and check the definition, set up
the execution (object store, warm pool), let the scheduler run the steps, send the smoke
prediction, stop the endpoints, write the summary.

The work is done elsewhere: :mod:`pipelines.local.executors` checks the definition and names
the executor of each step type, :mod:`pipelines.local.scheduler` runs the steps,
:mod:`pipelines.local.smoke` calls the endpoint and :mod:`pipelines.local.summary` writes what
happened.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pipelines.environment import environment_snapshot
from pipelines.local.assembly import Assembly, load_assembly, populate_store
from pipelines.local.cache import StepCache
from pipelines.local.execution import Execution
from pipelines.local.executors import preflight
from pipelines.local.expressions import declared_parameters, resolve_parameters
from pipelines.local.graph import build_graph
from pipelines.local.hosting import Hosting
from pipelines.local.interruption import interrupted_error, stop_requested
from pipelines.local.jobs import log_tail
from pipelines.local.objectstore import ObjectStore
from pipelines.local.scheduler import Failure, Scheduler, StepReport
from pipelines.local.smoke import smoke_prediction
from pipelines.local.summary import build_summary, write_summary
from pipelines.local.warmpool import WarmPool, installed_modules, module_imports, sources_of


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
    execution = _new_execution(options, assembly, run_dir, store, reporter)
    if options.warm_pool:
        _start_warm_pool(execution)
    execution.directory.mkdir(parents=True, exist_ok=True)
    _announce(reporter, options, execution, parameters)

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
    failure, prediction = _run_steps(scheduler, execution)
    if stop_requested():
        raise interrupted_error()

    if failure is None:
        # The job scratch copies are rebuilt on every run; logs and outputs stay.
        for scratch in execution.directory.glob("**/container"):
            shutil.rmtree(scratch, ignore_errors=True)
    summary = build_summary(
        execution=execution,
        parameters=parameters,
        scheduler=scheduler,
        failure=failure,
        prediction=prediction,
        assembly=options.assembly,
        use_cache=options.use_cache,
        seconds=time.monotonic() - reporter.started,
    )
    summary_path = (options.summary or execution.directory / "summary.json").resolve()
    write_summary(summary_path, summary)
    failed_step = scheduler.reports.get(failure.step) if failure else None
    tail = log_tail(failed_step.log) if failed_step and failure and failure.kind == "step" else []
    return RunResult(
        exit_code=0 if failure is None else 1,
        summary_path=summary_path,
        summary=summary,
        reports=sorted(scheduler.reports.values(), key=lambda r: r.index),
        failure_log=tail,
    )


def _new_execution(
    options: RunOptions, assembly: Assembly, run_dir: Path, store: ObjectStore, reporter: Reporter
) -> Execution:
    execution_id = new_execution_id()
    region, account = assembly.region, assembly.account
    pipeline_arn = f"arn:aws:sagemaker:{region}:{account}:pipeline/{assembly.pipeline_name.lower()}"
    return Execution(
        id=execution_id,
        pipeline_name=assembly.pipeline_name,
        pipeline_arn=pipeline_arn,
        arn=f"{pipeline_arn}/execution/{execution_id}",
        region=region,
        account=account,
        started=datetime.now(UTC),
        run_dir=run_dir,
        directory=run_dir / "executions" / execution_id,
        store=store,
        assembly=assembly,
        hosting=Hosting(),
        base_env=environment_snapshot(),
        cpus=cpu_share(os.cpu_count() or 1, options.max_parallel_steps, options.pipelines),
        report=reporter.line,
    )


def _start_warm_pool(execution: Execution) -> None:
    sources = sources_of(asset.source for asset in execution.assembly.assets)
    modules = installed_modules(name for text in sources for name in module_imports(text))
    execution.pool = WarmPool(modules, execution.cpus, execution.base_env)
    # Every run needs the pool, for its jobs or at least its endpoint: start its imports
    # now, while the cache is checked and the store is filled.
    threading.Thread(target=execution.pool.start, name="warm-pool", daemon=True).start()


def _announce(
    reporter: Reporter, options: RunOptions, execution: Execution, parameters: Mapping[str, Any]
) -> None:
    reporter.note(
        f"pipeline {execution.pipeline_name} from {options.assembly}: "
        f"execution {execution.id}, run directory {execution.run_dir}"
    )
    overridden = [item.partition("=")[0] for item in options.params]
    if overridden:
        shown = ", ".join(f"{name}={parameters[name]}" for name in dict.fromkeys(overridden))
        reporter.note(f"parameters: {shown} (others at their defaults)")
    if not options.use_cache:
        reporter.note("step cache: off (--no-cache)")


def _run_steps(
    scheduler: Scheduler, execution: Execution
) -> tuple[Failure | None, dict[str, Any] | None]:
    """The steps, then the smoke prediction on the endpoint they deployed; every endpoint is
    stopped before this returns or raises."""
    prediction = None
    try:
        failure = scheduler.run()
        if failure is None and not stop_requested():
            prediction = smoke_prediction(execution, scheduler)
            if prediction is not None and prediction.get("status") != 200:
                failure = Failure(
                    "prediction",
                    prediction["endpoint"],
                    f"the smoke prediction failed: {prediction.get('error') or prediction}",
                )
    finally:
        execution.hosting.stop_all()
    return failure, prediction
