"""Before a deploy: import into each stack what the last destroy retained and CloudFormation
cannot adopt by name.

    python -m infra.adopt --assembly cdk.out [--dry-run]

``make deploy`` runs this, then ``cdk deploy --import-existing-resources``, which adopts every
retained resource the template names statically (buckets, bucket policies, repositories, the
key alias, log groups). Two retained types have no name CloudFormation can match: a KMS key
(its identifier is the key ID AWS assigns) and a model package group (identified by its ARN).
This step finds them, the key through its retained alias and each group by its name, and runs
``cdk import`` with their identifiers; whatever it does not find is created by the deploy.
It looks (read-only: cloudformation:ListStackResources, kms:DescribeKey,
sagemaker:DescribeModelPackageGroup) as the CDK bootstrap's lookup role, as the CLI's own
lookups do, so credentials that may only assume the bootstrap roles (the GitHub deploy role)
work too; without that role, with your own credentials. The import itself is the CDK CLI's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError, NoCredentialsError

from pipelines.assembly.manifest import StackArtifact
from review import ReviewError
from review.assembly import load_assembly

CDK = "node_modules/.bin/cdk"
# The retained types whose primary identifier is read-only in their resource schema, with that
# identifier: what ``cdk import`` needs for each (tests/test_redeploy.py checks the schemas).
IMPORTED_BY_IDENTIFIER = {
    "AWS::KMS::Key": ("KeyId",),
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupArn",),
}
# (stack, logical ID, resource) -> the retained resource's identifier, or None when absent.
Finder = Callable[[StackArtifact, str, dict[str, Any]], dict[str, str] | None]
# Credentials that may not read, with no lookup role to assume: the lookup is skipped, not the
# deploy.
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


# A stack whose create failed (ROLLBACK_COMPLETE) still lists its resources, deleted or, when
# retained, skipped: neither is in the stack any more.
_GONE = ("DELETE_COMPLETE", "DELETE_SKIPPED")


def deployed_resources(cloudformation: Any, stack_name: str) -> set[str]:
    """Logical IDs in the deployed stack; empty when the stack does not exist."""
    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        return {
            summary["LogicalResourceId"]
            for page in pages
            for summary in page["StackResourceSummaries"]
            if summary["ResourceStatus"] not in _GONE
        }
    except ClientError as error:
        if "does not exist" in error.response["Error"]["Message"]:
            return set()
        raise


def key_alias(template: dict[str, Any], key_id: str) -> str | None:
    """The AliasName of the template's alias for the key ``key_id``: how a retained key is
    found again (it has no name of its own)."""
    refs = ({"Ref": key_id}, {"Fn::GetAtt": [key_id, "Arn"]})
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::KMS::Alias" and properties.get("TargetKeyId") in refs:
            name = properties.get("AliasName")
            return name if isinstance(name, str) else None
    return None


def lookup_role_arn(template_arn: str, caller_arn: str, region: str) -> str:
    """The manifest's lookup-role ARN with its placeholders filled from the caller's ARN."""
    _, partition, _, _, account, _ = caller_arn.split(":", 5)
    return (
        template_arn.replace("${AWS::Partition}", partition)
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
    )


def lookup_session(stack: StackArtifact) -> boto3.Session:
    """A session as the stack's lookup role (ReadOnlyAccess in the bootstrap template), else
    as the caller: an older bootstrap has no such role."""
    own = boto3.Session(region_name=stack.region)
    if stack.lookup_role is None:
        return own
    sts = own.client("sts")
    caller = sts.get_caller_identity()["Arn"]
    role = lookup_role_arn(stack.lookup_role, caller, own.region_name or "")
    try:
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="infra-adopt")["Credentials"]
    except ClientError:
        return own
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=own.region_name,
    )


def aws_finder(session: boto3.Session) -> Finder:
    """Looks retained resources up in the account the session's credentials point at."""
    kms = session.client("kms")
    sagemaker = session.client("sagemaker")

    def find(
        stack: StackArtifact, logical_id: str, resource: dict[str, Any]
    ) -> dict[str, str] | None:
        if resource["Type"] == "AWS::KMS::Key":
            alias = key_alias(stack.template, logical_id)
            return None if alias is None else _key_behind(kms, alias)
        name = resource.get("Properties", {}).get("ModelPackageGroupName")
        try:
            group = sagemaker.describe_model_package_group(ModelPackageGroupName=name)
        except ClientError as error:
            if "does not exist" in error.response["Error"]["Message"]:
                return None
            raise
        return {"ModelPackageGroupArn": group["ModelPackageGroupArn"]}

    return find


def _key_behind(kms: Any, alias: str) -> dict[str, str] | None:
    try:
        key = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NotFoundException":
            return None
        raise
    # A key scheduled for deletion cannot be used; cancelling that is the owner's decision.
    if key["KeyState"] == "PendingDeletion":
        print(f"note: {alias} names key {key['KeyId']}, scheduled for deletion", file=sys.stderr)
        return None
    return {"KeyId": key["KeyId"]}


def resource_mapping(
    stack: StackArtifact, deployed: set[str], find: Finder
) -> dict[str, dict[str, str]]:
    """``cdk import``'s resource mapping for ``stack``: each retained resource of a type in
    IMPORTED_BY_IDENTIFIER that the deployed stack lacks and the account still holds."""
    mapping = {}
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] not in IMPORTED_BY_IDENTIFIER or logical_id in deployed:
            continue
        if resource.get("DeletionPolicy") != "Retain":
            continue
        identifier = find(stack, logical_id, resource)
        if identifier is not None:
            mapping[logical_id] = identifier
    return mapping


def import_command(
    assembly: Path, stack: StackArtifact, mapping: Mapping[str, Mapping[str, str]], cdk: str = CDK
) -> list[str]:
    # --force: an existing stack may also have pending updates; the deploy that follows makes
    # them, and without a terminal the CLI could not ask whether to go ahead.
    return [
        cdk,
        "import",
        "--app",
        str(assembly),
        stack.artifact_id,
        "--resource-mapping-inline",
        json.dumps(mapping, sort_keys=True),
        "--force",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"))
    parser.add_argument("--cdk", default=CDK, help="the CDK CLI to run `cdk import` with")
    parser.add_argument("--dry-run", action="store_true", help="print the imports, run none")
    args = parser.parse_args(argv)
    try:
        stacks = load_assembly(args.assembly).stacks.values()
    except ReviewError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for stack in stacks:  # manifest order: the foundation before the stacks that use it
        try:
            mapping = retained_mapping(stack)
        except NoCredentialsError:
            print("error: no AWS credentials: set AWS_PROFILE (see README)", file=sys.stderr)
            return 1
        except ClientError as error:
            if error.response["Error"]["Code"] not in _DENIED:
                raise
            print(
                f"note: {stack.stack_name}: these credentials may not look for retained "
                "resources, so none is imported (README, Deploy, destroy, deploy again)",
                file=sys.stderr,
            )
            continue
        if not mapping:
            continue
        command = import_command(args.assembly, stack, mapping, args.cdk)
        print(f"{stack.stack_name}: importing retained {', '.join(mapping)}", file=sys.stderr)
        if args.dry_run:
            print(" ".join(command))
        elif subprocess.run(command, check=False).returncode != 0:
            return 1
    return 0


def retained_mapping(stack: StackArtifact) -> dict[str, dict[str, str]]:
    session = lookup_session(stack)
    deployed = deployed_resources(session.client("cloudformation"), stack.stack_name)
    return resource_mapping(stack, deployed, aws_finder(session))


if __name__ == "__main__":
    sys.exit(main())
