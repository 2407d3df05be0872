"""Manifest and template loading: stacks in manifest order, nested assemblies, environments,
the files beside them (asset manifests, metadata, tree, validation report), and the two ways a
file can be unreadable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.assembly.manifest import (
    AssemblyFileError,
    StackArtifact,
    read_assembly,
    read_validation_report,
)


def _stack(name: str, environment: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "aws:cloudformation:stack",
        "environment": environment,
        "properties": {"templateFile": f"{name}.template.json", **properties},
    }


def _write(directory: Path, artifacts: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    for artifact in artifacts.values():
        template_file = artifact.get("properties", {}).get("templateFile")
        if template_file:
            (directory / template_file).write_text(json.dumps({"Resources": {}}))


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """An app with two stacks and a stage nesting a third, as `cdk synth` lays it out."""
    _write(
        tmp_path / "assembly-Prod",
        {"ProdPipeline": _stack("ProdPipeline", "aws://123456789012/eu-west-1")},
    )
    _write(
        tmp_path,
        {
            "Foundation": _stack(
                "Foundation",
                "aws://unknown-account/unknown-region",
                stackName="mlops-foundation",
                lookupRole={"arn": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/lookup"},
            )
            | {"dependencies": ["Foundation.assets"], "additionalMetadataFile": "F.metadata.json"},
            "Foundation.assets": {
                "type": "cdk:asset-manifest",
                "properties": {"file": "Foundation.assets.json"},
            },
            "Pipeline": _stack("Pipeline", "aws://123456789012/us-east-1"),
            "Prod": {
                "type": "cdk:cloud-assembly",
                "properties": {"directoryName": "assembly-Prod"},
            },
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        },
    )
    return tmp_path


def test_stacks_come_in_manifest_order_with_nested_stages_after_their_parent(staged):
    assembly = read_assembly(staged)
    assert [stack.artifact_id for stack in assembly.stacks] == [
        "Foundation",
        "Pipeline",
        "ProdPipeline",
    ]
    assert assembly.asset_manifests == (staged / "Foundation.assets.json",)


def test_the_review_reads_only_the_app_s_own_stacks(staged):
    assembly = read_assembly(staged, nested=False)
    assert list(assembly.by_id()) == ["Foundation", "Pipeline"]


def test_a_stack_carries_its_name_template_and_lookup_role(staged):
    foundation = read_assembly(staged).by_id()["Foundation"]
    assert foundation.stack_name == "mlops-foundation"
    assert foundation.template_file == staged / "Foundation.template.json"
    assert foundation.template == {"Resources": {}}
    assert foundation.lookup_role == "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/lookup"
    assert read_assembly(staged).by_id()["Pipeline"].stack_name == "Pipeline"


@pytest.mark.parametrize(
    ("environment", "account", "region"),
    [
        ("aws://123456789012/eu-west-1", "123456789012", "eu-west-1"),
        ("aws://unknown-account/unknown-region", None, None),
        ("aws://unknown-account/us-east-1", None, "us-east-1"),
        ("", None, None),
    ],
)
def test_an_unpinned_account_or_region_is_none(environment, account, region):
    stack = StackArtifact("S", "S", Path("S.template.json"), {}, environment)
    assert (stack.account, stack.region) == (account, region)


def test_a_missing_manifest_is_told_apart_from_a_malformed_one(tmp_path):
    with pytest.raises(AssemblyFileError, match=r"^cannot read .*manifest\.json") as missing:
        read_assembly(tmp_path)
    assert missing.value.missing
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(AssemblyFileError, match=r"^cannot read .*manifest\.json: Expecting") as bad:
        read_assembly(tmp_path)
    assert not bad.value.missing


def test_a_missing_template_names_the_template(staged):
    (staged / "Pipeline.template.json").unlink()
    with pytest.raises(AssemblyFileError) as error:
        read_assembly(staged)
    assert error.value.path == staged / "Pipeline.template.json"
    assert error.value.missing


def test_a_stack_knows_its_asset_manifest_and_metadata(staged):
    acknowledged = {"/Foundation/Key": [{"type": "aws:cdk:acknowledged-rules", "data": {}}]}
    (staged / "F.metadata.json").write_text(json.dumps(acknowledged))
    stacks = read_assembly(staged).by_id()
    assert stacks["Foundation"].asset_manifest == staged / "Foundation.assets.json"
    assert stacks["Foundation"].metadata() == acknowledged
    assert stacks["Pipeline"].asset_manifest is None
    assert stacks["Pipeline"].metadata() == {}


def test_the_tree_is_the_top_assembly_s(staged):
    assert read_assembly(staged).tree_file == staged / "tree.json"
    assert read_assembly(staged / "assembly-Prod").tree_file is None


def test_the_validation_report_is_none_until_a_plugin_writes_one(staged):
    assert read_validation_report(staged) is None
    (staged / "validation-report.json").write_text(json.dumps({"pluginReports": []}))
    assert read_validation_report(staged) == {"pluginReports": []}
