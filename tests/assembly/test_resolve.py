"""The one intrinsic resolver: concrete values for the local run (pseudo parameters, names,
ARNs, stack outputs and imports), placeholders for the review, and what it cannot resolve."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines.assembly.resolve import Resolver, Stack, UnresolvableError, placeholder

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
    with pytest.raises(UnresolvableError, match=message):
        resolve(node)


def test_placeholder_mode_names_every_token_and_reads_no_stack() -> None:
    resolver = Resolver([], mode="placeholder")
    node = {
        "Account": {"Ref": "AWS::AccountId"},
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Bucket": {"Fn::GetStackOutput": {"StackName": "base-stack", "OutputName": "Bucket"}},
        "Plain": ["kept", 1],
    }
    assert resolver.resolve(node) == {
        "Account": "${Ref:AWS::AccountId}",
        "Role": "${GetAtt:Role.Arn}",
        "Bucket": "${GetStackOutput:base-stack.Bucket}",
        "Plain": ["kept", 1],
    }


def test_a_placeholder_is_stable_whatever_the_key_order() -> None:
    first = placeholder({"Fn::FindInMap": {"b": 1, "a": [2]}})
    assert first == placeholder({"Fn::FindInMap": {"a": [2], "b": 1}})
    assert first == "${FindInMap:" + json.dumps({"a": [2], "b": 1}, separators=(",", ":")) + "}"


def test_a_concrete_value_needs_the_token_s_stack() -> None:
    with pytest.raises(UnresolvableError, match="needs the token's stack"):
        Resolver([]).resolve({"Ref": "AWS::Region"}, None, "here")
