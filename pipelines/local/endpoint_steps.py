"""Model, EndpointConfig and Endpoint steps: they register a model and an endpoint config with
the local control plane (:class:`~pipelines.local.hosting.Hosting`) and start the endpoint's
model server, as CreateModel, CreateEndpointConfig and CreateEndpoint do in SageMaker.

The Endpoint step extracts the model's ``SAGEMAKER_SUBMIT_DIRECTORY`` tarball and its
``ModelDataUrl`` into the job directory, returns once the server answers ``/ping`` and records
the deployment so ``serve`` can bring the same model back after the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.deployments import Deployment, record_deployment
from pipelines.local.errors import DefinitionError, StepError
from pipelines.local.execution import StepContext, StepOutcome
from pipelines.local.graph import StepNode
from pipelines.local.hosting import extract_archive, start_server
from pipelines.local.jobs import job_suffix, process_env


def _primary_container(request: Mapping[str, Any], step: str) -> Mapping[str, Any]:
    if "PrimaryContainer" in request:
        container: Mapping[str, Any] = request["PrimaryContainer"]
        return container
    containers = request.get("Containers") or []
    if len(containers) != 1:
        raise DefinitionError(f"step {step}: a model needs exactly one container to run locally")
    only: Mapping[str, Any] = containers[0]
    return only


class ModelExecutor:
    def check(self, node: StepNode) -> None:
        _primary_container(node.step.get("Arguments", {}), node.name)

    def inputs(self, arguments: Any) -> list[str]:
        return []

    def run(self, context: StepContext) -> StepOutcome:
        execution = context.execution
        container = _primary_container(context.arguments, context.node.name)
        url = container.get("ModelDataUrl")
        if url is not None and not execution.store.is_object(str(url)):
            raise StepError(f"{context.node.name}: ModelDataUrl {url} does not exist")
        # The SDK's ModelStep leaves the name to the service, which generates one.
        name = str(
            context.arguments.get("ModelName")
            or f"pipelines-{execution.id}-{context.node.name}-{job_suffix(execution.id, 'm')}"
        )[:63]
        execution.hosting.add_model(name, dict(context.arguments))
        arn = f"arn:aws:sagemaker:{execution.region}:{execution.account}:model/{name.lower()}"
        return StepOutcome(
            properties={**context.arguments, "ModelName": name, "ModelArn": arn},
            outputs={"model_name": name, "model_data": url},
        )


class EndpointConfigExecutor:
    def check(self, node: StepNode) -> None:
        arguments = node.step.get("Arguments", {})
        if not arguments.get("EndpointConfigName"):
            raise DefinitionError(f"step {node.name}: no EndpointConfigName")
        variants = arguments.get("ProductionVariants") or []
        if len(variants) != 1:
            raise DefinitionError(
                f"step {node.name}: {len(variants)} production variants; "
                "a local endpoint serves exactly one"
            )

    def inputs(self, arguments: Any) -> list[str]:
        return []

    def run(self, context: StepContext) -> StepOutcome:
        execution = context.execution
        name = str(context.arguments["EndpointConfigName"])
        for variant in context.arguments["ProductionVariants"]:
            if str(variant.get("ModelName")) not in execution.hosting.models:
                raise StepError(f"{context.node.name}: model {variant.get('ModelName')} not found")
        execution.hosting.add_endpoint_config(name, dict(context.arguments))
        arn = (
            f"arn:aws:sagemaker:{execution.region}:{execution.account}:"
            f"endpoint-config/{name.lower()}"
        )
        return StepOutcome(
            properties={**context.arguments, "EndpointConfigName": name, "EndpointConfigArn": arn},
            outputs={"endpoint_config": name},
        )


class EndpointExecutor:
    def check(self, node: StepNode) -> None:
        arguments = node.step.get("Arguments", {})
        if not arguments.get("EndpointName") or not arguments.get("EndpointConfigName"):
            raise DefinitionError(f"step {node.name}: needs EndpointName and EndpointConfigName")

    def inputs(self, arguments: Any) -> list[str]:
        return []

    def run(self, context: StepContext) -> StepOutcome:
        execution = context.execution
        step = context.node.name
        name = str(context.arguments["EndpointName"])
        config_name = str(context.arguments["EndpointConfigName"])
        config = execution.hosting.endpoint_configs.get(config_name)
        if config is None:
            raise StepError(f"{step}: endpoint config {config_name} not found")
        variant = config["ProductionVariants"][0]
        model_name = str(variant["ModelName"])
        container = _primary_container(execution.hosting.models[model_name], step)
        environment = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        program = environment.get("SAGEMAKER_PROGRAM")
        submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
        if not program or not submit:
            raise StepError(
                f"{step}: model {model_name} has no SAGEMAKER_PROGRAM and "
                "SAGEMAKER_SUBMIT_DIRECTORY; only script-mode inference runs locally"
            )
        root = context.directory / "container"
        model_dir, code_dir = root / "opt/ml/model", root / "opt/ml/code"
        store = execution.store
        if container.get("ModelDataUrl"):
            extract_archive(store, str(container["ModelDataUrl"]), model_dir)
        else:
            model_dir.mkdir(parents=True, exist_ok=True)
        extract_archive(store, submit, code_dir)
        endpoint = start_server(
            name=name,
            arn=f"arn:aws:sagemaker:{execution.region}:{execution.account}:endpoint/{name.lower()}",
            config_name=config_name,
            variant=variant,
            model_name=model_name,
            model_dir=model_dir,
            code_dir=code_dir,
            program=program,
            env=process_env(execution.base_env, execution.cpus, environment),
            directory=context.directory,
            # A pool that is not running yet would take longer to start than the server.
            pool=execution.pool if execution.pool and execution.pool.is_warm() else None,
        )
        execution.hosting.add_endpoint(endpoint)
        record_deployment(
            execution.run_dir,
            Deployment(
                endpoint=name,
                model_data_url=str(container.get("ModelDataUrl") or ""),
                program=program,
                submit_directory=submit,
                environment=environment,
                execution_id=execution.id,
            ),
        )
        return StepOutcome(
            properties={
                **context.arguments,
                "EndpointName": name,
                "EndpointArn": endpoint.arn,
                "EndpointStatus": "InService",
                "ProductionVariants": [{"VariantName": variant.get("VariantName")}],
            },
            outputs={"endpoint": name, "url": endpoint.url, "model_name": model_name},
            log=endpoint.log,
        )
