"""The local endpoint's SageMaker contract, on the model the base run registered: ``GET /ping``
and ``POST /invocations`` with the inference script's content types."""

from __future__ import annotations

import io
import json
import os
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.local.hosting import LocalEndpoint, start_server
from pipelines.local.objectstore import ObjectStore
from pipelines.local.registry import versions
from tests.local.conftest import BaseRun

FEATURES = 30


def _extract(store: ObjectStore, uri: str, destination: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(store.read_bytes(uri)), mode="r:gz") as archive:
        archive.extractall(destination, filter="data")
    return destination


@pytest.fixture(scope="module")
def endpoint(
    base_run: BaseRun, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalEndpoint]:
    root = tmp_path_factory.mktemp("endpoint")
    store = ObjectStore(base_run.run_dir / "s3")
    container = versions(base_run.run_dir, "mlops-dev-breast-cancer-models")[0][
        "InferenceSpecification"
    ]["Containers"][0]
    model_dir = _extract(store, container["ModelDataUrl"], root / "model")
    code_dir = _extract(
        store, container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"], root / "code"
    )
    server = start_server(
        name="contract-test",
        arn="arn:aws:sagemaker:us-east-1:000000000000:endpoint/contract-test",
        config_name="contract-test-config",
        variant={"VariantName": "AllTraffic"},
        model_name="contract-test-model",
        model_dir=model_dir,
        code_dir=code_dir,
        program=container["Environment"]["SAGEMAKER_PROGRAM"],
        env=dict(os.environ),
        directory=root,
    )
    yield server
    server.stop()
    assert server.process.poll() is not None


def _request(url: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - local test server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def _rows(count: int) -> list[list[float]]:
    return [[float(row + column) / 10 for column in range(FEATURES)] for row in range(count)]


def test_ping_answers_200(endpoint: LocalEndpoint) -> None:
    assert _request(f"{endpoint.url}/ping") == (200, b"")


def test_csv_rows_get_one_json_prediction_each(endpoint: LocalEndpoint) -> None:
    body = "\n".join(",".join(str(value) for value in row) for row in _rows(4)).encode()
    status, text = endpoint.invoke(body, "text/csv; charset=utf-8")
    assert status == 200
    predictions = json.loads(text)["predictions"]
    assert len(predictions) == 4
    assert all(0.0 <= p["score"] <= 1.0 and p["label"] in (0, 1) for p in predictions)


def test_json_instances_get_the_same_predictions_as_csv(endpoint: LocalEndpoint) -> None:
    rows = _rows(2)
    csv_body = "\n".join(",".join(str(value) for value in row) for row in rows).encode()
    _, csv_text = endpoint.invoke(csv_body, "text/csv")
    status, json_text = endpoint.invoke(
        json.dumps({"instances": rows}).encode(), "application/json"
    )
    assert status == 200
    assert json.loads(json_text) == json.loads(csv_text)


def test_an_unsupported_content_type_is_an_error_with_the_scripts_message(
    endpoint: LocalEndpoint,
) -> None:
    status, text = endpoint.invoke(b"<rows/>", "application/xml")
    assert status == 500
    assert "unsupported content type 'application/xml'" in json.loads(text)["error"]


def test_a_wrong_feature_count_is_reported(endpoint: LocalEndpoint) -> None:
    status, text = endpoint.invoke(b"1,2,3", "text/csv")
    assert status == 500
    assert f"each row must have {FEATURES} features" in json.loads(text)["error"]


def test_unknown_routes_are_404(endpoint: LocalEndpoint) -> None:
    assert _request(f"{endpoint.url}/invocations")[0] == 404
    assert _request(f"{endpoint.url}/models", method="POST")[0] == 404
