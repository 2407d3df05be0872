"""The step graph of a definition: every step (condition branches included), what each one
waits for, and an order that respects it.

A step waits for the steps named in its ``DependsOn``, the steps whose properties its
arguments read (``Get: Steps.X...``, property files included) and, when it sits in a
condition's ``IfSteps``/``ElseSteps``, for that condition step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.assembly.steps import BRANCHES, MalformedStepsError, placed_steps
from pipelines.local.errors import DefinitionError
from pipelines.local.expressions import references, split_step_reference


@dataclass(frozen=True)
class StepNode:
    name: str
    type: str
    step: Mapping[str, Any]
    index: int
    parent: str | None
    branch: str | None
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class PipelineGraph:
    nodes: dict[str, StepNode]
    order: list[str]

    def dependants(self, name: str) -> set[str]:
        """Steps that (transitively) wait for ``name``."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for node in self.nodes.values():
                if current in node.depends_on and node.name not in found:
                    found.add(node.name)
                    frontier.append(node.name)
        return found


def own_content(step: Mapping[str, Any]) -> dict[str, Any]:
    """The step without its branch steps: what its own dependencies are read from."""
    content = dict(step)
    arguments = step.get("Arguments")
    if step.get("Type") == "Condition" and isinstance(arguments, Mapping):
        content["Arguments"] = {k: v for k, v in arguments.items() if k not in BRANCHES}
    return content


def build_graph(definition: Mapping[str, Any]) -> PipelineGraph:
    steps = definition.get("Steps")
    if not isinstance(steps, list) or not steps:
        raise DefinitionError("malformed definition: Steps must be a non-empty list")
    try:
        flat = list(placed_steps(steps, strict=True))
    except MalformedStepsError as error:
        raise DefinitionError(str(error)) from None
    nodes: dict[str, StepNode] = {}
    for index, placed in enumerate(flat):
        step, name = placed.step, placed.step["Name"]
        if name in nodes:
            raise DefinitionError(f"malformed definition: two steps are named {name!r}")
        nodes[name] = StepNode(name, step["Type"], step, index, placed.parent, placed.branch, ())
    for name, node in list(nodes.items()):
        depends = _dependencies(node, nodes)
        nodes[name] = StepNode(
            node.name, node.type, node.step, node.index, node.parent, node.branch, depends
        )
    return PipelineGraph(nodes, _topological_order(nodes))


def _dependencies(node: StepNode, nodes: Mapping[str, StepNode]) -> tuple[str, ...]:
    depends: list[str] = []
    explicit = node.step.get("DependsOn", [])
    if not isinstance(explicit, list) or not all(isinstance(item, str) for item in explicit):
        raise DefinitionError(f"malformed definition: DependsOn of {node.name} must list names")
    for name in explicit:
        if name not in nodes:
            raise DefinitionError(
                f"malformed definition: step {node.name} depends on unknown step {name!r}"
            )
        depends.append(name)
    for reference in references(own_content(node.step)):
        if reference.startswith("Steps."):
            step, _ = split_step_reference(reference)
            if step in nodes and step != node.name:
                depends.append(step)
    if node.parent is not None:
        depends.append(node.parent)
    return tuple(dict.fromkeys(depends))


def _topological_order(nodes: Mapping[str, StepNode]) -> list[str]:
    """Kahn's algorithm, ties broken by definition order so the order is stable."""
    waiting = {name: set(node.depends_on) for name, node in nodes.items()}
    order: list[str] = []
    while waiting:
        ready = [name for name, deps in waiting.items() if not deps]
        if not ready:
            raise DefinitionError(f"malformed definition: dependency cycle: {_cycle(waiting)}")
        first = min(ready, key=lambda name: nodes[name].index)
        order.append(first)
        del waiting[first]
        for deps in waiting.values():
            deps.discard(first)
    return order


def _cycle(waiting: Mapping[str, set[str]]) -> str:
    """One cycle among the steps that never became ready, as ``A -> B -> A``."""
    start = min(waiting)
    path = [start]
    while True:
        current = min(dep for dep in waiting[path[-1]] if dep in waiting)
        if current in path:
            cycle = path[path.index(current) :]
            return " -> ".join([*cycle, current])
        path.append(current)
