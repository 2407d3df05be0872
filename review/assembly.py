"""A synthesized cloud assembly for the review: its stacks (read by pipelines.assembly) and its
cdk-nag report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.assembly.manifest import MANIFEST, AssemblyFileError, StackArtifact, read_assembly
from pipelines.assembly.manifest import read_json as read_assembly_json
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


def _read_json(path: Path) -> Any:
    try:
        return read_assembly_json(path)
    except AssemblyFileError as error:
        raise ReviewError(str(error)) from None


def load_assembly(directory: Path) -> Assembly:
    """The top-level stacks of the assembly in ``directory`` (nested stages are not read)."""
    if not (directory / MANIFEST).is_file():
        raise ReviewError(f"{directory} is not a cloud assembly: it has no {MANIFEST}")
    try:
        stacks = read_assembly(directory, nested=False).by_id()
    except AssemblyFileError as error:
        raise ReviewError(str(error)) from None
    return Assembly(directory, stacks, _nag_violations(directory / "validation-report.json"))


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
