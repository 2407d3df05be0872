"""The definition's expression language: parameters, ``Get``, ``Std:Join``, ``Std:JsonGet``
and conditions, evaluated the way the SageMaker Pipelines service evaluates them.

A value in a step's arguments is an expression when it is a one-key object whose key is
``Get``, ``Std:Join`` or ``Std:JsonGet``; everything else is literal JSON whose nested values
are evaluated in place.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.local.errors import DefinitionError, ParameterError, StepError

GET, JOIN, JSON_GET = "Get", "Std:Join", "Std:JsonGet"
EXECUTION_VARIABLES = (
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "PipelineName",
    "PipelineArn",
    "StartDateTime",
    "CurrentDateTime",
    "TrainingJobName",
    "ProcessingJobName",
)
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda left, right: bool(left == right),
    "GreaterThan": lambda left, right: bool(left > right),
    "GreaterThanOrEqualTo": lambda left, right: bool(left >= right),
    "LessThan": lambda left, right: bool(left < right),
    "LessThanOrEqualTo": lambda left, right: bool(left <= right),
}
CONDITION_TYPES = (*COMPARISONS, "In", "Not", "Or")

_STEP_NAME = re.compile(r"Steps\.([A-Za-z0-9_-]+)")
_PATH_TOKEN = re.compile(r"\.?([A-Za-z0-9_:-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_NUMBER = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")
_PARAMETER_TYPES: dict[str, type] = {"String": str, "Integer": int, "Float": float, "Boolean": bool}


# -- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any
    enum_values: tuple[Any, ...] = ()


def declared_parameters(definition: Mapping[str, Any]) -> dict[str, ParameterSpec]:
    specs: dict[str, ParameterSpec] = {}
    declared = definition.get("Parameters", [])
    if not isinstance(declared, list):
        raise DefinitionError("malformed definition: Parameters must be a list")
    for item in declared:
        if not isinstance(item, Mapping) or not isinstance(item.get("Name"), str):
            raise DefinitionError(f"malformed definition: parameter without a Name: {item!r}")
        name, kind = item["Name"], item.get("Type", "String")
        if kind not in _PARAMETER_TYPES:
            raise DefinitionError(f"malformed definition: parameter {name} has type {kind!r}")
        if name in specs:
            raise DefinitionError(f"malformed definition: parameter {name} is declared twice")
        default = item.get("DefaultValue")
        spec = ParameterSpec(name, kind, None, tuple(item.get("EnumValues") or ()))
        if default is not None:
            default = _convert(spec, default, source="default")
        specs[name] = ParameterSpec(name, kind, default, spec.enum_values)
    return specs


def resolve_parameters(
    specs: Mapping[str, ParameterSpec], overrides: Sequence[str]
) -> dict[str, Any]:
    """Typed values: the defaults with ``Name=value`` overrides applied and validated."""
    values = {name: spec.default for name, spec in specs.items()}
    for override in overrides:
        name, separator, text = override.partition("=")
        if not separator or not name:
            raise ParameterError(f"--param {override!r}: expected Name=value")
        if name not in specs:
            known = ", ".join(specs) or "none"
            raise ParameterError(f"--param {name}: no such pipeline parameter (declared: {known})")
        values[name] = _convert(specs[name], text, source="--param")
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise ParameterError(f"parameter(s) without a default need --param: {', '.join(missing)}")
    # pydantic (0.15 s) only for a run, not for `serve` or `invoke`, which import this module.
    from pipelines.definition.parameter_rules import (  # noqa: PLC0415
        ParameterValueError,
        check_parameter_values,
    )

    try:
        check_parameter_values(values)
    except ParameterValueError as error:
        given = {override.partition("=")[0] for override in overrides}
        source = "--param" if given & set(error.names) else "default of parameter"
        raise ParameterError(f"{source} {error}") from None
    return values


def _convert(spec: ParameterSpec, value: Any, *, source: str) -> Any:
    error = ParameterError if source == "--param" else DefinitionError
    where = f"{source} {spec.name}" if source == "--param" else f"default of parameter {spec.name}"
    converted: Any
    try:
        if spec.type == "Boolean":
            converted = _boolean(value)
        elif spec.type == "Integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            converted = int(value)
        elif spec.type == "Float":
            if isinstance(value, bool):
                raise ValueError
            converted = float(value)
            if not math.isfinite(converted):
                raise ValueError
        else:
            if not isinstance(value, str):
                raise ValueError
            converted = value
    except (TypeError, ValueError):
        raise error(f"{where} = {value!r}: not a valid {spec.type}") from None
    if spec.enum_values and converted not in spec.enum_values:
        allowed = ", ".join(str(v) for v in spec.enum_values)
        raise error(f"{where} = {value!r}: not one of the allowed values ({allowed})")
    return converted


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError


# -- evaluation ------------------------------------------------------------------------------


@dataclass
class StepRecord:
    """What later expressions may read about a finished step."""

    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scope:
    """Everything an expression can read. With ``masked`` set, execution variables evaluate to
    placeholders: a step's cache key must not change just because the execution did."""

    parameters: Mapping[str, Any]
    execution: Mapping[str, str]
    steps: Mapping[str, StepRecord]
    read_json: Callable[[str], Any]
    experiment: Mapping[str, Any] = field(default_factory=dict)
    masked: bool = False

    def get(self, reference: str) -> Any:
        kind, _, rest = reference.partition(".")
        if kind == "Parameters":
            if rest not in self.parameters:
                raise StepError(f"unknown parameter {rest!r}")
            return self.parameters[rest]
        if kind == "Execution":
            if self.masked:
                return "${Execution." + rest + "}"
            if rest not in self.execution:
                raise StepError(f"execution variable {rest} is not available here")
            return self.execution[rest]
        if kind == "Steps":
            step, path = split_step_reference(reference)
            record = self.steps.get(step)
            if record is None:
                raise StepError(f"{reference}: step {step} has not run in this execution")
            if path and path[0] == "PropertyFiles":
                if len(path) != 2 or path[1] not in record.property_files:
                    raise StepError(f"{reference}: step {step} has no such property file")
                return record.property_files[path[1]]
            return lookup(record.properties, path, reference)
        if kind == "PipelineExperimentConfig" and rest in self.experiment:
            return evaluate(self.experiment[rest], self)
        raise StepError(f"cannot evaluate {{'Get': {reference!r}}}")


def is_expression(node: Any) -> bool:
    return (
        isinstance(node, Mapping) and len(node) == 1 and next(iter(node)) in (GET, JOIN, JSON_GET)
    )


def evaluate(node: Any, scope: Scope) -> Any:
    """``node`` with every expression replaced by its value."""
    if isinstance(node, list):
        return [evaluate(item, scope) for item in node]
    if not isinstance(node, Mapping):
        return node
    if is_expression(node):
        (key, argument), *_ = node.items()
        if key == GET:
            return scope.get(argument)
        if key == JOIN:
            separator = to_text(evaluate(argument.get("On", ""), scope))
            values = evaluate(argument.get("Values", []), scope)
            return separator.join(to_text(value) for value in values)
        return _json_get(argument, scope)
    return {key: evaluate(value, scope) for key, value in node.items()}


def _json_get(argument: Mapping[str, Any], scope: Scope) -> Any:
    path = str(evaluate(argument.get("Path", ""), scope))
    # The value is data, so a cache key needs it for real even when execution variables
    # are masked (a JsonGet's S3Uri may contain the execution ID).
    scope = dataclasses.replace(scope, masked=False)
    if "PropertyFile" in argument:
        document = evaluate(argument["PropertyFile"], scope)
        source = argument["PropertyFile"].get(GET, "property file")
    else:
        source = str(evaluate(argument["S3Uri"], scope))
        document = scope.read_json(source)
    return lookup(document, parse_path(path), f"JsonGet {path!r} of {source}")


def to_text(value: Any) -> str:
    """How a value reads inside ``Std:Join``: JSON spelling for booleans and null."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def condition_outcome(condition: Mapping[str, Any]) -> bool:
    """Outcome of one condition whose operands are already evaluated."""
    kind = condition.get("Type")
    if kind == "Not":
        return not condition_outcome(condition["Condition"])
    if kind == "Or":
        return any(condition_outcome(item) for item in condition["Conditions"])
    if kind == "In":
        query = condition["QueryValue"]
        return any(_compare("Equals", query, value) for value in condition["Values"])
    return _compare(str(kind), condition["LeftValue"], condition["RightValue"])


def _compare(kind: str, left: Any, right: Any) -> bool:
    operator = COMPARISONS.get(kind)
    if operator is None:
        raise StepError(f"unknown condition type {kind!r}")
    left, right = _comparable(left), _comparable(right)
    numbers = isinstance(left, (int, float)) and isinstance(right, (int, float))
    if not numbers and type(left) is not type(right):
        if kind == "Equals":
            return to_text(left) == to_text(right)
        raise StepError(f"{kind}: cannot compare {left!r} with {right!r}")
    return operator(left, right)


def _comparable(value: Any) -> Any:
    # JsonGet of a number written as a string ("0.93") compares as the number it spells.
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return value


# -- property paths --------------------------------------------------------------------------


def split_step_reference(reference: str) -> tuple[str, list[str | int]]:
    match = _STEP_NAME.match(reference)
    if match is None:
        raise DefinitionError(f"malformed step reference {reference!r}")
    return match.group(1), parse_path(reference[match.end() :])


def parse_path(path: str) -> list[str | int]:
    """``Outputs['train'].S3Output.S3Uri`` -> ``["Outputs", "train", "S3Output", "S3Uri"]``."""
    tokens: list[str | int] = []
    position = 0
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise StepError(f"malformed property path {path!r} at position {position}")
        name, index, single, double = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(next(part for part in (name, single, double) if part is not None))
        position = match.end()
    return tokens


def lookup(value: Any, path: Sequence[str | int], what: str) -> Any:
    """Follow ``path`` into ``value``; a list indexed by a string is searched by name the way
    ``Outputs['train']`` finds the output whose OutputName is ``train``."""
    current = value
    for token in path:
        if (
            isinstance(current, list)
            and isinstance(token, int)
            and -len(current) <= token < len(current)
        ):
            current = current[token]
        elif isinstance(current, list) and isinstance(token, str):
            current = next((item for item in current if _named(item, token)), _MISSING)
        elif isinstance(current, Mapping) and str(token) in current:
            current = current[str(token)]
        else:
            current = _MISSING
        if current is _MISSING:
            raise StepError(f"{what}: no value at {_render(path)}")
    return current


_MISSING = object()


def _named(item: Any, name: str) -> bool:
    return isinstance(item, Mapping) and any(
        key.endswith("Name") and value == name for key, value in item.items()
    )


def _render(path: Sequence[str | int]) -> str:
    return "".join(f"[{token}]" if isinstance(token, int) else f".{token}" for token in path)


# -- static checks ---------------------------------------------------------------------------


def references(node: Any) -> Iterator[str]:
    """Every ``Get`` reference in ``node``, including those inside functions."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, Mapping):
        reference = node.get(GET) if len(node) == 1 else None
        if isinstance(reference, str):
            yield reference
            return
        for item in node.values():
            yield from references(item)


def check_reference(
    reference: str,
    *,
    parameters: Mapping[str, ParameterSpec],
    steps: Mapping[str, Mapping[str, Any]],
    experiment: Mapping[str, Any],
    where: str,
) -> None:
    """Reject a reference that can never resolve (unknown parameter, step or variable)."""
    kind, _, rest = reference.partition(".")
    problem = None
    if kind == "Parameters":
        problem = None if rest in parameters else f"unknown parameter {rest!r}"
    elif kind == "Execution":
        problem = None if rest in EXECUTION_VARIABLES else f"unknown execution variable {rest!r}"
    elif kind == "Steps":
        try:
            step, path = split_step_reference(reference)
        except DefinitionError:
            step, path = "", []
        if step not in steps:
            problem = f"reference to unknown step {step or reference!r}"
        elif path[:1] == ["PropertyFiles"]:
            files = [item.get("PropertyFileName") for item in steps[step].get("PropertyFiles", [])]
            if len(path) != 2 or path[1] not in files:
                problem = f"step {step} declares no property file {path[1:]!r}"
    elif kind == "PipelineExperimentConfig":
        problem = None if rest in experiment else f"no PipelineExperimentConfig.{rest}"
    else:
        problem = "unknown kind of reference"
    if problem:
        raise DefinitionError(f"malformed definition: {where}: {{'Get': {reference!r}}}: {problem}")
