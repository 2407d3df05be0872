"""The local model registry: versioned model packages, one JSON file each.

``<run dir>/registry/<group>/<version>.json`` holds what ``DescribeModelPackage`` would show:
approval status, inference specification, model data URL, and the model metrics with the
contents of each metrics object. Versions count up from 1 per group, like a model package
group's versions. RegisterModel steps (:mod:`pipelines.local.register_step`) add versions;
``serve`` reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def registry_dir(run_dir: Path) -> Path:
    return run_dir / "registry"


def versions(run_dir: Path, group: str) -> list[dict[str, Any]]:
    """The registered versions of ``group``, oldest first."""
    folder = registry_dir(run_dir) / group
    found = [path for path in folder.glob("*.json") if path.stem.isdigit()]
    return [json.loads(path.read_text()) for path in sorted(found, key=lambda p: int(p.stem))]


def next_version(run_dir: Path, group: str) -> int:
    folder = registry_dir(run_dir) / group
    existing = [int(path.stem) for path in folder.glob("*.json") if path.stem.isdigit()]
    return max(existing, default=0) + 1


def add_version(run_dir: Path, group: str, version: int, package: Mapping[str, Any]) -> Path:
    """Write ``package`` as ``version`` of ``group``; the path of its entry."""
    path = registry_dir(run_dir) / group / f"{version}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(package, indent=2, default=str) + "\n")
    return path
