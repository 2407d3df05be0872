"""Policy statements every role that submits SageMaker jobs needs, written once.

Both the launch-agent role and the pipeline role call SageMaker on behalf of the execution
role; the guards on these two statements are the security boundary, so they must not drift
apart between the roles.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms


def pass_role_to_sagemaker_only(role: iam.IRole) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="PassExecutionRoleToSageMakerOnly",
        actions=["iam:PassRole"],
        resources=[role.role_arn],
        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )


def grant_key_to_sagemaker_only(key: kms.IKey) -> iam.PolicyStatement:
    """SageMaker creates a grant as the caller to encrypt job volumes with the key
    (ResourceConfig.VolumeKmsKeyId); the conditions keep that grant SageMaker's."""
    return iam.PolicyStatement(
        sid="GrantDataKeyToSageMakerOnly",
        actions=["kms:CreateGrant"],
        resources=[key.key_arn],
        conditions={
            "StringEquals": {"kms:ViaService": f"sagemaker.{Aws.REGION}.amazonaws.com"},
            "Bool": {"kms:GrantIsForAWSResource": "true"},
        },
    )
