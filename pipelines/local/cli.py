"""Command line of the local runner.

    python -m pipelines.local run [--assembly cdk.out] [--run-dir .run/local]
                                  [--param Name=value ...] [--no-cache] [--summary PATH]
                                  [--model NAME ...] [--pipeline NAME] [--no-warm-pool]
                                  [--max-parallel-steps N]
    python -m pipelines.local serve MODEL [--version N] [--port 8080] [--assembly] [--run-dir]
    python -m pipelines.local invoke MODEL FILE|- [--content-type text/csv] [--run-dir]
    python -m pipelines.local approve|reject MODEL VERSION [--assembly] [--run-dir]

Every pipeline of the assembly runs (at once) unless ``--model`` or ``--pipeline`` picks some;
a pipeline this machine cannot run (a built-in algorithm, a custom image) is reported in one
line and the others run.

The run directory holds ``s3/<bucket>/<key>`` (the local object store: assets, sample data,
step outputs), ``cache/<pipeline>/`` (step cache entries, per pipeline as in SageMaker),
``registry/<group>/<version>.json`` (the model registry) and ``executions/<id>/`` (per-step
logs and the summary JSON). Keep it between runs
to reuse cached steps.

Exit codes: 0 the execution succeeded; 1 a step failed, a Fail step ran or the endpoint's
smoke prediction failed (a failed job's log tail is shown, and the run directory is kept);
2 the input is unusable (missing assembly, malformed definition, unsupported step, bad
parameter, bad command line), with one ``error: ...`` line on stderr; 130 the run was
interrupted (SIGINT or SIGTERM): its job processes are stopped and no step that was running
leaves a cache entry.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pipelines.local.approval import STATUSES, Change, change_status
from pipelines.local.assembly import PipelineEntry, list_pipelines, load_assembly
from pipelines.local.errors import AssemblyError, LocalRunError, NotRunnableLocallyError
from pipelines.local.expressions import declared_parameters, resolve_parameters
from pipelines.local.interruption import (
    RunInterruptedError,
    interrupted_error,
    stop_on_signals,
    stop_requested,
)
from pipelines.local.runner import RunOptions, RunResult, default_parallel_steps, run_pipeline
from pipelines.local.serve import (
    DEFAULT_PORT,
    Request,
    choose_version,
    invoke,
    serve,
)
from pipelines.local.summary import render


class _UsageError(LocalRunError):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage, so every error is one line."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pipelines.local", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="execute the synthesized pipeline definition on this machine",
        description="Execute the pipeline definition of a cloud assembly locally.",
    )
    run.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="cdk synth output")
    run.add_argument(
        "--run-dir",
        type=Path,
        default=Path(".run/local"),
        help="object store, step cache, model registry and job logs",
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (repeatable)",
    )
    run.add_argument("--no-cache", action="store_true", help="run every step, reuse nothing")
    run.add_argument(
        "--summary", type=Path, help="where to write the summary JSON (default: in the run dir)"
    )
    run.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="run this model's pipeline (repeatable; default: every pipeline in the assembly)",
    )
    run.add_argument("--pipeline", help="run the pipeline of this name")
    run.add_argument(
        "--no-warm-pool",
        action="store_true",
        help="start every job as a plain subprocess (slower: each one imports its libraries)",
    )
    run.add_argument(
        "--max-parallel-steps",
        type=int,
        default=default_parallel_steps(),
        metavar="N",
        help="steps running at once; each job gets CPUs / N threads (default: %(default)s)",
    )
    _add_serve_commands(commands)
    _add_approval_commands(commands)
    return parser


def _add_approval_commands(commands: Any) -> None:
    for command, (_, verb) in STATUSES.items():
        parser = commands.add_parser(
            command,
            help=f"mark a registered version {verb} and deploy as the deployer Lambda would",
            description=f"Mark VERSION of MODEL {verb} in the local registry, then run the "
            "deployer: the Approved version approved last serves.",
        )
        parser.add_argument("model", metavar="MODEL")
        parser.add_argument("version", metavar="VERSION", type=int)
        parser.add_argument(
            "--assembly", type=Path, default=Path("cdk.out"), help="cdk synth output"
        )
        parser.add_argument("--run-dir", type=Path, default=Path(".run/local"))


def _add_serve_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve a model's deployed (or a registered) version until Ctrl-C",
        description="Serve the version of MODEL the last local run deployed, or --version N.",
    )
    serve.add_argument("model", metavar="MODEL")
    serve.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="cdk synth output")
    serve.add_argument("--run-dir", type=Path, default=Path(".run/local"))
    serve.add_argument("--version", type=int, help="a registered version (default: deployed)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="0 picks a free one (default: %(default)s)"
    )
    invoke = commands.add_parser(
        "invoke",
        help="send rows to a model that `serve` is serving and print the answer",
        description="POST the rows in FILE (or stdin: -) to MODEL's served endpoint.",
    )
    invoke.add_argument("model", metavar="MODEL")
    invoke.add_argument("source", metavar="FILE", help="the request body; - reads stdin")
    invoke.add_argument("--run-dir", type=Path, default=Path(".run/local"))
    invoke.add_argument("--content-type", default="text/csv")
    invoke.add_argument("--accept", default="application/json")


def _serve_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "invoke":
        request = Request(args.source, args.content_type, args.accept)
        return invoke(args.run_dir, args.model, request, out)
    if not 0 <= args.port <= 65535:
        raise _UsageError(f"--port {args.port}: must be 0-65535")
    served = choose_version(args.run_dir.resolve(), args.assembly, args.model, args.version)
    return serve(args.run_dir.resolve(), served, args.port, out)


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with stop_on_signals():
            return _main(argv, out, err)
    except KeyboardInterrupt:
        # A second Ctrl-C while the first one's steps wind down.
        print(f"error: {interrupted_error()}", file=err)
        return RunInterruptedError.exit_code


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command in ("serve", "invoke"):
            return _serve_command(args, out)
        if args.command in STATUSES:
            change = Change(args.model, args.version, args.command)
            return change_status(args.run_dir.resolve(), args.assembly, change, out)
        if args.max_parallel_steps < 1:
            raise _UsageError("--max-parallel-steps must be at least 1")
        _check_paths(args.run_dir, args.summary)
        targets = _targets(args)
        if len(targets) > 1 and args.summary is not None:
            raise _UsageError("--summary takes one pipeline: choose it with --model")
        options = [
            RunOptions(
                assembly=args.assembly,
                run_dir=args.run_dir,
                params=tuple(args.param),
                use_cache=not args.no_cache,
                summary=args.summary,
                pipeline=target.name,
                label=(target.model or target.name) if len(targets) > 1 else None,
                pipelines=len(targets),
                max_parallel_steps=args.max_parallel_steps,
                warm_pool=not args.no_warm_pool,
            )
            for target in targets
        ]
        if len(options) == 1:
            return _report(run_pipeline(options[0], out), out, err)
        # A bad --param is wrong for every pipeline: say so once, before any of them runs.
        for option in options:
            definition = load_assembly(option.assembly, option.pipeline).definition
            resolve_parameters(declared_parameters(definition), option.params)
    except LocalRunError as error:
        print(f"error: {error}", file=err)
        return error.exit_code
    return _run_several(options, out, err)


def _check_paths(run_dir: Path, summary: Path | None) -> None:
    """Where the run writes, checked before it starts: a run must not end in a traceback
    after minutes of work because its summary cannot be written."""
    if run_dir.exists() and not run_dir.is_dir():
        raise _UsageError(f"--run-dir {run_dir}: is a file; give a directory (created if missing)")
    if summary is not None and summary.is_dir():
        raise _UsageError(f"--summary {summary}: is a directory; give a file path")
    for option, path in (("--run-dir", run_dir), ("--summary", summary)):
        for parent in path.parents if path is not None else ():
            if parent.exists() and not parent.is_dir():
                raise _UsageError(f"{option} {path}: {parent} is a file, not a directory")


def _targets(args: argparse.Namespace) -> list[PipelineEntry]:
    entries = list_pipelines(args.assembly)
    if args.pipeline:
        entries = [entry for entry in entries if entry.name == args.pipeline]
        if not entries:
            raise AssemblyError(
                f"no SageMaker pipeline named {args.pipeline!r} in the cloud assembly "
                f"{args.assembly}"
            )
    if args.model:
        known = {entry.model: entry for entry in entries if entry.model}
        unknown = [model for model in args.model if model not in known]
        if unknown:
            raise _UsageError(
                f"--model {unknown[0]}: no pipeline for that model in {args.assembly}; "
                f"models: {', '.join(sorted(known)) or '(none)'}"
            )
        entries = [known[model] for model in dict.fromkeys(args.model)]
    if not entries:
        raise AssemblyError(f"no SageMaker pipeline in the cloud assembly {args.assembly}")
    return entries


def _run_several(options: list[RunOptions], out: TextIO, err: TextIO) -> int:
    """Run every pipeline at once (they share the warm pool and the run directory's object
    store, cache and registry); one that cannot run here is reported in one line and skipped."""

    def run(option: RunOptions) -> RunResult | LocalRunError:
        try:
            return run_pipeline(option, out)
        except LocalRunError as error:
            return error

    with ThreadPoolExecutor(len(options)) as executor:
        results = list(executor.map(run, options))
    if stop_requested():
        print(f"error: {interrupted_error()}", file=err)
        return RunInterruptedError.exit_code
    codes = []
    for option, result in zip(options, results, strict=True):
        if isinstance(result, NotRunnableLocallyError):
            print(f"{option.label}: not run locally: {result}", file=out)
        elif isinstance(result, LocalRunError):
            print(f"error: {option.label}: {result}", file=err)
            codes.append(result.exit_code)
        else:
            print(f"== {option.label}", file=out)
            codes.append(_report(result, out, err))
    return max(codes, default=0)


def _report(result: RunResult, out: TextIO, err: TextIO) -> int:
    print(render(result.summary), file=out)
    print(f"summary: {result.summary_path}", file=out)
    failure = result.summary["failure"]
    if failure is not None:
        failed = next((r for r in result.reports if r.name == failure["step"]), None)
        if result.failure_log and failed is not None:
            print(f"last {len(result.failure_log)} lines of {failed.log}:", file=err)
            for line in result.failure_log:
                print(f"  | {line}", file=err)
        print(f"run directory kept: {result.summary['run_dir']}", file=err)
        # The reason last, where a reader looks first; the log it came from after it.
        where = f" (log: {failed.log})" if failed is not None and failed.log else ""
        print(f"error: {failure['step']}: {failure['message']}{where}", file=err)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
