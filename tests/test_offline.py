"""Synth makes no network or AWS call, proven with the network blocked, not assumed."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import boto3
import pytest

from pipelines.assembly.manifest import read_assembly
from tests.conftest import VARIANTS, Assembly
from tests.support.offline import NetworkAttemptError, no_network, node_offline_env

ROOT = Path(__file__).resolve().parent.parent
BLOCKED = "NETWORK ATTEMPT BLOCKED"


def test_python_guard_blocks_sockets_and_aws_calls() -> None:
    with no_network() as attempts:
        with pytest.raises(NetworkAttemptError):
            socket.create_connection(("198.51.100.1", 443), timeout=1)
        with pytest.raises(NetworkAttemptError):
            boto3.client(
                "s3",
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ).list_buckets()
    assert len(attempts) == 2


def test_node_guard_blocks_outbound_connections() -> None:
    script = "require('https').get('https://aws.amazon.com/').on('error', () => {})"
    result = subprocess.run(
        ["node", "-e", script], env=node_offline_env(), capture_output=True, text=True, check=False
    )
    assert BLOCKED in result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_in_process_synth_makes_no_network_or_aws_call(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    assembly = assemblies[variant]
    assert assembly.network_attempts == ()
    assert read_assembly(assembly.directory).stacks


def test_cdk_cli_synth_runs_offline_without_credentials(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / "node_modules/.bin/cdk"), "synth", "--quiet", "-o", str(tmp_path)],
        cwd=ROOT,
        env=node_offline_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert BLOCKED not in result.stderr
    assert sorted(read_assembly(tmp_path).by_id()) == ["Foundation", "Pipeline"]
