"""The local endpoint's SageMaker contract, on the model the base run registered: ``GET /ping``
and ``POST /invocations`` with the inference script's content types."""

from __future__ import annotations

import io
import json
import os
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.local import hosting
from pipelines.local.errors import StepError
from pipelines.local.hosting import LocalEndpoint, start_server, wait_until_healthy
from pipelines.local.jobs import log_tail
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


def test_an_unsupported_content_type_is_a_415_with_the_scripts_message(
    endpoint: LocalEndpoint,
) -> None:
    status, text = endpoint.invoke(b"<rows/>", "application/xml")
    assert status == 415
    assert "unsupported content type 'application/xml'" in json.loads(text)["error"]


ONE_ROW = ",".join(["1"] * FEATURES).encode()
JSON = "application/json"


@pytest.mark.parametrize(
    ("request_", "status", "message"),
    [
        ((b"1,2,3", "text/csv", JSON), 400, f"each row must have {FEATURES} features"),
        ((b"", "text/csv", JSON), 400, "request contains no rows"),
        ((b"{", JSON, JSON), 400, "request body is not valid JSON"),
        ((b"[[1, [2]]]", JSON, JSON), 400, "JSON row 1 must be a list"),
        ((b"1,2\n3", "text/csv", JSON), 400, "rows have different numbers"),
        # A header that names none of the features: read as a row of the wrong width.
        ((b"a,b\n1,2", "text/csv", JSON), 400, f"each row must have {FEATURES} values"),
        ((ONE_ROW, "text/csv", "text/csv"), 406, "unsupported accept type 'text/csv'"),
    ],
)
def test_a_client_mistake_is_a_4xx_with_one_line(
    endpoint: LocalEndpoint, request_: tuple[bytes, str, str], status: int, message: str
) -> None:
    got, text = endpoint.invoke(*request_)
    assert got == status
    assert message in json.loads(text)["error"]


def test_a_wrong_feature_count_is_reported(endpoint: LocalEndpoint) -> None:
    status, text = endpoint.invoke(b"1,2,3", "text/csv")
    assert status == 400
    assert f"each row must have {FEATURES} features" in json.loads(text)["error"]


def test_unknown_routes_are_404(endpoint: LocalEndpoint) -> None:
    assert _request(f"{endpoint.url}/invocations")[0] == 404
    assert _request(f"{endpoint.url}/models", method="POST")[0] == 404


# -- readiness: /ping is probed until the startup deadline ----------------------------------

# A stand-in for serving.py: writes its port like the real server, then answers /ping with
# 503 for the first FAKE_PING_FAILURES probes (each probe appends a line to FAKE_PING_LOG), or
# exits with FAKE_EXIT_CODE right after writing a port nobody listens on.
FAKE_SERVER = """
import argparse, os, socket, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

# No abbreviations: the runner's --port must not be read as --port-file.
parser = argparse.ArgumentParser(allow_abbrev=False)
parser.add_argument("--port-file", required=True)
args, _ = parser.parse_known_args()
if "FAKE_EXIT_CODE" in os.environ:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    open(args.port_file, "w").write(str(port))
    print("model_fn failed: boom", file=sys.stderr, flush=True)
    sys.exit(int(os.environ["FAKE_EXIT_CODE"]))
failures = int(os.environ["FAKE_PING_FAILURES"])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.environ["FAKE_PING_LOG"], "a") as probes:
            probes.write("ping\\n")
        global failures
        status = 503 if failures > 0 else 200
        failures -= 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


httpd = HTTPServer(("127.0.0.1", 0), Handler)
open(args.port_file, "w").write(str(httpd.server_address[1]))
httpd.serve_forever()
"""


def start_fake_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> LocalEndpoint:
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    monkeypatch.setattr(hosting, "SERVER_SCRIPT", script)
    return start_server(
        name="readiness-test",
        arn="arn:aws:sagemaker:us-east-1:000000000000:endpoint/readiness-test",
        config_name="readiness-test-config",
        variant={"VariantName": "AllTraffic"},
        model_name="readiness-test-model",
        model_dir=tmp_path,
        code_dir=tmp_path,
        program="inference.py",
        env={**os.environ, "FAKE_PING_LOG": str(tmp_path / "pings"), **env},
        directory=tmp_path,
        probe_interval=0.01,
    )


def test_a_server_that_fails_its_first_pings_is_in_service_once_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = start_fake_server(tmp_path, monkeypatch, FAKE_PING_FAILURES="3")
    try:
        assert (tmp_path / "pings").read_text().splitlines() == ["ping"] * 4
        assert _request(f"{endpoint.url}/ping")[0] == 200
    finally:
        endpoint.stop()


def test_a_server_that_exits_before_answering_is_reported_with_its_exit_code_and_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StepError) as raised:
        start_fake_server(tmp_path, monkeypatch, FAKE_EXIT_CODE="3")
    message = str(raised.value)
    assert message.startswith(
        "endpoint readiness-test: the model server exited with code 3 before /ping answered 200"
    ), message
    assert "last error: ConnectionRefusedError" in message
    assert "model_fn failed: boom" in log_tail(raised.value.log)


class Running:
    """A server process that is still running."""

    def poll(self) -> int | None:
        return None


@pytest.fixture
def unhealthy_url() -> Iterator[str]:
    """A server whose /ping always answers 503."""

    class Unhealthy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unhealthy)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_never_answers_200_fails_at_the_deadline_with_the_last_error(
    unhealthy_url: str,
) -> None:
    problem = wait_until_healthy(
        unhealthy_url, Running(), deadline=time.monotonic() + 0.2, interval=0.01
    )
    assert problem == "/ping did not answer 200 by the startup deadline (last error: HTTP 503)"


def test_a_healthy_server_is_accepted_at_the_first_probe_even_past_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = start_fake_server(tmp_path, monkeypatch, FAKE_PING_FAILURES="0")
    try:
        # A deadline already passed still gets one probe: startup may use up the whole budget.
        assert wait_until_healthy(endpoint.url, Running(), deadline=0.0, interval=0.01) is None
    finally:
        endpoint.stop()
