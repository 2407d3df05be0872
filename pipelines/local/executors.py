"""Which executor runs each step type, and the check, before anything runs, that every step
of a definition has one that accepts it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.cache import cache_config
from pipelines.local.control import ConditionExecutor, FailExecutor
from pipelines.local.endpoint_steps import (
    EndpointConfigExecutor,
    EndpointExecutor,
    ModelExecutor,
)
from pipelines.local.errors import DefinitionError
from pipelines.local.execution import Executor
from pipelines.local.expressions import check_reference, declared_parameters, references
from pipelines.local.graph import PipelineGraph, own_content
from pipelines.local.lambda_step import LambdaExecutor
from pipelines.local.processing import ProcessingExecutor
from pipelines.local.register_step import RegisterModelExecutor
from pipelines.local.training import TrainingExecutor
from pipelines.local.tuning import TuningExecutor

EXECUTORS: dict[str, Executor] = {
    "Processing": ProcessingExecutor(),
    "Training": TrainingExecutor(),
    "Tuning": TuningExecutor(),
    "Condition": ConditionExecutor(),
    "Fail": FailExecutor(),
    "RegisterModel": RegisterModelExecutor(),
    "Model": ModelExecutor(),
    "EndpointConfig": EndpointConfigExecutor(),
    "Endpoint": EndpointExecutor(),
    "Lambda": LambdaExecutor(),
}


def preflight(definition: Mapping[str, Any], graph: PipelineGraph) -> None:
    """Reject what cannot run before anything does: unknown step kinds, steps an executor
    cannot handle, references that can never resolve, malformed cache settings."""
    parameters = declared_parameters(definition)
    experiment = definition.get("PipelineExperimentConfig") or {}
    steps = {name: node.step for name, node in graph.nodes.items()}
    for node in graph.nodes.values():
        executor = EXECUTORS.get(node.type)
        if executor is None:
            supported = ", ".join(sorted(EXECUTORS))
            raise DefinitionError(
                f"step {node.name}: step type {node.type!r} is not supported locally "
                f"(supported: {supported})"
            )
        for reference in references(own_content(node.step)):
            check_reference(
                reference,
                parameters=parameters,
                steps=steps,
                experiment=experiment,
                where=f"step {node.name}",
            )
        executor.check(node)
        cache_config(node.step)
