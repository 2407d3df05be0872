"""Every step's ``Arguments`` checked against the botocore request shape SageMaker builds from
them, at synth, so a value the API would refuse (a 3,000-character hyperparameter, a volume
over the maximum, a name breaking a pattern) stops synth with its field path instead of
failing an execution hours later.

botocore's own ``ParamValidator`` checks unknown and missing members, types and minimums; it
leaves maximums, patterns and enums to the service, so those are checked here. Pipeline
expressions (``Get``, ``Std:Join``, ``Std:JsonGet``) are only known per execution: for the
validator they become placeholders of the member's type, and their limits are not checked.
Step types and operations follow ../shared/reference/README.md ("Arguments and botocore
shapes"); Condition, Fail and Lambda steps have no request shape.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from pipelines.assembly.steps import walk_steps

# Step type -> (the CreateXxx operation, the name field the definition leaves to the service).
OPERATIONS: dict[str, tuple[str, str | None]] = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Tuning": ("CreateHyperParameterTuningJob", "HyperParameterTuningJobName"),
    "RegisterModel": ("CreateModelPackage", None),
    "Model": ("CreateModel", "ModelName"),
    "EndpointConfig": ("CreateEndpointConfig", None),
    "Endpoint": ("CreateEndpoint", None),
}
SHAPELESS = frozenset({"Condition", "Fail", "Lambda"})
EXPRESSIONS = ("Get", "Std:Join", "Std:JsonGet")
_SHOWN_CHARACTERS = 40


class RequestShapeError(ValueError):
    """A step's arguments would be refused by the API; the message names the step, the field
    path, the value and the limit."""


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


@cache
def _sagemaker_model() -> Any:
    import botocore.session  # noqa: PLC0415 - 0.3 s: only when a definition is built

    return botocore.session.get_session().get_service_model("sagemaker")


def placeholder(shape: Any) -> Any:
    """A value of the shape's type that meets its minimum (length, value, items)."""
    minimum = shape.metadata.get("min", 0)
    kind = shape.type_name
    if kind == "string":
        return "x" * max(int(minimum), 1)
    if kind in ("integer", "long"):
        return max(int(minimum), 1)
    if kind in ("float", "double"):
        return float(max(minimum, 1))
    if kind == "boolean":
        return True
    if kind == "list":
        return [placeholder(shape.member) for _ in range(max(int(minimum), 1))]
    raise RequestShapeError(f"a pipeline expression where {shape.name} ({kind}) is expected")


def concretize(value: Any, shape: Any) -> Any:
    """``value`` with every expression replaced by a placeholder of the member type the shape
    expects there. Unknown keys stay, so the validator reports them."""
    if is_expression(value):
        return placeholder(shape)
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            key: concretize(item, shape.members[key]) if key in shape.members else item
            for key, item in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [concretize(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: concretize(item, shape.value) for key, item in value.items()}
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARACTERS else f"{text[:_SHOWN_CHARACTERS]}...'"


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct (\p{...}): the service checks it
        return None


def _scalar_problem(value: Any, shape: Any) -> str | None:
    limits = shape.metadata
    if isinstance(value, str):
        if "max" in limits and len(value) > limits["max"]:
            return f"{len(value)} characters, over the maximum of {limits['max']}"
        if "enum" in limits and value not in limits["enum"]:
            return f"not one of {', '.join(limits['enum'][:8])}"
        compiled = _compiled(limits["pattern"]) if "pattern" in limits else None
        if compiled is not None and not compiled.fullmatch(value):
            return f"does not match the pattern {limits['pattern']}"
        return None
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric and "max" in limits and value > limits["max"]:
        return f"over the maximum of {limits['max']}"
    return None


def limit_problems(value: Any, shape: Any, path: str) -> Iterator[str]:
    """What ParamValidator leaves to the service: maximums, enums and patterns."""
    if is_expression(value):
        return
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                yield from limit_problems(item, shape.members[key], f"{path}.{key}".lstrip("."))
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            yield f"{path}: {len(value)} items, over the maximum of {shape.metadata['max']}"
        for index, item in enumerate(value):
            yield from limit_problems(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from limit_problems(key, shape.key, f"{path} key")
            yield from limit_problems(item, shape.value, f"{path}.{key}")
    else:
        problem = _scalar_problem(value, shape)
        if problem is not None:
            yield f"{path} = {_shown(value)}: {problem}"


def request_problems(step: Mapping[str, Any]) -> list[str]:
    """Why SageMaker would refuse the step's request, one line each; empty when it would not."""
    operation, name_field = OPERATIONS[step["Type"]]
    shape = _sagemaker_model().operation_model(operation).input_shape
    arguments = step.get("Arguments", {})
    request = concretize(copy.deepcopy(arguments), shape)
    if name_field:
        request[name_field] = f"{str(step['Name']).lower()}-job"
    from botocore.validate import ParamValidator  # noqa: PLC0415 - with the model above

    report = ParamValidator().validate(request, shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    return [line.strip() for line in problems] + list(limit_problems(arguments, shape, ""))


def check_requests(definition: Mapping[str, Any]) -> None:
    """Raise on the first step whose request SageMaker would refuse."""
    for step in walk_steps(definition.get("Steps", [])):
        if step.get("Type") in SHAPELESS:
            continue
        if step.get("Type") not in OPERATIONS:
            raise RequestShapeError(
                f"step {step.get('Name')}: no request shape for {step.get('Type')!r}"
            )
        problems = request_problems(step)
        if problems:
            operation = OPERATIONS[step["Type"]][0]
            raise RequestShapeError(
                f"step {step['Name']}: {operation} would be refused: {problems[0]}"
            )
