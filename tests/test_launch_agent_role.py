"""LaunchAgentRole in a bare stack: whom it trusts."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from infra.config import RepositorySettings
from infra.constructs.launch_agent_role import LaunchAgentRole
from infra.constructs.repositories import ImageRepositories
from tests.support.stacks import bare_stack


def agent_template(principals: list[str]) -> Template:
    stack = bare_stack()
    key = kms.Key(stack, "Key")
    execution = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    repo_stack = ImageRepositories(
        stack, "Repos", name_prefix="proj", settings=RepositorySettings(), key=key
    )
    LaunchAgentRole(
        stack,
        "Agent",
        trusted_principals=principals,
        job_name_prefix="proj-launch",
        execution_role=execution,
        key=key,
        training_repository=repo_stack.training,
        allow_image_build=False,
    )
    return Template.from_stack(stack)


@pytest.mark.parametrize(
    ("principals", "expected"),
    [
        (["arn:aws:iam::111122223333:role/agent"], {"AWS": "arn:aws:iam::111122223333:role/agent"}),
        ([], {"AWS": Match.object_like({"Fn::Join": Match.any_value()})}),
    ],
)
def test_agent_trusts_configured_principals_or_the_account(
    principals: list[str], expected: dict[str, Any]
) -> None:
    agent_template(principals).has_resource_properties(
        "AWS::IAM::Role",
        {
            "Description": Match.string_like_regexp("external launcher"),
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like({"Action": "sts:AssumeRole", "Principal": expected})
                ]
            },
        },
    )
