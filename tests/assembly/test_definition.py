"""The pipeline definition taken from a template, in both resolver modes, and why it can fail."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.assembly.definition import (
    DefinitionReadError,
    definition_from_template,
    inline_body,
)
from pipelines.assembly.resolve import Resolver, Stack

STACK = Stack(
    "Pipeline",
    "pipeline-stack",
    "eu-west-1",
    "000000000000",
    {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "exec"}}}},
)
# What the CDK writes: literal JSON text joined with tokens that sit inside string literals.
BODY = {
    "Fn::Join": [
        "",
        ['{"Version": "2020-12-01", "RoleArn": "', {"Fn::GetAtt": ["Role", "Arn"]}, '"}'],
    ]
}


def test_the_local_run_reads_concrete_values():
    definition = definition_from_template(BODY, Resolver([STACK]), STACK, "Pipeline/P")
    assert definition == {"Version": "2020-12-01", "RoleArn": "arn:aws:iam::000000000000:role/exec"}


def test_the_review_reads_placeholders_without_a_stack():
    definition = definition_from_template(BODY, Resolver([], mode="placeholder"))
    assert definition["RoleArn"] == "${GetAtt:Role.Arn}"


def test_an_inline_object_body_is_taken_as_is():
    body = {"Version": "2020-12-01", "Steps": []}
    assert definition_from_template(body, Resolver([STACK]), STACK) == body


@pytest.mark.parametrize(
    ("body", "mode", "reason"),
    [
        ('{"Steps": [', "concrete", "not JSON"),
        ("[1, 2]", "placeholder", "not an object"),
        ({"Fn::Sub": "{}"}, "placeholder", "unsupported"),
    ],
)
def test_each_failure_has_a_reason_the_consumer_words(body: Any, mode: Any, reason: str):
    with pytest.raises(DefinitionReadError) as error:
        definition_from_template(body, Resolver([STACK], mode=mode), STACK)
    assert error.value.reason == reason


def test_a_definition_stored_in_s3_has_no_inline_body():
    stored = {"PipelineDefinition": {"PipelineDefinitionS3Location": {"Bucket": "b", "Key": "k"}}}
    assert inline_body(stored) is None
    assert inline_body({"PipelineDefinition": {"PipelineDefinitionBody": "{}"}}) == "{}"
