"""Storage in a bare stack. Security properties come in pairs: our buckets have it, and the
same check fails on a plain bucket without it. (Retention is infra.aspects' default, tested in
test_aspects.py.)"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from infra.config import StorageSettings
from infra.constructs.data_key import DataKey
from infra.constructs.storage import Storage
from tests.support.stacks import bare_stack


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


def test_storage_creates_three_versioned_buckets() -> None:
    found = buckets(storage_template())
    assert len(found) == 3
    for bucket in found.values():
        assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


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
