"""The one walker over a SageMaker pipeline definition's steps.

A Condition step holds further steps in its ``IfSteps`` and ``ElseSteps`` arguments, to any
depth; every consumer (the request checks at synth, the mermaid chart, the local run's graph,
the review's diff) needs them all, depth first in definition order, and most need to know which
condition and branch holds each one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

BRANCHES = ("IfSteps", "ElseSteps")


class MalformedStepsError(ValueError):
    """The definition's steps are not the shape SageMaker accepts (strict walks only)."""


@dataclass(frozen=True)
class PlacedStep:
    """A step and where it sits: ``parent`` is the Condition step whose ``branch``
    (``IfSteps`` or ``ElseSteps``) holds it; both None at the top level."""

    step: dict[str, Any]
    parent: str | None = None
    branch: str | None = None


def walk_steps(steps: Any) -> Iterator[dict[str, Any]]:
    """Every step, depth first, condition branches included."""
    for placed in placed_steps(steps):
        yield placed.step


def placed_steps(
    steps: Any, *, strict: bool = False, parent: str | None = None, branch: str | None = None
) -> Iterator[PlacedStep]:
    """Every step with its place, depth first, condition branches included.

    Lenient by default: what is not a list of objects is skipped, since a built or synthesized
    definition is well formed. ``strict`` is for a definition read from an assembly someone may
    have edited: every step must be an object with a Name, a Type and object Arguments, and
    every branch a list, or MalformedStepsError says which.
    """
    if not isinstance(steps, list):
        if strict:
            raise MalformedStepsError(
                f"malformed definition: {branch or 'Steps'} of {parent} is not a list"
            )
        return
    for step in steps:
        # A definition is JSON, so an object is always a dict.
        if not isinstance(step, dict):
            if strict:
                raise MalformedStepsError(
                    f"malformed definition: a step is not an object: {step!r}"
                )
            continue
        if strict:
            _check_step(step)
        yield PlacedStep(step, parent, branch)
        arguments = step.get("Arguments", {})
        # Only a Condition step has branches in SageMaker's definition schema.
        if step.get("Type") == "Condition" and isinstance(arguments, Mapping):
            name = str(step.get("Name", "?"))
            for key in BRANCHES:
                yield from placed_steps(
                    arguments.get(key, []), strict=strict, parent=name, branch=key
                )


def _check_step(step: Mapping[str, Any]) -> None:
    name, kind = step.get("Name"), step.get("Type")
    if not isinstance(name, str) or not name:
        raise MalformedStepsError(f"malformed definition: a step has no Name: {_brief(step)}")
    if not isinstance(kind, str) or not kind:
        raise MalformedStepsError(f"malformed definition: step {name} has no Type")
    if not isinstance(step.get("Arguments", {}), Mapping):
        raise MalformedStepsError(
            f"malformed definition: Arguments of step {name} is not an object"
        )


def _brief(step: Mapping[str, Any]) -> str:
    text = repr(dict(step))
    return text if len(text) <= 80 else text[:77] + "..."
