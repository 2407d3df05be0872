"""``serve`` and ``invoke``: keep a model's local endpoint up after a run, and call it.

``serve`` starts the same model server ``make run`` uses for the version the last local run
deployed (or a registered version named with ``--version``), on a fixed port, until Ctrl-C.
While it serves, ``<run dir>/serving/<model>.json`` says where, so ``invoke`` (from another
terminal or process) finds it by the model's name.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipelines.assembly.steps import walk_steps
from pipelines.definition import contract
from pipelines.environment import environment_snapshot
from pipelines.files import write_atomically
from pipelines.local.assembly import list_pipelines, load_assembly
from pipelines.local.deployments import Deployment, last_deployment
from pipelines.local.errors import LocalRunError, StepError
from pipelines.local.hosting import (
    LocalEndpoint,
    extract_archive,
    post_invocation,
    start_server,
)
from pipelines.local.jobs import process_env
from pipelines.local.objectstore import ObjectStore
from pipelines.local.registry import versions
from pipelines.signature import describe

DEFAULT_PORT = 8080


class InvokeError(LocalRunError):
    """The endpoint answered with an error or not at all: exit code 1, like a failed step."""

    exit_code = 1


@dataclass(frozen=True)
class ServedModel:
    model: str
    endpoint: str
    group: str
    version: int
    deployment: Deployment


def model_names(assembly: Path, model: str) -> tuple[str, str]:
    """The model's endpoint and model package group, as its pipeline definition names them."""
    entries = {entry.model: entry for entry in list_pipelines(assembly) if entry.model}
    if model not in entries:
        known = ", ".join(sorted(entries)) or "(none)"
        raise LocalRunError(f"model {model!r}: no pipeline for it in {assembly}; models: {known}")
    definition = load_assembly(assembly, entries[model].name).definition
    endpoint = group = None
    for step in walk_steps(definition.get("Steps", [])):
        arguments = step.get("Arguments", {})
        if step["Type"] == "Endpoint":
            endpoint = endpoint or arguments.get("EndpointName")
        if step["Type"] == "RegisterModel":
            group = group or arguments.get("ModelPackageGroupName")
    if not endpoint or not group:
        raise LocalRunError(f"model {model!r}: its pipeline registers or deploys no endpoint")
    return str(endpoint), str(group)


def choose_version(run_dir: Path, assembly: Path, model: str, version: int | None) -> ServedModel:
    endpoint, group = model_names(assembly, model)
    registered = versions(run_dir, group)
    numbers = ", ".join(str(entry["ModelPackageVersion"]) for entry in registered) or "none"
    deployed = last_deployment(run_dir, endpoint)
    if version is None:
        if deployed is None:
            raise LocalRunError(
                f"model {model!r}: no local run deployed it in {run_dir}; run `make run "
                f"MODEL={model}` first, or pass --version (registered: {numbers})"
            )
        matches = [e for e in registered if _model_data(e) == deployed.model_data_url]
        version = int(matches[-1]["ModelPackageVersion"]) if matches else 0
        return ServedModel(model, endpoint, group, version, deployed)
    entry = next((e for e in registered if e["ModelPackageVersion"] == version), None)
    if entry is None:
        raise LocalRunError(
            f"--version {version}: not registered in {group}; registered: {numbers}"
        )
    chosen = registered_deployment(endpoint, entry, deployed)
    return ServedModel(model, endpoint, group, version, chosen)


def registered_deployment(
    endpoint: str, entry: dict[str, Any], deployed: Deployment | None
) -> Deployment:
    """The deployment that serves a registry entry on ``endpoint``; ``deployed`` is the one
    recorded there now."""
    container = entry["InferenceSpecification"]["Containers"][0]
    environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
    program = environment.get("SAGEMAKER_PROGRAM")
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    if not program or not submit:
        version = f"{entry.get('ModelPackageGroupName')} v{entry.get('ModelPackageVersion')}"
        raise LocalRunError(f"{version}: not a script-mode model; it cannot run locally")
    same = deployed is not None and deployed.model_data_url == _model_data(entry)
    return Deployment(
        endpoint=endpoint,
        model_data_url=_model_data(entry),
        program=program,
        submit_directory=submit,
        environment=environment,
        execution_id=str((entry.get("MetadataProperties") or {}).get("GeneratedBy", "")),
        # The run's smoke request and answer belong to the version it deployed.
        example=deployed.example if same and deployed is not None else None,
    )


def _model_data(entry: dict[str, Any]) -> str:
    return str(entry["InferenceSpecification"]["Containers"][0].get("ModelDataUrl") or "")


def _check_port(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise LocalRunError(
                f"--port {port}: cannot listen there ({error.strerror}); pass another"
            ) from None


def _directory(run_dir: Path, served: ServedModel) -> Path:
    return run_dir / "serving" / served.model / f"v{served.version}"


def start(run_dir: Path, served: ServedModel, port: int) -> LocalEndpoint:
    if port:
        _check_port(port)
    deployment = served.deployment
    directory = _directory(run_dir, served)
    store = ObjectStore(run_dir / "s3")
    model_dir, code_dir = directory / "opt/ml/model", directory / "opt/ml/code"
    try:
        if deployment.model_data_url:
            extract_archive(store, deployment.model_data_url, model_dir)
        extract_archive(store, deployment.submit_directory, code_dir)
        return start_server(
            name=served.endpoint,
            arn=served.endpoint,
            config_name="serve",
            variant={"VariantName": "AllTraffic"},
            model_name=f"{served.group}/{served.version}",
            model_dir=model_dir,
            code_dir=code_dir,
            program=deployment.program,
            env=process_env(environment_snapshot(), os.cpu_count() or 1, deployment.environment),
            directory=directory,
            port=port,
        )
    except StepError as error:
        log = f" (log: {error.log})" if error.log else ""
        raise LocalRunError(f"{error}{log}") from None


def _example(url: str, deployment: Deployment) -> list[str]:
    example = deployment.example
    if not example:
        return ["(no example: the run that deployed it sent no smoke prediction)"]
    body = str(example["body"]).replace("'", "'\\''")
    lines = [
        f"  curl -s {url}/invocations -H 'Content-Type: {example['content_type']}' \\",
        f"       --data-binary $'{body.strip()}\\n'".replace("\n", "\\n"),
        f"answered (HTTP {example['status']}): {json.dumps(example['response'])}",
    ]
    return lines


def _signature(served: ServedModel, signature: dict[str, Any] | None) -> list[str]:
    """What a request carries: the data's own columns when the model has a signature (its
    fitted transform encodes them as training did), else the encoded feature rows."""
    if signature is not None:
        return describe(signature)
    rows = str((served.deployment.example or {}).get("body", "")).strip().splitlines()
    width = len(rows[0].split(",")) if rows else "?"
    return [
        f"signature: POST /invocations with Content-Type text/csv (rows of {width} "
        'comma-separated features, no label) or application/json ({"instances": [[...]]}); '
        "answers application/json, one prediction per row"
    ]


def _banner(url: str, served: ServedModel, signature: dict[str, Any] | None) -> list[str]:
    return [
        f"serving {served.model} v{served.version} ({served.group}) at {url}",
        *_signature(served, signature),
        "example:",
        *_example(url, served.deployment),
        f"or: python -m pipelines.local invoke {served.model} rows.csv (Ctrl-C stops serving)",
    ]


def _model_signature(run_dir: Path, served: ServedModel) -> dict[str, Any] | None:
    # Packed beside the model by the shipped trainer (pipelines/steps/train.py).
    path = _directory(run_dir, served) / "opt/ml/model" / contract.SIGNATURE_FILE
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded


def serve(run_dir: Path, served: ServedModel, port: int, out: TextIO) -> int:
    """Serve until SIGINT or SIGTERM; the serving record exists exactly while it serves."""
    endpoint = start(run_dir, served, port)
    record = run_dir / "serving" / f"{served.model}.json"
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        write_atomically(record, json.dumps({"url": endpoint.url, "version": served.version}))
        for line in _banner(endpoint.url, served, _model_signature(run_dir, served)):
            print(line, file=out, flush=True)
        while not stop.wait(0.5):
            if endpoint.process.poll() is not None:
                raise LocalRunError(f"the model server exited (log: {endpoint.log})")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        record.unlink(missing_ok=True)
        endpoint.stop()
    print(f"stopped serving {served.model} v{served.version}", file=out)
    return 0


@dataclass(frozen=True)
class Request:
    # A file's path, or "-" for stdin; read once the server is known to be up.
    source: str
    content_type: str = "text/csv"
    accept: str = "application/json"


def invoke(run_dir: Path, model: str, request: Request, out: TextIO) -> int:
    record = run_dir / "serving" / f"{model}.json"
    try:
        url = str(json.loads(record.read_text())["url"])
    except (OSError, ValueError, KeyError):
        raise LocalRunError(
            f"model {model!r} is not being served from {run_dir}; start `python -m "
            f"pipelines.local serve {model}` (or `make serve MODEL={model}`) first"
        ) from None
    try:
        body = read_body(request.source)
        status, text = post_invocation(url, body, request.content_type, request.accept)
    except OSError as error:
        raise InvokeError(f"{url}/invocations: {error}") from None
    if status != 200:
        raise InvokeError(f"{url}/invocations answered HTTP {status}: {' '.join(text.split())}")
    print(text, file=out)
    return 0


def read_body(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise LocalRunError(f"{source}: cannot read it ({error.strerror})") from None
