"""Helpers for the step-script tests: run a script's ``main`` in-process and capture what it
prints (as SageMaker would see it), and build the inputs SageMaker would hand it."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS_DIR = REPO_ROOT / "pipelines" / "steps"
MODELS_DIR = REPO_ROOT / "models"
# Small enough to keep the suite fast, large enough for a test AUC well above 0.98.
TRAIN_ROUNDS = 30
CHECKPOINT_INTERVAL = 10


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class TrainedModel:
    run: Run
    model_dir: Path
    checkpoint_dir: Path
    output_data_dir: Path


def run_main(main: Callable[[list[str] | None], int], argv: Sequence[str | Path]) -> Run:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([str(arg) for arg in argv])
    return Run(code, stdout.getvalue(), stderr.getvalue())


def train_argv(split_dir: Path, root: Path, *hyperparameters: str) -> list[str]:
    """Training arguments reading the splits in ``split_dir`` and writing under ``root``."""
    return [
        # On data this small, OpenMP threads cost more than they save, badly on a busy machine.
        *("--nthread", "1"),
        *hyperparameters,
        *("--train", str(split_dir / "train")),
        *("--validation", str(split_dir / "validation")),
        *("--model-dir", str(root / "model")),
        *("--output-data-dir", str(root / "output")),
        *("--checkpoint-dir", str(root / "checkpoints")),
    ]


def pack_source(files: Sequence[Path], archive_dir: Path, name: str = "source.tar.gz") -> Path:
    """A source bundle as the platform ships it: the files at the archive's root."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    archive = archive_dir / name
    with tarfile.open(archive, "w:gz") as tar:
        for path in files:
            tar.add(path, arcname=path.name)
    return archive


def load_script(path: Path, name: str) -> ModuleType:
    """Import a user's script by path under ``name``, without putting its folder on sys.path."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pack_model(model_dir: Path, archive_dir: Path) -> Path:
    """Archive a model directory's contents the way a SageMaker training job writes them."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    archive = archive_dir / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir, arcname=".")
    return archive


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())
