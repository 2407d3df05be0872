"""infra.adopt: what `make deploy` imports before deploying, found in a moto account, and the
requests it leads to, checked against CloudFormation's API shapes and the pinned CDK CLI."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator
from moto import mock_aws

from infra import adopt
from pipelines.assembly.manifest import StackArtifact
from review.assembly import load_assembly
from tests.conftest import Assembly
from tests.support.offline import node_offline_env

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


@pytest.fixture
def account() -> Iterator[dict[str, Any]]:
    """An account after `make destroy` of dev: the retained key and its alias, and one
    model's registry (the other models' were never created)."""
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/mlops-dev-data", TargetKeyId=key_id)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName="mlops-dev-wine-models")
        arn = sagemaker.describe_model_package_group(ModelPackageGroupName="mlops-dev-wine-models")
        yield {"kms": kms, "key_id": key_id, "group_arn": arn["ModelPackageGroupArn"]}


def logical_id(stack: StackArtifact, type_name: str, contains: str = "") -> str:
    (found,) = [
        i
        for i, r in stack.template["Resources"].items()
        if r["Type"] == type_name and contains in i
    ]
    return str(found)


def test_the_retained_key_is_found_by_its_alias_and_only_existing_registries(
    dev: Assembly, account: dict[str, Any]
) -> None:
    stacks = load_assembly(dev.directory).stacks
    find = adopt.aws_finder(boto3.Session(region_name=REGION))
    foundation, pipeline = stacks["Foundation"], stacks["Pipeline"]
    key = logical_id(foundation, "AWS::KMS::Key")
    assert adopt.resource_mapping(foundation, set(), find) == {key: {"KeyId": account["key_id"]}}
    group = logical_id(pipeline, "AWS::SageMaker::ModelPackageGroup", "wine")
    assert adopt.resource_mapping(pipeline, set(), find) == {
        group: {"ModelPackageGroupArn": account["group_arn"]}
    }
    # Already in the deployed stack: nothing to import.
    assert adopt.resource_mapping(foundation, {key}, find) == {}


def test_a_key_scheduled_for_deletion_is_not_imported(
    dev: Assembly, account: dict[str, Any]
) -> None:
    account["kms"].schedule_key_deletion(KeyId=account["key_id"], PendingWindowInDays=7)
    foundation = load_assembly(dev.directory).stacks["Foundation"]
    assert (
        adopt.resource_mapping(
            foundation, set(), adopt.aws_finder(boto3.Session(region_name=REGION))
        )
        == {}
    )


def test_the_lookup_role_is_the_manifest_s_in_the_caller_s_account(dev: Assembly) -> None:
    stack = load_assembly(dev.directory).stacks["Foundation"]
    assert stack.lookup_role is not None
    caller = "arn:aws:sts::111122223333:assumed-role/mlops-github-deploy/gh"
    assert adopt.lookup_role_arn(stack.lookup_role, caller, "eu-west-1") == (
        "arn:aws:iam::111122223333:role/cdk-hnb659fds-lookup-role-111122223333-us-east-1"
    )


def test_lookups_run_as_the_lookup_role(dev: Assembly, account: dict[str, Any]) -> None:
    stack = load_assembly(dev.directory).stacks["Foundation"]
    session = adopt.lookup_session(stack)
    identity = session.client("sts").get_caller_identity()["Arn"]
    assert ":assumed-role/cdk-hnb659fds-lookup-role-" in identity
    assert adopt.resource_mapping(stack, set(), adopt.aws_finder(session)) != {}


def test_deployed_resources_are_empty_for_a_destroyed_stack(account: dict[str, Any]) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    assert adopt.deployed_resources(cloudformation, "mlops-dev-foundation") == set()
    template = {"Resources": {"Logs": {"Type": "AWS::S3::Bucket"}}}
    cloudformation.create_stack(StackName="live", TemplateBody=json.dumps(template))
    assert adopt.deployed_resources(cloudformation, "live") == {"Logs"}


class FailedCreate:
    """list_stack_resources of a stack whose create failed and rolled back."""

    def get_paginator(self, operation: str) -> FailedCreate:
        assert operation == "list_stack_resources"
        return self

    def paginate(self, StackName: str) -> list[dict[str, Any]]:  # noqa: N803 (boto3's name)
        summaries = [
            {"LogicalResourceId": "Key", "ResourceStatus": "DELETE_SKIPPED"},
            {"LogicalResourceId": "Role", "ResourceStatus": "DELETE_COMPLETE"},
            {"LogicalResourceId": "Alias", "ResourceStatus": "CREATE_COMPLETE"},
        ]
        return [{"StackResourceSummaries": summaries}]


def test_resources_a_failed_create_retained_or_deleted_are_not_in_the_stack() -> None:
    assert adopt.deployed_resources(FailedCreate(), "mlops-dev-foundation") == {"Alias"}


def test_dry_run_prints_one_cdk_import_per_stack_with_something_retained(
    dev: Assembly, account: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert adopt.main(["--assembly", str(dev.directory), "--dry-run"]) == 0
    commands = capsys.readouterr().out.strip().splitlines()
    assert [command.split()[:5] for command in commands] == [
        [adopt.CDK, "import", "--app", str(dev.directory), stack]
        for stack in ("Foundation", "Pipeline")
    ]


def test_credentials_that_may_not_read_skip_the_import_not_the_deploy(
    dev: Assembly, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def denied(stack: StackArtifact) -> dict[str, dict[str, str]]:
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
        raise ClientError(error, "ListStackResources")

    monkeypatch.setattr(adopt, "retained_mapping", denied)
    assert adopt.main(["--assembly", str(dev.directory), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("may not look for retained resources") == 2


def test_without_credentials_it_stops_with_one_line(
    dev: Assembly,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert adopt.main(["--assembly", str(dev.directory), "--dry-run"]) == 1
    assert capsys.readouterr().err == "error: no AWS credentials: set AWS_PROFILE (see README)\n"


def test_other_lookup_errors_stop_the_deploy(
    dev: Assembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(stack: StackArtifact) -> dict[str, dict[str, str]]:
        error = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}
        raise ClientError(error, "ListStackResources")

    monkeypatch.setattr(adopt, "retained_mapping", throttled)
    with pytest.raises(ClientError):
        adopt.main(["--assembly", str(dev.directory), "--dry-run"])


def test_the_requests_fit_cloudformation_s_create_change_set_shape(
    dev: Assembly, account: dict[str, Any]
) -> None:
    """The import change set as the CLI builds it from the mapping (LogicalResourceId,
    ResourceType, ResourceIdentifier), and the deploy's change set with auto-import."""
    stack = load_assembly(dev.directory).stacks["Foundation"]
    mapping = adopt.resource_mapping(
        stack, set(), adopt.aws_finder(boto3.Session(region_name=REGION))
    )
    to_import = [
        {
            "LogicalResourceId": lid,
            "ResourceType": stack.template["Resources"][lid]["Type"],
            "ResourceIdentifier": identifier,
        }
        for lid, identifier in mapping.items()
    ]
    shape = (
        botocore.session.get_session()
        .get_service_model("cloudformation")
        .operation_model("CreateChangeSet")
        .input_shape
    )
    base = {"StackName": stack.stack_name, "ChangeSetName": "cdk", "TemplateBody": "{}"}
    for request in (
        {**base, "ChangeSetType": "IMPORT", "ResourcesToImport": to_import},
        {**base, "ChangeSetType": "CREATE", "ImportExistingResources": True},
    ):
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), report.generate_report()
    for item in to_import:
        assert (
            tuple(item["ResourceIdentifier"]) == adopt.IMPORTED_BY_IDENTIFIER[item["ResourceType"]]
        )


def cli_help(command: str) -> str:
    result = subprocess.run(
        [str(ROOT / adopt.CDK), command, "--help"],
        cwd=ROOT,
        env=node_offline_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout + result.stderr


def has_option(help_text: str, flag: str) -> bool:
    return re.search(rf"^ +{re.escape(flag)}[ ,]", help_text, re.MULTILINE) is not None


def test_the_pinned_cdk_cli_has_every_flag_make_deploy_passes() -> None:
    imports = cli_help("import")
    assert not has_option(imports, "--no-such-flag")
    for flag in ("--app", "--resource-mapping-inline", "--force"):
        assert has_option(imports, flag), flag
    assert has_option(cli_help("deploy"), "--import-existing-resources")
    recipe = (ROOT / "Makefile").read_text().split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert "-m infra.adopt" in recipe
    assert "deploy --app cdk.out --all --import-existing-resources" in recipe
