"""Offline synth of the working tree, or of a git ref in a temporary worktree.

Both run the app directly with the current interpreter (``python app.py``, cwd = the tree,
``CDK_OUTDIR`` = the output), which reads cdk.json itself. The base's worktree is always removed,
also when its synth fails or the review is interrupted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.assembly.manifest import MANIFEST
from review import ReviewError

SYNTH_TIMEOUT_SECONDS = 900
LOG_TAIL_LINES = 25
# Inherited variables that would point a synth at another app, context or output.
_DROPPED_ENV = ("CDK_CONTEXT_JSON", "CDK_OUTDIR", "PYTHONPATH", "CDK_CLI_ASM_VERSION")


@dataclass(frozen=True)
class SynthResult:
    """``assembly`` is None when there is nothing to review on this side; ``note`` says why."""

    assembly: Path | None
    note: str | None = None
    log_tail: str = ""


def synth_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if key not in _DROPPED_ENV
    }
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    return env


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


def resolve_ref(repo: Path, ref: str) -> str:
    """The commit ``ref`` names in ``repo``; a bad ref is one-line ReviewError (exit 2)."""
    result = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if result.returncode != 0 or not result.stdout.strip():
        if _git(repo, "rev-parse", "--git-dir").returncode != 0:
            raise ReviewError(f"{repo} is not a git repository, so --base {ref!r} cannot be read")
        raise ReviewError(f"bad base ref {ref!r}: not a commit in {repo}")
    return result.stdout.strip()


def describe_head(repo: Path) -> str:
    """'working tree at <sha>' plus whether it has uncommitted changes."""
    head = _git(repo, "rev-parse", "--short=12", "HEAD")
    if head.returncode != 0:
        return "working tree"
    dirty = _git(repo, "status", "--porcelain", "--untracked-files=normal").stdout.strip()
    return f"working tree at {head.stdout.strip()}" + (
        " (with uncommitted changes)" if dirty else ""
    )


@contextmanager
def worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit``, removed (and pruned) afterwards whatever happens."""
    holder = Path(tempfile.mkdtemp(prefix="review-base-"))
    path = holder / "tree"
    try:
        added = _git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
        if added.returncode != 0:
            last = (added.stderr.strip().splitlines() or ["no output"])[-1]
            raise ReviewError(f"git worktree add failed: {last}", exit_code=1)
        yield path
    finally:
        _git(repo, "worktree", "remove", "--force", str(path))
        shutil.rmtree(holder, ignore_errors=True)
        _git(repo, "worktree", "prune")


def seed_build_cache(source_root: Path, tree: Path) -> None:
    """Give a base worktree the head's synth caches that are safe to share.

    Pipeline definitions are content-addressed by the builder source, the settings and the SDK
    version, so a copied entry is only ever hit when it is exactly what the base would build; it
    saves the 2-4 s SageMaker SDK import. The sample CSV is keyed by the scikit-learn version
    only, so it is shared only when the base's generator is byte-identical to the head's.
    """
    cache = source_root / ".build"
    definitions = cache / "pipeline-definitions"
    if definitions.is_dir():
        target = tree / ".build" / "pipeline-definitions"
        target.mkdir(parents=True, exist_ok=True)
        for entry in definitions.glob("*.json"):
            shutil.copy2(entry, target / entry.name)
    generator = Path("pipelines") / "sample_data.py"
    if (
        (tree / generator).is_file()
        and (source_root / generator).is_file()
        and (tree / generator).read_bytes() == (source_root / generator).read_bytes()
    ):
        samples = tree / ".build" / "samples"
        samples.mkdir(parents=True, exist_ok=True)
        for csv in cache.glob("samples/*-sklearn-*.csv"):
            shutil.copy2(csv, samples / csv.name)


def _tail(text: str, replacements: Mapping[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


def synth_tree(
    tree: Path,
    outdir: Path,
    *,
    label: str,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> SynthResult:
    """Run ``tree``'s app.py into ``outdir``. A failed synth is a result, not an exception.

    ``context`` is passed the way ``cdk -c key=value`` passes it (CDK_CONTEXT_JSON), for apps
    that read it as this project's does; the review itself never sets it.
    """
    if not (tree / "app.py").is_file():
        return SynthResult(None, f"{label} has no app.py")
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    run_env = synth_env(env)
    run_env["CDK_OUTDIR"] = str(outdir)
    if context:
        run_env["CDK_CONTEXT_JSON"] = json.dumps(dict(context))
    replacements = {str(outdir): f"<{label} assembly>", str(tree): f"<{label}>"}
    try:
        result = subprocess.run(
            [python, "app.py"],
            cwd=tree,
            env=run_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=SYNTH_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return SynthResult(None, f"synth of {label} timed out after {SYNTH_TIMEOUT_SECONDS} s")
    log = _tail(result.stderr + result.stdout, replacements)
    if (outdir / MANIFEST).is_file():
        # cdk-nag's ValidationFailed exits 1 after the assembly is complete: still reviewable.
        note = None if result.returncode == 0 else f"synth of {label} exited {result.returncode}"
        return SynthResult(outdir, note, log if result.returncode else "")
    return SynthResult(None, f"synth of {label} failed (exit {result.returncode})", log)


def synth_ref(
    repo: Path,
    commit: str,
    outdir: Path,
    *,
    label: str,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> SynthResult:
    with worktree(repo, commit) as tree:
        seed_build_cache(repo, tree)
        return synth_tree(tree, outdir, label=label, python=python, env=env)
