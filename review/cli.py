"""``python -m review``: a Markdown review of the infrastructure change from a base to the head.

    python -m review --base REF [--head-dir .] [--out FILE] [--fail-on-findings]
    python -m review --base-assembly DIR [--head-assembly DIR] [--base-label X --head-label Y] ...

The base is a git ref (synthesized in a temporary worktree with this venv) or an assembly; the
head is the working tree in ``--head-dir`` (synthesized the same way) or an assembly. The report
goes to stdout and, with ``--out``, to a file; progress goes to stderr.

Exit codes: 0 the report was written; 1 with ``--fail-on-findings`` when cdk-nag, cfn-lint or
checkov report a finding on the head (or could not run), and whenever the head does not
synthesize; 2 for a usage error such as a bad base ref (one ``error: ...`` line on stderr).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn, TextIO

from review import ReviewError
from review.assembly import load_assembly
from review.build import Side, build_review
from review.report import render, render_head_failure
from review.synth import SynthResult, describe_head, resolve_ref, synth_ref, synth_tree


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ReviewError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m review",
        description="Review an infrastructure change: template, IAM and pipeline diffs plus "
        "cdk-nag, cfn-lint and checkov results of the head, as Markdown.",
    )
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", metavar="REF", help="git ref to compare against (e.g. main)")
    base.add_argument("--base-assembly", metavar="DIR", type=Path, help="base cloud assembly")
    parser.add_argument(
        "--head-dir", metavar="DIR", type=Path, default=Path("."), help="working tree (default .)"
    )
    parser.add_argument("--head-assembly", metavar="DIR", type=Path, help="head cloud assembly")
    parser.add_argument("--out", metavar="FILE", type=Path, help="also write the report here")
    parser.add_argument(
        "--assemblies-dir",
        metavar="DIR",
        type=Path,
        help="keep the synthesized assemblies in DIR/base and DIR/head (default: a temp dir)",
    )
    parser.add_argument("--base-label", help="how the report names the base")
    parser.add_argument("--head-label", help="how the report names the head")
    parser.add_argument(
        "--skip-checks",
        action="store_true",
        help="do not run cdk-nag, cfn-lint and checkov (not with --fail-on-findings)",
    )
    parser.add_argument(
        "--fail-on-findings",
        action="store_true",
        help="exit 1 when the head has cdk-nag, cfn-lint or checkov findings",
    )
    return parser


def _side(label: str, result: SynthResult, *, empty_means: str) -> Side:
    notes = (
        ()
        if result.note is None
        else (f"{result.note}{empty_means if result.assembly is None else ''}",)
    )
    assembly = load_assembly(result.assembly) if result.assembly is not None else None
    return Side(label, assembly, notes, result.log_tail)


def _sides(
    args: argparse.Namespace,
    head_dir: Path,
    commit: str | None,
    workdir: Path,
    *,
    env: Mapping[str, str] | None,
    progress: Callable[[str], None],
) -> tuple[Side, Side]:
    """Synthesize whatever side was not given as an assembly: base and head side by side."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        if commit is not None:
            base_label = args.base_label or f"`{args.base}` at `{commit[:12]}`"
            progress(f"synthesizing base {args.base} ({commit[:12]}) in a temporary worktree")
            base_future = pool.submit(
                synth_ref, head_dir, commit, workdir / "base", label="base", env=env
            )
        else:
            base_label = args.base_label or f"assembly `{args.base_assembly}`"
            base_future = pool.submit(SynthResult, args.base_assembly)
        if args.head_assembly is None:
            head_label = args.head_label or describe_head(head_dir)
            progress(f"synthesizing the {head_label}")
            head_future = pool.submit(synth_tree, head_dir, workdir / "head", label="head", env=env)
        else:
            head_label = args.head_label or f"assembly `{args.head_assembly}`"
            head_future = pool.submit(SynthResult, args.head_assembly)
        base_result, head_result = base_future.result(), head_future.result()
    base = _side(
        base_label,
        base_result,
        empty_means=": the base is treated as empty, so everything shows as added.",
    )
    return base, _side(head_label, head_result, empty_means=": there is nothing to review.")


def run(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
    env: Mapping[str, str] | None = None,
) -> int:
    """The CLI; a usage problem raises ReviewError (``main`` prints it and exits with its code)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.skip_checks and args.fail_on_findings:
        parser.error("--skip-checks and --fail-on-findings exclude each other")
    head_dir: Path = args.head_dir.resolve()

    def progress(message: str) -> None:
        print(f"review: {message}", file=stderr, flush=True)

    commit = resolve_ref(head_dir, args.base) if args.base is not None else None
    temporary = args.assemblies_dir is None
    workdir = Path(tempfile.mkdtemp(prefix="review-")) if temporary else args.assemblies_dir
    try:
        base, head = _sides(args, head_dir, commit, workdir.resolve(), env=env, progress=progress)
        if head.assembly is None:
            _emit(render_head_failure(base, head), args.out, stdout)
            print(f"error: the head does not synthesize: {head.notes[0]}", file=stderr)
            return 1
        checks = "" if args.skip_checks else " and running cdk-nag, cfn-lint and checkov"
        progress(f"diffing templates{checks}")
        review = build_review(base, head, checks=not args.skip_checks, env=env)
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
    _emit(render(review), args.out, stdout)
    if args.out is not None:
        progress(f"report written to {args.out}")
    if args.fail_on_findings and (review.findings or review.check_errors):
        problems = [f"{len(review.findings)} findings on the head"] if review.findings else []
        problems += [f"{tool} could not run" for tool in review.check_errors]
        print(f"error: {'; '.join(problems)} (--fail-on-findings)", file=stderr)
        return 1
    return 0


def _emit(text: str, out: Path | None, stdout: TextIO) -> None:
    stdout.write(text)
    stdout.flush()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except ReviewError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
