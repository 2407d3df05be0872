"""A content-addressed cache of built pipeline definitions.

Building imports the SageMaker SDK (2-4 s, 250 MB) for a result that depends only on the
model's spec, the platform's wiring, this package's source and the installed SDK version.
Keying the cache on exactly those makes a re-synth with nothing changed skip the SDK entirely
(for every model), while any change to an input, the builder or the SDK builds afresh. A
damaged entry is rebuilt, never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cache
from importlib import metadata
from pathlib import Path

from pipelines.definition.builder import build_definition
from pipelines.definition.context import PipelineWiring
from pipelines.definition.spec import ModelSpec
from pipelines.files import write_atomically

PACKAGE_DIR = Path(__file__).resolve().parent
SDK_PACKAGES = (
    "sagemaker",
    "sagemaker-core",
    "sagemaker-mlops",
    "sagemaker-serve",
    "sagemaker-train",
)


@cache
def _builder_fingerprint() -> str:
    """The builder's own source and the SDK versions, read once per process."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for package in SDK_PACKAGES:
        try:
            digest.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent".encode())
    return digest.hexdigest()


def cache_key(spec: ModelSpec, wiring: PipelineWiring) -> str:
    digest = hashlib.sha256()
    digest.update(spec.fingerprint().encode())
    digest.update(json.dumps(dataclasses.asdict(wiring), sort_keys=True).encode())
    digest.update(_builder_fingerprint().encode())
    return digest.hexdigest()


def _entry_is_valid(text: str) -> bool:
    try:
        return isinstance(json.loads(text).get("Steps"), list)
    except (json.JSONDecodeError, AttributeError):
        return False


def cached_definition(spec: ModelSpec, wiring: PipelineWiring, cache_dir: Path) -> str:
    entry = cache_dir / f"{cache_key(spec, wiring)}.json"
    if entry.exists():
        text = entry.read_text()
        if _entry_is_valid(text):
            return text
    text = build_definition(spec, wiring)
    write_atomically(entry, text)
    return text
