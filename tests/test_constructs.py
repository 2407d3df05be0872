"""Unit tests per construct, each built in a bare Stack. Security properties come in pairs:
our construct has it, and the same check fails on a plain resource without it."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from infra.config import RepositorySettings, StorageSettings, app_context
from infra.constructs.data_key import DataKey
from infra.constructs.launch_agent_role import LaunchAgentRole
from infra.constructs.repositories import ImageRepositories
from infra.constructs.storage import Storage

# The app's pinned feature flags (cdk.json), so constructs behave here as they do in the app.
FEATURE_FLAGS = {k: v for k, v in app_context(cli_context={}).items() if k.startswith("@")}


def bare_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Test")


def storage_template(settings: StorageSettings | None = None) -> Template:
    stack = bare_stack()
    key = DataKey(stack, "DataKey", alias="alias/test-data").key
    names = {purpose: f"test-{purpose}" for purpose in ("data", "artifacts", "access-logs")}
    Storage(stack, "Storage", settings=settings or StorageSettings(), key=key, names=names)
    return Template.from_stack(stack)


def plain_bucket_template() -> Template:
    stack = bare_stack()
    s3.Bucket(stack, "Plain")
    return Template.from_stack(stack)


def buckets(template: Template) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources("AWS::S3::Bucket")
    return found


def denies_insecure_transport(template: Template, logical_id: str) -> bool:
    bucket = template.to_json()["Resources"][logical_id]
    name = bucket.get("Properties", {}).get("BucketName")
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        # Storage names the bucket statically (so a deploy can adopt the retained policy).
        if policy["Properties"]["Bucket"] not in ({"Ref": logical_id}, name):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            condition = statement.get("Condition", {}).get("Bool", {})
            if statement["Effect"] == "Deny" and condition.get("aws:SecureTransport") == "false":
                return True
    return False


def blocks_public_access(bucket: dict[str, Any]) -> bool:
    config = bucket.get("Properties", {}).get("PublicAccessBlockConfiguration", {})
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    return all(config.get(flag) is True for flag in flags)


def is_retained(resource: dict[str, Any]) -> bool:
    return resource.get("DeletionPolicy") == "Retain" == resource.get("UpdateReplacePolicy")


def test_storage_creates_three_retained_versioned_buckets() -> None:
    found = buckets(storage_template())
    assert len(found) == 3
    for bucket in found.values():
        assert is_retained(bucket)
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_destroyable_bucket_fails_the_retention_check() -> None:
    stack = _stack_with(lambda s: s3.Bucket(s, "Doomed", removal_policy=cdk.RemovalPolicy.DESTROY))
    assert not any(is_retained(b) for b in buckets(Template.from_stack(stack)).values())


def test_every_bucket_denies_insecure_transport() -> None:
    template = storage_template()
    assert all(denies_insecure_transport(template, logical_id) for logical_id in buckets(template))


def test_plain_bucket_fails_the_transport_check() -> None:
    template = plain_bucket_template()
    assert not any(
        denies_insecure_transport(template, logical_id) for logical_id in buckets(template)
    )


def test_every_bucket_blocks_public_access() -> None:
    assert all(blocks_public_access(b) for b in buckets(storage_template()).values())


def test_plain_bucket_fails_the_public_access_check() -> None:
    template = Template.from_stack(
        _stack_with(lambda s: s3.Bucket(s, "Open", block_public_access=None))
    )
    assert not any(blocks_public_access(b) for b in buckets(template).values())


def _stack_with(build: Any) -> cdk.Stack:
    stack = bare_stack()
    build(stack)
    return stack


def test_data_and_artifact_buckets_use_the_key_and_log_to_the_log_bucket() -> None:
    found = buckets(storage_template())
    kms_buckets = {
        logical_id: bucket
        for logical_id, bucket in found.items()
        if bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "aws:kms"
    }
    log_buckets = set(found) - set(kms_buckets)
    assert len(kms_buckets) == 2
    assert len(log_buckets) == 1
    (log_bucket,) = log_buckets
    for bucket in kms_buckets.values():
        assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {
            "Ref": log_bucket
        }
    rule = found[log_bucket]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_lifecycle_follows_settings() -> None:
    settings = StorageSettings(
        noncurrent_version_expiration_days=45, abort_incomplete_upload_days=3
    )
    for bucket in buckets(storage_template(settings)).values():
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}}.items() <= {
            k: v for r in rules for k, v in r.items()
        }.items()
        assert any(r.get("NoncurrentVersionExpiration") == {"NoncurrentDays": 45} for r in rules)


def test_key_rotates_is_retained_and_has_alias() -> None:
    stack = bare_stack()
    DataKey(stack, "DataKey", alias="alias/test-data")
    template = Template.from_stack(stack)
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/test-data"})


def repositories_template(settings: RepositorySettings) -> Template:
    stack = bare_stack()
    key = kms.Key(stack, "Key")
    ImageRepositories(stack, "Repos", name_prefix="proj", settings=settings, key=key)
    return Template.from_stack(stack)


def test_repositories_scan_are_immutable_encrypted_retained_with_lifecycle() -> None:
    template = repositories_template(
        RepositorySettings(keep_last_images=7, untagged_expiration_days=2)
    )
    repos = template.find_resources("AWS::ECR::Repository")
    assert {r["Properties"]["RepositoryName"] for r in repos.values()} == {
        "proj/training",
        "proj/inference",
    }
    for repo in repos.values():
        props = repo["Properties"]
        assert is_retained(repo)
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        selections = [rule["selection"] for rule in rules]
        assert {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countNumber": 2,
            "countUnit": "days",
        } in selections
        assert {
            "tagStatus": "any",
            "countType": "imageCountMoreThan",
            "countNumber": 7,
        } in selections


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
