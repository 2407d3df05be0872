"""Loading a cloud assembly: CloudFormation tokens, assets, the sample data copy, Lambda code."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipelines.local.assembly import load_assembly, populate_store
from pipelines.local.cfn import Resolver, Stack
from pipelines.local.errors import AssemblyError
from pipelines.local.objectstore import ObjectStore

PRODUCER = Stack(
    "Base",
    "base-stack",
    "eu-west-1",
    "000000000000",
    {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "exec-role"}},
        },
        "Outputs": {
            "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}},
            "RoleArn": {
                "Value": {"Fn::GetAtt": ["Role", "Arn"]},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-role"}},
            },
        },
    },
)
CONSUMER = Stack(
    "App",
    "app-stack",
    "eu-west-1",
    "000000000000",
    {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {"BucketName": {"Fn::Sub": "data-${AWS::AccountId}-${AWS::Region}"}},
            },
        }
    },
)


def resolve(node: Any) -> Any:
    return Resolver([PRODUCER, CONSUMER]).resolve(node, CONSUMER, "test")


def test_pseudo_parameters_sub_join_select_split() -> None:
    assert resolve({"Ref": "AWS::AccountId"}) == "000000000000"
    assert resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/${!Literal}"}) == (
        "arn:aws:s3:::data-000000000000-eu-west-1/${Literal}"
    )
    assert resolve({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}, 1]]}) == "a-eu-west-1-1"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [":", "x:y:z"]}]}) == "y"
    assert resolve([{"Ref": "AWS::NoValue"}, "kept"]) == ["kept"]


def test_get_att_builds_arns_and_remembers_their_owner() -> None:
    resolver = Resolver([PRODUCER, CONSUMER])
    arn = resolver.resolve({"Fn::GetAtt": ["Fn", "Arn"]}, CONSUMER, "test")
    assert arn == "arn:aws:lambda:eu-west-1:000000000000:function:app-stack-fn"
    assert resolver.arn_owners[arn] == (CONSUMER, "Fn")


def test_stack_outputs_and_imports_resolve_in_the_producing_stack() -> None:
    key_arn = resolve({"Fn::GetStackOutput": {"StackName": "base-stack", "OutputName": "KeyArn"}})
    assert key_arn.startswith("arn:aws:kms:eu-west-1:000000000000:key/")
    assert key_arn == resolve(
        {"Fn::GetStackOutput": {"StackName": "base-stack", "OutputName": "KeyArn"}}
    )
    assert resolve({"Fn::ImportValue": "base-stack-role"}) == (
        "arn:aws:iam::000000000000:role/exec-role"
    )


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"Fn::If": ["C", "a", "b"]}, "Fn::If is not supported locally"),
        ({"Ref": "Ghost"}, "Ref to unknown resource 'Ghost'"),
        ({"Fn::GetStackOutput": {"StackName": "nope", "OutputName": "X"}}, "not in the assembly"),
    ],
)
def test_unresolvable_tokens_are_named(node: dict[str, Any], message: str) -> None:
    with pytest.raises(AssemblyError, match=message):
        resolve(node)


def test_the_real_assembly_resolves_to_local_values(small_assembly: Path, tmp_path: Path) -> None:
    assembly = load_assembly(small_assembly, "mlops-dev-breast-cancer-pipeline")
    text = json.dumps(assembly.definition)
    assert assembly.pipeline_name == "mlops-dev-breast-cancer-pipeline"
    assert (assembly.region, assembly.account) == ("us-east-1", "000000000000")
    for token in ("Fn::", "${", '"Ref"'):
        assert token not in text
    assert "arn:aws:iam::000000000000:role/mlops-dev-foundation-executionrole" in text
    assert "arn:aws:kms:us-east-1:000000000000:key/" in text
    lambda_step = assembly.definition["Steps"][-1]["Arguments"]["IfSteps"][1]["Arguments"]
    function_arn = lambda_step["IfSteps"][-1]["FunctionArn"]
    function = assembly.functions[function_arn]
    assert function.handler == "endpoint_autoscaling.handler"
    assert function.code_dir is not None
    project = Path(__file__).resolve().parents[2]
    handler_source = project / "pipelines" / "lambdas" / "endpoint_autoscaling.py"
    assert (
        function.code_dir / "endpoint_autoscaling.py"
    ).read_bytes() == handler_source.read_bytes()

    store = ObjectStore(tmp_path / "s3")
    populate_store(assembly, store)
    default_input = assembly.definition["Parameters"][0]["DefaultValue"]
    assert default_input == "s3://mlops-dev-data-000000000000-us-east-1/sample/breast-cancer.csv"
    (source, destination) = assembly.copies[0]
    assert destination == default_input
    sample = next(asset for asset in assembly.assets if asset.uri == source)
    assert store.read_bytes(default_input) == sample.source.read_bytes()
    for asset in assembly.assets:
        assert store.is_object(asset.uri), asset
    zipped = next(
        a for a in assembly.assets if a.packaging == "zip" and a.source == function.code_dir
    )
    with zipfile.ZipFile(store.path(zipped.uri)) as archive:
        assert "endpoint_autoscaling.py" in archive.namelist()
    # Publishing again changes nothing (same bytes, zips included).
    before = {
        path: path.stat().st_mtime_ns for path in (tmp_path / "s3").rglob("*") if path.is_file()
    }
    populate_store(assembly, store)
    after = {
        path: path.stat().st_mtime_ns for path in (tmp_path / "s3").rglob("*") if path.is_file()
    }
    assert before == after


def test_a_directory_without_manifest_is_not_an_assembly(tmp_path: Path) -> None:
    with pytest.raises(AssemblyError, match="not a cloud assembly"):
        load_assembly(tmp_path)
