"""A local control plane for the deployer (:mod:`pipelines.lambdas.model_deployment`): the
SageMaker and Application Auto Scaling calls it makes, answered from the run directory.

The registry is the run's (``registry/<group>/<version>.json``); endpoints, endpoint configs,
models and tags are kept in ``control-plane/sagemaker.json``, scalable targets in
``control-plane/autoscaling.json``. A created or updated endpoint is InService at once and its
version becomes the local deployment record ``serve`` brings up.

Every request is checked against botocore's shape of the operation first (members, types,
minimums, and the maximums, enums and patterns botocore leaves to the service), so the local
path refuses what SageMaker would refuse rather than deploy it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pipelines.definition.requests import limit_problems
from pipelines.files import write_atomically
from pipelines.local.deployments import last_deployment, record_deployment
from pipelines.local.registry import add_version, registry_dir, versions
from pipelines.local.serve import registered_deployment


class RefusedRequestError(Exception):
    """A request the service would refuse: the deployer sent something it must not."""


@cache
def _service(name: str) -> Any:
    import botocore.session  # noqa: PLC0415 - 0.3 s: only when a command needs it

    return botocore.session.get_session().get_service_model(name)


def check_request(service: str, operation: str, params: Mapping[str, Any]) -> None:
    from botocore.validate import ParamValidator  # noqa: PLC0415 - with the model above

    shape = _service(service).operation_model(operation).input_shape
    report = ParamValidator().validate(dict(params), shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    problems += list(limit_problems(params, shape, ""))
    if problems:
        raise RefusedRequestError(f"{operation} would be refused: {problems[0].strip()}")


def client_error(operation: str, code: str, message: str) -> Exception:
    """The error boto3 raises, so the deployer reads a local refusal as it reads AWS's."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with the model above

    error: Exception = ClientError({"Error": {"Code": code, "Message": message}}, operation)
    return error


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _JsonState:
    def __init__(self, path: Path, empty: Mapping[str, Any]) -> None:
        self.path = path
        self.state: dict[str, Any] = {key: dict(value) for key, value in empty.items()}
        if path.exists():
            self.state.update(json.loads(path.read_text()))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(self.state, indent=2) + "\n")


class LocalSageMaker(_JsonState):
    """The SageMaker client methods the deployer calls, over the run directory."""

    def __init__(self, run_dir: Path, region: str, account: str) -> None:
        empty: dict[str, Any] = {"endpoints": {}, "tags": {}, "endpoint_configs": {}, "models": {}}
        super().__init__(run_dir / "control-plane" / "sagemaker.json", empty)
        self.run_dir = run_dir
        self.prefix = f"arn:aws:sagemaker:{region}:{account}"

    def _check(self, operation: str, params: Mapping[str, Any]) -> None:
        check_request("sagemaker", operation, params)

    # The registry.

    def _entry(self, name: str) -> dict[str, Any]:
        for folder in sorted(registry_dir(self.run_dir).glob("*")):
            for entry in versions(self.run_dir, folder.name):
                if name in (entry.get("ModelPackageArn"), entry.get("ModelPackageName")):
                    return entry
        raise client_error("DescribeModelPackage", "ValidationException", f"{name} not found")

    def describe_model_package(self, **params: Any) -> dict[str, Any]:
        self._check("DescribeModelPackage", params)
        return self._entry(params["ModelPackageName"])

    def list_model_packages(self, **params: Any) -> dict[str, Any]:
        self._check("ListModelPackages", params)
        status = params.get("ModelApprovalStatus")
        summaries = [
            {
                key: entry[key]
                for key in ("ModelPackageArn", "ModelPackageGroupName", "ModelPackageVersion")
            }
            | {"ModelApprovalStatus": entry["ModelApprovalStatus"]}
            for entry in versions(self.run_dir, params["ModelPackageGroupName"])
            if status is None or entry["ModelApprovalStatus"] == status
        ]
        return {"ModelPackageSummaryList": summaries}

    def update_model_package(self, **params: Any) -> dict[str, Any]:
        self._check("UpdateModelPackage", params)
        entry = self._entry(params["ModelPackageArn"])
        for key in ("ModelApprovalStatus", "ApprovalDescription"):
            if key in params:
                entry[key] = params[key]
        # The deployer takes LastModifiedTime as the approval time, as SageMaker sets it.
        entry["LastModifiedTime"] = _now()
        group, version = entry["ModelPackageGroupName"], int(entry["ModelPackageVersion"])
        add_version(self.run_dir, group, version, entry)
        return {"ModelPackageArn": entry["ModelPackageArn"]}

    # Models and endpoint configs.

    def create_model(self, **params: Any) -> dict[str, Any]:
        self._check("CreateModel", params)
        for container in params.get("Containers", []):
            self._entry(container["ModelPackageName"])
        arn = self._add("models", "CreateModel", params["ModelName"], params)
        return {"ModelArn": arn}

    def create_endpoint_config(self, **params: Any) -> dict[str, Any]:
        self._check("CreateEndpointConfig", params)
        for variant in params["ProductionVariants"]:
            if variant["ModelName"] not in self.state["models"]:
                message = f"Could not find model {variant['ModelName']}"
                raise client_error("CreateEndpointConfig", "ValidationException", message)
        name = params["EndpointConfigName"]
        return {
            "EndpointConfigArn": self._add("endpoint_configs", "CreateEndpointConfig", name, params)
        }

    def describe_endpoint_config(self, **params: Any) -> dict[str, Any]:
        self._check("DescribeEndpointConfig", params)
        name = params["EndpointConfigName"]
        if name not in self.state["endpoint_configs"]:
            message = f"Could not find endpoint configuration {name}"
            raise client_error("DescribeEndpointConfig", "ValidationException", message)
        config: dict[str, Any] = self.state["endpoint_configs"][name]
        return config

    def _add(self, kind: str, operation: str, name: str, params: Mapping[str, Any]) -> str:
        if name in self.state[kind]:
            raise client_error(
                operation, "ValidationException", f"Cannot create a duplicate {name}"
            )
        resource = {"models": "model", "endpoint_configs": "endpoint-config"}[kind]
        arn = f"{self.prefix}:{resource}/{name.lower()}"
        self.state[kind][name] = dict(params)
        self._set_tags(arn, params.get("Tags", []))
        self.save()
        return arn

    # Endpoints and tags.

    def describe_endpoint(self, **params: Any) -> dict[str, Any]:
        self._check("DescribeEndpoint", params)
        return self._endpoint("DescribeEndpoint", params["EndpointName"])

    def _endpoint(self, operation: str, name: str) -> dict[str, Any]:
        endpoint: dict[str, Any] | None = self.state["endpoints"].get(name)
        if endpoint is None:
            arn = f"{self.prefix}:endpoint/{name.lower()}"
            raise client_error(
                operation, "ValidationException", f'Could not find endpoint "{arn}".'
            )
        return endpoint

    def create_endpoint(self, **params: Any) -> dict[str, Any]:
        self._check("CreateEndpoint", params)
        name = params["EndpointName"]
        if name in self.state["endpoints"]:
            message = f'Cannot create already existing endpoint "{name}".'
            raise client_error("CreateEndpoint", "ValidationException", message)
        arn = f"{self.prefix}:endpoint/{name.lower()}"
        self.state["endpoints"][name] = {"EndpointName": name, "EndpointArn": arn}
        self._set_tags(arn, params.get("Tags", []))
        self._serve(name, params["EndpointConfigName"], "CreateEndpoint")
        return {"EndpointArn": arn}

    def update_endpoint(self, **params: Any) -> dict[str, Any]:
        self._check("UpdateEndpoint", params)
        endpoint = self._endpoint("UpdateEndpoint", params["EndpointName"])
        self._serve(params["EndpointName"], params["EndpointConfigName"], "UpdateEndpoint")
        return {"EndpointArn": endpoint["EndpointArn"]}

    def _serve(self, name: str, config_name: str, operation: str) -> None:
        """Switch the endpoint to the config's model at once (locally there is no fleet to
        provision) and record it for ``serve``."""
        config = self.state["endpoint_configs"].get(config_name)
        if config is None:
            message = f"Could not find endpoint configuration {config_name}"
            raise client_error(operation, "ValidationException", message)
        model = self.state["models"][config["ProductionVariants"][0]["ModelName"]]
        entry = self._entry(model["Containers"][0]["ModelPackageName"])
        deployed = last_deployment(self.run_dir, name)
        record_deployment(self.run_dir, registered_deployment(name, entry, deployed))
        endpoint = self.state["endpoints"][name]
        endpoint.update(
            {"EndpointConfigName": config_name, "EndpointStatus": "InService"},
            LastModifiedTime=_now(),
        )
        self.save()

    def delete_endpoint(self, **params: Any) -> dict[str, Any]:
        self._check("DeleteEndpoint", params)
        endpoint = self._endpoint("DeleteEndpoint", params["EndpointName"])
        del self.state["endpoints"][params["EndpointName"]]
        self.state["tags"].pop(endpoint["EndpointArn"], None)
        self.save()
        return {}

    def list_tags(self, **params: Any) -> dict[str, Any]:
        self._check("ListTags", params)
        tags = self.state["tags"].get(params["ResourceArn"], {})
        return {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}

    def add_tags(self, **params: Any) -> dict[str, Any]:
        self._check("AddTags", params)
        self._set_tags(params["ResourceArn"], params["Tags"])
        self.save()
        return {"Tags": params["Tags"]}

    def _set_tags(self, arn: str, tags: list[Mapping[str, str]]) -> None:
        self.state["tags"].setdefault(arn, {}).update({tag["Key"]: tag["Value"] for tag in tags})

    def adopt(self, name: str, config: Mapping[str, Any], tags: Mapping[str, str]) -> None:
        """Take over an endpoint a pipeline run deployed (its Endpoint step, not this plane),
        so the deployer updates it as it would the pipeline's endpoint in SageMaker."""
        if name in self.state["endpoints"]:
            return
        arn = f"{self.prefix}:endpoint/{name.lower()}"
        config_name = str(config["EndpointConfigName"])
        self.state["endpoint_configs"][config_name] = dict(config)
        self.state["endpoints"][name] = {
            "EndpointName": name,
            "EndpointArn": arn,
            "EndpointConfigName": config_name,
            "EndpointStatus": "InService",
        }
        self._set_tags(arn, [{"Key": key, "Value": value} for key, value in tags.items()])
        self.save()


class LocalAutoscaling(_JsonState):
    """The Application Auto Scaling calls the deployer makes: the scalable targets and
    policies it registers are kept (``asked`` lists every request), nothing scales."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(run_dir / "control-plane" / "autoscaling.json", {"targets": {}})
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def _ask(self, operation: str, params: Mapping[str, Any]) -> None:
        check_request("application-autoscaling", operation, params)
        self.asked.append((operation, dict(params)))

    def register_scalable_target(self, **params: Any) -> dict[str, Any]:
        self._ask("RegisterScalableTarget", params)
        target = self.state["targets"].setdefault(params["ResourceId"], {"Policies": {}})
        target.update({key: value for key, value in params.items() if key != "Policies"})
        self.save()
        return {}

    def put_scaling_policy(self, **params: Any) -> dict[str, Any]:
        self._ask("PutScalingPolicy", params)
        target = self.state["targets"].get(params["ResourceId"])
        if target is None:
            message = f"No scalable target registered for {params['ResourceId']}"
            raise client_error("PutScalingPolicy", "ObjectNotFoundException", message)
        target["Policies"][params["PolicyName"]] = dict(params)
        self.save()
        return {"PolicyARN": f"local:{params['PolicyName']}"}

    def describe_scalable_targets(self, **params: Any) -> dict[str, Any]:
        self._ask("DescribeScalableTargets", params)
        wanted = params.get("ResourceIds")
        targets = [
            {key: value for key, value in target.items() if key != "Policies"}
            for resource, target in self.state["targets"].items()
            if wanted is None or resource in wanted
        ]
        return {"ScalableTargets": targets}

    def deregister_scalable_target(self, **params: Any) -> dict[str, Any]:
        self._ask("DeregisterScalableTarget", params)
        self.state["targets"].pop(params["ResourceId"], None)
        self.save()
        return {}
