"""The manifest and templates of a cloud assembly: which stacks it holds, where each deploys,
and which asset manifests publish their files; and the files the CDK writes beside them (the
construct tree, each stack's metadata, the validation plugins' report).

Reads files only: no CloudFormation value is resolved here. ``cdk synth`` writes one
``manifest.json`` per assembly; a CDK Stage nests another assembly (``cdk:cloud-assembly``),
which the local run reads and the review does not (it reviews the app's own stacks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
STACK_ARTIFACT = "aws:cloudformation:stack"
ASSET_MANIFEST_ARTIFACT = "cdk:asset-manifest"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
TREE_ARTIFACT = "cdk:tree"
# Written beside manifest.json by the CDK's validation plugins (cdk-nag 3); no artifact names it.
VALIDATION_REPORT = "validation-report.json"


class AssemblyFileError(Exception):
    """A file of the assembly is missing or is not JSON. ``missing`` tells the two apart, so
    each consumer can say "run cdk synth" its own way."""

    def __init__(self, path: Path, reason: str, *, missing: bool) -> None:
        super().__init__(f"cannot read {path}: {reason}")
        self.path = path
        self.missing = missing


@dataclass(frozen=True)
class StackArtifact:
    """One stack of the assembly, as the manifest describes it, with its template."""

    artifact_id: str
    stack_name: str
    template_file: Path
    template: dict[str, Any] = field(repr=False)
    # ``aws://<account>/<region>``; the CDK writes unknown-account/unknown-region when unpinned.
    environment: str = ""
    # The CDK bootstrap's read-only lookup role, with ${AWS::...} placeholders, if any.
    lookup_role: str | None = None
    # Construct metadata (cdk-nag acknowledgments among it), which the CDK writes apart.
    metadata_file: Path | None = None
    # The asset manifest whose files the stack's deployment publishes first.
    asset_manifest: Path | None = None

    @property
    def account(self) -> str | None:
        account = self.environment.removeprefix("aws://").partition("/")[0]
        return account if account.isdigit() else None

    @property
    def region(self) -> str | None:
        """None for a region-agnostic stack."""
        region = self.environment.removeprefix("aws://").partition("/")[2]
        return None if not region or region.startswith("unknown") else region

    def metadata(self) -> dict[str, list[dict[str, Any]]]:
        """Construct path -> that construct's metadata entries; empty when none was written."""
        if self.metadata_file is None:
            return {}
        metadata: dict[str, list[dict[str, Any]]] = read_json(self.metadata_file)
        return metadata


@dataclass(frozen=True)
class CloudAssembly:
    directory: Path
    # Manifest order is the CDK's dependency order (Foundation before Pipeline): kept.
    stacks: tuple[StackArtifact, ...]
    asset_manifests: tuple[Path, ...]
    # The construct tree (tree.json) of this assembly, nested ones aside.
    tree_file: Path | None = None

    def by_id(self) -> dict[str, StackArtifact]:
        return {stack.artifact_id: stack for stack in self.stacks}


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise AssemblyFileError(path, str(error), missing=True) from None
    except (OSError, json.JSONDecodeError) as error:
        raise AssemblyFileError(path, str(error), missing=False) from None


def read_assembly(directory: Path, *, nested: bool = True) -> CloudAssembly:
    """The stacks and asset manifests of the assembly in ``directory``, and with ``nested`` of
    the assemblies nested in it, depth first in manifest order."""
    manifest = read_json(directory / MANIFEST)
    artifacts: Mapping[str, Any] = manifest.get("artifacts") or {}
    # By artifact ID: a stack names the asset manifest it depends on by its ID.
    asset_files = {
        artifact_id: directory / (artifact.get("properties") or {})["file"]
        for artifact_id, artifact in artifacts.items()
        if artifact.get("type") == ASSET_MANIFEST_ARTIFACT
    }
    stacks: list[StackArtifact] = []
    asset_manifests: list[Path] = []
    tree_file = None
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type")
        properties: Mapping[str, Any] = artifact.get("properties") or {}
        if kind == STACK_ARTIFACT:
            stacks.append(_stack(directory, artifact_id, artifact, properties, asset_files))
        elif kind == ASSET_MANIFEST_ARTIFACT:
            asset_manifests.append(asset_files[artifact_id])
        elif kind == TREE_ARTIFACT:
            tree_file = directory / properties["file"]
        elif kind == NESTED_ASSEMBLY_ARTIFACT and nested:
            inner = read_assembly(directory / properties["directoryName"])
            stacks.extend(inner.stacks)
            asset_manifests.extend(inner.asset_manifests)
    return CloudAssembly(directory, tuple(stacks), tuple(asset_manifests), tree_file)


def read_validation_report(directory: Path) -> dict[str, Any] | None:
    """The validation plugins' report of the assembly in ``directory``; None when no plugin
    ran."""
    path = directory / VALIDATION_REPORT
    if not path.is_file():
        return None
    report: dict[str, Any] = read_json(path)
    return report


def _stack(
    directory: Path,
    artifact_id: str,
    artifact: Mapping[str, Any],
    properties: Mapping[str, Any],
    asset_files: Mapping[str, Path],
) -> StackArtifact:
    template_file = directory / properties["templateFile"]
    metadata_file = artifact.get("additionalMetadataFile")
    assets = [
        asset_files[each] for each in artifact.get("dependencies") or [] if each in asset_files
    ]
    return StackArtifact(
        artifact_id=artifact_id,
        stack_name=properties.get("stackName", artifact_id),
        template_file=template_file,
        template=read_json(template_file),
        environment=str(artifact.get("environment", "")),
        lookup_role=(properties.get("lookupRole") or {}).get("arn"),
        metadata_file=None if metadata_file is None else directory / metadata_file,
        asset_manifest=assets[0] if assets else None,
    )
