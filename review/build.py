"""Put the review together from a base and a head assembly (either may be given or synthesized)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from review.assembly import Assembly
from review.checks import (
    TOOLS,
    Finding,
    ToolResult,
    cfn_lint_findings,
    checkov_findings,
    nag_findings,
)
from review.pipeline_diff import PipelineDiff, diff_definitions, pipelines_in_template
from review.template_diff import StackDiff, diff_templates


@dataclass(frozen=True)
class Side:
    """One side of the review: a label for the report and its assembly (None: treated as empty)."""

    label: str
    assembly: Assembly | None
    notes: tuple[str, ...] = ()
    log_tail: str = ""


@dataclass(frozen=True)
class StackReview:
    id: str
    base_name: str | None
    head_name: str | None
    diff: StackDiff


@dataclass(frozen=True)
class PipelineReview:
    stack: str
    logical_id: str
    name: str
    head_definition: dict[str, Any] | None
    diff: PipelineDiff | None
    errors: tuple[str, ...]
    new: bool


@dataclass(frozen=True)
class Review:
    base: Side
    head: Side
    stacks: tuple[StackReview, ...]
    pipelines: tuple[PipelineReview, ...]
    checks: Mapping[str, ToolResult] = field(default_factory=dict)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for tool in TOOLS if tool in self.checks for f in self.checks[tool].findings)

    @property
    def check_errors(self) -> dict[str, str]:
        return {tool: r.error for tool, r in self.checks.items() if r.error is not None}

    @property
    def has_changes(self) -> bool:
        return any(not s.diff.is_empty for s in self.stacks) or any(
            p.new or (p.diff is not None and not p.diff.is_empty) for p in self.pipelines
        )


def _stack_order(base: Assembly | None, head: Assembly | None) -> list[str]:
    head_ids = list(head.stacks) if head else []
    base_only = [s for s in (base.stacks if base else {}) if s not in head_ids]
    return head_ids + base_only


def _pipelines(
    stack_id: str, base: Mapping[str, Any] | None, head: Mapping[str, Any] | None
) -> list[PipelineReview]:
    base_pipelines = pipelines_in_template(base or {})
    head_pipelines = pipelines_in_template(head or {})
    pairs = {
        logical_id: (base_pipelines.get(logical_id), p) for logical_id, p in head_pipelines.items()
    }
    unmatched_base = [p for lid, p in base_pipelines.items() if lid not in head_pipelines]
    unmatched_head = [lid for lid in head_pipelines if lid not in base_pipelines]
    # One pipeline per side under a new logical id is still the same pipeline.
    if len(unmatched_base) == 1 and len(unmatched_head) == 1:
        pairs[unmatched_head[0]] = (unmatched_base[0], head_pipelines[unmatched_head[0]])
        unmatched_base = []
    reviews = []
    for logical_id, (old, new) in pairs.items():
        errors = tuple(
            f"{side}: {p.error}" for side, p in (("base", old), ("head", new)) if p and p.error
        )
        diff = None
        if new.definition is not None and (old is None or old.definition is not None):
            diff = diff_definitions(old.definition if old else None, new.definition)
        reviews.append(
            PipelineReview(
                stack_id, logical_id, new.pipeline_name, new.definition, diff, errors, old is None
            )
        )
    for old in unmatched_base:
        removed = diff_definitions(old.definition, None) if old.definition is not None else None
        reviews.append(
            PipelineReview(stack_id, old.logical_id, old.pipeline_name, None, removed, (), False)
        )
    return reviews


def run_checks(
    head: Assembly | None, env: Mapping[str, str] | None = None
) -> dict[str, ToolResult]:
    if head is None:
        return {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        lint = pool.submit(cfn_lint_findings, head, env=env)
        checkov = pool.submit(checkov_findings, head, env=env)
        return {
            "cdk-nag": nag_findings(head),
            "cfn-lint": lint.result(),
            "checkov": checkov.result(),
        }


def build_review(
    base: Side,
    head: Side,
    *,
    checks: bool = True,
    env: Mapping[str, str] | None = None,
) -> Review:
    """Diff every stack and pipeline from ``base`` to ``head``; run the checks on the head."""
    order = _stack_order(base.assembly, head.assembly)

    def template(side: Side, stack_id: str) -> dict[str, Any] | None:
        if side.assembly is None or stack_id not in side.assembly.stacks:
            return None
        # A deep copy: the review never shares mutable template state with the assembly.
        copied: dict[str, Any] = json.loads(json.dumps(side.assembly.stacks[stack_id].template))
        return copied

    pairs = {stack_id: (template(base, stack_id), template(head, stack_id)) for stack_id in order}
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The node diff and the checkers are separate processes: run them side by side.
        checked = pool.submit(run_checks, head.assembly if checks else None, env)
        diffs = diff_templates(pairs, env=env)
        check_results = checked.result()

    def name(side: Side, stack_id: str) -> str | None:
        if side.assembly is None or stack_id not in side.assembly.stacks:
            return None
        return side.assembly.stacks[stack_id].stack_name

    stacks = tuple(
        StackReview(stack_id, name(base, stack_id), name(head, stack_id), diffs[stack_id])
        for stack_id in order
    )
    pipelines = tuple(
        review
        for stack_id in order
        for review in _pipelines(stack_id, pairs[stack_id][0], pairs[stack_id][1])
    )
    return Review(base, head, stacks, pipelines, check_results)
