"""A content-addressed cache of built pipeline definitions.

Building imports the SageMaker SDK (2-4 s, 250 MB) for a result that depends only on the
settings, this package's builder source and the installed SDK version. Keying the cache on
exactly those makes a re-synth with nothing changed skip the SDK entirely, while any change
to an input, the builder or the SDK builds afresh. A damaged entry is rebuilt, never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from importlib import metadata
from pathlib import Path

from pipelines import definition
from pipelines.definition import PipelineSettings, build_definition
from pipelines.files import write_atomically


def cache_key(settings: PipelineSettings) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(dataclasses.asdict(settings), sort_keys=True).encode())
    digest.update(Path(definition.__file__).read_bytes())
    for package in ("sagemaker", "sagemaker-core", "sagemaker-mlops", "sagemaker-train"):
        try:
            digest.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent".encode())
    return digest.hexdigest()


def _entry_is_valid(text: str) -> bool:
    try:
        return isinstance(json.loads(text).get("Steps"), list)
    except (json.JSONDecodeError, AttributeError):
        return False


def cached_definition(settings: PipelineSettings, cache_dir: Path) -> str:
    entry = cache_dir / f"{cache_key(settings)}.json"
    if entry.exists():
        text = entry.read_text()
        if _entry_is_valid(text):
            return text
    text = build_definition(settings)
    write_atomically(entry, text)
    return text
