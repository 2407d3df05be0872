"""The one way a model's endpoint changes: make it serve the model's most recently approved
version, and record on the endpoint what it did.

Every trigger runs the same reconciliation, so every path deploys alike and a repeated or late
trigger changes nothing: the EventBridge rule on the model package group (an approval or a
rejection in Studio, the CLI or the API), the rule on the endpoint's own state changes (a
create or an update finished, failed or was rolled back), a person's ``{"ModelPackageArn":
...}`` from the Lambda console, and the training pipeline's deploy step (``{"trigger": ...}``).

- The wanted version is the Approved one approved last: an approval deploys exactly that
  version, as it was registered (no retraining); approving an older version rolls back to it;
  rejecting the live one falls back to the version approved before it. The registry keeps no
  approval time, so ``LastModifiedTime`` stands in for it; registry events other than
  approval-status changes (a lifecycle stage, a description) are ignored for that reason.
- A create or update returns at once; the endpoint's next state-change event closes the loop:
  the new version is recorded live and autoscaling (re)applied, or, if the endpoint could not
  take the version, that version is Rejected in the registry with the reason, so it is not
  deployed again until someone approves it anew.
- Autoscaling: an update that keeps the instance type leaves the scalable target registered
  ("If you change the model for a variant that is configured for auto scaling, Amazon
  SageMaker auto scaling allows the update") and keeps the instance count it scaled to
  (``RetainAllVariantProperties``); one that changes the instance type, or moves to or from
  serverless, deregisters first, as SageMaker requires.
- Blue/green guardrails (canary or linear traffic shifting, rollback alarms) are off unless
  the settings ask for them: without them an update is SageMaker's default blue/green, all
  traffic at once.
- The record: the endpoint's tags (``deployment:*``) name the live version, its package, since
  when, who approved it and which trigger deployed it, and the version being deployed.

Only ``sagemaker`` and ``application-autoscaling`` calls are made, through clients passed in,
so tests run the same requests against moto. The module needs nothing but the standard
library and boto3: it is the Lambda's whole code.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_METRIC = "SageMakerVariantInvocationsPerInstance"
SETTINGS_VARIABLE = "DEPLOYMENT_SETTINGS"
TAG = "deployment:"
REGISTRY_EVENT = "SageMaker Model Package State Change"
ENDPOINT_EVENT = "SageMaker Endpoint State Change"
BUSY_STATES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
TRAFFIC_TYPES = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
# Room for SageMaker to provision the new fleet before the first traffic shift, on top of the
# waits and the bake the settings ask for; the API bounds the whole update to 600-28800 s.
PROVISIONING_SECONDS = 1800
UPDATE_TIMEOUT_BOUNDS = (600, 28800)
# ProductionVariantServerlessConfig: memory in 1 GB steps from 1 to 6 GB, 1-200 concurrent.
SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_ROLLBACK_ALARMS = 10
# EndpointConfigName and ModelName are at most 63 characters.
MAX_NAME_LENGTH = 63


class DeploymentError(Exception):
    """The deployment cannot proceed; the message says why in one line."""


@dataclass(frozen=True)
class Settings:
    """One model's deployment, from the Lambda's environment (the model spec, the stack's
    names and alarms): the same for every trigger, so every path deploys alike."""

    endpoint_name: str
    model_package_group: str
    execution_role_arn: str
    variant_name: str = "AllTraffic"
    kms_key_arn: str | None = None
    min_capacity: int = 1
    max_capacity: int = 1
    target_invocations: float = 70.0
    # {"memory_mb": 2048, "max_concurrency": 5} for a serverless endpoint, else None.
    serverless: Mapping[str, int] | None = None
    traffic: str = "all-at-once"
    traffic_step_percent: int = 10
    wait_seconds: int = 300
    bake_seconds: int = 300
    rollback_alarms: tuple[str, ...] = ()
    # s3:// prefix for captured requests and responses; None: no data capture.
    capture_uri: str | None = None
    capture_percent: int = 20
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = settings_problems(self)
        if problems:
            raise DeploymentError(problems[0])

    @property
    def blue_green(self) -> bool:
        """Guardrails asked for: traffic shifted in steps, or alarms to roll back on."""
        return self.traffic != "all-at-once" or bool(self.rollback_alarms)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        raw = environ.get(SETTINGS_VARIABLE)
        if not raw:
            raise DeploymentError(f"environment variable {SETTINGS_VARIABLE} is not set")
        try:
            values = json.loads(raw)
            values["rollback_alarms"] = tuple(values.get("rollback_alarms", ()))
            return cls(**values)
        except (ValueError, TypeError) as exc:
            raise DeploymentError(f"{SETTINGS_VARIABLE} is not valid: {exc}") from None


def settings_problems(settings: Settings) -> list[str]:
    """What SageMaker or Application Auto Scaling would refuse, or what cannot apply, one line
    each, so a bad setting fails the first run rather than a deployment halfway."""
    s = settings
    step = s.traffic_step_percent
    checks = [
        (
            s.traffic in TRAFFIC_TYPES,
            f"traffic = {s.traffic!r}: allowed {', '.join(TRAFFIC_TYPES)}",
        ),
        (
            1 <= s.min_capacity <= s.max_capacity,
            f"capacity min {s.min_capacity} / max {s.max_capacity}: need 1 <= min <= max",
        ),
        # "the canary size should be less than or equal to 50% of the new fleet's capacity"
        (s.traffic != "canary" or 1 <= step <= 50, f"canary step {step}%: need 1-50"),
        # "Each linear step should only be between 10-50% of the green fleet's capacity"
        (s.traffic != "linear" or 10 <= step <= 50, f"linear step {step}%: need 10-50"),
        (0 <= s.wait_seconds <= 3600, f"wait_seconds = {s.wait_seconds}: need 0-3600"),
        (0 <= s.bake_seconds <= 3600, f"bake_seconds = {s.bake_seconds}: need 0-3600"),
        (
            len(s.rollback_alarms) <= MAX_ROLLBACK_ALARMS,
            f"{len(s.rollback_alarms)} rollback alarms: at most {MAX_ROLLBACK_ALARMS}",
        ),
        (0 <= s.capture_percent <= 100, f"capture_percent = {s.capture_percent}: need 0-100"),
    ]
    problems = [message for holds, message in checks if not holds]
    if s.serverless is not None:
        problems += _serverless_problems(s.serverless, s.traffic)
    return problems


def _serverless_problems(serverless: Mapping[str, int], traffic: str) -> list[str]:
    memory, concurrency = serverless.get("memory_mb"), serverless.get("max_concurrency")
    problems = []
    if memory not in SERVERLESS_MEMORY_MB:
        problems.append(f"serverless memory_mb = {memory}: one of {SERVERLESS_MEMORY_MB}")
    if not isinstance(concurrency, int) or not 1 <= concurrency <= 200:
        problems.append(f"serverless max_concurrency = {concurrency}: need 1-200")
    if traffic != "all-at-once":
        # Canary and linear steps are shares of the fleet's instances, which a serverless
        # variant has none of; AWS documents no guardrails for serverless either way.
        problems.append(f"traffic = {traffic!r} needs instances: serverless shifts all at once")
    return problems


@dataclass(frozen=True)
class Package:
    arn: str
    group: str
    version: int
    status: str
    approved_at: datetime
    approved_by: str
    instance_type: str | None


@dataclass(frozen=True)
class Endpoint:
    status: str
    config_name: str
    failure_reason: str
    tags: Mapping[str, str]

    def tag(self, name: str) -> str:
        return self.tags.get(TAG + name, "")


def _approver(package: Mapping[str, Any]) -> str:
    """Who set the status last: the Studio user, else the IAM identity, else the pipeline."""
    modified = package.get("LastModifiedBy") or {}
    identity = (modified.get("IamIdentity") or {}).get("Arn")
    generated = (package.get("MetadataProperties") or {}).get("GeneratedBy", "")
    return str(modified.get("UserProfileName") or identity or generated or "unknown")


def describe_package(sagemaker: Any, arn: str) -> Package:
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    spec = package.get("InferenceSpecification") or {}
    instance_types = spec.get("SupportedRealtimeInferenceInstanceTypes") or [None]
    when = package.get("LastModifiedTime") or package["CreationTime"]
    return Package(
        arn=str(package["ModelPackageArn"]),
        group=str(package.get("ModelPackageGroupName", "")),
        version=int(package["ModelPackageVersion"]),
        status=str(package.get("ModelApprovalStatus", "")),
        approved_at=when if isinstance(when, datetime) else datetime.fromisoformat(str(when)),
        approved_by=_approver(package),
        instance_type=instance_types[0],
    )


def latest_approved(sagemaker: Any, group: str) -> Package | None:
    """The Approved version approved last; ties (one registration) go to the higher version."""
    request: dict[str, Any] = {"ModelPackageGroupName": group, "ModelApprovalStatus": "Approved"}
    arns: list[str] = []
    while True:
        page = sagemaker.list_model_packages(**request)
        arns += [str(item["ModelPackageArn"]) for item in page.get("ModelPackageSummaryList", [])]
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    packages = [describe_package(sagemaker, arn) for arn in arns]
    return max(packages, key=lambda p: (p.approved_at, p.version), default=None)


def describe_endpoint(sagemaker: Any, name: str) -> Endpoint | None:
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
    except Exception as exc:  # botocore's ClientError, which this module does not import
        if "Could not find endpoint" in str(exc) or _code(exc) == "ResourceNotFound":
            return None
        raise
    tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
    return Endpoint(
        status=str(endpoint["EndpointStatus"]),
        config_name=str(endpoint.get("EndpointConfigName", "")),
        failure_reason=str(endpoint.get("FailureReason", "")),
        tags={str(tag["Key"]): str(tag["Value"]) for tag in tags},
    )


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def deployment_config(settings: Settings) -> dict[str, Any] | None:
    """The update's blue/green policy, or None for SageMaker's default (all at once, no
    bake), which is all an update without alarms to watch can use."""
    if not settings.blue_green:
        return None
    routing: dict[str, Any] = {
        "Type": TRAFFIC_TYPES[settings.traffic],
        "WaitIntervalInSeconds": settings.wait_seconds,
    }
    step = {"Type": "CAPACITY_PERCENT", "Value": settings.traffic_step_percent}
    waits = 1
    if settings.traffic == "canary":
        routing["CanarySize"] = step
    elif settings.traffic == "linear":
        routing["LinearStepSize"] = step
        waits = math.ceil(100 / settings.traffic_step_percent)
    # "should be larger than the total waiting time specified in TerminationWaitInSeconds
    # and WaitIntervalInSeconds"
    lowest, highest = UPDATE_TIMEOUT_BOUNDS
    needed = PROVISIONING_SECONDS + settings.wait_seconds * waits + settings.bake_seconds
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": settings.bake_seconds,
            "MaximumExecutionTimeoutInSeconds": min(max(needed, lowest), highest),
        }
    }
    if settings.rollback_alarms:
        config["AutoRollbackConfiguration"] = {
            "Alarms": [{"AlarmName": name} for name in settings.rollback_alarms]
        }
    return config


def production_variant(settings: Settings, model_name: str, package: Package) -> dict[str, Any]:
    variant: dict[str, Any] = {"VariantName": settings.variant_name, "ModelName": model_name}
    if settings.serverless is not None:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": int(settings.serverless["memory_mb"]),
            "MaxConcurrency": int(settings.serverless["max_concurrency"]),
        }
        return variant
    if package.instance_type is None:
        raise DeploymentError(
            f"model package {package.arn} names no real-time instance type to deploy on"
        )
    variant["InstanceType"] = package.instance_type
    variant["InitialInstanceCount"] = settings.min_capacity
    return variant


def _tags(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


def version_resource_name(endpoint: str, version: int, now: datetime) -> str:
    """A model and endpoint config name unique per deployment, since the same version may be
    deployed again after a rollback; milliseconds, as a rollback may follow within a second."""
    suffix = f"-v{version}-{int(now.timestamp() * 1000):x}"
    return endpoint[: MAX_NAME_LENGTH - len(suffix)].rstrip("-") + suffix


def create_version_config(
    sagemaker: Any, settings: Settings, package: Package, now: datetime
) -> tuple[str, dict[str, Any]]:
    """A model serving the registered package as it is, and an endpoint config for it."""
    name = version_resource_name(settings.endpoint_name, package.version, now)
    tags = _tags({**settings.tags, TAG + "version": str(package.version)})
    sagemaker.create_model(
        ModelName=name,
        Containers=[{"ModelPackageName": package.arn}],
        ExecutionRoleArn=settings.execution_role_arn,
        Tags=tags,
    )
    variant = production_variant(settings, name, package)
    request: dict[str, Any] = {
        "EndpointConfigName": name,
        "ProductionVariants": [variant],
        "Tags": tags,
    }
    if settings.kms_key_arn:
        request["KmsKeyId"] = settings.kms_key_arn
    # Serverless inference does not support data capture.
    if settings.capture_uri and settings.serverless is None:
        request["DataCaptureConfig"] = _data_capture(settings)
    sagemaker.create_endpoint_config(**request)
    return name, variant


def _data_capture(settings: Settings) -> dict[str, Any]:
    capture: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": settings.capture_percent,
        "DestinationS3Uri": settings.capture_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    if settings.kms_key_arn:
        capture["KmsKeyId"] = settings.kms_key_arn
    return capture


def _resource_id(settings: Settings) -> str:
    return f"endpoint/{settings.endpoint_name}/variant/{settings.variant_name}"


def register_autoscaling(autoscaling: Any, settings: Settings) -> str:
    """Target tracking on the variant's invocations per instance. Registering a target and
    putting a policy of a fixed name replace what exists, so every run applies the same."""
    if settings.serverless is not None:
        return "serverless: no instance autoscaling"
    resource = _resource_id(settings)
    autoscaling.register_scalable_target(
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=resource,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=settings.min_capacity,
        MaxCapacity=settings.max_capacity,
    )
    autoscaling.put_scaling_policy(
        PolicyName=f"{settings.endpoint_name}-invocations-per-instance",
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=resource,
        ScalableDimension=SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": settings.target_invocations,
            "PredefinedMetricSpecification": {"PredefinedMetricType": SCALING_METRIC},
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    )
    return f"{settings.min_capacity}-{settings.max_capacity} instances"


def deregister_autoscaling(autoscaling: Any, settings: Settings) -> bool:
    """Remove the variant's scalable target (and with it its policies); False if none."""
    resource = _resource_id(settings)
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace=SERVICE_NAMESPACE, ResourceIds=[resource]
    ).get("ScalableTargets", [])
    if not targets:
        return False
    autoscaling.deregister_scalable_target(
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=resource,
        ScalableDimension=SCALABLE_DIMENSION,
    )
    return True


def _live_variant(sagemaker: Any, config_name: str) -> Mapping[str, Any]:
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants: list[Mapping[str, Any]] = config.get("ProductionVariants", [])
    return variants[0] if variants else {}


def _same_capacity_kind(live: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when an update keeps instance autoscaling valid: same instance type, no move to or
    from serverless."""
    if "ServerlessConfig" in live or "ServerlessConfig" in new:
        return False
    return bool(live.get("InstanceType") == new.get("InstanceType"))


@dataclass(frozen=True)
class Trigger:
    """What started a run: ``line`` names it in the logs and the endpoint's tags;
    ``package_arn`` is the version a person asked for by hand."""

    line: str
    package_arn: str | None = None


def _approval_changed(detail: Mapping[str, Any]) -> bool:
    fields = detail.get("UpdatedModelPackageFields")
    if fields is None:
        # AWS documents no field list for a registration; one registered Approved is an
        # approval all the same (the training pipeline's dev default).
        return detail.get("ModelApprovalStatus") == "Approved"
    return "ModelApprovalStatus" in fields


def read_trigger(event: Mapping[str, Any], settings: Settings) -> Trigger | None:
    """The trigger an event is for this model, or None: another model's or endpoint's event,
    another kind of event, or a registry change that is no approval-status change (a
    lifecycle stage, a description), which must not move ``LastModifiedTime``'s winner."""
    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    # "SageMaker AI may send multiple events to EventBridge for each state change": the id
    # tells a duplicate from a new change in the record.
    seen = f" event {event['id']}" if event.get("id") else ""
    if kind == REGISTRY_EVENT:
        if detail.get("ModelPackageGroupName") != settings.model_package_group:
            return None
        if not _approval_changed(detail):
            return None
        version, status = detail.get("ModelPackageVersion"), detail.get("ModelApprovalStatus")
        return Trigger(f"registry {settings.model_package_group} v{version} {status}{seen}")
    if kind == ENDPOINT_EVENT:
        if detail.get("EndpointName") != settings.endpoint_name:
            return None
        return Trigger(f"endpoint {settings.endpoint_name} {detail.get('EndpointStatus')}{seen}")
    if kind is not None or "source" in event:
        return None
    # The console's test event names the version as the API does; the training pipeline's
    # deploy step passes the version it registered and its execution as ``trigger``.
    arn = event.get("ModelPackageArn") or event.get("model_package_arn")
    line = event.get("trigger") or (f"by hand {arn}" if arn else "direct invocation")
    return Trigger(str(line), package_arn=str(arn) if arn else None)


@dataclass
class Outcome:
    """What a run did: ``action`` is one word, ``message`` one line for people."""

    action: str
    message: str
    live_version: int | None = None
    target_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.action,
            "message": self.message,
            "live_version": "" if self.live_version is None else str(self.live_version),
            "target_version": "" if self.target_version is None else str(self.target_version),
        }


class Deployment:
    """One model's endpoint, reconciled against its model registry."""

    def __init__(
        self, sagemaker: Any, autoscaling: Any, settings: Settings, *, now: datetime | None = None
    ) -> None:
        self.sagemaker = sagemaker
        self.autoscaling = autoscaling
        self.settings = settings
        self.now = now or datetime.now(UTC)
        self.taken = False

    def handle(self, event: Mapping[str, Any]) -> Outcome:
        trigger = read_trigger(event, self.settings)
        if trigger is None:
            return Outcome("ignored", "neither this model's approvals nor its endpoint's state")
        asked = self._asked_for(trigger.package_arn) if trigger.package_arn else None
        outcome = self.reconcile(trigger.line)
        wanted = outcome.target_version
        if asked is not None and wanted is not None and wanted != asked.version:
            outcome.message += f"; v{wanted} was approved after v{asked.version}, so it serves"
        return outcome

    def _asked_for(self, arn: str) -> Package:
        """The version a person named by hand: one of this model's, and approved, since the
        registry, not the invocation, decides what may serve."""
        package = describe_package(self.sagemaker, arn)
        if package.group != self.settings.model_package_group:
            raise DeploymentError(
                f"{arn} is a version of {package.group}, not of {self.settings.model_package_group}"
            )
        if package.status != "Approved":
            raise DeploymentError(
                f"v{package.version} is {package.status}: approve it in the registry to deploy it"
            )
        return package

    def reconcile(self, trigger: str) -> Outcome:
        endpoint = describe_endpoint(self.sagemaker, self.settings.endpoint_name)
        if endpoint is not None and endpoint.status in BUSY_STATES:
            # Its state-change event runs the reconciliation again once it settles.
            version = endpoint.tag("target-version") or "?"
            return Outcome("busy", f"endpoint is {endpoint.status} (deploying v{version})")
        settled = self._settle(endpoint) if endpoint is not None else None
        if settled is not None and settled.action == "failed":
            return settled
        wanted = latest_approved(self.sagemaker, self.settings.model_package_group)
        endpoint = describe_endpoint(self.sagemaker, self.settings.endpoint_name)
        live = _int(endpoint.tag("live-version")) if endpoint is not None else None
        if wanted is None:
            if endpoint is None:
                return Outcome("none", "no approved version and no endpoint: nothing to deploy")
            return Outcome(
                "kept",
                f"no approved version left; the endpoint keeps serving v{live} "
                "(delete the endpoint to stop it billing)",
                live_version=live,
            )
        if endpoint is not None and live == wanted.version:
            scaling = register_autoscaling(self.autoscaling, self.settings)
            if settled is not None:
                return replace(settled, message=f"{settled.message} ({scaling})")
            return Outcome(
                "current",
                f"v{live} is live ({scaling})",
                live_version=live,
                target_version=live,
            )
        return self._deploy(endpoint, wanted, live, trigger)

    def _settle(self, endpoint: Endpoint) -> Outcome | None:
        """Close the previous deployment: record it live, or reject a version SageMaker
        rolled back or could not start."""
        target = _int(endpoint.tag("target-version"))
        live = _int(endpoint.tag("live-version"))
        if target is None or target == live:
            return None
        if endpoint.status == "InService" and endpoint.config_name == endpoint.tag("target-config"):
            self._record_live(endpoint, target)
            was = "nothing" if live is None else f"v{live}"
            return Outcome("deployed", f"v{target} is live (was {was})", live, target)
        reason = endpoint.failure_reason or "SageMaker rolled the update back"
        self.sagemaker.update_model_package(
            ModelPackageArn=endpoint.tag("target-package"),
            ModelApprovalStatus="Rejected",
            ApprovalDescription=_tag_value(f"Deployment rolled back: {reason}"),
        )
        self._tag({"target-version": str(live or ""), "target-config": endpoint.config_name})
        if endpoint.status == "Failed":
            # A failed endpoint takes no update; the next approved version gets a new one.
            self.sagemaker.delete_endpoint(EndpointName=self.settings.endpoint_name)
            return Outcome("failed", f"v{target} failed to start and was rejected: {reason}")
        return Outcome("rolled-back", f"v{target} was rolled back and rejected: {reason}", live)

    def _record_live(self, endpoint: Endpoint, version: int) -> None:
        package = describe_package(self.sagemaker, endpoint.tag("target-package"))
        self._tag(
            {
                "live-version": str(version),
                "live-package": package.arn,
                "live-since": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "live-approved-by": _tag_value(package.approved_by),
                "live-trigger": endpoint.tag("target-trigger"),
            }
        )

    def _deploy(
        self, endpoint: Endpoint | None, package: Package, live: int | None, trigger: str
    ) -> Outcome:
        config_name, variant = create_version_config(
            self.sagemaker, self.settings, package, self.now
        )
        target = {
            "target-version": str(package.version),
            "target-package": package.arn,
            "target-config": config_name,
            "target-trigger": _tag_value(trigger),
        }
        if endpoint is None:
            with self._unless_taken():
                # Guardrails govern updates: a new endpoint has no old fleet to shift from.
                self.sagemaker.create_endpoint(
                    EndpointName=self.settings.endpoint_name,
                    EndpointConfigName=config_name,
                    Tags=_tags({**self.settings.tags, **_prefixed(target)}),
                )
            if self.taken:
                return Outcome("busy", "another deployment created the endpoint first")
            return Outcome(
                "creating", f"creating the endpoint with v{package.version}", None, package.version
            )
        if not self._update(endpoint, config_name, variant):
            return Outcome("busy", "another deployment is updating the endpoint")
        # Tagged once the update is accepted: a refused request must not read as a rollback.
        self._tag(target)
        return Outcome(
            "updating",
            f"updating v{live} -> v{package.version} ({self.settings.traffic})",
            live,
            package.version,
        )

    def _update(self, endpoint: Endpoint, config_name: str, variant: Mapping[str, Any]) -> bool:
        """Send the update, deregistering autoscaling first when it could not survive it;
        False when a concurrent run's update is already under way."""
        keep_scaling = _same_capacity_kind(
            _live_variant(self.sagemaker, endpoint.config_name), variant
        )
        if not keep_scaling:
            deregister_autoscaling(self.autoscaling, self.settings)
        request: dict[str, Any] = {
            "EndpointName": self.settings.endpoint_name,
            "EndpointConfigName": config_name,
        }
        config = deployment_config(self.settings)
        if config is not None:
            request["DeploymentConfig"] = config
        if keep_scaling:
            # Keep the instance count autoscaling reached rather than restart at the minimum.
            request["RetainAllVariantProperties"] = True
        with self._unless_taken():
            self.sagemaker.update_endpoint(**request)
        return not self.taken

    @contextlib.contextmanager
    def _unless_taken(self) -> Iterator[None]:
        """Run a create or update that a concurrent run may have beaten: if the call fails
        and the endpoint is now busy, that run is deploying (``taken``); any other failure
        is raised."""
        self.taken = False
        try:
            yield
        except Exception:
            endpoint = describe_endpoint(self.sagemaker, self.settings.endpoint_name)
            if endpoint is None or endpoint.status not in BUSY_STATES:
                raise
            self.taken = True

    def _tag(self, values: Mapping[str, str]) -> None:
        arn = self.sagemaker.describe_endpoint(EndpointName=self.settings.endpoint_name)[
            "EndpointArn"
        ]
        self.sagemaker.add_tags(ResourceArn=arn, Tags=_tags(_prefixed(values)))


def _prefixed(values: Mapping[str, str]) -> dict[str, str]:
    return {TAG + key: value for key, value in values.items()}


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _tag_value(text: str) -> str:
    """A tag value SageMaker accepts: at most 256 letters, digits, spaces and ``_.:/=+-@``."""
    allowed = "".join(ch if ch.isalnum() or ch in " _.:/=+-@" else " " for ch in text)
    return allowed[:256]


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    import boto3  # noqa: PLC0415 - the CDK construct imports this module's names at synth

    settings = Settings.from_environment()
    deployment = Deployment(
        boto3.client("sagemaker"), boto3.client("application-autoscaling"), settings
    )
    outcome = deployment.handle(event)
    print(json.dumps({"event": event.get("id", ""), **outcome.as_dict()}))
    return outcome.as_dict()
