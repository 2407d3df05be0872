"""Warm starts for job processes: a fork server that has already imported what the step
scripts import.

Every job script starts by importing pandas, scikit-learn or XGBoost, about 2.5 s of CPU per
process; a run starts ten such processes. The pool is a ``multiprocessing`` fork server that
imports the third-party modules the assembly's Python sources import at module level, once;
each job is then a fresh process forked from it, given the job's argv, environment, working
directory, ``sys.path`` (what ``python script.py`` would have) and log file, and it runs the
script as ``__main__``. Nothing is shared between jobs: each one is its own process and exits.
What differs from a fresh interpreter is that the preloaded modules ran their import-time code
in the server (``--no-warm-pool`` turns the pool off when that matters).

The OpenMP runtime fixes its thread count when it is loaded, in the server, so a server serves
one CPU share. A server started for other modules or another share (an earlier run in the same
process) is replaced once idle; while it is busy, jobs run as plain subprocesses.
"""

from __future__ import annotations

import ast
import atexit
import importlib.util
import io
import json
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import runpy
import subprocess
import sys
import tarfile
import threading
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.environment import temporary_environment

# Thread-count variables of the numeric libraries, fixed when the server loads them.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_lock = threading.Lock()
# A forked job's exit status arrives once, through the fork server's pipe, and is read by
# whichever thread polls first; a second reader at the same moment gets EOF, which
# multiprocessing records as exit code 255. Process.start() polls every other child of this
# process (multiprocessing.process._cleanup), so starting and polling share this lock.
_status_lock = threading.Lock()
# CPython 3.11's ast module keeps its recursion counter in module state shared by threads:
# two pipelines parsing step code at once can fail with "AST constructor recursion depth
# mismatch" (seen here; python/cpython#106905), so parsing is one thread at a time.
_parse_lock = threading.Lock()
_signature: tuple[tuple[str, ...], int] | None = None
_spawned: list[PoolProcess] = []


def module_imports(source: str) -> list[str]:
    """Absolute imports at module level (inside ``try`` too), as dotted names."""
    try:
        with _parse_lock:
            tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[str] = []
    statements = list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, ast.Try):
            statements[:0] = [*node.body, *node.orelse]
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def sources_of(paths: Iterable[Path]) -> Iterable[str]:
    """Python sources among ``paths``: ``.py`` files and ``.py`` members of gzipped tarballs."""
    for path in paths:
        if path.suffix == ".py" and path.is_file():
            yield path.read_text(errors="replace")
        elif path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".gz")):
            try:
                with tarfile.open(path, "r:gz") as archive:
                    for member in archive.getmembers():
                        stream = archive.extractfile(member) if member.isfile() else None
                        if stream is not None and member.name.endswith(".py"):
                            yield stream.read().decode(errors="replace")
            except (tarfile.TarError, OSError, EOFError):
                continue


def installed_modules(names: Iterable[str]) -> list[str]:
    """The names that are installed third-party modules (not stdlib, not project code)."""
    chosen = []
    for name in dict.fromkeys(names):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        origin = spec.origin if spec is not None else None
        if origin and "site-packages" in origin:
            chosen.append(name)
    return sorted(chosen)


def script_sys_path(env: Mapping[str, str]) -> list[str]:
    """``sys.path`` of ``python script.py`` under ``env``, without the script's folder."""
    output = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path: list[str] = json.loads(output)
    return path


class PoolProcess:
    """A forked job process with the part of ``subprocess.Popen``'s interface we use.

    Its exit status is read under ``_status_lock`` only; ``finished`` lets others see that it
    ended without reading it themselves.
    """

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process
        self.finished = False

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def poll(self) -> int | None:
        with _status_lock:
            code = self._process.exitcode
        self.finished = code is not None
        return code

    def wait(self, timeout: float | None = None) -> int | None:
        # Wait for the sentinel without the lock (others may start jobs meanwhile), then read
        # the status under it; Process.join would read it unguarded.
        multiprocessing.connection.wait([self._process.sentinel], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired("job", timeout or 0)
        return code

    def terminate(self) -> None:
        self._process.terminate()

    def kill(self) -> None:
        self._process.kill()


class WarmPool:
    def __init__(self, modules: Sequence[str], threads: int, env: Mapping[str, str]) -> None:
        self.modules = tuple(modules)
        self.threads = threads
        self.env = dict(env)
        self._sys_path: list[str] | None = None
        self._context = multiprocessing.get_context("forkserver")

    @property
    def sys_path(self) -> list[str]:
        if self._sys_path is None:
            self._sys_path = script_sys_path(self.env)
        return self._sys_path

    def is_warm(self) -> bool:
        """Whether a compatible server is already running (starting one costs seconds)."""
        with _lock:
            return _signature == (self.modules, self.threads)

    def start(self) -> bool:
        """Start the process-wide fork server with our preload, or find it compatible.

        A server started for another preload (an earlier run in this process) is replaced
        when none of its processes is still running, since they report their exit status
        through it.
        """
        global _signature  # noqa: PLW0603 - the fork server is one per process
        wanted = (self.modules, self.threads)
        with _lock:
            _spawned[:] = [process for process in _spawned if not process.finished]
            stop = getattr(multiprocessing.forkserver._forkserver, "_stop", None)
            if _signature not in (None, wanted) and not _spawned and stop is not None:
                stop()
                _signature = None
            if _signature is None:
                self._context.set_forkserver_preload(["pipelines.local.warmpool", *self.modules])
                threads = dict.fromkeys(_THREAD_VARIABLES, str(self.threads))
                with temporary_environment(threads):
                    multiprocessing.forkserver.ensure_running()
                _signature = wanted
            return _signature == wanted

    def accepts(self, command: Sequence[str]) -> bool:
        """Whether ``command`` is ``python [-P] script.py ...`` and the pool can serve it."""
        parts = list(command)
        if not parts or parts[0] != sys.executable:
            return False
        rest = parts[2:] if parts[1:2] == ["-P"] else parts[1:]
        return bool(rest) and rest[0].endswith(".py") and self.start()

    def spawn(
        self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path
    ) -> PoolProcess | None:
        """Start ``python [-P] script.py args...`` forked from the pool; None when the pool
        does not accept the command."""
        if not self.accepts(command):
            return None
        parts = list(command)
        isolated = parts[1] == "-P"
        rest = parts[2:] if isolated else parts[1:]
        sys_path = self.sys_path
        script = str(Path(cwd, rest[0]))
        if not isolated:
            sys_path = [str(Path(script).parent), *sys_path]
        process = self._context.Process(
            target=_run_script,
            kwargs={
                "script": script,
                "arguments": rest[1:],
                "cwd": str(cwd),
                "env": dict(env),
                "log": str(log),
                "sys_path": sys_path,
            },
            name=Path(script).name,
        )
        with _status_lock:
            process.start()
        handle = PoolProcess(process)
        with _lock:
            _spawned.append(handle)
        return handle


def _run_script(
    *,
    script: str,
    arguments: list[str],
    cwd: str,
    env: dict[str, str],
    log: str,
    sys_path: list[str],
) -> None:
    """In the forked child: become ``python script.py arguments...`` and exit with its code."""
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), line_buffering=True)  # noqa: SIM115
    sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), line_buffering=True)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = [script, *arguments]
    sys.path[:] = sys_path
    code: Any = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:
        # What the interpreter does with an uncaught exception: traceback, exit code 1.
        traceback.print_exc()
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
