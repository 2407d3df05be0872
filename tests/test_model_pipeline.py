"""ModelPipeline in a bare stack, built from a shipped model folder: everything one model adds,
wired to each other, with the definition holding CloudFormation references, not stand-ins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from infra.config import MODELS_DIR
from infra.constructs.model_pipeline import ModelPipeline
from infra.stacks.pipeline import LAMBDA_CODE_DIR, STEPS_DIR
from pipelines.definition.spec import load_model_spec
from pipelines.names import ModelNames

MODEL = "breast-cancer"
NAMES = ModelNames.of("mlops-test", MODEL)


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    stack = Stack(App(), "Bare", env={"account": "111122223333", "region": "us-east-1"})
    ModelPipeline(
        stack,
        "Model",
        spec=load_model_spec(MODELS_DIR / MODEL),
        names=NAMES,
        model_dir=MODELS_DIR / MODEL,
        steps_dir=STEPS_DIR,
        lambda_code_dir=LAMBDA_CODE_DIR,
        build_dir=Path(tmp_path_factory.mktemp("build")),
        region="us-east-1",
        data_bucket_name="data-bucket",
        sample_key=f"sample/{MODEL}.csv",
        execution_role=iam.Role.from_role_arn(
            stack, "Execution", "arn:aws:iam::111122223333:role/execution"
        ),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Artifacts", "artifact-bucket"),
        key=kms.Key(stack, "Key"),
        approval_status="PendingManualApproval",
        data_capture=False,
        description="test pipeline",
    )
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def logical_id(resources: dict[str, Any], type_: str) -> str:
    [found] = [key for key, value in resources.items() if value["Type"] == type_]
    return found


def test_the_pipeline_and_registry_carry_the_models_names(resources: dict[str, Any]) -> None:
    pipeline = resources[logical_id(resources, "AWS::SageMaker::Pipeline")]
    group = resources[logical_id(resources, "AWS::SageMaker::ModelPackageGroup")]
    assert pipeline["Properties"]["PipelineName"] == NAMES.pipeline
    assert group["Properties"]["ModelPackageGroupName"] == NAMES.model_package_group


def test_the_pipeline_runs_as_the_role_built_for_it(
    resources: dict[str, Any],
) -> None:
    pipeline = resources[logical_id(resources, "AWS::SageMaker::Pipeline")]
    [role] = [
        key
        for key, value in resources.items()
        if value["Type"] == "AWS::IAM::Role" and key.startswith("ModelPipelineRole")
    ]
    assert pipeline["Properties"]["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}


def test_the_definition_names_the_real_resources_not_stand_ins(
    resources: dict[str, Any],
) -> None:
    pipeline = resources[logical_id(resources, "AWS::SageMaker::Pipeline")]
    body = json.dumps(pipeline["Properties"]["PipelineDefinition"])
    assert "standin" not in body
    function = logical_id(resources, "AWS::Lambda::Function")
    assert json.dumps({"Fn::GetAtt": [function, "Arn"]}) in body
    assert "artifact-bucket" in body
    assert "data-bucket" in body
