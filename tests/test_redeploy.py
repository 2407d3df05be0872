"""Deploy, destroy, deploy again: what a destroy retains keeps its protections, and the next
deploy can adopt every retained resource instead of failing on its name.

Import support is read offline from the CloudFormation resource schemas cfn-lint bundles (the
registry's own schemas): a type can be imported when its schema has a primary identifier and a
read handler (CloudFormation reads the existing resource through it), and CloudFormation adopts
it on a plain deploy (``cdk deploy --import-existing-resources``) only when that identifier is a
writable property the template sets to a static name (AWS, "Import AWS resources into a
CloudFormation stack automatically").
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from infra.adopt import IMPORTED_BY_IDENTIFIER
from tests.conftest import VARIANTS, Assembly

ROOT = Path(__file__).resolve().parent.parent
RETAIN = "Retain"


@cache
def resource_schema(type_name: str) -> dict[str, Any]:
    schemas = resources.files("cfnlint") / "data" / "schemas"
    index = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    schema: dict[str, Any] = json.loads(
        (schemas / "resources" / f"{index[type_name]}.json").read_text()
    )
    return schema


def primary_identifier(type_name: str) -> tuple[tuple[str, ...], bool]:
    """(identifier properties, whether any of them is read-only) from the type's schema."""
    schema = resource_schema(type_name)
    pointers = schema["primaryIdentifier"]
    read_only = set(schema.get("readOnlyProperties", ()))
    names = tuple(pointer.removeprefix("/properties/") for pointer in pointers)
    return names, any(pointer in read_only for pointer in pointers)


def is_static_name(value: Any, *, account_agnostic: bool) -> bool:
    """A plain string, as auto-import requires. An environment-agnostic synth (no credentials)
    cannot know the account, so there a name may join strings with the account pseudo
    parameter: at deploy the CDK CLI supplies the profile's account (tests/test_config.py) and
    the same name is a plain string."""
    if isinstance(value, str):
        return True
    if account_agnostic and isinstance(value, dict) and list(value) == ["Fn::Join"]:
        _, parts = value["Fn::Join"]
        return all(isinstance(p, str) or p == {"Ref": "AWS::AccountId"} for p in parts)
    return False


def retained(assembly: Assembly) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack, logical ID, resource) for every resource a destroy leaves behind."""
    return [
        (stack, logical_id, resource)
        for stack, template in assembly.templates().items()
        for logical_id, resource in template["Resources"].items()
        if resource.get("DeletionPolicy") == RETAIN
    ]


def test_the_static_name_check_rejects_references_and_other_functions() -> None:
    assert is_static_name("mlops-data-123456789012-eu-west-1", account_agnostic=False)
    agnostic = {"Fn::Join": ["", ["mlops-dev-data-", {"Ref": "AWS::AccountId"}, "-us-east-1"]]}
    assert is_static_name(agnostic, account_agnostic=True)
    assert not is_static_name(agnostic, account_agnostic=False)
    assert not is_static_name({"Ref": "StorageDataBucket"}, account_agnostic=True)
    stack_name = {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-logs"]]}
    assert not is_static_name(stack_name, account_agnostic=True)


def test_the_schemas_tell_importable_types_and_read_only_identifiers_apart() -> None:
    # The check below would catch a type without import support or a nameless one.
    assert primary_identifier("AWS::S3::Bucket") == (("BucketName",), False)
    assert primary_identifier("AWS::KMS::Key") == (("KeyId",), True)
    assert "read" in resource_schema("AWS::S3::Bucket")["handlers"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_retained_resource_can_be_adopted_by_the_next_deploy(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    assembly = assemblies[variant]
    found = retained(assembly)
    assert found, "no retained resources: the variant did not synthesize"
    for stack, logical_id, resource in found:
        where = f"{stack}/{logical_id} ({resource['Type']})"
        schema = resource_schema(resource["Type"])
        assert "read" in schema["handlers"], f"{where}: type cannot be imported"
        assert resource.get("UpdateReplacePolicy") == RETAIN, where
        names, read_only = primary_identifier(resource["Type"])
        if read_only:
            # No name to adopt it by: `make deploy` imports it by identifier first (infra.adopt).
            assert IMPORTED_BY_IDENTIFIER.get(resource["Type"]) == names, where
            continue
        for name in names:
            value = resource.get("Properties", {}).get(name)
            assert is_static_name(value, account_agnostic=assembly.settings.account is None), (
                f"{where}: {name} = {value!r} is not a static name, so a deploy after a "
                "destroy would fail on the retained resource instead of adopting it"
            )


def test_the_readme_documents_the_deploy_destroy_deploy_cycle() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Deploy, destroy, deploy again", 1)[1].split("\n## ", 1)[0]
    for needed in ("--import-existing-resources", "cdk import", *IMPORTED_BY_IDENTIFIER):
        assert needed in section, needed


def _policy_of(template: dict[str, Any], bucket_id: str) -> dict[str, Any]:
    arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
    policies: list[dict[str, Any]] = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
        and any(
            arn == statement["Resource"] or arn in list(statement["Resource"])
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    assert len(policies) == 1, bucket_id
    return policies[0]


def test_retained_buckets_keep_tls_only_policies_and_the_key_its_alias(dev: Assembly) -> None:
    template = dev.template("Foundation")
    buckets = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::S3::Bucket"
    }
    assert len(buckets) == 3
    for bucket_id, bucket in buckets.items():
        policy = _policy_of(template, bucket_id)
        assert policy["DeletionPolicy"] == policy["UpdateReplacePolicy"] == RETAIN, bucket_id
        assert policy["Properties"]["Bucket"] == bucket["Properties"]["BucketName"]
        denials = [
            statement["Condition"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny"
        ]
        assert {"Bool": {"aws:SecureTransport": "false"}} in denials, bucket_id
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in denials, bucket_id
    log_bucket = next(
        i for i, b in buckets.items() if "LoggingConfiguration" not in b["Properties"]
    )
    grants = _policy_of(template, log_bucket)["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        statement["Effect"] == "Allow"
        and statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        for statement in grants
    )
    (alias,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Alias"]
    assert alias["DeletionPolicy"] == alias["UpdateReplacePolicy"] == RETAIN
    (key_id,) = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    assert alias["Properties"]["TargetKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
