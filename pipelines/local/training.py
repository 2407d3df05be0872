"""Training steps in script mode, the way the framework containers run them.

The ``sagemaker_submit_directory`` tarball is extracted to ``/opt/ml/code`` and
``sagemaker_program`` runs there with the other hyperparameters as ``--name value`` arguments
and the ``SM_*`` environment of the SageMaker training toolkit. Channels are copied from their
S3 URIs to ``/opt/ml/input/data/<channel>``; checkpoints are synced from and back to the
checkpoint URI. Afterwards the model directory becomes
``<S3OutputPath>/<job name>/output/model.tar.gz``, the layout every reference to a training
job's model assumes, and the metrics are read from the log with the MetricDefinitions regexes.
The request's ``Environment`` reaches the script as in the container; a multi-instance job
runs as its single host ``algo-1``.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.local.errors import DefinitionError, NotRunnableLocallyError, StepError
from pipelines.local.execution import Execution, StepContext, StepOutcome
from pipelines.local.graph import StepNode
from pipelines.local.jobs import (
    ContainerRoot,
    exit_failure,
    process_env,
    run_process,
    write_json,
)

PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
MODEL_DIR = "/opt/ml/model"
OUTPUT_DATA_DIR = "/opt/ml/output/data"
DEFAULT_CHECKPOINT_DIR = "/opt/ml/checkpoints"


@dataclass(frozen=True)
class TrainingResult:
    job_name: str
    model_uri: str
    metrics: dict[str, float]
    hyperparameters: dict[str, str]
    seconds: float
    log: Path


def check_job_definition(definition: Mapping[str, Any], hyperparameters: Any, step: str) -> None:
    algorithm = definition.get("AlgorithmSpecification") or {}
    if "AlgorithmName" in algorithm or "ContainerEntrypoint" in algorithm:
        raise NotRunnableLocallyError(
            f"step {step}: only script-mode training (sagemaker_program) runs locally"
        )
    names = hyperparameters if isinstance(hyperparameters, Mapping) else {}
    if PROGRAM not in names or SUBMIT_DIRECTORY not in names:
        raise NotRunnableLocallyError(
            f"step {step}: the image {algorithm.get('TrainingImage', '?')} would run its built-in "
            f"algorithm; only script mode ({PROGRAM} and {SUBMIT_DIRECTORY}) runs locally"
        )
    for channel in definition.get("InputDataConfig", []):
        source = (channel.get("DataSource") or {}).get("S3DataSource")
        if source is None or source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise DefinitionError(
                f"step {step}: channel {channel.get('ChannelName')} must be an S3Prefix source"
            )


def job_inputs(definition: Mapping[str, Any], hyperparameters: Mapping[str, Any]) -> list[str]:
    uris = [
        str(channel["DataSource"]["S3DataSource"]["S3Uri"])
        for channel in definition.get("InputDataConfig", [])
    ]
    return [*uris, hyperparameter_value(hyperparameters[SUBMIT_DIRECTORY])]


def hyperparameter_value(value: Any) -> str:
    """The value the training toolkit passes on: JSON-encoded strings are decoded."""
    text = str(value)
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError:
            return text
        return str(decoded)
    return text


def model_uri(definition: Mapping[str, Any], job_name: str) -> str:
    output_path = str(definition["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
    return f"{output_path}/{job_name}/output/model.tar.gz"


def run_training_job(
    definition: Mapping[str, Any],
    hyperparameters: Mapping[str, Any],
    *,
    job_name: str,
    directory: Path,
    execution: Execution,
    cpus: int,
) -> TrainingResult:
    """Run one training job; raise StepError (with its log) when it fails."""
    store = execution.store
    root = ContainerRoot(directory / "container")
    log = directory / "log.txt"
    hps = {str(name): hyperparameter_value(value) for name, value in hyperparameters.items()}

    code_dir = root.path("/opt/ml/code")
    _extract(store.read_bytes(hps[SUBMIT_DIRECTORY]), code_dir, hps[SUBMIT_DIRECTORY])
    program = hps[PROGRAM]
    if not (code_dir / program).is_file():
        raise StepError(f"{job_name}: {program} is not in {hps[SUBMIT_DIRECTORY]}", log=log)

    channels = {}
    for channel in definition.get("InputDataConfig", []):
        name = channel["ChannelName"]
        local = root.path(f"/opt/ml/input/data/{name}")
        store.download(str(channel["DataSource"]["S3DataSource"]["S3Uri"]), local)
        channels[name] = local

    checkpoint = definition.get("CheckpointConfig") or {}
    checkpoint_dir = root.path(checkpoint.get("LocalPath", DEFAULT_CHECKPOINT_DIR))
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if checkpoint.get("S3Uri") and store.exists(str(checkpoint["S3Uri"])):
        store.download(str(checkpoint["S3Uri"]), checkpoint_dir)
    model_dir, output_dir = root.path(MODEL_DIR), root.path(OUTPUT_DATA_DIR)
    model_dir.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)

    user_hps = {
        name: value for name, value in sorted(hps.items()) if not name.startswith("sagemaker_")
    }
    arguments = [item for name, value in user_hps.items() for item in (f"--{name}", value)]
    _write_config(root, hps, definition)
    request_env = {str(k): str(v) for k, v in (definition.get("Environment") or {}).items()}
    env = process_env(
        execution.base_env,
        cpus,
        request_env
        | _toolkit_env(
            channels=channels,
            model_dir=model_dir,
            output_dir=output_dir,
            checkpoint_dir=checkpoint_dir,
            hyperparameters=user_hps,
            program=program,
            cpus=cpus,
        ),
    )
    timeout = (definition.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    command = [sys.executable, program, *arguments]
    code, seconds = run_process(
        command, cwd=code_dir, env=env, log=log, timeout=timeout, pool=execution.pool
    )
    if checkpoint.get("S3Uri"):
        store.upload_dir(checkpoint_dir, str(checkpoint["S3Uri"]))
    if code != 0:
        raise exit_failure(job_name, "training job", code, log)

    uri = model_uri(definition, job_name)
    store.put_bytes(uri, _tar_gz(model_dir))
    if any(output_dir.iterdir()):
        store.put_bytes(uri.replace("/model.tar.gz", "/output.tar.gz"), _tar_gz(output_dir))
    metrics = read_metrics(log, definition)
    return TrainingResult(job_name, uri, metrics, hps, seconds, log)


def read_metrics(log: Path, definition: Mapping[str, Any]) -> dict[str, float]:
    """The last value each MetricDefinitions regex captures in the log."""
    text = log.read_text(errors="replace")
    metrics = {}
    for metric in (definition.get("AlgorithmSpecification") or {}).get("MetricDefinitions", []):
        values = [match.group(1) for match in re.finditer(metric["Regex"], text)]
        for value in reversed(values):
            try:
                metrics[metric["Name"]] = float(value)
                break
            except ValueError:
                continue
    return metrics


def _toolkit_env(
    *,
    channels: Mapping[str, Path],
    model_dir: Path,
    output_dir: Path,
    checkpoint_dir: Path,
    hyperparameters: Mapping[str, str],
    program: str,
    cpus: int,
) -> dict[str, str]:
    """The SM_* variables the SageMaker training toolkit sets for a script."""
    env = {f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()}
    env.update(
        {
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(output_dir),
            "SM_OUTPUT_DIR": str(output_dir.parent),
            "SM_CHECKPOINT_DIR": str(checkpoint_dir),
            "SM_INPUT_DIR": str(model_dir.parent / "input"),
            "SM_INPUT_CONFIG_DIR": str(model_dir.parent / "input" / "config"),
            "SM_HPS": json.dumps(dict(hyperparameters)),
            "SM_USER_ARGS": json.dumps(
                [item for name, value in hyperparameters.items() for item in (f"--{name}", value)]
            ),
            "SM_MODULE_NAME": PurePosixPath(program).stem,
            "SM_CURRENT_HOST": "algo-1",
            "SM_HOSTS": json.dumps(["algo-1"]),
            "SM_NUM_CPUS": str(cpus),
            "SM_NUM_GPUS": "0",
        }
    )
    env.update({f"SM_HP_{name.upper()}": value for name, value in hyperparameters.items()})
    return env


def _write_config(
    root: ContainerRoot, hps: Mapping[str, str], definition: Mapping[str, Any]
) -> None:
    config = root.path("/opt/ml/input/config")
    write_json(config / "hyperparameters.json", dict(hps))
    write_json(
        config / "inputdataconfig.json",
        {
            channel["ChannelName"]: {
                key: channel[key] for key in ("ContentType", "InputMode") if key in channel
            }
            for channel in definition.get("InputDataConfig", [])
        },
    )
    write_json(config / "resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1"]})


def _extract(archive: bytes, destination: Path, uri: str) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            # The "data" filter refuses absolute names, "..", links out of the tree and devices.
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise StepError(f"cannot extract {uri}: {exc}") from None


def _tar_gz(directory: Path) -> bytes:
    """The directory's contents as SageMaker archives them: members relative to it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(directory).as_posix())
    return buffer.getvalue()


class TrainingExecutor:
    def check(self, node: StepNode) -> None:
        arguments = node.step.get("Arguments", {})
        check_job_definition(arguments, arguments.get("HyperParameters"), node.name)

    def inputs(self, arguments: Any) -> list[str]:
        return job_inputs(arguments, arguments["HyperParameters"])

    def run(self, context: StepContext) -> StepOutcome:
        arguments = context.arguments
        result = run_training_job(
            arguments,
            arguments["HyperParameters"],
            job_name=context.job_name,
            directory=context.directory,
            execution=context.execution,
            cpus=context.execution.cpus,
        )
        execution = context.execution
        properties = {
            **arguments,
            "TrainingJobName": result.job_name,
            "TrainingJobArn": (
                f"arn:aws:sagemaker:{execution.region}:{execution.account}:"
                f"training-job/{result.job_name.lower()}"
            ),
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": result.model_uri},
            "FinalMetricDataList": [
                {"MetricName": name, "Value": value} for name, value in result.metrics.items()
            ],
            "TrainingTimeInSeconds": round(result.seconds),
            "BillableTimeInSeconds": round(result.seconds),
        }
        return StepOutcome(
            properties=properties,
            outputs={"model": result.model_uri, **result.metrics},
            objects=[result.model_uri],
            log=result.log,
        )
