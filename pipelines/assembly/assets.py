"""The file assets an asset manifest publishes: each source file or folder in the assembly,
how it is packaged, and the S3 URI it is published to in its stack's environment."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.assembly.manifest import read_json
from pipelines.assembly.resolve import Stack


@dataclass(frozen=True)
class FileAsset:
    source: Path
    packaging: str
    uri: str


def _substitute(value: str, stack: Stack) -> str:
    """The ``${AWS::...}`` placeholders of an asset manifest, for the stack's environment."""
    for name, replacement in (
        ("${AWS::AccountId}", stack.account),
        ("${AWS::Region}", stack.region),
        ("${AWS::Partition}", stack.partition),
    ):
        value = value.replace(name, replacement)
    return value


def file_assets(manifest_path: Path, stacks: Sequence[Stack]) -> Iterator[FileAsset]:
    """Every destination of every file asset in the manifest; a destination's region, when
    it names one, overrides the stack's."""
    manifest = read_json(manifest_path)
    # The asset manifest sits next to its stack's template and shares its environment.
    stack_name = manifest_path.name.removesuffix(".assets.json")
    stack = next((s for s in stacks if s.artifact_id == stack_name), stacks[0])
    for asset in (manifest.get("files") or {}).values():
        source = manifest_path.parent / asset["source"]["path"]
        packaging = asset["source"].get("packaging", "file")
        for destination in (asset.get("destinations") or {}).values():
            region = destination.get("region", stack.region)
            environment = Stack(stack.artifact_id, stack.name, region, stack.account, {})
            bucket = _substitute(destination["bucketName"], environment)
            key = _substitute(destination["objectKey"], environment)
            yield FileAsset(source, packaging, f"s3://{bucket}/{key}")
