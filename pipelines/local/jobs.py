"""What every local "container" shares: its ``/opt/ml`` tree inside a job directory, running
the user's process with its output in a log file, its environment and how it failed.

A job directory holds ``log.txt`` and ``container/``, the job's root: ``/opt/ml/x`` in the
definition is ``<job dir>/container/opt/ml/x`` on this machine.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.local.errors import DefinitionError, StepError
from pipelines.local.interruption import tracked

if TYPE_CHECKING:
    from pipelines.local.warmpool import PoolProcess, WarmPool

CONTAINER_PREFIX = "/opt/ml"
LOG_TAIL_LINES = 20
_PYTHON = re.compile(r"python(3(\.\d+)?)?")


class ContainerRoot:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, container_path: str) -> Path:
        """Local path of an absolute container path such as ``/opt/ml/processing/input``."""
        pure = PurePosixPath(container_path)
        if not pure.is_absolute() or ".." in pure.parts:
            raise StepError(f"container path must be absolute without '..': {container_path!r}")
        return self.root.joinpath(*pure.parts[1:])

    def argument(self, value: str) -> str:
        """An argument with a container path (``/opt/ml/...`` or ``--x=/opt/ml/...``) mapped."""
        name, separator, rest = value.partition("=")
        if separator and _is_container_path(rest) and name.startswith("-"):
            return f"{name}={self.path(rest)}"
        return str(self.path(value)) if _is_container_path(value) else value


def _is_container_path(value: str) -> bool:
    return value == CONTAINER_PREFIX or value.startswith(CONTAINER_PREFIX + "/")


def python_command(entrypoint: Sequence[Any], step: str) -> list[str]:
    """The entrypoint with its interpreter replaced by this Python; only Python can run here."""
    if not entrypoint or not all(isinstance(part, str) for part in entrypoint):
        raise DefinitionError(f"step {step}: ContainerEntrypoint must be a list of strings")
    interpreter = PurePosixPath(entrypoint[0]).name
    if not _PYTHON.fullmatch(interpreter):
        raise DefinitionError(
            f"step {step}: unsupported ContainerEntrypoint {entrypoint[0]!r} "
            "(only Python scripts can run without the container image)"
        )
    return [sys.executable, *entrypoint[1:]]


def job_suffix(*parts: str, length: int = 10) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def run_process(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    timeout: float | None,
    pool: WarmPool | None,
) -> tuple[int, float]:
    """Run ``command`` with stdout and stderr in ``log``; (exit code, seconds)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("ab") as sink:
        sink.write(f"$ {' '.join(command)}\n".encode())
        warm = pool is not None and pool.accepts(command)
        if warm:
            sink.write(b"(warm start: forked from the pool that has imported its libraries)\n")
        sink.flush()
        forked = pool.spawn(command, cwd=cwd, env=env, log=log) if pool and warm else None
        process: PoolProcess | subprocess.Popen[bytes] = forked or subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        with tracked(process):
            try:
                code = process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                sink.write(f"\nstopped after MaxRuntimeInSeconds={timeout}\n".encode())
                return -1, time.monotonic() - started
    return int(code or 0), time.monotonic() - started


def log_tail(log: Path | None, lines: int = LOG_TAIL_LINES) -> list[str]:
    if log is None or not log.is_file():
        return []
    return log.read_text(errors="replace").splitlines()[-lines:]


def process_env(base: Mapping[str, str], cpus: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The job's environment: this process's, unbuffered output, a CPU share, ``extra``.

    An instance has its cores to itself; here concurrent jobs share the machine, and OpenMP
    threads that spin on every core of an oversubscribed machine slow all jobs down (XGBoost on
    this sample data ran 1.6x slower with 2 threads than with 1 on a busy 2-core machine).
    """
    env = dict(base)
    env["PYTHONUNBUFFERED"] = "1"
    env["OMP_NUM_THREADS"] = str(cpus)
    env.update(extra)
    return env


def write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def exit_failure(step: str, what: str, code: int, log: Path) -> StepError:
    """The job's own one-line reason when it printed one (the step scripts end with
    ``error: <reason>`` on a data mistake), else how it ended."""
    reason = "timed out" if code == -1 else f"exited with code {code}"
    said = [line for line in log_tail(log, 200) if line.startswith("error: ")]
    if said and code != -1:
        return StepError(f"{step}: {said[-1].removeprefix('error: ')}", log=log)
    return StepError(f"{step}: {what} {reason}", log=log)
