"""A synthesized cloud assembly for the review: its stacks (read by pipelines.assembly) and its
cdk-nag report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.assembly.manifest import (
    MANIFEST,
    AssemblyFileError,
    StackArtifact,
    read_assembly,
    read_validation_report,
)
from review import ReviewError


@dataclass(frozen=True)
class NagViolation:
    stack: str
    rule: str
    construct_path: str
    description: str


@dataclass(frozen=True)
class Assembly:
    directory: Path
    # By artifact (construct) id: the key base and head share.
    stacks: dict[str, StackArtifact]
    nag_violations: tuple[NagViolation, ...]


def load_assembly(directory: Path) -> Assembly:
    """The top-level stacks of the assembly in ``directory`` (nested stages are not read)."""
    if not (directory / MANIFEST).is_file():
        raise ReviewError(f"{directory} is not a cloud assembly: it has no {MANIFEST}")
    try:
        stacks = read_assembly(directory, nested=False).by_id()
        report = read_validation_report(directory)
    except AssemblyFileError as error:
        raise ReviewError(str(error)) from None
    return Assembly(directory, stacks, _nag_violations(report or {}))


def _nag_violations(report: dict[str, Any]) -> tuple[NagViolation, ...]:
    """cdk-nag 3 reports through the CDK's validation framework, not as annotations."""
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
