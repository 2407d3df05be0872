"""One execution as its steps see it: the execution's identity and local services, what a step
is given (:class:`StepContext`) and what it gives back (:class:`StepOutcome`), and the
:class:`Executor` contract every step kind fulfils.

The scheduler hands these to the executors; the control plane (hosting, registry) sits below
them and never imports them, so executors and services stay one-way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pipelines.local.assembly import Assembly
    from pipelines.local.graph import StepNode
    from pipelines.local.hosting import Hosting
    from pipelines.local.objectstore import ObjectStore
    from pipelines.local.warmpool import WarmPool


@dataclass
class Execution:
    """One pipeline execution: its identity and the local services its steps use."""

    id: str
    pipeline_name: str
    pipeline_arn: str
    arn: str
    region: str
    account: str
    started: datetime
    run_dir: Path
    directory: Path
    store: ObjectStore
    assembly: Assembly
    hosting: Hosting
    base_env: dict[str, str]
    # CPUs one job may use (its OMP_NUM_THREADS and SM_NUM_CPUS).
    cpus: int
    report: Callable[[str, str], None]
    # Warm starts for job processes; None runs every job as a plain subprocess.
    pool: WarmPool | None = None


@dataclass
class StepContext:
    node: StepNode
    arguments: Any
    job_name: str
    directory: Path
    execution: Execution

    def progress(self, message: str) -> None:
        self.execution.report(self.node.name, message)

    @property
    def log(self) -> Path:
        return self.directory / "log.txt"


@dataclass
class StepOutcome:
    properties: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    objects: list[str] = field(default_factory=list)
    log: Path | None = None


class Executor(Protocol):
    def check(self, node: StepNode) -> None:
        """Reject, before anything runs, a step this runner cannot execute."""

    def inputs(self, arguments: Any) -> list[str]:
        """The S3 URIs the step reads, whose contents belong in its cache key."""

    def run(self, context: StepContext) -> StepOutcome: ...
