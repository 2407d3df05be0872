"""Condition and Fail steps: they run no job, they steer the execution.

A Condition step's outcome is the AND of its conditions (``Outcome`` in its properties); the
runner then starts the ``IfSteps`` or the ``ElseSteps`` and never the other branch. A Fail step
ends the execution as failed with its resolved ``ErrorMessage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.local.errors import DefinitionError, FailStepError
from pipelines.local.execution import StepContext, StepOutcome
from pipelines.local.expressions import CONDITION_TYPES, condition_outcome, to_text
from pipelines.local.graph import StepNode


def _check_condition(condition: Any, step: str) -> None:
    if not isinstance(condition, Mapping) or condition.get("Type") not in CONDITION_TYPES:
        kind = condition.get("Type") if isinstance(condition, Mapping) else condition
        raise DefinitionError(f"step {step}: unsupported condition type {kind!r}")
    kind = condition["Type"]
    required = {
        "Not": ("Condition",),
        "Or": ("Conditions",),
        "In": ("QueryValue", "Values"),
    }.get(kind, ("LeftValue", "RightValue"))
    missing = [key for key in required if key not in condition]
    if missing:
        raise DefinitionError(f"step {step}: {kind} condition without {', '.join(missing)}")
    if kind == "Not":
        _check_condition(condition["Condition"], step)
    if kind == "Or":
        for item in condition["Conditions"]:
            _check_condition(item, step)


class ConditionExecutor:
    def check(self, node: StepNode) -> None:
        conditions = node.step.get("Arguments", {}).get("Conditions")
        if not isinstance(conditions, list) or not conditions:
            raise DefinitionError(f"step {node.name}: Conditions must be a non-empty list")
        for condition in conditions:
            _check_condition(condition, node.name)

    def inputs(self, arguments: Any) -> list[str]:
        return []

    def run(self, context: StepContext) -> StepOutcome:
        outcome = all(condition_outcome(item) for item in context.arguments["Conditions"])
        evaluated = [_describe(item) for item in context.arguments["Conditions"]]
        return StepOutcome(
            properties={"Outcome": outcome},
            outputs={"outcome": outcome, "evaluated": evaluated},
        )


def _describe(condition: Mapping[str, Any]) -> str:
    kind = condition["Type"]
    if kind == "Not":
        return f"Not({_describe(condition['Condition'])})"
    if kind == "Or":
        return " Or ".join(f"({_describe(item)})" for item in condition["Conditions"])
    if kind == "In":
        values = ", ".join(to_text(value) for value in condition["Values"])
        return f"{to_text(condition['QueryValue'])} In [{values}]"
    return f"{to_text(condition['LeftValue'])} {kind} {to_text(condition['RightValue'])}"


class FailExecutor:
    def check(self, node: StepNode) -> None:
        return None

    def inputs(self, arguments: Any) -> list[str]:
        return []

    def run(self, context: StepContext) -> StepOutcome:
        message = to_text(context.arguments.get("ErrorMessage", ""))
        raise FailStepError(context.node.name, message)
