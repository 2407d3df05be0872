"""A local stand-in for the SageMaker inference toolkit: the model server of one endpoint.

Runs as its own process (``python serving.py --model-dir ... --code-dir ... --program ...``),
like the serving container: it imports the inference script from the code directory, calls
``model_fn`` once, and answers SageMaker's two routes on 127.0.0.1:

- ``GET /ping``: 200 once the model is loaded;
- ``POST /invocations``: ``input_fn(body, Content-Type)`` -> ``predict_fn`` -> ``output_fn(...,
  Accept)``, or ``transform_fn`` when the script defines one.

An exception in the script's handlers becomes a 500 whose body carries its message, which is
how the toolkit answers (and what InvokeEndpoint reports as a ModelError), unless it carries a
``status_code`` (the toolkit's GenericInferenceToolkitError does): then that status. Only the
standard library is used here, so the process needs nothing but the script's own imports.
When ready it writes its port to ``--port-file``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

# InvokeEndpoint rejects larger payloads before they reach the container.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
DEFAULT_ACCEPT = "application/json"
# A client that announces more bytes than it sends gets an answer instead of a hung worker.
READ_TIMEOUT_SECONDS = 30


class BadRequestError(Exception):
    """The request's framing is broken: answered with ``status`` and the connection closed,
    since where the next request starts is unknown."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _content_length(value: str | None) -> int:
    if value is None:
        raise BadRequestError(
            HTTPStatus.LENGTH_REQUIRED, "POST /invocations needs Content-Length or a chunked body"
        )
    if not value.strip().isdigit():
        raise BadRequestError(
            HTTPStatus.BAD_REQUEST, f"Content-Length {value!r} is not a non-negative integer"
        )
    length = int(value)
    if length > MAX_PAYLOAD_BYTES:
        raise BadRequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload larger than 6 MB")
    return length


def _read_exactly(stream: Any, length: int) -> bytes:
    data = stream.read(length)
    if len(data) != length:
        raise BadRequestError(
            HTTPStatus.BAD_REQUEST, f"body ended after {len(data)} of {length} bytes"
        )
    return bytes(data)


def read_chunked(stream: Any) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112 section 7.1); http.server reads only
    bodies with a Content-Length."""
    body = bytearray()
    while True:
        line = stream.readline(1024).split(b";", 1)[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise BadRequestError(HTTPStatus.BAD_REQUEST, f"bad chunk size {line[:20]!r}") from None
        if size < 0 or len(body) + size > MAX_PAYLOAD_BYTES:
            raise BadRequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload larger than 6 MB")
        if size == 0:
            break
        body += _read_exactly(stream, size)
        if _read_exactly(stream, 2) != b"\r\n":
            raise BadRequestError(HTTPStatus.BAD_REQUEST, "a chunk does not end with CRLF")
    while stream.readline(1024).strip():  # trailer fields, unused
        pass
    return bytes(body)


class ModelServer:
    """The loaded inference script and model; ``invoke`` is one /invocations request."""

    def __init__(self, module: ModuleType, model_dir: str) -> None:
        self.module = module
        self.transform: Callable[..., Any] | None = getattr(module, "transform_fn", None)
        required = () if self.transform else ("input_fn", "predict_fn", "output_fn")
        missing = [name for name in ("model_fn", *required) if not hasattr(module, name)]
        if missing:
            raise RuntimeError(f"{module.__name__} does not define {', '.join(missing)}")
        self.model = module.model_fn(model_dir)
        # The toolkit runs one model per worker process; serialise predictions the same way.
        self.lock = threading.Lock()

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        with self.lock:
            if self.transform is not None:
                result = self.transform(self.model, body, content_type, accept)
            else:
                data = self.module.input_fn(body, content_type)
                prediction = self.module.predict_fn(data, self.model)
                result = self.module.output_fn(prediction, accept)
        response_type = accept if accept and accept != "*/*" else DEFAULT_ACCEPT
        if isinstance(result, tuple):
            result, response_type = result
        payload = result if isinstance(result, bytes) else str(result).encode()
        return payload, response_type


def make_handler(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = READ_TIMEOUT_SECONDS

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._send(HTTPStatus.OK, b"", "text/plain")
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no route GET {self.path}")

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._error(HTTPStatus.NOT_FOUND, f"no route POST {self.path}")
                return
            try:
                body = self._read_body()
            except BadRequestError as error:
                self.close_connection = True
                self._error(error.status, str(error))
                return
            except TimeoutError:
                self.close_connection = True
                self._error(HTTPStatus.REQUEST_TIMEOUT, "the body did not arrive in time")
                return
            content_type = self.headers.get("Content-Type", "")
            accept = self.headers.get("Accept", "")
            try:
                payload, response_type = server.invoke(body, content_type, accept)
            except Exception as exc:
                # As the toolkit: an error carrying a 4xx/5xx status_code (a client's mistake)
                # is answered with it, any other with a 500; the message goes with both.
                status = getattr(exc, "status_code", None)
                if isinstance(status, int) and 400 <= status < 600:
                    self._error(HTTPStatus(status), str(exc))
                    return
                traceback.print_exc()
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")
                return
            self._send(HTTPStatus.OK, payload, response_type)

        def _read_body(self) -> bytes:
            encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
            if encoding == "chunked":
                return read_chunked(self.rfile)
            if encoding:
                raise BadRequestError(
                    HTTPStatus.NOT_IMPLEMENTED, f"Transfer-Encoding {encoding!r} is not supported"
                )
            return _read_exactly(self.rfile, _content_length(self.headers.get("Content-Length")))

        def _error(self, status: HTTPStatus, message: str) -> None:
            body = json.dumps({"error": message}).encode()
            self._send(status, body, "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            print(f"{self.address_string()} {format % args}", file=sys.stderr, flush=True)

    return Handler


def load_server(model_dir: str, code_dir: str, program: str) -> ModelServer:
    sys.path.insert(0, code_dir)
    module = importlib.import_module(Path(program).stem)
    return ModelServer(module, model_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--code-dir", required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("--port-file", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = load_server(args.model_dir, args.code_dir, args.program)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(server))
    port = httpd.server_address[1]
    partial = args.port_file.with_suffix(".partial")
    partial.write_text(str(port))
    os.replace(partial, args.port_file)
    print(f"serving {args.program} on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
