"""The sample-dataset custom resource: copies on create/update, keeps data on delete, and
always answers CloudFormation (a missing answer would hang the stack for an hour)."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

HANDLER = Path(__file__).resolve().parents[2] / "infra/handlers/sample_copy/index.py"


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sample_copy_index", HANDLER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CloudFormationStub:
    """A loopback HTTP server standing in for CloudFormation's pre-signed response URL."""

    def __init__(self) -> None:
        self.responses: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                stub.responses.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/response"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cloudformation() -> Iterator[CloudFormationStub]:
    stub = CloudFormationStub()
    yield stub
    stub.close()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in ("assets", "data"):
            client.create_bucket(Bucket=bucket)
        client.put_object(Bucket="assets", Key="abc.csv", Body=b"a,target\n1,0\n")
        yield client


def event(kind: str, url: str, **properties: str) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r1",
        "LogicalResourceId": "Copy",
        "PhysicalResourceId": "s3://data/sample/breast-cancer.csv",
        "ResourceProperties": {
            "SourceBucket": "assets",
            "SourceKey": "abc.csv",
            "DestinationBucket": "data",
            "DestinationKey": "sample/breast-cancer.csv",
            **properties,
        },
    }


def test_create_copies_the_object_and_reports_success(
    s3: Any, cloudformation: CloudFormationStub
) -> None:
    load_handler().handler(event("Create", cloudformation.url), None)
    copied = s3.get_object(Bucket="data", Key="sample/breast-cancer.csv")["Body"].read()
    assert copied == b"a,target\n1,0\n"
    (response,) = cloudformation.responses
    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == "s3://data/sample/breast-cancer.csv"


def test_delete_keeps_the_data(s3: Any, cloudformation: CloudFormationStub) -> None:
    handler = load_handler()
    handler.handler(event("Create", cloudformation.url), None)
    handler.handler(event("Delete", cloudformation.url), None)
    assert s3.list_objects_v2(Bucket="data")["KeyCount"] == 1
    assert [r["Status"] for r in cloudformation.responses] == ["SUCCESS", "SUCCESS"]


def test_failure_is_reported_to_cloudformation_not_raised(
    s3: Any, cloudformation: CloudFormationStub
) -> None:
    load_handler().handler(event("Create", cloudformation.url, SourceKey="missing.csv"), None)
    (response,) = cloudformation.responses
    assert response["Status"] == "FAILED"
    assert "NoSuchKey" in response["Reason"] or "Not Found" in response["Reason"]
