"""DataKey in a bare stack: a rotating key with its alias, which it keeps with the key, and a
policy that lets CloudWatch Logs use it for this account's log groups only."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from infra.constructs.data_key import DataKey
from tests.support.stacks import bare_stack


def key_template() -> Template:
    stack = bare_stack()
    DataKey(stack, "DataKey", alias="alias/test-data")
    return Template.from_stack(stack)


def test_key_rotates_and_has_alias() -> None:
    template = key_template()
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/test-data"})


def test_the_alias_stays_with_the_retained_key() -> None:
    [alias] = key_template().find_resources("AWS::KMS::Alias").values()
    assert alias["DeletionPolicy"] == alias["UpdateReplacePolicy"] == "Retain"


def test_cloudwatch_logs_may_use_the_key_for_this_accounts_log_groups_only() -> None:
    [key] = key_template().find_resources("AWS::KMS::Key").values()
    statements: list[dict[str, Any]] = key["Properties"]["KeyPolicy"]["Statement"]
    [logs] = [s for s in statements if s.get("Sid") == "CloudWatchLogsOfThisAccount"]
    condition = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition["Fn::Join"][1][-1] == ":log-group:*"
