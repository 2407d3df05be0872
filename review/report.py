"""The review as GitHub-flavoured Markdown: deterministic for identical inputs (no timestamps)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pipelines.mermaid import definition_to_mermaid
from review.build import PipelineReview, Review, Side, StackReview
from review.checks import TOOLS, Finding
from review.pipeline_diff import (
    ABSENT,
    DAG,
    KEY_CATEGORIES,
    Change,
    ParameterChange,
    ParameterValue,
    PipelineDiff,
    StepChange,
)
from review.template_diff import ADDED, MODIFIED, REMOVED, REPLACED, ResourceChange

TITLE = "# Infrastructure review"
SUMMARY_HEADER = "## Summary"
DANGER = "⚠️ DANGER"
BROADENS = "🔓 **broadens**"
NO_CHANGES = "**No changes:** the base and head templates and pipeline definitions are identical."
# Longer tables fold into <details>.
FOLD_ROWS = 12
MAX_VALUE_CHARS = 160

_IMPACT_LABELS = {
    "WILL_CREATE": "added",
    "WILL_IMPORT": "imported",
    "WILL_UPDATE": "modified",
    "NO_CHANGE": "modified (no resource update)",
    "WILL_REPLACE": "**REPLACED**",
    "MAY_REPLACE": "**MAY BE REPLACED**",
    "WILL_DESTROY": "**REMOVED (deleted)**",
    "WILL_ORPHAN": "**REMOVED (orphaned)**",
}
_IMPACT_ORDER = [
    "WILL_DESTROY",
    "WILL_ORPHAN",
    "WILL_REPLACE",
    "MAY_REPLACE",
    "WILL_UPDATE",
    "NO_CHANGE",
    "WILL_CREATE",
    "WILL_IMPORT",
]
_RETAINED = ("Retain", "RetainExceptOnCreate", "Snapshot")


# --- Markdown helpers ---------------------------------------------------------------------------


_MARKDOWN_SPECIALS = str.maketrans({c: f"\\{c}" for c in "\\`*_~[]|$"})


def cell(text: str) -> str:
    """Plain text as one table cell: no HTML, no emphasis, no column break; newlines as <br>."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.translate(_MARKDOWN_SPECIALS).replace("\n", "<br>")


def code(text: str) -> str:
    text = text.replace("\n", " ")
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    if not text:
        return "` `"
    fence, pad = ("``", " ") if "`" in text else ("`", "")
    escaped = text.replace("|", "\\|")
    return f"{fence}{pad}{escaped}{pad}{fence}"


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], align: str | None = None
) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + (align or "---|" * len(header))]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def fold(summary: str, lines: list[str], *, force: bool = False, rows: int = 0) -> list[str]:
    """``lines`` as is, or inside <details> when long (or ``force``)."""
    if not force and rows <= FOLD_ROWS:
        return lines
    return ["<details>", f"<summary>{summary}</summary>", "", *lines, "", "</details>"]


def _json(value: Any) -> str:
    def default(item: Any) -> Any:
        if isinstance(item, ParameterValue):
            return {"Get": f"Parameters.{item.name}"}
        return None

    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=default)


def value(item: Any) -> str:
    if item is ABSENT:
        return "—"
    if isinstance(item, ParameterValue):
        if item.default is ABSENT:
            return f"parameter {code(item.name)} (no default)"
        return f"{value(item.default)} (default of parameter {code(item.name)})"
    if isinstance(item, str):
        return code(item)
    return code(_json(item))


# --- Sections -----------------------------------------------------------------------------------


def _side_notes(side: Side) -> list[str]:
    lines = [f"> ⚠️ {note}" for note in side.notes]
    if side.log_tail:
        lines += [
            "",
            *fold(
                f"{side.label}: synth output (last lines)",
                ["```", side.log_tail, "```"],
                force=True,
            ),
        ]
    return lines


def _findings_by_stack(review: Review) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in review.findings:
        counts[finding.stack] = counts.get(finding.stack, 0) + 1
    return counts


def _summary(review: Review) -> list[str]:
    findings = _findings_by_stack(review)
    rows = []
    for stack in review.stacks:
        diff = stack.diff
        danger = len(diff.dangers)
        rows.append(
            [
                code(stack.id),
                str(diff.count(ADDED)),
                str(diff.count(MODIFIED)),
                str(diff.count(REPLACED)),
                str(diff.count(REMOVED)),
                f"{DANGER} {danger}" if danger else "0",
                "🔓 **yes**" if diff.permissions_broadened else "no",
                str(findings.get(stack.id, 0)) if review.checks else "—",
            ]
        )
    header = ["Stack", "Added", "Modified", "Replaced", "Removed", "Danger", "IAM broadened"]
    lines = [SUMMARY_HEADER, ""]
    lines += table([*header, "Head findings"], rows, "---|--:|--:|--:|--:|--:|---|--:|")
    lines.append("")
    if not review.has_changes:
        lines += [NO_CHANGES, ""]
    for stack in review.stacks:
        if stack.base_name and stack.head_name and stack.base_name != stack.head_name:
            lines += [
                f"- ⚠️ Stack {code(stack.id)} is renamed {code(stack.base_name)} → "
                f"{code(stack.head_name)}: see its section.",
            ]
    for pipeline in review.pipelines:
        lines.append(f"- Pipeline {code(pipeline.name)}: {_pipeline_summary(pipeline)}")
    totals = []
    for tool in TOOLS:
        result = review.checks.get(tool)
        if result is None:
            totals.append(f"{tool} not run")
        elif result.error:
            totals.append(f"{tool} ⚠️ could not run")
        else:
            totals.append(f"{tool} {len(result.findings)}")
    lines.append("- Head checks (findings): " + " · ".join(totals))
    return [*lines, ""]


def _pipeline_summary(pipeline: PipelineReview) -> str:
    diff = pipeline.diff
    if pipeline.errors and diff is None:
        return "definition could not be read (see its section)"
    if pipeline.head_definition is None:
        return "**removed** from the head"
    if pipeline.new:
        steps = len(diff.steps_added) if diff else 0
        return f"new ({steps} steps)"
    if diff is None or diff.is_empty:
        return "definition unchanged"
    parts = []
    for count, noun, verb in (
        (sum(c.kind == "changed" for c in diff.parameters), "parameter", "changed"),
        (sum(c.kind != "changed" for c in diff.parameters), "parameter", "added/removed"),
        (len(diff.steps_added), "step", "added"),
        (len(diff.steps_removed), "step", "removed"),
        (len(diff.steps_changed), "step", "changed"),
    ):
        if count:
            parts.append(f"{count} {noun}{'s' if count > 1 else ''} {verb}")
    categories = sorted(
        {c.category for s in diff.steps_changed for c in s.changes if c.category in KEY_CATEGORIES}
    )
    text = ", ".join(parts) or "pipeline-level settings changed"
    return text + (f" ({', '.join(f'**{c}**' for c in categories)})" if categories else "")


def _data_fate(change: ResourceChange) -> str:
    if change.impact in REPLACED:
        if change.old_update_replace_policy in _RETAINED:
            return (
                "a new, empty resource replaces it; the old one and its data are retained "
                f"outside the stack (UpdateReplacePolicy {change.old_update_replace_policy})"
            )
        return "a new resource replaces it and the old one is **deleted with its data**"
    if change.impact == "WILL_ORPHAN":
        return (
            "leaves the stack; the resource and its data stay in the account, unmanaged "
            f"(DeletionPolicy {change.old_deletion_policy})"
        )
    return "**deleted with its data**"


def _sorted_resources(changes: Iterable[ResourceChange]) -> list[ResourceChange]:
    return sorted(
        changes,
        key=lambda c: (
            not c.danger,
            _IMPACT_ORDER.index(c.impact) if c.impact in _IMPACT_ORDER else 99,
            c.logical_id,
        ),
    )


def _danger_section(review: Review) -> list[str]:
    rows = [
        [
            DANGER,
            code(stack.id),
            code(change.logical_id),
            code(change.type),
            _IMPACT_LABELS.get(change.impact, change.impact),
            cell(", ".join(change.replacement_causes) or "—"),
            _data_fate(change),
        ]
        for stack in review.stacks
        for change in _sorted_resources(stack.diff.dangers)
    ]
    if not rows:
        return []
    header = ["", "Stack", "Logical ID", "Type", "Change", "Caused by", "What happens to the data"]
    return ["## ⚠️ Danger: data-bearing resources replaced or removed", "", *table(header, rows), ""]


def _stack_notes(stack: StackReview) -> list[str]:
    if stack.base_name is None:
        return [f"New stack {code(stack.head_name or stack.id)}: every resource is created.", ""]
    if stack.head_name is None:
        return [
            f"> ⚠️ The head has no stack {code(stack.id)} ({code(stack.base_name)}). Deploying the "
            "head leaves the deployed stack alone; deleting that stack would have the effects "
            "listed below.",
            "",
        ]
    if stack.base_name != stack.head_name:
        return [
            f"> ⚠️ The stack name changes from {code(stack.base_name)} to {code(stack.head_name)}: "
            f"`cdk deploy` creates a **new** CloudFormation stack {code(stack.head_name)} and "
            f"leaves {code(stack.base_name)} and its resources in place. The diff below compares "
            "the two templates as if the stack were updated.",
            "",
        ]
    return [f"CloudFormation stack {code(stack.head_name)}.", ""]


def _resources_section(stack: StackReview) -> list[str]:
    changes = _sorted_resources(stack.diff.resources)
    if not changes:
        return ["No resource changes.", ""]
    rows = [
        [
            DANGER if change.danger else "",
            _IMPACT_LABELS.get(change.impact, change.impact),
            code(change.logical_id),
            code(change.type),
            cell(", ".join(change.replacement_causes) or "—"),
            cell(", ".join(change.changed) or "—"),
        ]
        for change in changes
    ]
    header = ["", "Change", "Logical ID", "Type", "Replacement caused by", "Changed"]
    lines = table(header, rows)
    return [*fold(f"{len(rows)} resource changes", lines, rows=len(rows)), ""]


def _iam_section(stack: StackReview) -> list[str]:
    diff = stack.diff
    if not (diff.iam_statements or diff.iam_managed_policies):
        return []
    title = "#### IAM changes" + (
        " — 🔓 permissions broadened" if diff.permissions_broadened else ""
    )
    lines = [title, ""]
    if diff.iam_statements:
        rows = []
        for sign, resource, effect, action, principal, condition in (
            row[:6] for row in diff.iam_statements
        ):
            broadens = (sign == "+" and effect == "Allow") or (sign == "-" and effect == "Deny")
            marker = BROADENS if broadens else ("added" if sign == "+" else "removed")
            rows.append(
                [marker, cell(resource), effect, cell(action), cell(principal), cell(condition)]
            )
        statements = table(["", "Resource", "Effect", "Action", "Principal", "Condition"], rows)
        lines += [*fold(f"{len(rows)} IAM statement changes", statements, rows=len(rows)), ""]
    if diff.iam_managed_policies:
        rows = [
            [BROADENS if sign == "+" else "removed", cell(resource), cell(arn)]
            for sign, resource, arn in (row[:3] for row in diff.iam_managed_policies)
        ]
        lines += [*table(["", "Resource", "Managed policy ARN"], rows), ""]
    return lines


def _other_template_changes(stack: StackReview) -> list[str]:
    diff = stack.diff
    items = [f"- Output {code(name)}: {change}" for name, change in diff.outputs]
    items += [f"- Parameter {code(name)}: {change}" for name, change in diff.parameters]
    if diff.security_groups:
        items.append(f"- {len(diff.security_groups)} security group rule changes")
    if not items:
        return []
    return [
        "#### Outputs and parameters",
        "",
        *fold(f"{len(items)} changes", items, rows=len(items)),
        "",
    ]


def _stack_section(stack: StackReview) -> list[str]:
    lines = [f"### Stack {code(stack.id)}", "", *_stack_notes(stack)]
    if stack.diff.is_empty:
        return [*lines, "No changes.", ""]
    lines += ["#### Resources", "", *_resources_section(stack)]
    return [*lines, *_iam_section(stack), *_other_template_changes(stack)]


def _describe_parameter(parameter: Any) -> str:
    if not parameter:
        return "—"
    text = f"{parameter.get('Type', '?')}, default {value(parameter.get('DefaultValue', ABSENT))}"
    if "EnumValues" in parameter:
        text += f", one of {value(parameter['EnumValues'])}"
    return text


def _parameters_table(changes: Sequence[ParameterChange]) -> list[str]:
    rows = [
        [code(c.name), c.kind, _describe_parameter(c.old), _describe_parameter(c.new)]
        for c in changes
    ]
    return ["##### Parameters", "", *table(["Parameter", "Change", "Base", "Head"], rows), ""]


def _change_rows(changes: Iterable[Change]) -> list[list[str]]:
    return [
        [
            f"**{c.category}**" if c.category in KEY_CATEGORIES else c.category,
            code(c.path),
            value(c.old),
            value(c.new),
        ]
        for c in changes
    ]


def _step_changes(steps: Sequence[StepChange]) -> list[str]:
    lines = ["##### Step changes", ""]
    header = ["Category", "Field", "Base", "Head"]
    for step in steps:
        lines += [f"**{code(step.step.name)}** ({step.step.type}, {step.step.location})", ""]
        key = [c for c in step.changes if c.category in KEY_CATEGORIES or c.category == DAG]
        other = [c for c in step.changes if c not in key]
        if key:
            lines += [*table(header, _change_rows(key)), ""]
        if other:
            rows = _change_rows(other)
            lines += [
                *fold(
                    f"{len(rows)} other field changes",
                    table(header, rows),
                    force=bool(key) or len(rows) > 6,
                ),
                "",
            ]
    return lines


def _pipeline_diff(diff: PipelineDiff, new: bool) -> list[str]:
    lines: list[str] = []
    if new:
        return ["New pipeline: every step is added.", ""]
    if diff.is_empty:
        return ["The definition is unchanged.", ""]
    if diff.parameters:
        lines += _parameters_table(diff.parameters)
    if diff.steps_added or diff.steps_removed:
        rows = [["added", code(s.name), s.type, s.location] for s in diff.steps_added]
        rows += [["**removed**", code(s.name), s.type, s.location] for s in diff.steps_removed]
        lines += [
            "##### Steps added and removed",
            "",
            *table(["Change", "Step", "Type", "Where"], rows),
            "",
        ]
    if diff.steps_changed:
        lines += _step_changes(diff.steps_changed)
    if diff.pipeline_level:
        rows = _change_rows(diff.pipeline_level)
        lines += [
            "##### Pipeline-level settings",
            "",
            *table(["Category", "Field", "Base", "Head"], rows),
            "",
        ]
    return lines


def _pipeline_section(pipeline: PipelineReview) -> list[str]:
    lines = [
        f"### Pipeline {code(pipeline.name)}",
        "",
        f"Stack {code(pipeline.stack)}, resource {code(pipeline.logical_id)}.",
        "",
    ]
    lines += [f"> ⚠️ {error}" for error in pipeline.errors]
    if pipeline.errors:
        lines.append("")
    if pipeline.head_definition is not None:
        mermaid = definition_to_mermaid(json.dumps(pipeline.head_definition)).rstrip("\n")
        lines += ["#### DAG (head)", "", "```mermaid", mermaid, "```", ""]
    else:
        lines += ["The head has no such pipeline: it is **removed**.", ""]
    if pipeline.diff is not None:
        lines += [
            "#### Step-level diff against the base",
            "",
            *_pipeline_diff(pipeline.diff, pipeline.new),
        ]
    return lines


def _findings_table(findings: Sequence[Finding]) -> list[str]:
    rows = [[code(f.stack), code(f.rule), code(f.resource), cell(f.message)] for f in findings]
    return fold(
        f"{len(rows)} findings",
        table(["Stack", "Rule", "Resource", "Message"], rows),
        rows=len(rows),
    )


def _checks_section(review: Review) -> list[str]:
    lines = ["## Head checks", ""]
    if not review.checks:
        return [*lines, "Not run.", ""]
    for tool in TOOLS:
        result = review.checks.get(tool)
        if result is None:
            continue
        lines += [f"### {tool}", ""]
        if result.error:
            lines += [f"> ⚠️ {tool} could not run: {result.error}", ""]
        elif not result.findings:
            lines += ["No findings.", ""]
        else:
            lines += [*_findings_table(result.findings), ""]
    return lines


def render_head_failure(base: Side, head: Side) -> str:
    """The report when the head does not synthesize: what failed and its output."""
    lines = [TITLE, "", f"**Base:** {base.label} · **Head:** {head.label}", "", SUMMARY_HEADER, ""]
    lines += [f"> ⚠️ {note}" for note in head.notes]
    if head.log_tail:
        lines += ["", "```", head.log_tail, "```"]
    return "\n".join(lines) + "\n"


def render(review: Review) -> str:
    lines = [
        TITLE,
        "",
        f"**Base:** {review.base.label} · **Head:** {review.head.label}",
        "",
    ]
    notes = _side_notes(review.base) + _side_notes(review.head)
    if notes:
        lines += [*notes, ""]
    lines += _summary(review)
    lines += _danger_section(review)
    lines += ["## Stacks", ""]
    for stack in review.stacks:
        lines += _stack_section(stack)
    if review.pipelines:
        lines += ["## Pipelines", ""]
        for pipeline in review.pipelines:
            lines += _pipeline_section(pipeline)
    lines += _checks_section(review)
    text = "\n".join(lines).rstrip("\n") + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
