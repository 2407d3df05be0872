"""`pipelines.cli signature`: the signature of the version the endpoint serves (or a given
version, or the latest approved when nothing is served), found through the registry's
customer metadata, against moto's SageMaker and S3."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pipelines import cli

REGION = "us-east-1"
GROUP = "mlops-dev-churn-models"
ENDPOINT = "mlops-dev-churn-endpoint"
BUCKET = "artifacts"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::123456789012:role/pipeline"
SIGNATURE = {
    "task": "binary",
    "inputs": [
        {"name": "tenure_months", "type": "number", "missing": "filled"},
        {"name": "plan", "type": "category", "values": ["basic", "pro"], "missing": "filled"},
    ],
    "label": {"name": "churned", "values": ["no", "yes"]},
}


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield session.client("sagemaker"), s3


def register(sm: Any, s3: Any, model_data: str, status: str, signature: bool = True) -> str:
    extra: dict[str, Any] = {}
    if signature:
        key = f"{model_data.split('/')[-2]}/signature.json"
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(SIGNATURE).encode())
        extra["CustomerMetadataProperties"] = {"signature": f"s3://{BUCKET}/{key}"}
    arn: str = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        **extra,
    )["ModelPackageArn"]
    return arn


def serve(sm: Any, model_data: str) -> None:
    sm.create_model(
        ModelName="served",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data},
    )
    sm.create_endpoint_config(
        EndpointConfigName="served-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "served",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="served-config")


@pytest.fixture
def run(clients: tuple[Any, Any]) -> Callable[[list[str]], int]:
    sm, s3 = clients
    sm.create_model_package_group(ModelPackageGroupName=GROUP)

    def run(argv: list[str]) -> int:
        return cli.main(
            ["--model", "churn", "--region", REGION, *argv],
            client_factory=lambda _: sm,
            s3_factory=lambda _: s3,
        )

    return run


def test_the_served_version_s_signature_is_shown(
    clients: tuple[Any, Any], run: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]
) -> None:
    sm, s3 = clients
    register(sm, s3, "s3://artifacts/v1/model.tar.gz", "Approved")
    register(sm, s3, "s3://artifacts/v2/model.tar.gz", "Approved")
    serve(sm, "s3://artifacts/v1/model.tar.gz")
    assert run(["signature"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{GROUP} version 1 (Approved; served by {ENDPOINT})"
    assert out[1].startswith("signature: POST /invocations, text/csv")
    assert out[2] == (
        "  columns, in this order: tenure_months (number; may be empty), "
        "plan (one of basic, pro; may be empty)"
    )
    assert '"label": one of no, yes' in out[3]
    assert out[4] == "from s3://artifacts/v1/signature.json"


def test_a_given_version_or_else_the_latest_approved_one(
    clients: tuple[Any, Any], run: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]
) -> None:
    sm, s3 = clients
    register(sm, s3, "s3://artifacts/v1/model.tar.gz", "Approved")
    register(sm, s3, "s3://artifacts/v2/model.tar.gz", "PendingManualApproval")
    assert run(["signature"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"{GROUP} version 1 (Approved; latest approved; no endpoint serves one)"
    assert run(["signature", "--version", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith(f"{GROUP} version 2 (Pending")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda sm, s3: None, f"error: model package group '{GROUP}' has no versions"),
        (
            lambda sm, s3: register(sm, s3, "s3://artifacts/v1/model.tar.gz", "Approved", False),
            "error: version 1 records no signature: its model carries no fitted transform",
        ),
        (
            lambda sm, s3: (
                register(sm, s3, "s3://artifacts/v1/model.tar.gz", "Approved"),
                s3.delete_object(Bucket=BUCKET, Key="v1/signature.json"),
            ),
            "error: version 1: cannot read s3://artifacts/v1/signature.json: NoSuchKey",
        ),
        (
            lambda sm, s3: register(sm, s3, "s3://artifacts/v1/model.tar.gz", "Rejected"),
            f"error: no version of {GROUP} to show: none is approved",
        ),
    ],
    ids=["empty group", "no signature", "object gone", "none approved"],
)
def test_what_stops_the_lookup_is_one_line(
    clients: tuple[Any, Any],
    run: Callable[[list[str]], int],
    capsys: pytest.CaptureFixture[str],
    setup: Callable[[Any, Any], object],
    message: str,
) -> None:
    setup(*clients)
    assert run(["signature"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(message), err
