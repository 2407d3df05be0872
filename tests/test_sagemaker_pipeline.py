"""SageMakerPipeline in a bare stack: the retained registry it registers into, the pipeline
named, tagged and run as it was told, created after its registry. And StandIns, the bridge
between CDK tokens and the SDK: plain values pass through, a token gets a stand-in the SDK
accepts, and restoring puts every token back."""

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
from infra.constructs.sagemaker_pipeline import SageMakerPipeline, StandIns
from pipelines.definition import PipelineWiring
from pipelines.definition.spec import load_model_spec
from pipelines.names import MODEL_TAG

MODEL = "breast-cancer"
PIPELINE_ROLE = "arn:aws:iam::111122223333:role/pipeline"
WIRING = PipelineWiring(
    pipeline_name="mlops-test-breast-cancer-pipeline",
    region="us-east-1",
    role_arn="arn:aws:iam::111122223333:role/execution",
    artifact_bucket="artifact-bucket",
    artifact_prefix="pipelines/breast-cancer",
    kms_key_arn="arn:aws:kms:us-east-1:111122223333:key/key",
    default_input_uri="s3://data-bucket/sample/breast-cancer.csv",
    preprocess_code_uri="s3://assets/preprocess.py",
    evaluate_code_uri="s3://assets/evaluate.py",
    source_uri="s3://assets/source.tar.gz",
    model_package_group="mlops-test-breast-cancer-models",
    autoscaling_lambda_arn="arn:aws:lambda:us-east-1:111122223333:function:autoscaling",
    endpoint_name="mlops-test-breast-cancer-endpoint",
    capture_prefix="endpoints",
    approval_status="PendingManualApproval",
    data_capture=False,
)


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    stack = Stack(App(), "Bare")
    SageMakerPipeline(
        stack,
        "Pipeline",
        spec=load_model_spec(MODELS_DIR / MODEL),
        wiring=WIRING,
        stand_ins=StandIns(),
        pipeline_role=iam.Role.from_role_arn(stack, "PipelineRole", PIPELINE_ROLE),
        description="test pipeline",
        cache_dir=Path(tmp_path_factory.mktemp("definitions")),
    )
    found: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return found


def only(resources: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    [found] = [(key, value) for key, value in resources.items() if value["Type"] == type_]
    return found


def test_the_registry_is_named_by_the_wiring(resources: dict[str, Any]) -> None:
    _, group = only(resources, "AWS::SageMaker::ModelPackageGroup")
    assert group["Properties"]["ModelPackageGroupName"] == WIRING.model_package_group


def test_the_pipeline_is_named_tagged_and_run_as_told(resources: dict[str, Any]) -> None:
    _, pipeline = only(resources, "AWS::SageMaker::Pipeline")
    properties = pipeline["Properties"]
    assert properties["PipelineName"] == WIRING.pipeline_name
    assert properties["RoleArn"] == PIPELINE_ROLE
    assert {"Key": MODEL_TAG, "Value": MODEL} in properties["Tags"]
    body = json.loads(properties["PipelineDefinition"]["PipelineDefinitionBody"])
    assert body["Steps"]


def test_the_pipeline_is_created_after_its_registry(resources: dict[str, Any]) -> None:
    group_id, _ = only(resources, "AWS::SageMaker::ModelPackageGroup")
    _, pipeline = only(resources, "AWS::SageMaker::Pipeline")
    assert group_id in pipeline["DependsOn"]


def test_plain_values_pass_through_unchanged() -> None:
    stand_ins = StandIns()
    assert stand_ins.bucket("data-bucket") == "data-bucket"
    assert stand_ins.arn("arn:aws:kms:us-east-1:1:key/k", "{}") == "arn:aws:kms:us-east-1:1:key/k"
    assert stand_ins.unrestored("data-bucket") == []


def test_tokens_get_stand_ins_that_restore_to_the_tokens() -> None:
    stack = Stack(App(), "Bare")
    bucket = s3.Bucket(stack, "Bucket").bucket_name
    key = kms.Key(stack, "Key").key_arn
    stand_ins = StandIns()
    uri = stand_ins.s3_uri(bucket, "code/script.py")
    arn = stand_ins.arn(key, "arn:aws:kms:us-east-1:000000000000:key/{}")
    assert uri.startswith("s3://standin")
    assert arn.startswith("arn:aws:kms:")
    assert stand_ins.unrestored(f"{uri} {arn}") != []
    restored = stand_ins.restore({"Uri": uri, "List": [arn], "Count": 1})
    assert restored == {"Uri": f"s3://{bucket}/code/script.py", "List": [key], "Count": 1}
