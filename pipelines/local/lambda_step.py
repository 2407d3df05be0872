"""Lambda steps: the function's real handler, from the code asset ``cdk deploy`` would upload,
invoked in-process against moto instead of AWS.

``FunctionArn`` leads to the ``AWS::Lambda::Function`` resource that produced it, and that to
its handler (``module.function``) and code asset directory. The event is the step's resolved
arguments. Inside ``mock_aws`` the run's local endpoints are first created in moto's SageMaker
(so the handler's DescribeEndpoint sees them InService), boto3 gets dummy credentials and the
stack's region for the duration of the call only, and afterwards the scalable targets and
scaling policies the handler registered are read back from moto's Application Auto Scaling.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pipelines.environment import temporary_environment
from pipelines.local.assembly import LambdaFunction
from pipelines.local.errors import DefinitionError, StepError
from pipelines.local.execution import StepContext, StepOutcome
from pipelines.local.graph import StepNode
from pipelines.local.hosting import Hosting

# The handler runs in this process under state that is process-wide: the environment (region,
# credentials), moto's mock of AWS and redirected stdout. Pipelines running at once take
# turns; a call takes about a second.
_IN_PROCESS = threading.Lock()

_OUTPUT_TYPES: dict[str, Any] = {"String": str, "Integer": int, "Float": float, "Boolean": bool}
# Credentials and profile settings that must not leak into (or out of) the mocked call.
_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "MOTO_ACCOUNT_ID",
)


class LambdaContext:
    """The handler's ``context``: the attributes and the clock of the Lambda runtime."""

    def __init__(self, function: LambdaFunction) -> None:
        self.function_name = function.arn.rsplit(":", 1)[-1]
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaExecutor:
    def check(self, node: StepNode) -> None:
        if not isinstance(node.step.get("FunctionArn"), str):
            raise DefinitionError(f"step {node.name}: FunctionArn must be a string")
        for output in node.step.get("OutputParameters", []):
            if output.get("OutputType", "String") not in _OUTPUT_TYPES:
                raise DefinitionError(
                    f"step {node.name}: output {output.get('OutputName')} has an unknown type"
                )

    def inputs(self, arguments: Any) -> list[str]:
        return []

    def run(self, context: StepContext) -> StepOutcome:
        step = context.node.name
        execution = context.execution
        arn = str(context.node.step["FunctionArn"])
        function = execution.assembly.functions.get(arn)
        if function is None or function.code_dir is None:
            raise StepError(f"{step}: {arn} is not a Lambda function with code in the assembly")
        event = dict(context.arguments)
        context.directory.mkdir(parents=True, exist_ok=True)
        with (
            _IN_PROCESS,
            _aws_environment(execution.region, execution.account, function.environment),
            _mock_aws(),
            context.log.open("w") as log,
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
        ):
            _create_endpoints(execution.hosting)
            handler = _load_handler(function)
            try:
                result = handler(event, LambdaContext(function))
            except Exception as exc:
                # Like a Lambda step whose function errors: the step fails with the error.
                raise StepError(
                    f"{step}: Lambda handler raised {type(exc).__name__}: {exc}", log=context.log
                ) from None
            scaling = _read_back_scaling()
        output_parameters = _outputs(step, context.node.step, result)
        return StepOutcome(
            properties={"OutputParameters": output_parameters},
            outputs={
                **output_parameters,
                "handler": f"{function.code_dir.name}/{function.handler}",
                **scaling,
            },
            log=context.log,
        )


def _outputs(step: str, definition: Mapping[str, Any], result: Any) -> dict[str, Any]:
    declared = definition.get("OutputParameters", [])
    if declared and not isinstance(result, Mapping):
        raise StepError(f"{step}: the Lambda returned {type(result).__name__}, not an object")
    values = {}
    for output in declared:
        name = output["OutputName"]
        if name not in result:
            raise StepError(f"{step}: the Lambda's response has no output {name!r}")
        try:
            values[name] = _OUTPUT_TYPES[output.get("OutputType", "String")](result[name])
        except (TypeError, ValueError):
            raise StepError(
                f"{step}: output {name} = {result[name]!r} has the wrong type"
            ) from None
    return values


def _aws_environment(
    region: str, account: str, function_env: Mapping[str, str]
) -> contextlib.AbstractContextManager[None]:
    """The Lambda runtime's environment for the call: no credentials or profile of the
    machine's, dummy keys, the stack's region and account (for moto)."""
    return temporary_environment(
        {
            **dict.fromkeys(_AWS_VARIABLES),
            **function_env,
            "AWS_ACCESS_KEY_ID": "local-testing",
            "AWS_SECRET_ACCESS_KEY": "local-testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "MOTO_ACCOUNT_ID": account,
        }
    )


def prewarm() -> None:
    """Import moto with the two backends the step uses, ahead of the step.

    They take seconds of CPU to import; the runner calls this in a thread while the step's
    dependency (the endpoint) starts, which leaves a core idle.
    """
    from moto import mock_aws  # noqa: F401, PLC0415
    from moto.backends import get_backend  # noqa: PLC0415

    for service in ("sagemaker", "applicationautoscaling"):
        get_backend(service)


@contextlib.contextmanager
def _mock_aws() -> Iterator[None]:
    # moto and boto3 are needed by this step only; the rest of the run never imports them.
    from moto import mock_aws  # noqa: PLC0415

    with mock_aws():
        yield


def _create_endpoints(hosting: Hosting) -> None:
    import boto3  # noqa: PLC0415

    sagemaker = boto3.client("sagemaker")
    for endpoint in hosting.endpoints.values():
        model = hosting.models[endpoint.model_name]
        container = dict(model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0])
        sagemaker.create_model(
            ModelName=endpoint.model_name,
            ExecutionRoleArn=model["ExecutionRoleArn"],
            PrimaryContainer={
                key: container[key]
                for key in ("Image", "ModelDataUrl", "Environment")
                if key in container
            },
        )
        variant = endpoint.variant
        sagemaker.create_endpoint_config(
            EndpointConfigName=endpoint.config_name,
            ProductionVariants=[
                {
                    "VariantName": str(variant["VariantName"]),
                    "ModelName": endpoint.model_name,
                    "InitialInstanceCount": int(variant.get("InitialInstanceCount", 1)),
                    "InstanceType": str(variant.get("InstanceType", "ml.m5.large")),
                }
            ],
        )
        sagemaker.create_endpoint(
            EndpointName=endpoint.name, EndpointConfigName=endpoint.config_name
        )


def _read_back_scaling() -> dict[str, Any]:
    import boto3  # noqa: PLC0415

    client = boto3.client("application-autoscaling")
    targets = client.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = client.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    return {
        "scalable_targets": [
            {
                "resource_id": target["ResourceId"],
                "dimension": target["ScalableDimension"],
                "min_capacity": target["MinCapacity"],
                "max_capacity": target["MaxCapacity"],
            }
            for target in targets
        ],
        "scaling_policies": [
            {
                "name": policy["PolicyName"],
                "type": policy["PolicyType"],
                "target_value": (policy.get("TargetTrackingScalingPolicyConfiguration") or {}).get(
                    "TargetValue"
                ),
                "metric": (
                    (policy.get("TargetTrackingScalingPolicyConfiguration") or {})
                    .get("PredefinedMetricSpecification", {})
                    .get("PredefinedMetricType")
                ),
            }
            for policy in policies
        ],
    }


def _load_handler(function: LambdaFunction) -> Any:
    """The handler callable, imported from the asset directory like the runtime imports it."""
    assert function.code_dir is not None
    module_path, _, attribute = function.handler.rpartition(".")
    if not module_path or not attribute:
        raise StepError(f"Lambda handler {function.handler!r} is not module.function")
    relative = Path(*module_path.split("."))
    candidates = [
        function.code_dir / f"{relative}.py",
        function.code_dir / relative / "__init__.py",
    ]
    source = next((path for path in candidates if path.is_file()), None)
    if source is None:
        raise StepError(f"Lambda handler module {module_path} not found in {function.code_dir}")
    # A private module name: the asset is a copy of project code that may already be imported.
    name = f"_local_lambda_{function.logical_id}_{module_path.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, source)
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    # The runtime puts the code directory on sys.path, so the handler may import its siblings.
    sys.path.insert(0, str(function.code_dir))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(function.code_dir))
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise StepError(f"Lambda handler {function.handler} is not a function")
    return handler
