"""Proof that code under test makes no network or AWS call.

Python side: connect() on any non-Unix socket and every botocore API call raise. Node side
(the jsii kernel and the CDK CLI run in node): ``block-network.cjs`` is preloaded through
NODE_OPTIONS and makes every outbound TCP/UDP connect and DNS lookup throw.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

NODE_NETWORK_BLOCKER = Path(__file__).with_name("block-network.cjs")


class NetworkAttemptError(RuntimeError):
    """Raised when code under test tries to reach the network."""


def node_offline_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["NODE_OPTIONS"] = f"--require={NODE_NETWORK_BLOCKER} {env.get('NODE_OPTIONS', '')}".strip()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


_LOOPBACK_HOSTS = ("127.", "::1", "localhost")


def _is_local(sock: socket.socket, address: Any) -> bool:
    if sock.family == socket.AF_UNIX:
        return True
    host = address[0] if isinstance(address, tuple) else str(address)
    return str(host).startswith(_LOOPBACK_HOSTS)


@contextmanager
def no_network(*, block_botocore: bool = True) -> Iterator[list[str]]:
    """Block and record every non-loopback socket connect (and botocore call) in the block.

    moto serves AWS APIs in-process without sockets, so the socket guard alone already keeps
    moto-backed tests offline; ``block_botocore`` additionally fails any AWS call at all.
    """
    recorded: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(real: Any) -> Any:
        def connect(sock: socket.socket, address: Any) -> Any:
            if _is_local(sock, address):
                return real(sock, address)
            recorded.append(f"socket connect {address!r}")
            raise NetworkAttemptError(f"network access attempted: {address!r}")

        return connect

    def api_call(client: Any, operation: str, params: Any) -> Any:
        recorded.append(f"botocore {operation}")
        raise NetworkAttemptError(f"AWS API call attempted: {operation}")

    with (
        mock.patch.object(socket.socket, "connect", guarded(real_connect)),
        mock.patch.object(socket.socket, "connect_ex", guarded(real_connect_ex)),
    ):
        if not block_botocore:
            yield recorded
            return
        with mock.patch("botocore.client.BaseClient._make_api_call", api_call):
            yield recorded
