"""RegisterModel steps: a versioned model package in a local model registry.

``<run dir>/registry/<group>/<version>.json`` holds what ``DescribeModelPackage`` would show:
approval status, inference specification, model data URL, and the model metrics with the
contents of each metrics object read from the object store. Versions count up from 1 per
group, like a model package group's versions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.local.errors import DefinitionError, StepError
from pipelines.local.graph import StepNode
from pipelines.local.jobs import StepContext, StepOutcome, write_json
from pipelines.local.objectstore import ObjectStore

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")


def registry_dir(run_dir: Path) -> Path:
    return run_dir / "registry"


def versions(run_dir: Path, group: str) -> list[dict[str, Any]]:
    """The registered versions of ``group``, oldest first."""
    folder = registry_dir(run_dir) / group
    found = [path for path in folder.glob("*.json") if path.stem.isdigit()]
    return [json.loads(path.read_text()) for path in sorted(found, key=lambda p: int(p.stem))]


def _metrics(model_metrics: Any, store: ObjectStore) -> Any:
    """Model metrics with each ``S3Uri`` object's contents next to it."""
    if isinstance(model_metrics, Mapping):
        resolved: dict[str, Any] = {
            key: _metrics(value, store) for key, value in model_metrics.items()
        }
        uri = model_metrics.get("S3Uri")
        if isinstance(uri, str):
            try:
                content = store.read_bytes(uri).decode()
            except StepError:
                raise StepError(f"model metrics object {uri} does not exist") from None
            json_type = "json" in str(model_metrics.get("ContentType", "")).lower()
            resolved["Content"] = json.loads(content) if json_type else content
        return resolved
    return model_metrics


class RegisterModelExecutor:
    def check(self, node: StepNode) -> None:
        arguments = node.step.get("Arguments", {})
        if not arguments.get("ModelPackageGroupName"):
            raise DefinitionError(
                f"step {node.name}: only versioned packages (ModelPackageGroupName) are supported"
            )
        containers = (arguments.get("InferenceSpecification") or {}).get("Containers")
        if not containers:
            raise DefinitionError(f"step {node.name}: InferenceSpecification has no Containers")

    def inputs(self, arguments: Any) -> list[str]:
        return []

    def run(self, context: StepContext) -> StepOutcome:
        arguments = context.arguments
        execution = context.execution
        store = execution.store
        group = str(arguments["ModelPackageGroupName"])
        if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", group):
            raise StepError(f"{context.node.name}: invalid model package group name {group!r}")
        status = str(arguments.get("ModelApprovalStatus", "PendingManualApproval"))
        if status not in APPROVAL_STATUSES:
            raise StepError(f"{context.node.name}: invalid ModelApprovalStatus {status!r}")
        containers = arguments["InferenceSpecification"]["Containers"]
        for container in containers:
            url = container.get("ModelDataUrl")
            if url is not None and not store.is_object(str(url)):
                raise StepError(f"{context.node.name}: ModelDataUrl {url} does not exist")
        metrics = _metrics(arguments.get("ModelMetrics") or {}, store)

        folder = registry_dir(execution.run_dir) / group
        folder.mkdir(parents=True, exist_ok=True)
        existing = [int(path.stem) for path in folder.glob("*.json") if path.stem.isdigit()]
        version = max(existing, default=0) + 1
        arn = (
            f"arn:aws:sagemaker:{execution.region}:{execution.account}:"
            f"model-package/{group.lower()}/{version}"
        )
        package = {
            **arguments,
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            "ModelPackageName": f"{group}/{version}",
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": status,
            "ModelMetrics": metrics,
            "CreationTime": datetime.now(UTC).isoformat(),
            "MetadataProperties": {"GeneratedBy": execution.arn},
        }
        write_json(folder / f"{version}.json", package)
        return StepOutcome(
            properties=package,
            outputs={
                "model_package_arn": arn,
                "version": version,
                "approval": status,
                "model_data": containers[0].get("ModelDataUrl"),
                "registry_entry": str(folder / f"{version}.json"),
            },
        )
