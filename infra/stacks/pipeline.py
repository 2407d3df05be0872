"""The pipeline stack: step code, sample data, registry, autoscaling Lambda, the pipeline."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import Settings
from infra.constructs.endpoint_autoscaling import EndpointAutoscaling
from infra.constructs.pipeline_role import PipelineRole
from infra.constructs.sagemaker_pipeline import SageMakerPipeline, StandIns
from infra.constructs.sample_dataset import SAMPLE_KEY, SampleDataset
from infra.constructs.step_code import StepCode
from infra.layout import ENDPOINT_PREFIX, PIPELINE_PREFIX
from infra.stacks.foundation import FoundationStack, storage_bucket_names
from pipelines.definition import PipelineSettings


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        settings: Settings,
        foundation: FoundationStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        prefix = settings.project_prefix
        names = {
            "pipeline": f"{prefix}-pipeline",
            "group": f"{prefix}-models",
            "endpoint": f"{prefix}-endpoint",
        }
        # By name, not by reference: a cross-stack token inside an IAM wildcard ARN would only
        # resolve after cdk-nag's acknowledgment IDs are fixed, and names keep stacks decoupled.
        bucket_names = storage_bucket_names(self, settings)
        data_bucket = s3.Bucket.from_bucket_name(self, "DataBucket", bucket_names["data"])
        artifact_bucket = s3.Bucket.from_bucket_name(
            self, "ArtifactBucket", bucket_names["artifacts"]
        )
        code = StepCode(self, "StepCode")
        sample = SampleDataset(self, "SampleDataset", data_bucket=data_bucket, key=foundation.key)
        autoscaling = EndpointAutoscaling(
            self, "EndpointAutoscaling", endpoint_name=names["endpoint"], key=foundation.key
        )
        role = PipelineRole(
            self,
            "PipelineRole",
            execution_role=foundation.execution_role,
            artifact_bucket=artifact_bucket,
            key=foundation.key,
            model_package_group_name=names["group"],
            endpoint_name=names["endpoint"],
            autoscaling_function=autoscaling.function,
        ).role
        stand_ins = StandIns()
        config = settings.pipeline
        pipeline_settings = PipelineSettings(
            pipeline_name=names["pipeline"],
            region=settings.region,
            role_arn=stand_ins.arn(
                foundation.execution_role.role_arn, "arn:aws:iam::000000000000:role/{}"
            ),
            artifact_bucket=stand_ins.bucket(artifact_bucket.bucket_name),
            artifact_prefix=PIPELINE_PREFIX,
            kms_key_arn=stand_ins.arn(
                foundation.key.key_arn, "arn:aws:kms:us-east-1:000000000000:key/{}"
            ),
            default_input_uri=stand_ins.s3_uri(data_bucket.bucket_name, SAMPLE_KEY),
            preprocess_code_uri=stand_ins.s3_uri(
                code.preprocess.s3_bucket_name, code.preprocess.s3_object_key
            ),
            evaluate_code_uri=stand_ins.s3_uri(
                code.evaluate.s3_bucket_name, code.evaluate.s3_object_key
            ),
            training_source_uri=stand_ins.s3_uri(
                code.training_source.s3_bucket_name, code.training_source.s3_object_key
            ),
            model_package_group=names["group"],
            autoscaling_lambda_arn=stand_ins.arn(
                autoscaling.function.function_arn,
                "arn:aws:lambda:us-east-1:000000000000:function:{}",
            ),
            endpoint_name=names["endpoint"],
            processing_instance_type=config.processing_instance_type,
            training_instance_type=config.training_instance_type,
            endpoint_instance_type=config.endpoint_instance_type,
            tuning_max_jobs=config.tuning_max_jobs,
            tuning_max_parallel_jobs=config.tuning_max_parallel_jobs,
            default_approval_status=config.approval_status,
            default_quality_threshold=config.quality_threshold,
            use_spot=config.use_spot,
            data_capture=config.data_capture,
            max_runtime_seconds=config.max_runtime_seconds,
            max_wait_seconds=config.max_wait_seconds,
            endpoint_prefix=ENDPOINT_PREFIX,
            endpoint_min_capacity=config.autoscaling_min_capacity,
            endpoint_max_capacity=config.autoscaling_max_capacity,
            target_invocations_per_instance=config.target_invocations_per_instance,
        )
        self.pipeline = SageMakerPipeline(
            self,
            "Pipeline",
            settings=pipeline_settings,
            stand_ins=stand_ins,
            pipeline_role=role,
            model_package_group_name=names["group"],
            description=f"Train, tune, evaluate, register and deploy ({settings.env_name})",
        )
        self.pipeline.node.add_dependency(sample.resource)
        for name, value in {
            "PipelineName": names["pipeline"],
            "ModelPackageGroupName": names["group"],
            "EndpointName": names["endpoint"],
            "SampleDataUri": sample.uri,
            "PipelineRoleArn": role.role_arn,
        }.items():
            CfnOutput(self, name, value=value)
