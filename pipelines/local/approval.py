"""``approve`` and ``reject``: change a version's status in the local registry, then run the
deployer Lambda's own code (:mod:`pipelines.lambdas.model_deployment`) against the local
control plane, as the EventBridge rules run it in AWS: once for the registry's state change,
and, when that started a deployment, once more for the endpoint's (locally it is InService at
once), which records the new version live. So the local endpoint switches versions by the
deployer's rule: the Approved version approved last serves.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipelines.lambdas.model_deployment import (
    ENDPOINT_EVENT,
    REGISTRY_EVENT,
    TAG,
    Deployment,
    DeploymentError,
    Outcome,
    Settings,
)
from pipelines.local.assembly import list_pipelines, load_assembly
from pipelines.local.control_plane import LocalAutoscaling, LocalSageMaker
from pipelines.local.deployments import last_deployment
from pipelines.local.errors import LocalRunError
from pipelines.local.registry import versions
from pipelines.local.serve import model_names

STATUSES = {"approve": ("Approved", "approved"), "reject": ("Rejected", "rejected")}
DEPLOYER_HANDLER = "model_deployment.handler"


class NothingApprovedError(LocalRunError):
    """The registry change was made, but no version is left to serve."""

    exit_code = 1


@dataclass(frozen=True)
class Change:
    model: str
    version: int
    command: str  # approve or reject


def _settings(assembly: Path, model: str, group: str) -> tuple[Settings, str, str]:
    """The deployer's settings as the stack gives them to its Lambda, and the region and
    account the assembly deploys to."""
    pipeline = next(entry.name for entry in list_pipelines(assembly) if entry.model == model)
    loaded = load_assembly(assembly, pipeline)
    for function in loaded.functions.values():
        if not function.handler.endswith(DEPLOYER_HANDLER):
            continue
        settings = Settings.from_environment(function.environment)
        if settings.model_package_group == group:
            return settings, loaded.region, loaded.account
    raise LocalRunError(f"model {model!r}: no deployer for {group} in {assembly}")


def _registry_event(entry: Mapping[str, Any]) -> dict[str, Any]:
    """As SageMaker sends it to EventBridge: the fields the deployer's rule matches on."""
    return {
        "id": str(uuid.uuid4()),
        "source": "aws.sagemaker",
        "detail-type": REGISTRY_EVENT,
        "detail": {
            "ModelPackageGroupName": entry["ModelPackageGroupName"],
            "ModelPackageVersion": entry["ModelPackageVersion"],
            "ModelPackageArn": entry["ModelPackageArn"],
            "ModelApprovalStatus": entry["ModelApprovalStatus"],
            "UpdatedModelPackageFields": ["ModelApprovalStatus"],
        },
    }


def _endpoint_event(endpoint: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "source": "aws.sagemaker",
        "detail-type": ENDPOINT_EVENT,
        "detail": {"EndpointName": endpoint, "EndpointStatus": "IN_SERVICE"},
    }


def _adopt_pipeline_endpoint(
    plane: LocalSageMaker, run_dir: Path, settings: Settings, registered: list[dict[str, Any]]
) -> None:
    """The endpoint a pipeline run deployed becomes the plane's, tagged with the version it
    serves, as the pipeline's deploy branch leaves its endpoint in SageMaker."""
    deployed = last_deployment(run_dir, settings.endpoint_name)
    if deployed is None:
        return
    urls = [e["InferenceSpecification"]["Containers"][0].get("ModelDataUrl") for e in registered]
    matches = [e for e, url in zip(registered, urls, strict=True) if url == deployed.model_data_url]
    if not matches:
        return
    entry = matches[-1]
    instance_types = entry["InferenceSpecification"].get("SupportedRealtimeInferenceInstanceTypes")
    variant = {"VariantName": settings.variant_name, "ModelName": "pipeline"}
    if instance_types:
        variant["InstanceType"] = instance_types[0]
    config = {
        "EndpointConfigName": f"{settings.endpoint_name}-pipeline",
        "ProductionVariants": [variant],
    }
    version = str(entry["ModelPackageVersion"])
    live = {"live-version": version, "live-package": entry["ModelPackageArn"]}
    plane.adopt(settings.endpoint_name, config, {TAG + k: v for k, v in live.items()})


def _live(plane: LocalSageMaker, endpoint: str) -> str | None:
    try:
        arn = plane.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    except Exception:  # botocore's ClientError: no endpoint yet
        return None
    tags = {tag["Key"]: tag["Value"] for tag in plane.list_tags(ResourceArn=arn)["Tags"]}
    return tags.get(TAG + "live-version") or None


def _deploy(plane: LocalSageMaker, settings: Settings, entry: Mapping[str, Any]) -> Outcome:
    deployment = Deployment(plane, LocalAutoscaling(plane.run_dir), settings)
    outcome = deployment.handle(_registry_event(entry))
    if outcome.action in ("creating", "updating"):
        # EventBridge's endpoint rule: the update finished, so the deployer records it live.
        deployment = Deployment(plane, LocalAutoscaling(plane.run_dir), settings)
        outcome = deployment.handle(_endpoint_event(settings.endpoint_name))
    return outcome


def change_status(run_dir: Path, assembly: Path, change: Change, out: TextIO) -> int:
    """Set the version's status, run the deployer, print which version now serves."""
    endpoint, group = model_names(assembly, change.model)
    registered = versions(run_dir, group)
    entry = next((e for e in registered if e["ModelPackageVersion"] == change.version), None)
    if entry is None:
        numbers = ", ".join(str(e["ModelPackageVersion"]) for e in registered) or "none"
        raise LocalRunError(
            f"model {change.model!r}: v{change.version} is not registered in {group} "
            f"(registered: {numbers})"
        )
    status, verb = STATUSES[change.command]
    try:
        settings, region, account = _settings(assembly, change.model, group)
        plane = LocalSageMaker(run_dir, region, account)
        _adopt_pipeline_endpoint(plane, run_dir, settings, registered)
        was = _live(plane, endpoint)
        plane.update_model_package(
            ModelPackageArn=entry["ModelPackageArn"], ModelApprovalStatus=status
        )
        updated = plane.describe_model_package(ModelPackageName=entry["ModelPackageArn"])
        outcome = _deploy(plane, settings, updated)
    except DeploymentError as error:
        raise LocalRunError(f"model {change.model!r}: {error}") from None
    serving = _live(plane, endpoint)
    done = f"{verb} v{change.version}"
    if outcome.action in ("none", "kept"):
        still = f"v{serving} keeps serving" if serving else "nothing serves"
        raise NothingApprovedError(f"{change.model}: {done}; no approved version left, {still}")
    before = f"v{was}" if was else "nothing"
    print(f"{change.model}: v{serving} serves (was {before}); {done}", file=out)
    return 0
