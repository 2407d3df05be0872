"""The customer-managed KMS key that encrypts every data-bearing resource of the project."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class DataKey(Construct):
    """A rotating key with a stable alias so humans can find it in the console (retained, as
    every data-bearing resource, by infra.aspects.DataDefaults)."""

    def __init__(self, scope: Construct, id_: str, *, alias: str) -> None:
        super().__init__(scope, id_)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="Encrypts the ML platform's buckets, repositories and SageMaker volumes",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30),
        )
        # The alias is how people and the next deploy find the retained key: it stays with it
        # (the next deploy adopts it by its name; README, "Deploy, destroy, deploy again").
        alias = self.key.node.find_child("Alias")
        assert isinstance(alias, kms.Alias)
        alias.apply_removal_policy(RemovalPolicy.RETAIN)
        # CloudWatch Logs encrypts a log group with the key as the logs service itself, so the
        # key policy (not an IAM policy) must allow it, limited to this account's log groups.
        log_groups = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )
