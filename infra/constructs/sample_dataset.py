"""Ships the sample dataset into the data bucket so the pipeline's default input exists."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Aws, CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.constructs.lambda_function import ProjectFunction

SAMPLE_PREFIX = "sample"


def sample_key(model: str) -> str:
    return f"{SAMPLE_PREFIX}/{model}.csv"


class SampleDatasets(Construct):
    """Each model's sample CSV (written at synth, never downloaded), uploaded as an asset and
    copied to ``s3://<data bucket>/sample/<model>.csv`` on deploy by one copier Lambda."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        samples: Mapping[str, Path],
        data_bucket: s3.IBucket,
        key: kms.IKey,
        log_group_name: str,
        copier_code: Path,
    ) -> None:
        super().__init__(scope, id_)
        assets = {
            model: s3_assets.Asset(self, f"Asset-{model}", path=str(csv))
            for model, csv in samples.items()
        }
        copier = ProjectFunction(
            self,
            "Copier",
            description="Copies the models' sample datasets into the data bucket",
            log_group_name=log_group_name,
            code_directory=str(copier_code),
            handler="index.handler",
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
                    for asset in assets.values()
                ],
            )
        )
        copier.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteSampleObject",
                actions=["s3:PutObject"],
                resources=[data_bucket.arn_for_objects(sample_key(model)) for model in samples],
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
        self.uris: dict[str, str] = {}
        self.resources: dict[str, CustomResource] = {}
        for model, asset in assets.items():
            self.uris[model] = f"s3://{data_bucket.bucket_name}/{sample_key(model)}"
            resource = CustomResource(
                self,
                f"Copy-{model}",
                service_token=copier.function.function_arn,
                resource_type="Custom::SampleDatasetCopy",
                properties={
                    "SourceBucket": asset.s3_bucket_name,
                    "SourceKey": asset.s3_object_key,
                    "DestinationBucket": data_bucket.bucket_name,
                    "DestinationKey": sample_key(model),
                },
            )
            resource.node.add_dependency(copier.role)
            self.resources[model] = resource
