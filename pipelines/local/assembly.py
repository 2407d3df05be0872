"""Read a cloud assembly (``cdk.out``): the pipeline, its definition, the assets and the
deploy-time data copy, all resolved to local values.

``load_assembly`` only reads files; ``populate_store`` then does what ``cdk deploy`` would do for
the pipeline's data: it publishes every file asset to its destination bucket and key, and
performs the sample dataset copy the ``Custom::SampleDatasetCopy`` resource asks for.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.assembly.assets import FileAsset, file_assets
from pipelines.assembly.definition import DefinitionReadError, definition_from_template, inline_body
from pipelines.assembly.manifest import AssemblyFileError, StackArtifact, read_assembly
from pipelines.assembly.resolve import LOCAL_ACCOUNT, Resolver, Stack, UnresolvableError
from pipelines.local.errors import AssemblyError, DefinitionError
from pipelines.local.objectstore import ObjectStore
from pipelines.names import MODEL_TAG, PIPELINE_TYPE

SAMPLE_COPY_TYPE = "Custom::SampleDatasetCopy"
# A zip asset always gets the same bytes, so re-publishing it never looks like a change.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class LambdaFunction:
    arn: str
    logical_id: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    code_dir: Path | None
    environment: dict[str, str]


@dataclass(frozen=True)
class Assembly:
    directory: Path
    stack: Stack
    pipeline_name: str
    definition: dict[str, Any] = field(repr=False)
    assets: list[FileAsset]
    copies: list[tuple[str, str]]
    functions: dict[str, LambdaFunction]

    @property
    def region(self) -> str:
        return self.stack.region

    @property
    def account(self) -> str:
        return self.stack.account


def load_assembly(directory: Path, pipeline_name: str | None = None) -> Assembly:
    _require_directory(directory)
    with _local_errors():
        return _load(directory, pipeline_name)


def _require_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise AssemblyError(
            f"cloud assembly not found: {directory} (run `cdk synth` first, or pass --assembly)"
        )


@contextmanager
def _local_errors() -> Iterator[None]:
    """The assembly reader's errors as the local run's: one line, exit code 2."""
    try:
        yield
    except AssemblyFileError as error:
        if error.missing:
            raise AssemblyError(f"not a cloud assembly: {error.path} is missing") from None
        raise AssemblyError(str(error)) from None
    except UnresolvableError as error:
        raise AssemblyError(str(error)) from None


def _load(directory: Path, pipeline_name: str | None) -> Assembly:
    stacks, asset_manifests = _read_manifest(directory)
    resolver = Resolver(stacks)
    stack, logical_id, resource = _find_pipeline(stacks, pipeline_name, directory)
    properties = resource.get("Properties") or {}
    where = f"{stack.name}/{logical_id}"
    name = resolver.resolve_text(properties.get("PipelineName", logical_id), stack, where)
    definition = _definition(resolver, stack, properties, where)
    assets = [asset for path in asset_manifests for asset in file_assets(path, stacks)]
    copies = [
        _sample_copy(resolver, each, copy_id, copy)
        for each in stacks
        for copy_id, copy in each.resources_of_type(SAMPLE_COPY_TYPE)
    ]
    functions = _functions(resolver, stacks, assets)
    return Assembly(directory, stack, name, definition, assets, copies, functions)


def populate_store(assembly: Assembly, store: ObjectStore) -> None:
    """Publish the file assets and perform the sample data copy into ``store``."""
    for asset in assembly.assets:
        if asset.packaging == "zip" and asset.source.is_dir():
            store.put_bytes(asset.uri, _zip_directory(asset.source))
        elif asset.source.is_file():
            store.put_file(asset.uri, asset.source)
        else:
            raise AssemblyError(f"asset source missing from the assembly: {asset.source}")
    for source, destination in assembly.copies:
        if not store.is_object(source):
            raise AssemblyError(f"sample data copy: source object {source} is not an asset")
        store.put_bytes(destination, store.read_bytes(source))


def _read_manifest(directory: Path) -> tuple[list[Stack], list[Path]]:
    """Stacks and asset manifests of the assembly and of any nested (stage) assemblies."""
    assembly = read_assembly(directory)
    return [_local_stack(stack) for stack in assembly.stacks], list(assembly.asset_manifests)


def _local_stack(artifact: StackArtifact) -> Stack:
    """The stack in its environment: an environment-agnostic account becomes the local one,
    but the region must be known, because the pipeline's ARNs and endpoints depend on it."""
    if artifact.region is None:
        raise AssemblyError(
            f"stack {artifact.artifact_id} has no region in its environment "
            f"({artifact.environment!r}); the local run needs the region the pipeline deploys to"
        )
    account = artifact.account or LOCAL_ACCOUNT
    return Stack(
        artifact.artifact_id, artifact.stack_name, artifact.region, account, artifact.template
    )


@dataclass(frozen=True)
class PipelineEntry:
    """A pipeline of the assembly: its name and the model it was built for (its ``model``
    tag), as ``cdk synth`` wrote it."""

    name: str
    model: str | None


def list_pipelines(directory: Path) -> list[PipelineEntry]:
    """Every pipeline in the assembly, in template order, without resolving definitions."""
    _require_directory(directory)
    with _local_errors():
        return _list(directory)


def _list(directory: Path) -> list[PipelineEntry]:
    stacks, _ = _read_manifest(directory)
    resolver = Resolver(stacks)
    entries = []
    for stack in stacks:
        for logical_id, resource in stack.resources_of_type(PIPELINE_TYPE):
            properties = resource.get("Properties") or {}
            where = f"{stack.name}/{logical_id}"
            name = resolver.resolve_text(properties.get("PipelineName", logical_id), stack, where)
            tags = {
                str(tag.get("Key")): tag.get("Value")
                for tag in properties.get("Tags") or []
                if isinstance(tag, Mapping)
            }
            model = tags.get(MODEL_TAG)
            entries.append(PipelineEntry(name, model if isinstance(model, str) else None))
    return entries


def _find_pipeline(
    stacks: list[Stack], name: str | None, directory: Path
) -> tuple[Stack, str, Mapping[str, Any]]:
    found = [
        (stack, logical_id, resource)
        for stack in stacks
        for logical_id, resource in stack.resources_of_type(PIPELINE_TYPE)
    ]

    def label(item: tuple[Stack, str, Mapping[str, Any]]) -> str:
        pipeline_name = (item[2].get("Properties") or {}).get("PipelineName", item[1])
        return pipeline_name if isinstance(pipeline_name, str) else item[1]

    if name is not None:
        found = [item for item in found if name in (label(item), item[1])]
    if not found:
        what = f"named {name!r}" if name else f"({PIPELINE_TYPE})"
        raise AssemblyError(f"no SageMaker pipeline {what} in the cloud assembly {directory}")
    if len(found) > 1:
        names = ", ".join(label(item) for item in found)
        raise AssemblyError(f"several pipelines in {directory} ({names}); choose with --pipeline")
    return found[0]


def _definition(
    resolver: Resolver, stack: Stack, properties: Mapping[str, Any], where: str
) -> dict[str, Any]:
    body = inline_body(properties)
    if body is None:
        raise DefinitionError(
            f"{where}: only an inline PipelineDefinitionBody can be run locally "
            "(PipelineDefinitionS3Location is not supported)"
        )
    try:
        return definition_from_template(body, resolver, stack, where)
    except DefinitionReadError as error:
        detail = f"not JSON ({error.detail})" if error.reason == "not JSON" else error.detail
        raise DefinitionError(f"malformed pipeline definition in {where}: {detail}") from None


def _sample_copy(
    resolver: Resolver, stack: Stack, logical_id: str, resource: Mapping[str, Any]
) -> tuple[str, str]:
    """(source URI, destination URI) of the object the custom resource copies on deploy."""
    where = f"{stack.name}/{logical_id}"
    properties = resource.get("Properties") or {}
    keys = ("SourceBucket", "SourceKey", "DestinationBucket", "DestinationKey")
    missing = [key for key in keys if key not in properties]
    if missing:
        raise AssemblyError(f"{where}: {SAMPLE_COPY_TYPE} without {', '.join(missing)}")
    value = {key: resolver.resolve_text(properties[key], stack, f"{where}.{key}") for key in keys}
    return (
        f"s3://{value['SourceBucket']}/{value['SourceKey']}",
        f"s3://{value['DestinationBucket']}/{value['DestinationKey']}",
    )


def _functions(
    resolver: Resolver, stacks: list[Stack], assets: list[FileAsset]
) -> dict[str, LambdaFunction]:
    """Every Lambda function of the assembly by ARN, with the asset directory of its code."""
    sources = {asset.uri: asset.source for asset in assets if asset.packaging == "zip"}
    functions = {}
    for stack in stacks:
        for logical_id, resource in stack.resources_of_type("AWS::Lambda::Function"):
            where = f"{stack.name}/{logical_id}"
            properties = resolver.resolve(resource.get("Properties") or {}, stack, where)
            arn = resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]}, stack, where)
            code = properties.get("Code") or {}
            code_uri = f"s3://{code.get('S3Bucket')}/{code.get('S3Key')}"
            functions[arn] = LambdaFunction(
                arn=arn,
                logical_id=logical_id,
                handler=str(properties.get("Handler", "index.handler")),
                timeout_seconds=int(properties.get("Timeout", 3)),
                memory_mb=int(properties.get("MemorySize", 128)),
                code_dir=sources.get(code_uri),
                environment={
                    str(name): str(value)
                    for name, value in (
                        (properties.get("Environment") or {}).get("Variables") or {}
                    ).items()
                },
            )
    return functions


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), _ZIP_DATE)
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
