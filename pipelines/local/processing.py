"""Processing steps: the step's own script, run the way a processing container runs it.

The inputs (the code input included) are copied from the object store to their ``LocalPath``,
the ``ContainerEntrypoint`` runs with its ``ContainerArguments``, every ``/opt/ml`` path mapped
into the job directory, and each output's ``LocalPath`` is uploaded to its ``S3Uri`` when the
job ends (``EndOfJob`` and ``Continuous`` alike). A cluster of several instances runs as one:
the scripts here do not shard their input by host.
"""

from __future__ import annotations

from typing import Any

from pipelines.local.errors import DefinitionError
from pipelines.local.execution import StepContext, StepOutcome
from pipelines.local.graph import StepNode
from pipelines.local.jobs import (
    ContainerRoot,
    exit_failure,
    process_env,
    python_command,
    run_process,
    write_json,
)


class ProcessingExecutor:
    def check(self, node: StepNode) -> None:
        arguments = node.step.get("Arguments", {})
        app = arguments.get("AppSpecification") or {}
        python_command(app.get("ContainerEntrypoint") or [], node.name)
        for item in arguments.get("ProcessingInputs", []):
            source = item.get("S3Input")
            if source is None:
                raise DefinitionError(
                    f"step {node.name}: input {item.get('InputName')} has no S3Input "
                    "(dataset definitions are not supported locally)"
                )
            if source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise DefinitionError(
                    f"step {node.name}: input {item.get('InputName')} uses S3DataType "
                    f"{source['S3DataType']}; only S3Prefix is supported locally"
                )
        for item in (arguments.get("ProcessingOutputConfig") or {}).get("Outputs", []):
            if "S3Output" not in item:
                raise DefinitionError(
                    f"step {node.name}: output {item.get('OutputName')} has no S3Output"
                )

    def inputs(self, arguments: Any) -> list[str]:
        return [str(item["S3Input"]["S3Uri"]) for item in arguments.get("ProcessingInputs", [])]

    def run(self, context: StepContext) -> StepOutcome:
        arguments = context.arguments
        store = context.execution.store
        root = ContainerRoot(context.directory / "container")
        for item in arguments.get("ProcessingInputs", []):
            source = item["S3Input"]
            store.download(str(source["S3Uri"]), root.path(source["LocalPath"]))
        outputs = (arguments.get("ProcessingOutputConfig") or {}).get("Outputs", [])
        for item in outputs:
            root.path(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
        # What a processing container finds in /opt/ml/config.
        write_json(root.path("/opt/ml/config/processingjobconfig.json"), arguments)
        write_json(
            root.path("/opt/ml/config/resourceconfig.json"),
            {"current_host": "algo-1", "hosts": ["algo-1"]},
        )

        app = arguments["AppSpecification"]
        command = [
            root.argument(part)
            for part in python_command(app["ContainerEntrypoint"], context.node.name)
        ] + [root.argument(str(part)) for part in app.get("ContainerArguments", [])]
        environment = {str(k): str(v) for k, v in (arguments.get("Environment") or {}).items()}
        env = process_env(context.execution.base_env, context.execution.cpus, environment)
        timeout = (arguments.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        code, _ = run_process(
            command,
            cwd=root.root,
            env=env,
            log=context.log,
            timeout=timeout,
            pool=context.execution.pool,
        )
        if code != 0:
            raise exit_failure(context.node.name, "processing job", code, context.log)

        written: dict[str, str] = {}
        for item in outputs:
            output = item["S3Output"]
            store.upload_dir(root.path(output["LocalPath"]), str(output["S3Uri"]))
            written[item["OutputName"]] = str(output["S3Uri"])
        properties = {
            **arguments,
            "ProcessingJobName": context.job_name,
            "ProcessingJobArn": (
                f"arn:aws:sagemaker:{context.execution.region}:{context.execution.account}:"
                f"processing-job/{context.job_name.lower()}"
            ),
            "ProcessingJobStatus": "Completed",
        }
        return StepOutcome(
            properties=properties,
            outputs=written,
            objects=[uri for uri in written.values() if store.exists(uri)],
            log=context.log,
        )
