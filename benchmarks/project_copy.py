"""A throw-away copy of this project: what a fresh clone holds (the git-tracked files, plus
files not yet committed), optionally with only some of its models, sharing the repository's
installed tools. Used to measure synth against the number of models and to prove that a new
model needs nothing but its folder."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Installed once per checkout, or caches keyed by content: linked, never copied.
SHARED = (".venv", ".venv-checkov", "node_modules", ".tools", ".build")


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def copy_project(destination: Path, *, models: Iterable[str] | None = None) -> Path:
    """Copy the project to ``destination``; with ``models``, keep only those model folders."""
    keep = None if models is None else set(models)
    for name in project_files():
        parts = Path(name).parts
        if keep is not None and parts[0] == "models" and len(parts) > 2 and parts[1] not in keep:
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for name in SHARED:
        if (ROOT / name).exists():
            (destination / name).symlink_to(ROOT / name)
    return destination
