"""The package reads files only: importing it must not load the CDK (jsii starts a node
process), the SageMaker SDK or botocore, so every consumer can afford it."""

from __future__ import annotations

from tests.support.imports import packages_loaded_by


def test_the_assembly_package_imports_no_cdk_sdk_or_botocore():
    loaded, _ = packages_loaded_by(
        "pipelines.assembly.manifest", "pipelines.assembly.resolve", "pipelines.assembly.steps"
    )
    assert loaded & {"aws_cdk", "jsii", "constructs", "sagemaker", "botocore", "boto3"} == set()
