"""The pipeline stack: one pipeline, model registry, role, autoscaling Lambda and deployer per
declared model, plus the sample-data copier they share."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import BUILD_DIR, MODELS_DIR, PROJECT_ROOT, Settings
from infra.constructs.model_deployment import ModelDeployment
from infra.constructs.model_pipeline import ModelPipeline
from infra.constructs.sample_dataset import SampleDatasets, sample_key
from infra.layout import ENDPOINT_PREFIX
from infra.stacks.foundation import FoundationStack, storage_bucket_names
from pipelines.definition.contract import data_capture_uri
from pipelines.definition.spec import ModelSpec
from pipelines.names import ModelNames, lambda_log_group
from pipelines.sample_data import sample_file

# Where the code the stack ships lives in the repository: the stack knows the layout, and its
# constructs take paths, so a construct can be built in a test from any folder.
STEPS_DIR = PROJECT_ROOT / "pipelines" / "steps"
LAMBDA_CODE_DIR = PROJECT_ROOT / "pipelines" / "lambdas"
SAMPLE_COPY_CODE_DIR = PROJECT_ROOT / "infra" / "handlers" / "sample_copy"


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
        names = {spec.name: ModelNames.of(prefix, spec.name) for spec in settings.models}
        # By name, not by reference: a cross-stack token inside an IAM wildcard ARN would only
        # resolve after cdk-nag's acknowledgment IDs are fixed, and names keep stacks decoupled.
        bucket_names = storage_bucket_names(self, settings)
        data_bucket = s3.Bucket.from_bucket_name(self, "DataBucket", bucket_names["data"])
        artifact_bucket = s3.Bucket.from_bucket_name(
            self, "ArtifactBucket", bucket_names["artifacts"]
        )
        samples = SampleDatasets(
            self,
            "SampleDatasets",
            samples={
                spec.name: sample_file(
                    spec.data.sample,
                    label=spec.data.label,
                    model_dir=MODELS_DIR / spec.name,
                    cache_dir=BUILD_DIR / "samples",
                )
                for spec in settings.models
            },
            data_bucket=data_bucket,
            key=foundation.key,
            log_group_name=lambda_log_group(prefix, "sample-copy"),
            copier_code=SAMPLE_COPY_CODE_DIR,
        )
        self.models: dict[str, ModelPipeline] = {}
        self.deployments: dict[str, ModelDeployment] = {}
        for spec in settings.models:
            model = ModelPipeline(
                self,
                f"Model-{spec.name}",
                spec=spec,
                names=names[spec.name],
                model_dir=MODELS_DIR / spec.name,
                steps_dir=STEPS_DIR,
                lambda_code_dir=LAMBDA_CODE_DIR,
                build_dir=BUILD_DIR,
                region=settings.region,
                data_bucket_name=data_bucket.bucket_name,
                sample_key=sample_key(spec.name),
                execution_role=foundation.execution_role,
                artifact_bucket=artifact_bucket,
                key=foundation.key,
                approval_status=settings.pipeline.approval_status,
                data_capture=settings.pipeline.data_capture,
                # The spec's own description, else what every pipeline does.
                description=(
                    f"{spec.description or spec.name + ': train, evaluate, register, deploy'} "
                    f"({settings.env_name})"
                ),
            )
            model.pipeline.node.add_dependency(samples.resources[spec.name])
            self.models[spec.name] = model
            self.deployments[spec.name] = self._deployment(
                spec, names[spec.name], foundation, artifact_bucket, settings.pipeline.data_capture
            )
            for output, value in {
                "PipelineName": names[spec.name].pipeline,
                "ModelPackageGroupName": names[spec.name].model_package_group,
                "EndpointName": names[spec.name].endpoint,
                "SampleDataUri": samples.uris[spec.name],
                "PipelineRoleArn": model.role.role_arn,
            }.items():
                CfnOutput(self, output_id(output, spec.name), value=value)

    def _deployment(
        self,
        spec: ModelSpec,
        names: ModelNames,
        foundation: FoundationStack,
        artifact_bucket: s3.IBucket,
        data_capture: bool,
    ) -> ModelDeployment:
        """The deployer an approval in the model's registry runs."""
        return ModelDeployment(
            self,
            f"Deployment-{spec.name}",
            names=names,
            deployment=spec.deployment,
            execution_role=foundation.execution_role,
            key=foundation.key,
            capture_uri=data_capture_uri(
                f"s3://{artifact_bucket.bucket_name}", ENDPOINT_PREFIX, names.endpoint
            )
            if data_capture
            else None,
            code_directory=LAMBDA_CODE_DIR,
        )


def output_id(output: str, model: str) -> str:
    """``PipelineName`` of ``breast-cancer`` -> ``PipelineNameBreastCancer``: one stable output
    per model (the CLI and tests look outputs up by these names)."""
    return output + "".join(part.capitalize() for part in model.split("-"))
