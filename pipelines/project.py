"""Where the repository keeps what synth and the local run read and write."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Regenerable caches: built definitions, sample CSVs, botocore facts (never committed).
BUILD_DIR = PROJECT_ROOT / ".build"
# One folder per declared model, each with its model.toml.
MODELS_DIR = PROJECT_ROOT / "models"
