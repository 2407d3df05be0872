"""Everything one model adds to the pipeline stack: its step code, the role its pipeline runs
as, the Lambda that puts autoscaling on its endpoint, its model package group and the
pipeline itself. Construct IDs and physical names carry
the model's name, so adding a model never renames or replaces another model's resources."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.constructs.endpoint_autoscaling import EndpointAutoscaling
from infra.constructs.model_code import ModelCode
from infra.constructs.pipeline_role import PipelineRole
from infra.constructs.sagemaker_pipeline import SageMakerPipeline, StandIns
from infra.layout import ENDPOINT_PREFIX
from pipelines.definition import PipelineWiring
from pipelines.definition.spec import ModelSpec
from pipelines.names import ModelNames


class ModelPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        spec: ModelSpec,
        names: ModelNames,
        model_dir: Path,
        steps_dir: Path,
        lambda_code_dir: Path,
        build_dir: Path,
        region: str,
        data_bucket_name: str,
        sample_key: str,
        execution_role: iam.IRole,
        artifact_bucket: s3.IBucket,
        key: kms.IKey,
        approval_status: str,
        data_capture: bool,
        description: str,
    ) -> None:
        super().__init__(scope, id_)
        code = ModelCode(
            self, "Code", spec=spec, model_dir=model_dir, steps_dir=steps_dir, build_dir=build_dir
        )
        # One per model: the event names the endpoint, so a Lambda shared by several models
        # would let any model's pipeline resize every other model's endpoint.
        autoscaling_function = EndpointAutoscaling(
            self,
            "EndpointAutoscaling",
            model=spec.name,
            endpoint_name=names.endpoint,
            log_group_name=names.autoscaling_log_group,
            code_directory=lambda_code_dir,
        ).function
        self.role = PipelineRole(
            self,
            "PipelineRole",
            execution_role=execution_role,
            artifact_bucket=artifact_bucket,
            key=key,
            artifact_prefix=names.artifact_prefix,
            model_package_group_name=names.model_package_group,
            endpoint_name=names.endpoint,
            autoscaling_function=autoscaling_function,
        ).role
        stand_ins = StandIns()
        wiring = _wiring(
            stand_ins,
            spec=spec,
            names=names,
            region=region,
            data_bucket_name=data_bucket_name,
            sample_key=sample_key,
            execution_role=execution_role,
            artifact_bucket=artifact_bucket,
            key=key,
            code=code,
            autoscaling_function=autoscaling_function,
            approval_status=approval_status,
            data_capture=data_capture,
        )
        self.pipeline = SageMakerPipeline(
            self,
            "Pipeline",
            spec=spec,
            wiring=wiring,
            stand_ins=stand_ins,
            pipeline_role=self.role,
            description=description,
            cache_dir=build_dir / "pipeline-definitions",
        )


def _wiring(
    stand_ins: StandIns,
    *,
    spec: ModelSpec,
    names: ModelNames,
    region: str,
    data_bucket_name: str,
    sample_key: str,
    execution_role: iam.IRole,
    artifact_bucket: s3.IBucket,
    key: kms.IKey,
    code: ModelCode,
    autoscaling_function: lambda_.IFunction,
    approval_status: str,
    data_capture: bool,
) -> PipelineWiring:
    """The model's resources as the definition builder takes them: the SDK cannot take CDK
    tokens, so each ARN, bucket and code location is a stand-in the definition restores."""

    def asset_uri(asset: s3_assets.Asset | None) -> str | None:
        if asset is None:
            return None
        return stand_ins.s3_uri(asset.s3_bucket_name, asset.s3_object_key)

    return PipelineWiring(
        pipeline_name=names.pipeline,
        region=region,
        role_arn=stand_ins.arn(execution_role.role_arn, "arn:aws:iam::000000000000:role/{}"),
        artifact_bucket=stand_ins.bucket(artifact_bucket.bucket_name),
        artifact_prefix=names.artifact_prefix,
        kms_key_arn=stand_ins.arn(key.key_arn, "arn:aws:kms:us-east-1:000000000000:key/{}"),
        default_input_uri=spec.data.input_uri or stand_ins.s3_uri(data_bucket_name, sample_key),
        preprocess_code_uri=stand_ins.s3_uri(
            code.preprocess.s3_bucket_name, code.preprocess.s3_object_key
        ),
        evaluate_code_uri=asset_uri(code.evaluate),
        source_uri=asset_uri(code.source),
        model_package_group=names.model_package_group,
        autoscaling_lambda_arn=stand_ins.arn(
            autoscaling_function.function_arn,
            "arn:aws:lambda:us-east-1:000000000000:function:{}",
        ),
        endpoint_name=names.endpoint,
        capture_prefix=ENDPOINT_PREFIX,
        approval_status=approval_status,
        data_capture=data_capture,
    )
