"""Operate a model's deployed SageMaker pipeline from the command line (plain boto3).

    python -m pipelines.cli start [--pipeline NAME] [--param Name=value ...] [--display-name X]
                                  [--follow] [--poll-seconds N]
    python -m pipelines.cli follow EXECUTION_ARN [--poll-seconds N]
    python -m pipelines.cli approve [--group NAME] [--version N]
    python -m pipelines.cli definition [--pipeline NAME] --out FILE
    python -m pipelines.cli signature [--version N]
    python -m pipelines.cli status

Every command also takes ``--prefix`` (the project prefix, default ``mlops-dev``) and
``--model`` (a folder under models/, default ``breast-cancer``), which name the pipeline
``<prefix>-<model>-pipeline`` and the model package group ``<prefix>-<model>-models``, and
``--region`` (default: ``AWS_REGION``, then ``AWS_DEFAULT_REGION``, then your profile's
region). Uses your AWS credentials. A user error (bad
argument, missing pipeline or group, a failed AWS call) prints one ``error: ...`` line on stderr
and exits non-zero.

The module imports neither aws_cdk nor sagemaker and does nothing at import time.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pipelines.definition.catalogue import botocore_facts
from pipelines.definition.parameter_rules import ParameterValueError, check_parameter_values
from pipelines.deployment_status import status_lines
from pipelines.names import (
    MODEL_NAME,
    MODEL_NAME_RULE,
    PROJECT_PREFIX,
    PROJECT_PREFIX_RULE,
    ModelNames,
)
from pipelines.registry_signature import SignatureError, find_version, read_signature
from pipelines.signature import describe

DEFAULT_PREFIX = "mlops-dev"
# The shipped sample; every model's resources are named <prefix>-<model>-... (pipelines.names).
DEFAULT_MODEL = "breast-cancer"
DEFAULT_POLL_SECONDS = 30.0
TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})
# Pipeline parameter types whose values are checked here before StartPipelineExecution.
_NUMERIC_TYPES: dict[str, Callable[[str], object]] = {"Integer": int, "Float": float}

# boto3 ships no type stubs in this project: a SageMaker client is Any.
SageMakerClient = Any
ClientFactory = Callable[[str], SageMakerClient]


class CliError(Exception):
    """A user-facing error: main prints it as one ``error: ...`` line."""


class _UsageError(CliError):
    """A bad command line (exit code 2, like argparse)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def default_client(region: str) -> SageMakerClient:
    """A SageMaker client from the normal boto3 chain, retrying throttles while polling."""
    session = boto3.session.Session(region_name=region)
    return session.client("sagemaker", config=Config(retries={"mode": "standard"}))


def default_s3_client(region: str) -> Any:
    return boto3.session.Session(region_name=region).client("s3")


def resolve_region(given: str | None) -> str:
    """The region to call, checked before any client exists. boto3 reads AWS_DEFAULT_REGION
    but not AWS_REGION, which the AWS CLI and the SDKs of other languages read; both work."""
    source = "--region"
    region = given
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if region is None and os.environ.get(variable):
            source, region = variable, os.environ[variable]
    if region is None:
        source, region = "the AWS profile's region", boto3.session.Session().region_name
    if not region:
        raise CliError(
            "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set "
            "`region` in your AWS profile (aws configure set region us-east-1)"
        )
    known = botocore_facts()["regions"]
    if region not in known:
        raise _UsageError(
            f"{source} = {region!r}: not a region where SageMaker is available "
            f"(botocore knows {len(known)}, e.g. us-east-1, eu-west-1)"
        )
    return region


def _check_names(args: argparse.Namespace) -> None:
    if not PROJECT_PREFIX.fullmatch(args.prefix):
        raise _UsageError(f"--prefix {args.prefix!r}: must be {PROJECT_PREFIX_RULE}")
    if not MODEL_NAME.fullmatch(args.model):
        raise _UsageError(f"--model {args.model!r}: must be {MODEL_NAME_RULE}")


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def _aws_message(error: ClientError) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code", "Unknown")
    return f"{error.operation_name}: {code}: {one_line(details.get('Message', ''))}"


# --- pipeline definition -------------------------------------------------------------------------


def fetch_definition(client: SageMakerClient, pipeline: str) -> dict[str, Any]:
    """The deployed pipeline's definition (DescribePipeline's PipelineDefinition) as a dict."""
    try:
        response = client.describe_pipeline(PipelineName=pipeline)
    except ClientError as error:
        raise CliError(f"pipeline {pipeline!r}: {_aws_message(error)}") from None
    try:
        definition = json.loads(response["PipelineDefinition"])
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise CliError(f"pipeline {pipeline!r} has no readable definition: {error}") from None
    if not isinstance(definition, dict):
        raise CliError(f"pipeline {pipeline!r}: the definition is not a JSON object")
    return definition


def pipeline_parameters(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Parameter name -> its declaration (Name, Type, DefaultValue, EnumValues) in a definition."""
    return {str(parameter["Name"]): parameter for parameter in definition.get("Parameters", [])}


def write_atomically(path: Path, text: str) -> None:
    """Write text to path through a temp file in the same directory and a rename.

    On any error the temp file is removed and path is left as it was (absent or old content).
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # O_EXCL: never follow or clobber something already there; 0o666 honours the umask.
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise CliError(f"cannot write {path}: {error.strerror or error}") from None
        raise


def save_definition(client: SageMakerClient, pipeline: str, out: Path) -> dict[str, Any]:
    definition = fetch_definition(client, pipeline)
    write_atomically(out, json.dumps(definition, indent=2) + "\n")
    return definition


# --- start ---------------------------------------------------------------------------------------


def parse_param(text: str) -> tuple[str, str]:
    """``Name=value`` -> (name, value); the value may itself contain '='."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise _UsageError(f"malformed --param {text!r}: expected Name=value")
    return name.strip(), value


def _check_value(name: str, value: str, declaration: dict[str, Any]) -> None:
    """What SageMaker would reject anyway, caught before starting: type and enum values."""
    kind = str(declaration.get("Type", "String"))
    convert = _NUMERIC_TYPES.get(kind)
    if convert is not None:
        try:
            convert(value)
        except ValueError:
            raise _UsageError(f"--param {name}={value!r}: {name} is of type {kind}") from None
    allowed = declaration.get("EnumValues")
    if allowed and value not in allowed:
        raise _UsageError(
            f"--param {name}={value!r}: {name} must be one of {', '.join(map(str, allowed))}"
        )


def parse_params(params: Sequence[str]) -> dict[str, str]:
    """Every ``--param`` as name -> value; syntax only, so it runs before any AWS call."""
    values: dict[str, str] = {}
    for text in params:
        name, value = parse_param(text)
        if name in values:
            raise _UsageError(f"--param {name} is given more than once")
        values[name] = value
    return values


def build_overrides(
    values: dict[str, str], declared: dict[str, dict[str, Any]], pipeline: str
) -> list[dict[str, str]]:
    """PipelineParameters for StartPipelineExecution, checked against the declared ones."""
    unknown = [name for name in values if name not in declared]
    if unknown:
        known = ", ".join(declared) or "(none)"
        raise _UsageError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for "
            f"pipeline {pipeline!r}; its parameters are: {known}"
        )
    for name, value in values.items():
        _check_value(name, value, declared[name])
    _check_rules(values, declared)
    return [{"Name": name, "Value": value} for name, value in values.items()]


def _check_rules(values: dict[str, str], declared: dict[str, dict[str, Any]]) -> None:
    """The spec's rules on what the execution would run with: the deployed defaults with
    the overrides on top, so a minimum above the default maximum is caught too."""
    effective: dict[str, object] = {}
    for name, declaration in declared.items():
        text = values.get(name, declaration.get("DefaultValue"))
        convert = _NUMERIC_TYPES.get(str(declaration.get("Type", "String")))
        effective[name] = convert(str(text)) if convert and text is not None else text
    try:
        check_parameter_values(effective)
    except ParameterValueError as error:
        given = "--param" if set(error.names) & set(values) else "deployed default of"
        raise _UsageError(f"{given} {error}") from None


def start_execution(
    client: SageMakerClient,
    pipeline: str,
    values: dict[str, str],
    display_name: str | None = None,
) -> str:
    """Start an execution with parameter overrides (from parse_params); returns its ARN."""
    declared = pipeline_parameters(fetch_definition(client, pipeline))
    request: dict[str, Any] = {
        "PipelineName": pipeline,
        "PipelineParameters": build_overrides(values, declared, pipeline),
    }
    if display_name:
        request["PipelineExecutionDisplayName"] = display_name
    arn: str = client.start_pipeline_execution(**request)["PipelineExecutionArn"]
    return arn


# --- follow --------------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def list_steps(client: SageMakerClient, execution_arn: str) -> list[dict[str, Any]]:
    """Every step of an execution, oldest first (all pages)."""
    steps: list[dict[str, Any]] = []
    request: dict[str, Any] = {"PipelineExecutionArn": execution_arn, "SortOrder": "Ascending"}
    while True:
        response = client.list_pipeline_execution_steps(**request)
        steps.extend(response.get("PipelineExecutionSteps", []))
        token = response.get("NextToken")
        if not token:
            return steps
        request["NextToken"] = token


def _step_line(step: dict[str, Any], status: str) -> str:
    line = f"{step.get('StepName', '?')}: {status}"
    if status == "Failed" and step.get("FailureReason"):
        line += f" - {one_line(step['FailureReason'])}"
    return line


def follow(
    client: SageMakerClient,
    execution_arn: str,
    *,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    out: TextIO | None = None,
) -> int:
    """Poll until the execution ends, printing each step status change; 0 only on Succeeded."""
    stream = out if out is not None else sys.stdout
    started = clock()
    seen: dict[str, str] = {}
    while True:
        # Execution first, steps second: once the execution is terminal, the step list read
        # after it is final too, so the last poll prints every last change.
        execution = client.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        status = str(execution.get("PipelineExecutionStatus", "Unknown"))
        steps = list_steps(client, execution_arn)
        stamp = format_duration(clock() - started)
        for step in steps:
            name = str(step.get("StepName", "?"))
            step_status = str(step.get("StepStatus", "Unknown"))
            if seen.get(name) != step_status:
                seen[name] = step_status
                print(f"[{stamp:>8}] {_step_line(step, step_status)}", file=stream, flush=True)
        if status in TERMINAL_STATUSES:
            break
        sleep(poll_seconds)
    counts: dict[str, int] = {}
    for step_status in seen.values():
        counts[step_status] = counts.get(step_status, 0) + 1
    tally = ", ".join(f"{count} {name.lower()}" for name, count in sorted(counts.items()))
    summary = f"execution {status} after {stamp}"
    noun = "step" if len(seen) == 1 else "steps"
    summary += f" ({len(seen)} {noun}: {tally})" if seen else " (no steps)"
    if status != "Succeeded" and execution.get("FailureReason"):
        summary += f": {one_line(execution['FailureReason'])}"
    print(summary, file=stream, flush=True)
    return 0 if status == "Succeeded" else 1


# --- approve -------------------------------------------------------------------------------------


def _find_version(client: SageMakerClient, group: str, version: int) -> dict[str, Any] | None:
    request: dict[str, Any] = {"ModelPackageGroupName": group}
    while True:
        response = client.list_model_packages(**request)
        for summary in response.get("ModelPackageSummaryList", []):
            if summary.get("ModelPackageVersion") == version:
                found: dict[str, Any] = summary
                return found
        token = response.get("NextToken")
        if not token:
            return None
        request["NextToken"] = token


def approve(client: SageMakerClient, group: str, version: int | None = None) -> str:
    """Approve the latest (or the given) version in a model package group; returns a report."""
    try:
        client.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        raise CliError(f"model package group {group!r}: {_aws_message(error)}") from None
    if version is None:
        response = client.list_model_packages(
            ModelPackageGroupName=group,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )
        packages = response.get("ModelPackageSummaryList", [])
        if not packages:
            raise CliError(
                f"model package group {group!r} has no model packages: "
                "run the pipeline to register one first"
            )
        package: dict[str, Any] = packages[0]
    else:
        found = _find_version(client, group, version)
        if found is None:
            raise CliError(f"model package group {group!r} has no version {version}")
        package = found
    arn = str(package["ModelPackageArn"])
    number = package.get("ModelPackageVersion", "?")
    previous = package.get("ModelApprovalStatus", "Unknown")
    if previous == "Approved":
        return f"{group} version {number} is already Approved ({arn})"
    client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return f"approved {group} version {number} (was {previous}): {arn}"


# --- signature -----------------------------------------------------------------------------------


def show_signature(
    client: SageMakerClient, s3: Any, names: ModelNames, args: argparse.Namespace
) -> list[str]:
    try:
        package, why = find_version(client, names, args.version)
        signature, uri = read_signature(s3, package)
    except SignatureError as error:
        raise CliError(str(error)) from None
    number = package.get("ModelPackageVersion", "?")
    status = package.get("ModelApprovalStatus", "Unknown")
    return [
        f"{names.model_package_group} version {number} ({status}; {why})",
        *describe(signature),
        f"from {uri}",
    ]


# --- command line --------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text!r}")
    return value


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On subcommands the defaults are suppressed so they never override a value given before
    # the subcommand: both `cli --region X start` and `cli start --region X` work.
    parser.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX if top else argparse.SUPPRESS,
        help=f"project prefix naming the pipeline and group (default: {DEFAULT_PREFIX})",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL if top else argparse.SUPPRESS,
        help=f"model (folder under models/) naming the pipeline and group (default: "
        f"{DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--region",
        default=None if top else argparse.SUPPRESS,
        help="AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m pipelines.cli",
        description="Operate the deployed SageMaker pipeline (start, follow, approve, signature, "
        "status, definition).",
    )
    _add_common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = commands.add_parser("start", help="start an execution, with parameter overrides")
    _add_common(start, top=False)
    start.add_argument("--pipeline", help="pipeline name (default: <prefix>-<model>-pipeline)")
    start.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (repeatable)",
    )
    start.add_argument("--display-name", help="execution display name")
    start.add_argument("--follow", action="store_true", help="then follow it until it ends")
    start.add_argument(
        "--poll-seconds", type=_positive_float, default=DEFAULT_POLL_SECONDS, metavar="N"
    )

    follow_cmd = commands.add_parser("follow", help="follow an execution until it ends")
    _add_common(follow_cmd, top=False)
    follow_cmd.add_argument("execution_arn", metavar="EXECUTION_ARN")
    follow_cmd.add_argument(
        "--poll-seconds", type=_positive_float, default=DEFAULT_POLL_SECONDS, metavar="N"
    )

    approve_cmd = commands.add_parser("approve", help="approve a model package version")
    _add_common(approve_cmd, top=False)
    approve_cmd.add_argument(
        "--group", help="model package group (default: <prefix>-<model>-models)"
    )
    approve_cmd.add_argument(
        "--version", type=_positive_int, help="version to approve (default: the latest)"
    )

    signature = commands.add_parser(
        "signature", help="what a model version's endpoint accepts and answers"
    )
    _add_common(signature, top=False)
    signature.add_argument(
        "--version",
        type=_positive_int,
        help="registry version (default: the one the endpoint serves, else the latest approved)",
    )

    status = commands.add_parser(
        "status", help="which version the endpoint serves, since when, and from which approval"
    )
    _add_common(status, top=False)

    definition = commands.add_parser("definition", help="save the deployed definition JSON")
    _add_common(definition, top=False)
    definition.add_argument("--pipeline", help="pipeline name (default: <prefix>-<model>-pipeline)")
    definition.add_argument("--out", required=True, type=Path, metavar="FILE")
    return parser


def _run(
    args: argparse.Namespace,
    client_factory: ClientFactory,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    s3_factory: ClientFactory = default_s3_client,
) -> int:
    # Everything checkable offline is checked before a client exists (no region, no call).
    _check_names(args)
    names = ModelNames.of(args.prefix, args.model)
    pipeline = getattr(args, "pipeline", None) or names.pipeline
    values = parse_params(args.param) if args.command == "start" else {}
    region = resolve_region(args.region)
    client = client_factory(region)
    if args.command == "start":
        arn = start_execution(client, pipeline, values, args.display_name)
        print(arn, flush=True)
        if args.follow:
            return follow(client, arn, poll_seconds=args.poll_seconds, sleep=sleep, clock=clock)
        return 0
    if args.command == "follow":
        return follow(
            client, args.execution_arn, poll_seconds=args.poll_seconds, sleep=sleep, clock=clock
        )
    if args.command == "approve":
        print(approve(client, args.group or names.model_package_group, args.version))
        return 0
    if args.command == "signature":
        print("\n".join(show_signature(client, s3_factory(region), names, args)))
        return 0
    if args.command == "status":
        print("\n".join(status_lines(client, names)))
        return 0
    if args.command == "definition":
        definition = save_definition(client, pipeline, args.out)
        print(f"wrote {args.out} ({len(definition.get('Steps', []))} top-level steps)")
        return 0
    raise _UsageError(f"unknown command {args.command!r}")  # pragma: no cover - argparse


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory = default_client,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    s3_factory: ClientFactory = default_s3_client,
) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help: argparse printed it and wants to exit
            return done.code if isinstance(done.code, int) else 0
        return _run(args, client_factory, sleep, clock, s3_factory)
    except _UsageError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    except CliError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 1
    except ClientError as error:
        print(f"error: {_aws_message(error)}", file=sys.stderr)
        return 1
    except BotoCoreError as error:  # no credentials, no region, endpoint unreachable, ...
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
