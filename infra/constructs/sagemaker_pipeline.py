"""One model's SageMaker pipeline: its definition, built offline by ``pipelines.definition`` at
synth time, embedded in ``AWS::SageMaker::Pipeline``, plus the model registry it registers
into."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import CfnTag, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from pipelines.definition import PipelineWiring
from pipelines.definition.cache import cached_definition
from pipelines.definition.spec import ModelSpec
from pipelines.names import MODEL_TAG


class StandIns:
    """Plain strings the SDK accepts in place of CloudFormation tokens.

    The SDK parses S3 URIs and checks role ARNs, so it cannot take CDK tokens directly; it gets
    a unique stand-in per token, and the finished definition gets the tokens back.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def _register(self, stand_in: str, token: str) -> str:
        self._tokens[stand_in] = token
        return stand_in

    def bucket(self, name: str) -> str:
        if not Token.is_unresolved(name):
            return name
        return self._register(f"standin{len(self._tokens)}-bucket", name)

    def arn(self, value: str, template: str) -> str:
        if not Token.is_unresolved(value):
            return value
        return self._register(template.format(f"standin{len(self._tokens)}"), value)

    def s3_uri(self, bucket: str, key: str) -> str:
        return f"s3://{self.bucket(bucket)}/{key}"

    def restore(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {key: self.restore(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.restore(value) for value in node]
        if isinstance(node, str):
            for stand_in, token in self._tokens.items():
                node = node.replace(stand_in, token)
            return node
        return node

    def unrestored(self, text: str) -> list[str]:
        return [stand_in for stand_in in self._tokens if stand_in in text]


class SageMakerPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        spec: ModelSpec,
        wiring: PipelineWiring,
        stand_ins: StandIns,
        pipeline_role: iam.IRole,
        description: str,
        cache_dir: Path,
    ) -> None:
        super().__init__(scope, id_)
        self.model_package_group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=wiring.model_package_group,
            model_package_group_description=f"Models registered by {wiring.pipeline_name}",
        )
        self.definition_json = cached_definition(spec, wiring, cache_dir)
        definition = stand_ins.restore(json.loads(self.definition_json))
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=wiring.pipeline_name,
            pipeline_description=description,
            tags=[CfnTag(key=MODEL_TAG, value=spec.name)],
            role_arn=pipeline_role.role_arn,
            pipeline_definition={
                "PipelineDefinitionBody": Stack.of(self).to_json_string(definition)
            },
        )
        self.pipeline.node.add_dependency(self.model_package_group)
