"""RegisterModel steps: a versioned model package in the local model registry
(:mod:`pipelines.local.registry`).

The step checks the group name, the approval status and that each container's model data
exists, reads each model metrics object from the object store into the package, and adds the
package as the group's next version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipelines.local.errors import DefinitionError, StepError
from pipelines.local.execution import StepContext, StepOutcome
from pipelines.local.graph import StepNode
from pipelines.local.objectstore import ObjectStore
from pipelines.local.registry import add_version, next_version

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")


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

        version = next_version(execution.run_dir, group)
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
        entry = add_version(execution.run_dir, group, version, package)
        return StepOutcome(
            properties=package,
            outputs={
                "model_package_arn": arn,
                "version": version,
                "approval": status,
                "model_data": containers[0].get("ModelDataUrl"),
                "registry_entry": str(entry),
            },
        )
