"""What serves a model and why: the deployment record the deployer keeps in its endpoint's
tags (``deployment:*``), beside the version it would deploy now. Read with the deployer's own
functions, so `pipelines.cli status` shows exactly what the deployer decides from."""

from __future__ import annotations

from typing import Any

from pipelines.lambdas.model_deployment import describe_endpoint, latest_approved
from pipelines.names import ModelNames


def status_lines(sagemaker: Any, names: ModelNames) -> list[str]:
    endpoint = describe_endpoint(sagemaker, names.endpoint)
    wanted = latest_approved(sagemaker, names.model_package_group)
    lines = []
    if endpoint is None:
        lines.append(f"{names.endpoint}: no endpoint")
    else:
        lines.append(f"{names.endpoint}: {endpoint.status} (config {endpoint.config_name})")
        live = endpoint.tag("live-version")
        if live:
            lines.append(
                f"  live: version {live} since {endpoint.tag('live-since')}, approved by "
                f"{endpoint.tag('live-approved-by')}, deployed on {endpoint.tag('live-trigger')}"
            )
            lines.append(f"    package {endpoint.tag('live-package')}")
        else:
            lines.append("  live: no version recorded (not deployed by the deployer yet)")
        target = endpoint.tag("target-version")
        if target and target != live:
            lines.append(
                f"  deploying: version {target} (config {endpoint.tag('target-config')}), "
                f"on {endpoint.tag('target-trigger')}"
            )
        if endpoint.failure_reason:
            lines.append(f"  last failure: {endpoint.failure_reason}")
    if wanted is None:
        lines.append(f"{names.model_package_group}: no approved version; approve one to deploy")
    else:
        lines.append(
            f"{names.model_package_group}: the latest approved is version {wanted.version} "
            f"(approved {wanted.approved_at:%Y-%m-%dT%H:%M:%SZ} by {wanted.approved_by})"
        )
    return lines
