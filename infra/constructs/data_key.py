"""The customer-managed KMS key that encrypts every data-bearing resource of the project."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


class DataKey(Construct):
    """A rotating, retained key with a stable alias so humans can find it in the console."""

    def __init__(self, scope: Construct, id_: str, *, alias: str) -> None:
        super().__init__(scope, id_)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="Encrypts the ML platform's buckets, repositories and SageMaker volumes",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            # A deleted key makes every object it encrypted unreadable forever.
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
