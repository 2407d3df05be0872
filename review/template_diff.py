"""Template diffs from the CDK's own engine, through ``tools/review/template-diff.cjs``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.names import DATA_BEARING_TYPES
from review import PROJECT_ROOT, ReviewError

NODE_SCRIPT = PROJECT_ROOT / "tools" / "review" / "template-diff.cjs"
NODE_TIMEOUT_SECONDS = 300

ADDED = frozenset({"WILL_CREATE", "WILL_IMPORT"})
MODIFIED = frozenset({"WILL_UPDATE", "NO_CHANGE"})
REPLACED = frozenset({"WILL_REPLACE", "MAY_REPLACE"})
REMOVED = frozenset({"WILL_DESTROY", "WILL_ORPHAN"})
DANGEROUS_IMPACTS = REPLACED | REMOVED


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    type: str
    impact: str
    replacement_causes: tuple[str, ...]
    changed: tuple[str, ...]
    old_deletion_policy: str | None
    old_update_replace_policy: str | None

    @property
    def data_bearing(self) -> bool:
        return self.type in DATA_BEARING_TYPES

    @property
    def danger(self) -> bool:
        return self.data_bearing and self.impact in DANGEROUS_IMPACTS


@dataclass(frozen=True)
class StackDiff:
    resources: tuple[ResourceChange, ...]
    permissions_broadened: bool
    iam_statements: tuple[tuple[str, ...], ...]
    iam_managed_policies: tuple[tuple[str, ...], ...]
    security_groups: tuple[tuple[str, ...], ...]
    outputs: tuple[tuple[str, str], ...]
    parameters: tuple[tuple[str, str], ...]

    @property
    def is_empty(self) -> bool:
        return not (self.resources or self.outputs or self.parameters or self.iam_statements)

    def count(self, impacts: frozenset[str]) -> int:
        return sum(change.impact in impacts for change in self.resources)

    @property
    def dangers(self) -> tuple[ResourceChange, ...]:
        return tuple(change for change in self.resources if change.danger)


def _rows(table: list[list[str]]) -> tuple[tuple[str, ...], ...]:
    """The summary rows without the header row the engine puts first."""
    return tuple(tuple(row) for row in table[1:])


def _stack_diff(raw: Mapping[str, Any]) -> StackDiff:
    resources = tuple(
        ResourceChange(
            logical_id=item["logicalId"],
            type=item["type"] or "?",
            impact=item["changeImpact"],
            replacement_causes=tuple(
                cause["property"]
                + ("" if cause["changeImpact"] == "WILL_REPLACE" else " (may replace)")
                for cause in item["replacementCauses"]
            ),
            changed=tuple(change["name"] for change in item["changes"]),
            old_deletion_policy=item["oldDeletionPolicy"],
            old_update_replace_policy=item["oldUpdateReplacePolicy"],
        )
        for item in raw["resources"]
    )
    return StackDiff(
        resources=resources,
        permissions_broadened=bool(raw["permissionsBroadened"]),
        iam_statements=_rows(raw["iamStatements"]),
        iam_managed_policies=_rows(raw["iamManagedPolicies"]),
        security_groups=_rows(raw["securityGroups"]),
        outputs=tuple((item["name"], item["change"]) for item in raw["outputs"]),
        parameters=tuple((item["name"], item["change"]) for item in raw["parameters"]),
    )


def diff_templates(
    pairs: Mapping[str, tuple[dict[str, Any] | None, dict[str, Any] | None]],
    *,
    env: Mapping[str, str] | None = None,
) -> dict[str, StackDiff]:
    """Diff each ``name: (old, new)`` pair (None = no such stack) in one node process."""
    node = shutil.which("node")
    if node is None:
        raise ReviewError("node is not on PATH: it runs the CDK diff engine", exit_code=1)
    payload = {name: {"old": old or {}, "new": new or {}} for name, (old, new) in pairs.items()}
    try:
        result = subprocess.run(
            [node, str(NODE_SCRIPT), "-"],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            check=False,
            cwd=PROJECT_ROOT,
            env=None if env is None else dict(env),
            timeout=NODE_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise ReviewError("the template diff timed out", exit_code=1) from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ReviewError(f"template diff failed: {last}", exit_code=1)
    raw: dict[str, Any] = json.loads(result.stdout)
    return {name: _stack_diff(raw[name]) for name in pairs}
