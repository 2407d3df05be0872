"""SageMaker pipeline definitions out of templates, and a step-level diff between two of them.

In a template the definition is an ``Fn::Join`` of literal JSON text and CloudFormation tokens
(``Ref``, ``Fn::Sub``, ``Fn::GetStackOutput``, ``Fn::GetAtt``). Each token becomes the stable
placeholder string of pipelines.assembly.resolve, such as ``${Ref:AWS::AccountId}``, so the
text parses as JSON and two definitions compare equal exactly when they would deploy the same
definition.

The diff matches steps by name (nested condition branches included) and compares each step with
its parameter references (``{"Get": "Parameters.X"}``) resolved to the parameter's default, so a
changed default shows at every step that uses it: "TrainBaseline: instance type ml.m5.xlarge ->
ml.m5.2xlarge (default of parameter TrainingInstanceType)". Each change gets a category
(instance type, hyperparameter range, threshold, image, ...) for the report.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pipelines.assembly.definition import (
    DefinitionReadError,
    definition_from_template,
    inline_body,
)
from pipelines.assembly.resolve import Resolver, placeholder
from pipelines.assembly.steps import BRANCHES, placed_steps
from pipelines.names import PIPELINE_TYPE

INSTANCE_TYPE = "instance type"
HYPERPARAMETER_RANGE = "hyperparameter range"
HYPERPARAMETER = "hyperparameter"
TUNING_BUDGET = "tuning budget"
THRESHOLD = "condition / threshold"
IMAGE = "image"
DAG = "DAG"
OTHER = "other"
# Categories a reviewer should not miss: the report puts them in bold.
KEY_CATEGORIES = frozenset(
    {INSTANCE_TYPE, HYPERPARAMETER_RANGE, HYPERPARAMETER, TUNING_BUDGET, THRESHOLD, IMAGE}
)

_IMAGE_KEYS = frozenset({"ImageUri", "TrainingImage", "Image"})
_HYPERPARAMETER_KEYS = frozenset({"HyperParameters", "StaticHyperParameters"})
# Lists of objects carrying one of these keys are matched item by item by its value.
_LIST_KEYS = ("Name", "ChannelName", "InputName", "OutputName", "VariantName", "MetricName")


class DefinitionError(Exception):
    """The template's pipeline definition cannot be read."""


class _Absent(Enum):
    ABSENT = "absent"


ABSENT = _Absent.ABSENT


@dataclass(frozen=True)
class ParameterValue:
    """A ``{"Get": "Parameters.<name>"}`` reference, resolved to the parameter's default."""

    name: str
    default: Any


@dataclass(frozen=True)
class Change:
    path: str
    category: str
    old: Any
    new: Any


@dataclass(frozen=True)
class StepInfo:
    name: str
    type: str
    location: str


@dataclass(frozen=True)
class StepChange:
    step: StepInfo
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class ParameterChange:
    name: str
    kind: str  # added | removed | changed
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None


@dataclass(frozen=True)
class PipelineDiff:
    parameters: tuple[ParameterChange, ...]
    steps_added: tuple[StepInfo, ...]
    steps_removed: tuple[StepInfo, ...]
    steps_changed: tuple[StepChange, ...]
    pipeline_level: tuple[Change, ...]

    @property
    def is_empty(self) -> bool:
        return not (
            self.parameters
            or self.steps_added
            or self.steps_removed
            or self.steps_changed
            or self.pipeline_level
        )


# --- Reading the definition out of a template -------------------------------------------------


# The review reads no stack: every token stays a placeholder.
_PLACEHOLDERS = Resolver([], mode="placeholder")
_NO_STEPS = "the definition has no Steps list"


def parse_definition(body: Any) -> dict[str, Any]:
    try:
        definition = definition_from_template(body, _PLACEHOLDERS)
    except DefinitionReadError as error:
        if error.reason == "not JSON":
            message = f"the definition is not JSON after substitution: {error.detail}"
            raise DefinitionError(message) from None
        if error.reason == "unsupported":
            raise DefinitionError(error.detail) from None
        raise DefinitionError(_NO_STEPS) from None
    if not isinstance(definition.get("Steps"), list):
        raise DefinitionError(_NO_STEPS)
    return definition


@dataclass(frozen=True)
class PipelineResource:
    logical_id: str
    pipeline_name: str
    definition: dict[str, Any] | None
    error: str | None


def pipelines_in_template(template: Mapping[str, Any]) -> dict[str, PipelineResource]:
    """Every ``AWS::SageMaker::Pipeline`` of the template, by logical id."""
    found: dict[str, PipelineResource] = {}
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        if resource.get("Type") != PIPELINE_TYPE:
            continue
        properties = resource.get("Properties", {})
        name = properties.get("PipelineName")
        name = name if isinstance(name, str) else placeholder(name)
        body = inline_body(properties)
        definition, error = None, None
        if body is not None:
            try:
                definition = parse_definition(body)
            except DefinitionError as problem:
                error = str(problem)
        else:
            error = "the definition is stored in S3 (PipelineDefinitionS3Location): not diffed"
        found[logical_id] = PipelineResource(logical_id, name, definition, error)
    return found


# --- The step-level diff ------------------------------------------------------------------------


def _flatten(steps: list[Any]) -> Iterator[tuple[StepInfo, Any]]:
    """(step info, step with branches replaced by the names of their steps), depth first."""
    for placed in placed_steps(steps):
        step = placed.step
        location = "top level"
        if placed.parent is not None:
            location = f"{placed.parent} → {'if' if placed.branch == 'IfSteps' else 'else'}"
        info = StepInfo(str(step.get("Name", "?")), str(step.get("Type", "?")), location)
        arguments = step.get("Arguments")
        flat = dict(step)
        # A branch's steps are compared on their own: the condition keeps only their names.
        if isinstance(arguments, dict) and any(key in arguments for key in BRANCHES):
            flat["Arguments"] = {
                key: [branch.get("Name") for branch in value if isinstance(branch, dict)]
                if key in BRANCHES and isinstance(value, list)
                else value
                for key, value in arguments.items()
            }
        yield info, flat


def _steps(definition: Mapping[str, Any]) -> dict[str, tuple[StepInfo, Any]]:
    steps: dict[str, tuple[StepInfo, Any]] = {}
    for info, step in _flatten(definition.get("Steps", [])):
        name, number = info.name, 1
        while name in steps:  # invalid in SageMaker, but never lose a step
            number += 1
            name = f"{info.name}#{number}"
        steps[name] = (StepInfo(name, info.type, info.location), step)
    return steps


def _parameters(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(parameter.get("Name")): parameter
        for parameter in definition.get("Parameters") or []
        if isinstance(parameter, dict)
    }


def _resolve(value: Any, parameters: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(value, dict):
        reference = value.get("Get")
        if len(value) == 1 and isinstance(reference, str) and reference.startswith("Parameters."):
            name = reference.removeprefix("Parameters.")
            return ParameterValue(name, parameters.get(name, {}).get("DefaultValue", ABSENT))
        return {key: _resolve(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, parameters) for item in value]
    return value


def _list_key(old: list[Any], new: list[Any]) -> str | None:
    items = old + new
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _LIST_KEYS:
        if (
            all(isinstance(item.get(key), str) for item in items)
            and len({item[key] for item in old}) == len(old)
            and len({item[key] for item in new}) == len(new)
        ):
            return key
    return None


def _diff(
    old: Any, new: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], Any, Any]]
) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(key for key in new if key not in old)]:
            _diff(old.get(key, ABSENT), new.get(key, ABSENT), (*path, str(key)), out)
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _list_key(old, new)
        if key is not None:
            old_items = {item[key]: item for item in old}
            new_items = {item[key]: item for item in new}
            for name in [*old_items, *(name for name in new_items if name not in old_items)]:
                item_path = (*path, f"[{name}]")
                _diff(old_items.get(name, ABSENT), new_items.get(name, ABSENT), item_path, out)
            return
        if len(old) == len(new):
            for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
                _diff(old_item, new_item, (*path, f"[{index}]"), out)
            return
    out.append((path, old, new))


def categorize(path: tuple[str, ...]) -> str:
    """The category of a change at ``path`` inside a step (``Arguments`` included)."""
    keys = [part for part in path if not part.startswith("[")]
    last = keys[-1] if keys else ""
    if "ParameterRanges" in keys:
        return HYPERPARAMETER_RANGE
    if "ResourceLimits" in keys:
        return TUNING_BUDGET
    if _HYPERPARAMETER_KEYS.intersection(keys):
        return HYPERPARAMETER
    if last.endswith("InstanceType"):
        return INSTANCE_TYPE
    if last in _IMAGE_KEYS:
        return IMAGE
    if keys[:2] == ["Arguments", "Conditions"]:
        return THRESHOLD
    if keys[:1] in (["DependsOn"], ["Type"]) or (len(keys) == 2 and keys[1] in BRANCHES):
        return DAG
    return OTHER


def format_path(path: tuple[str, ...]) -> str:
    parts = list(path[1:] if path[:1] == ("Arguments",) and len(path) > 1 else path)
    text = ""
    for part in parts:
        text += part if part.startswith("[") or not text else f".{part}"
    return text or "(whole step)"


def _changes(old: Any, new: Any) -> tuple[Change, ...]:
    found: list[tuple[tuple[str, ...], Any, Any]] = []
    _diff(old, new, (), found)
    return tuple(Change(format_path(path), categorize(path), a, b) for path, a, b in found)


def _parameter_changes(
    base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]]
) -> tuple[ParameterChange, ...]:
    changes = []
    for name in [*base, *(name for name in head if name not in base)]:
        old, new = base.get(name), head.get(name)
        if old == new:
            continue
        kind = "added" if old is None else "removed" if new is None else "changed"
        changes.append(ParameterChange(name, kind, old, new))
    return tuple(changes)


def diff_definitions(
    base: Mapping[str, Any] | None, head: Mapping[str, Any] | None
) -> PipelineDiff:
    """Step-level differences from ``base`` to ``head`` (None: no pipeline on that side)."""
    base, head = base or {}, head or {}
    base_parameters, head_parameters = _parameters(base), _parameters(head)
    base_steps, head_steps = _steps(base), _steps(head)
    changed = []
    for name, (info, step) in head_steps.items():
        if name not in base_steps:
            continue
        old = _resolve(base_steps[name][1], base_parameters)
        new = _resolve(step, head_parameters)
        changes = _changes(old, new)
        if base_steps[name][0].location != info.location:
            old_location = base_steps[name][0].location
            changes = (Change("(position)", DAG, old_location, info.location), *changes)
        if changes:
            changed.append(StepChange(info, changes))
    top_old = {key: value for key, value in base.items() if key not in ("Steps", "Parameters")}
    top_new = {key: value for key, value in head.items() if key not in ("Steps", "Parameters")}
    return PipelineDiff(
        parameters=_parameter_changes(base_parameters, head_parameters),
        steps_added=tuple(info for name, (info, _) in head_steps.items() if name not in base_steps),
        steps_removed=tuple(
            info for name, (info, _) in base_steps.items() if name not in head_steps
        ),
        steps_changed=tuple(changed),
        pipeline_level=_changes(top_old, top_new) if base else (),
    )
