"""Lambda handler for the pipeline's autoscaling step: target tracking on an endpoint variant.

Called by a LambdaStep right after the Endpoint step. Application Auto Scaling can only
register a variant whose endpoint is InService, so the handler waits for that within its
own time budget. Registering a target and putting a policy with a fixed name both replace
what exists, so re-running the pipeline is idempotent.
"""

from __future__ import annotations

import time
from typing import Any

import boto3

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC = "SageMakerVariantInvocationsPerInstance"
WAITING_STATES = frozenset({"Creating", "Updating", "SystemUpdating"})
POLL_SECONDS = 15
# Leave time to register and answer before Lambda's own deadline.
SAFETY_MARGIN_MS = 30_000


class ScalingError(Exception):
    """The endpoint cannot be scaled; the message names why."""


def _int(event: dict[str, Any], name: str) -> int:
    try:
        return int(event[name])
    except KeyError:
        raise ScalingError(f"input {name!r} is missing") from None
    except (TypeError, ValueError):
        raise ScalingError(f"input {name} = {event[name]!r}: must be an integer") from None


def parse_request(event: dict[str, Any]) -> dict[str, Any]:
    endpoint = event.get("endpoint_name")
    if not endpoint:
        raise ScalingError("input 'endpoint_name' is missing")
    min_capacity, max_capacity = _int(event, "min_capacity"), _int(event, "max_capacity")
    if not 1 <= min_capacity <= max_capacity:
        raise ScalingError(
            f"capacity min {min_capacity} / max {max_capacity}: need 1 <= min <= max"
        )
    target = float(event.get("target_invocations", 0))
    if target <= 0:
        raise ScalingError(
            f"input target_invocations = {event.get('target_invocations')!r}: must be > 0"
        )
    return {
        "endpoint_name": str(endpoint),
        "variant_name": str(event.get("variant_name") or "AllTraffic"),
        "min_capacity": min_capacity,
        "max_capacity": max_capacity,
        "target_invocations": target,
        "scale_in_cooldown": int(event.get("scale_in_cooldown", 300)),
        "scale_out_cooldown": int(event.get("scale_out_cooldown", 60)),
    }


def wait_until_in_service(
    sagemaker: Any, endpoint: str, *, deadline: float, sleep: Any = time.sleep
) -> str:
    while True:
        status = str(sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"])
        if status == "InService":
            return status
        if status not in WAITING_STATES:
            raise ScalingError(f"endpoint {endpoint} is {status}; cannot register autoscaling")
        if time.monotonic() + POLL_SECONDS > deadline:
            raise ScalingError(f"endpoint {endpoint} still {status}; retry the step later")
        sleep(POLL_SECONDS)


def apply_scaling(autoscaling: Any, request: dict[str, Any]) -> dict[str, Any]:
    resource_id = f"endpoint/{request['endpoint_name']}/variant/{request['variant_name']}"
    autoscaling.register_scalable_target(
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=request["min_capacity"],
        MaxCapacity=request["max_capacity"],
    )
    policy = autoscaling.put_scaling_policy(
        PolicyName=f"{request['endpoint_name']}-invocations-per-instance",
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": request["target_invocations"],
            "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
            "ScaleInCooldown": request["scale_in_cooldown"],
            "ScaleOutCooldown": request["scale_out_cooldown"],
        },
    )
    return {
        "status": "registered",
        "resource_id": resource_id,
        "min_capacity": request["min_capacity"],
        "max_capacity": request["max_capacity"],
        "policy_arn": policy["PolicyARN"],
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_request(event)
    remaining_ms = context.get_remaining_time_in_millis() if context else 60_000
    deadline = time.monotonic() + max(0, remaining_ms - SAFETY_MARGIN_MS) / 1000
    wait_until_in_service(boto3.client("sagemaker"), request["endpoint_name"], deadline=deadline)
    return apply_scaling(boto3.client("application-autoscaling"), request)
