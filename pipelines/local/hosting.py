"""The local hosting control plane: models, endpoint configs and the endpoints they start.

``Hosting`` remembers models and endpoint configs by name, as SageMaker does, so an Endpoint
step (:mod:`pipelines.local.endpoint_steps`) finds its model through its config exactly like
the service. An endpoint is a :mod:`pipelines.local.serving` process on 127.0.0.1 that serves
the model's ``SAGEMAKER_PROGRAM`` from its extracted code with the extracted ``ModelDataUrl``
as its model directory. :func:`start_server` returns once ``/ping`` answers 200 (the endpoint
is InService): like SageMaker, it probes a starting server until the startup deadline rather
than once. The run stops every endpoint at its end; ``serve`` starts one on its own.

This module knows nothing of steps or executions, so the steps and ``serve`` can both use it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipelines.local.errors import StepError
from pipelines.local.objectstore import ObjectStore
from pipelines.local.warmpool import WarmPool

SERVER_SCRIPT = Path(__file__).with_name("serving.py")
STARTUP_TIMEOUT_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 30.0
# SageMaker gives one health check 2 s; a busy laptop gets more, and a slow probe is retried.
PING_TIMEOUT_SECONDS = 5.0
PROBE_INTERVAL_SECONDS = 0.1


class ProcessHandle(Protocol):
    """What we need of a server process: ``subprocess.Popen`` or a warm-pool process."""

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


def post_invocation(
    url: str, body: bytes, content_type: str, accept: str = "application/json"
) -> tuple[int, str]:
    """(HTTP status, response text) of one POST to ``url``/invocations."""
    request = urllib.request.Request(  # noqa: S310 - always our own http://127.0.0.1 server
        f"{url}/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": accept},
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode(errors="replace")


@dataclass
class LocalEndpoint:
    name: str
    arn: str
    config_name: str
    variant: Mapping[str, Any]
    model_name: str
    process: ProcessHandle
    url: str
    log: Path

    def invoke(
        self, body: bytes, content_type: str, accept: str = "application/json"
    ) -> tuple[int, str]:
        """(HTTP status, response text) of one /invocations request."""
        return post_invocation(self.url, body, content_type, accept)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Hosting:
    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoint_configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, LocalEndpoint] = {}
        self._lock = threading.Lock()

    def add_model(self, name: str, request: dict[str, Any]) -> None:
        with self._lock:
            self.models[name] = request

    def add_endpoint_config(self, name: str, request: dict[str, Any]) -> None:
        with self._lock:
            self.endpoint_configs[name] = request

    def add_endpoint(self, endpoint: LocalEndpoint) -> None:
        with self._lock:
            previous = self.endpoints.pop(endpoint.name, None)
            self.endpoints[endpoint.name] = endpoint
        # Deploying over an existing endpoint replaces what it serves, as UpdateEndpoint does.
        if previous is not None:
            previous.stop()

    def stop_all(self) -> None:
        with self._lock:
            endpoints = list(self.endpoints.values())
        for endpoint in endpoints:
            endpoint.stop()


def extract_archive(store: ObjectStore, uri: str, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(store.read_bytes(uri)), mode="r:gz") as archive:
            archive.extractall(destination, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise StepError(f"cannot extract {uri}: {exc}") from None


def start_server(
    *,
    name: str,
    arn: str,
    config_name: str,
    variant: Mapping[str, Any],
    model_name: str,
    model_dir: Path,
    code_dir: Path,
    program: str,
    env: dict[str, str],
    directory: Path,
    pool: WarmPool | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
    probe_interval: float = PROBE_INTERVAL_SECONDS,
    port: int = 0,
) -> LocalEndpoint:
    """Start the model server and return once its /ping answers 200, all within
    ``startup_timeout``; a server that exits or misses the deadline is a StepError."""
    log = directory / "log.txt"
    port_file = directory / "port"
    port_file.unlink(missing_ok=True)
    command = [
        sys.executable,
        # -P: the server's own folder must not shadow the inference script's imports.
        "-P",
        str(SERVER_SCRIPT),
        *("--model-dir", str(model_dir), "--code-dir", str(code_dir)),
        *("--program", program, "--port-file", str(port_file)),
        # 0: a free port (a run's endpoints); `serve` asks for a fixed one.
        *("--port", str(port)),
    ]
    process: ProcessHandle | None = None
    if pool is not None:
        process = pool.spawn(command, cwd=code_dir, env=env, log=log)
    if process is None:
        with log.open("ab") as sink:
            process = subprocess.Popen(
                command, cwd=code_dir, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )
    deadline = time.monotonic() + startup_timeout
    while (bound := _written_port(port_file)) is None:
        code = process.poll()
        # It may have written its port just before exiting: then the probe reports the exit.
        if code is not None and _written_port(port_file) is None:
            raise StepError(
                f"endpoint {name}: the model server exited with code {code} at startup", log=log
            )
        if time.monotonic() > deadline:
            process.kill()
            raise StepError(f"endpoint {name}: the model server did not start in time", log=log)
        time.sleep(0.05)
    url = f"http://127.0.0.1:{bound}"
    endpoint = LocalEndpoint(name, arn, config_name, variant, model_name, process, url, log)
    problem = wait_until_healthy(url, process, deadline=deadline, interval=probe_interval)
    if problem is not None:
        endpoint.stop()
        raise StepError(f"endpoint {name}: {problem}", log=log)
    return endpoint


def _written_port(port_file: Path) -> int | None:
    """The port a server wrote, or None while the file is absent or still being written (a
    server that writes it in place rather than by rename can be read half-way)."""
    try:
        return int(port_file.read_text())
    except (OSError, ValueError):
        return None


class _Polled(Protocol):
    def poll(self) -> int | None: ...


def wait_until_healthy(
    url: str, process: _Polled, *, deadline: float, interval: float = PROBE_INTERVAL_SECONDS
) -> str | None:
    """Probe ``url``/ping until it answers 200 (None), the server exits or ``deadline`` (a
    ``time.monotonic()`` value) passes; then what went wrong, with the last probe's error.

    A server can have written its port and still be unable to answer, e.g. on a machine busy
    enough that the first probe times out or is refused: one failed probe proves nothing.
    """
    while True:
        remaining = deadline - time.monotonic()
        last = _probe(url, timeout=min(PING_TIMEOUT_SECONDS, max(remaining, interval)))
        if last is None:
            return None
        code = process.poll()
        if code is not None:
            return (
                f"the model server exited with code {code} before /ping answered 200 "
                f"(last error: {last})"
            )
        if time.monotonic() >= deadline:
            return f"/ping did not answer 200 by the startup deadline (last error: {last})"
        time.sleep(interval)


def _probe(url: str, *, timeout: float) -> str | None:
    """None if /ping answered 200, else the error in a few words."""
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout) as response:  # noqa: S310 - always our own http://127.0.0.1 server
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except urllib.error.URLError as error:
        reason = error.reason
        return f"{type(reason).__name__}: {reason}" if isinstance(reason, OSError) else str(reason)
    except OSError as error:  # a timeout or reset while reading the answer
        return f"{type(error).__name__}: {error}"
    return None if status == 200 else f"HTTP {status}"
