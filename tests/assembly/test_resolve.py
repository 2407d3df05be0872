"""The one intrinsic resolver: concrete values for the local run (pseudo parameters, names,
ARNs and other attributes, stack outputs and imports), placeholders for the review, the
caller's naming rule and strict mode (the IAM matrix's), and what it cannot resolve."""

from __future__ import annotations

import json
import re
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


def test_attributes_and_refs_have_the_values_cloudformation_documents() -> None:
    stack = Stack(
        "Facts",
        "facts",
        "cn-north-1",
        "000000000000",
        {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"RoleName": "r", "Path": "/service/"},
                },
                "Repo": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "a/b"}},
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "data"}},
                "Provider": {
                    "Type": "AWS::IAM::OIDCProvider",
                    "Properties": {"Url": "https://token.example.com"},
                },
            }
        },
    )
    resolver = Resolver([stack])

    def resolve(node: Any) -> Any:
        return resolver.resolve(node, stack, "test")

    assert resolve({"Fn::GetAtt": ["Role", "Arn"]}) == "arn:aws-cn:iam::000000000000:role/service/r"
    assert re.fullmatch(r"AROA[0-9A-F]{17}", resolve({"Fn::GetAtt": ["Role", "RoleId"]}))
    assert resolve({"Fn::GetAtt": ["Repo", "RepositoryUri"]}) == (
        "000000000000.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b"
    )
    assert resolve({"Fn::GetAtt": ["Bucket", "DomainName"]}) == "data.s3.amazonaws.com.cn"
    # An OIDC provider's Ref is its ARN, which names the provider's host.
    assert resolve({"Ref": "Provider"}) == (
        "arn:aws-cn:iam::000000000000:oidc-provider/token.example.com"
    )


def test_the_caller_names_what_the_template_leaves_to_cloudformation() -> None:
    def by_logical_id(stack: Stack, logical_id: str, resource_type: str) -> str:
        return f"{logical_id}-{resource_type.rsplit('::', 1)[-1]}"

    resolver = Resolver([PRODUCER, CONSUMER], names=by_logical_id)
    assert resolver.resolve({"Fn::GetAtt": ["Fn", "Arn"]}, CONSUMER, "test") == (
        "arn:aws:lambda:eu-west-1:000000000000:function:Fn-Function"
    )
    # A name the template sets is the resource's own, whatever the rule.
    assert resolver.resolve({"Ref": "Bucket"}, CONSUMER, "test") == "data-000000000000-eu-west-1"


def test_strict_mode_refuses_what_it_would_otherwise_stand_in_for() -> None:
    stack = Stack(
        "Odd",
        "odd",
        "eu-west-1",
        "000000000000",
        {
            "Parameters": {"Qualifier": {"Type": "String"}},
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}, "Fn": CONSUMER.resources["Fn"]},
        },
    )
    tokens = {
        "Ref of Queue (AWS::SQS::Queue) is not modelled": {"Ref": "Queue"},
        "the ARN of Queue (AWS::SQS::Queue) is not modelled": {"Fn::GetAtt": ["Queue", "Arn"]},
        "Fn.SnapStartResponse (AWS::Lambda::Function) is not modelled": {
            "Fn::GetAtt": ["Fn", "SnapStartResponse"]
        },
        "parameter Qualifier has no default": {"Ref": "Qualifier"},
    }
    lenient, strict = Resolver([stack]), Resolver([stack], strict=True)
    for message, token in tokens.items():
        assert isinstance(lenient.resolve(token, stack, "test"), str)
        with pytest.raises(UnresolvableError, match=re.escape(message)):
            strict.resolve(token, stack, "test")


def test_a_stack_output_of_another_region_is_read_from_the_stack_deployed_there() -> None:
    reference = {"StackName": "base-stack", "OutputName": "KeyArn"}
    here = resolve({"Fn::GetStackOutput": {**reference, "Region": "eu-west-1"}})
    there = resolve({"Fn::GetStackOutput": {**reference, "Region": "us-west-2"}})
    assert here.startswith("arn:aws:kms:eu-west-1:")
    assert there == here.replace(":eu-west-1:", ":us-west-2:")


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            {"Fn::GetStackOutput": {"StackName": "base-stack", "OutputName": "Missing"}},
            "stack base-stack has no output 'Missing'",
        ),
        (
            {
                "Fn::GetStackOutput": {
                    "StackName": "base-stack",
                    "OutputName": "KeyArn",
                    "RoleArn": "arn:aws:iam::333333333333:role/Reader",
                }
            },
            "with a RoleArn reads another account: not modelled",
        ),
        ({"Ref": "AWS::NoValue"}, "the value is AWS::NoValue"),
    ],
)
def test_what_a_stack_output_or_a_value_cannot_be(node: dict[str, Any], message: str) -> None:
    with pytest.raises(UnresolvableError, match=re.escape(message)):
        resolve(node)
