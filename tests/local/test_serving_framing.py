"""The local model server answers every malformed request with a 4xx and one line, and reads
chunked bodies: a client mistake in framing never leaves it without an answer or hanging."""

from __future__ import annotations

import json
import socket
import threading
import types
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from pipelines.local import serving


def _echo_script() -> types.ModuleType:
    module = types.ModuleType("echo")
    module.model_fn = lambda model_dir: None  # type: ignore[attr-defined]
    module.input_fn = lambda body, content_type: body  # type: ignore[attr-defined]
    module.predict_fn = lambda data, model: data  # type: ignore[attr-defined]
    module.output_fn = lambda prediction, accept: prediction  # type: ignore[attr-defined]
    return module


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    handler = serving.make_handler(serving.ModelServer(_echo_script(), "unused"))
    handler.timeout = 2  # the read timeout, shortened for the short-body case
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def exchange(address: tuple[str, int], raw: bytes) -> tuple[int, bytes]:
    """Send raw bytes, read the whole answer (the server closes after a framing error)."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(raw)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


def post(headers: str, body: bytes = b"") -> bytes:
    return f"POST /invocations HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body


@pytest.mark.parametrize(
    ("request_bytes", "status", "message"),
    [
        (post("Content-Length: abc\r\n", b"1,2"), 400, "Content-Length 'abc' is not a"),
        (post("Content-Length: -1\r\n", b"1,2"), 400, "Content-Length '-1' is not a"),
        (post("", b"1,2"), 411, "needs Content-Length or a chunked body"),
        (post("Content-Length: 10\r\n", b"1,2"), 400, "body ended after 3 of 10 bytes"),
        (post("Content-Length: 7000000\r\n"), 413, "payload larger than 6 MB"),
        (post("Transfer-Encoding: chunked\r\n", b"zz\r\n1,2\r\n0\r\n\r\n"), 400, "chunk size"),
        (post("Transfer-Encoding: gzip\r\n", b"1,2"), 501, "'gzip' is not supported"),
    ],
    ids=["non-numeric", "negative", "no length", "short body", "too large", "bad chunk", "gzip"],
)
def test_malformed_framing_gets_a_4xx_with_one_line(
    address: tuple[str, int], request_bytes: bytes, status: int, message: str
) -> None:
    got, body = exchange(address, request_bytes)
    assert got == status
    assert message in json.loads(body)["error"]


def test_a_chunked_body_is_read_whole(address: tuple[str, int]) -> None:
    chunked = b"4\r\n1,2,\r\n3;ext=1\r\n3,4\r\n0\r\nTrailer: x\r\n\r\n"
    status, body = exchange(address, post("Transfer-Encoding: chunked\r\n", chunked))
    assert (status, body) == (200, b"1,2,3,4")


def test_a_good_request_after_a_good_one_on_the_same_connection(
    address: tuple[str, int],
) -> None:
    # Keep-alive still works: framing errors close the connection, good requests do not.
    one = post("Content-Length: 3\r\n", b"a,b")
    status, body = exchange(address, one + one)
    assert status == 200
    assert body.endswith(b"a,b")
