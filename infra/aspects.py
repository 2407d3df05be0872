"""Defaults every resource of a kind gets, whichever construct made it: applied here once, so a
new construct cannot forget them and a reviewer checks them in one file."""

from __future__ import annotations

import jsii
from aws_cdk import IAspect, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import IConstruct

# Resources whose deletion loses data: a key's ciphertexts, objects, images, registered model
# versions, logs. Deleting the stack (or a replacement on update) must never delete them.
DATA_BEARING = (
    kms.CfnKey,
    s3.CfnBucket,
    ecr.CfnRepository,
    sagemaker.CfnModelPackageGroup,
    logs.CfnLogGroup,
)
# The longest a log group keeps its events: a year answers "what did the deployer do last
# quarter" and bounds what is stored. (The CDK's LogGroup keeps two years unless told.)
LOG_RETENTION_DAYS = 365


@jsii.implements(IAspect)
class DataDefaults:
    """Retains every data-bearing resource, keeps log events at most ``LOG_RETENTION_DAYS``,
    and encrypts a log group that names no key with ``log_key`` (whose policy admits every log
    group of the account). A shorter retention or another key a construct chose is kept; a
    removal policy other than retain is not: data outlives the stack, whoever made it."""

    def __init__(self, *, log_key: kms.IKey) -> None:
        self._log_key = log_key

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, DATA_BEARING):
            node.apply_removal_policy(RemovalPolicy.RETAIN)
        if isinstance(node, logs.CfnLogGroup):
            retention = node.retention_in_days
            if retention is None or retention > LOG_RETENTION_DAYS:
                node.retention_in_days = LOG_RETENTION_DAYS
            if node.kms_key_id is None:
                node.kms_key_id = self._log_key.key_arn
