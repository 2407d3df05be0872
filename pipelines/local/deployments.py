"""What the local runs deployed: one record per endpoint in ``<run dir>/endpoints/``, written
when an Endpoint step has its server answering, so ``pipelines.local serve`` can bring the same
model back after the run has stopped its endpoints. The record names the model data and code
the endpoint served, the registry version they belong to, and the request and answer of the
run's smoke prediction, which ``serve`` shows as a ready-to-paste example."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.files import write_atomically


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    model_data_url: str
    program: str
    submit_directory: str
    environment: dict[str, str]
    execution_id: str
    deployed_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # The smoke prediction: {"content_type", "body", "status", "response"}.
    example: dict[str, Any] | None = None


def _path(run_dir: Path, endpoint: str) -> Path:
    return run_dir / "endpoints" / f"{endpoint}.json"


def record_deployment(run_dir: Path, deployment: Deployment) -> None:
    path = _path(run_dir, deployment.endpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(asdict(deployment), indent=2) + "\n")


def add_example(run_dir: Path, endpoint: str, example: dict[str, Any]) -> None:
    deployment = last_deployment(run_dir, endpoint)
    if deployment is not None:
        record_deployment(run_dir, Deployment(**{**asdict(deployment), "example": example}))


def last_deployment(run_dir: Path, endpoint: str) -> Deployment | None:
    try:
        return Deployment(**json.loads(_path(run_dir, endpoint).read_text()))
    except (OSError, ValueError, TypeError):
        return None
