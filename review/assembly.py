"""Read a synthesized cloud assembly: its stacks' templates and its cdk-nag report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from review import ReviewError

STACK_ARTIFACT = "aws:cloudformation:stack"


@dataclass(frozen=True)
class Stack:
    """One stack artifact: ``id`` is the artifact (construct) id, the key base and head share."""

    id: str
    stack_name: str
    template_file: Path
    template: dict[str, Any]
    # The region the stack deploys to; None for a region-agnostic stack.
    region: str | None = None
    # The CDK bootstrap's read-only lookup role, with ${AWS::...} placeholders, if any.
    lookup_role: str | None = None


@dataclass(frozen=True)
class NagViolation:
    stack: str
    rule: str
    construct_path: str
    description: str


@dataclass(frozen=True)
class Assembly:
    directory: Path
    stacks: dict[str, Stack]
    nag_violations: tuple[NagViolation, ...]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ReviewError(f"cannot read {path}: {error}") from None


def load_assembly(directory: Path) -> Assembly:
    """The top-level stacks of the assembly in ``directory`` (nested stages are not read)."""
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file():
        raise ReviewError(f"{directory} is not a cloud assembly: it has no manifest.json")
    manifest = _read_json(manifest_file)
    stacks: dict[str, Stack] = {}
    # Manifest order is the CDK's dependency order (Foundation before Pipeline): keep it.
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        properties = artifact.get("properties", {})
        template_file = directory / properties["templateFile"]
        stacks[artifact_id] = Stack(
            id=artifact_id,
            stack_name=properties.get("stackName", artifact_id),
            template_file=template_file,
            template=_read_json(template_file),
            region=_region(artifact.get("environment", "")),
            lookup_role=(properties.get("lookupRole") or {}).get("arn"),
        )
    return Assembly(directory, stacks, _nag_violations(directory / "validation-report.json"))


def _region(environment: str) -> str | None:
    """``aws://<account>/<region>``; the CDK writes ``unknown-region`` when it is not pinned."""
    region = environment.rpartition("/")[2]
    return None if region in ("", "unknown-region") else region


def _nag_violations(report_file: Path) -> tuple[NagViolation, ...]:
    """cdk-nag 3 reports through the CDK's validation framework, not as annotations."""
    if not report_file.is_file():
        return ()
    report = _read_json(report_file)
    found = set()
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                path = str(construct.get("constructPath", "")).lstrip("/")
                stack, _, rest = path.partition("/")
                found.add(
                    NagViolation(
                        stack=stack,
                        rule=str(violation.get("ruleName", "?")),
                        construct_path=rest or path,
                        description=str(violation.get("description", "")),
                    )
                )
    return tuple(sorted(found, key=lambda v: (v.stack, v.rule, v.construct_path)))
