"""Ships the sample dataset into the data bucket so the pipeline's default input exists."""

from __future__ import annotations

from aws_cdk import Aws, CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config import BUILD_DIR, PROJECT_ROOT
from infra.constructs.lambda_function import ProjectFunction
from pipelines.sample_data import cached_sample_csv

SAMPLE_KEY = "sample/breast-cancer.csv"


class SampleDataset(Construct):
    """scikit-learn's bundled breast-cancer data, written at synth (never downloaded), uploaded
    as an asset and copied to ``s3://<data bucket>/sample/breast-cancer.csv`` on deploy."""

    def __init__(
        self, scope: Construct, id_: str, *, data_bucket: s3.IBucket, key: kms.IKey
    ) -> None:
        super().__init__(scope, id_)
        csv = cached_sample_csv(BUILD_DIR)
        asset = s3_assets.Asset(self, "Asset", path=str(csv))
        copier = ProjectFunction(
            self,
            "Copier",
            description="Copies the sample dataset into the data bucket",
            code_directory=str(PROJECT_ROOT / "infra" / "handlers" / "sample_copy"),
            handler="index.handler",
            key=key,
            timeout=Duration.minutes(2),
        )
        copier.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadSampleAsset",
                actions=["s3:GetObject"],
                resources=[
                    Stack.of(self).format_arn(
                        service="s3",
                        region="",
                        account="",
                        resource=asset.s3_bucket_name,
                        resource_name=asset.s3_object_key,
                    )
                ],
            )
        )
        copier.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteSampleObject",
                actions=["s3:PutObject"],
                resources=[data_bucket.arn_for_objects(SAMPLE_KEY)],
            )
        )
        copier.role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptSampleObject",
                actions=["kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            )
        )
        self.uri = f"s3://{data_bucket.bucket_name}/{SAMPLE_KEY}"
        self.resource = CustomResource(
            self,
            "Copy",
            service_token=copier.function.function_arn,
            resource_type="Custom::SampleDatasetCopy",
            properties={
                "SourceBucket": asset.s3_bucket_name,
                "SourceKey": asset.s3_object_key,
                "DestinationBucket": data_bucket.bucket_name,
                "DestinationKey": SAMPLE_KEY,
            },
        )
        self.resource.node.add_dependency(copier.role)
