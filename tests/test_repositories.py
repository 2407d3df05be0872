"""ImageRepositories in a bare stack: two repositories sharing scanning, immutability,
encryption and the lifecycle the settings ask for."""

from __future__ import annotations

import json

from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from infra.config import RepositorySettings
from infra.constructs.repositories import ImageRepositories
from tests.support.stacks import bare_stack


def repositories_template(settings: RepositorySettings) -> Template:
    stack = bare_stack()
    key = kms.Key(stack, "Key")
    ImageRepositories(stack, "Repos", name_prefix="proj", settings=settings, key=key)
    return Template.from_stack(stack)


def test_repositories_scan_are_immutable_encrypted_with_lifecycle() -> None:
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
