"""Render a SageMaker Pipelines definition JSON as a mermaid ``flowchart TD``.

Works on the definition itself (not on SDK objects), so it shows what the service will run:
every step, nested condition branches included, with edges from

- property references in a step's Arguments (``{"Get": "Steps.<Name>...."}``, which also covers
  the property file of a ``Std:JsonGet``): solid arrows ``-->``;
- ``DependsOn``: dotted arrows ``-.->``;
- condition branches: ``-->|if|`` and ``-->|else|`` from the condition to each branch step.

The output is deterministic: nodes in definition order (depth first); edges grouped by target
step in that order, data sources in definition order, then DependsOn, then branches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pipelines.assembly.steps import BRANCHES, walk_steps

_STEP_REFERENCE = re.compile(r"^Steps\.([^.\[]+)")
_LABELS = {"IfSteps": "if", "ElseSteps": "else"}
# Node shapes by step type; anything else is a rectangle.
_SHAPES = {"Condition": ('{"', '"}'), "Fail": ('[/"', '"/]'), "Lambda": ('(["', '"])')}


def definition_to_mermaid(definition_json: str) -> str:
    """A mermaid flowchart of the pipeline in ``definition_json``."""
    definition = json.loads(definition_json)
    steps = list(walk_steps(definition.get("Steps", [])))
    names = [step["Name"] for step in steps]
    ids = _node_ids(names)
    lines = ["flowchart TD"]
    for step in steps:
        opening, closing = _SHAPES.get(step.get("Type", ""), ('["', '"]'))
        label = _escape(f"{step['Name']}<br/>{step.get('Type', '?')}")
        lines.append(f"  {ids[step['Name']]}{opening}{label}{closing}")

    edges: list[str] = []
    for step in steps:
        target = ids[step["Name"]]
        arguments = step.get("Arguments", {})
        if step.get("Type") == "Condition":
            # The branch steps are drawn from their own entries, not as the condition's inputs.
            arguments = {k: v for k, v in arguments.items() if k not in BRANCHES}
        sources = {name for name in _referenced_steps(arguments) if name in ids}
        for source in sorted(sources - {step["Name"]}, key=names.index):
            edges.append(f"  {ids[source]} --> {target}")
        for source in step.get("DependsOn", []):
            if isinstance(source, str) and source in ids:
                edges.append(f"  {ids[source]} -.-> {target}")
        for key in BRANCHES:
            for branch_step in step.get("Arguments", {}).get(key, []):
                edges.append(f"  {target} -->|{_LABELS[key]}| {ids[branch_step['Name']]}")
    lines.extend(dict.fromkeys(edges))  # drop repeats, keep the first occurrence's order
    return "\n".join(lines) + "\n"


def _referenced_steps(value: Any) -> Iterator[str]:
    """Names of the steps whose properties ``value`` reads, in order of appearance."""
    if isinstance(value, dict):
        reference = value.get("Get")
        if isinstance(reference, str) and (match := _STEP_REFERENCE.match(reference)):
            yield match.group(1)
        for item in value.values():
            yield from _referenced_steps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _referenced_steps(item)


def _node_ids(names: list[str]) -> dict[str, str]:
    """Mermaid-safe, unique node ids derived from the step names."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = "step_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        candidate, number = base, 1
        while candidate in used:
            number += 1
            candidate = f"{base}_{number}"
        ids[name] = candidate
        used.add(candidate)
    return ids


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")
