"""`pipelines.local serve` keeps a model's endpoint up after the run; `invoke`, from another
process, sends rows to it and prints the answer."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.local.conftest import SAMPLE_MODEL, BaseRun
from tests.local.support import copy_run_dir, run_cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def local(*args: str | Path, stdin: int | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pipelines.local", *map(str, args)]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=ENV,
        text=True,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def run_dir(base_run: BaseRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_run_dir(base_run.run_dir, tmp_path_factory.mktemp("serve") / "run")


def test_serve_then_invoke_from_another_process(base_run: BaseRun, run_dir: Path) -> None:
    server = local(
        "serve",
        SAMPLE_MODEL,
        "--assembly",
        base_run.assembly,
        "--run-dir",
        run_dir,
        "--port",
        "0",
    )
    try:
        banner = [server.stdout.readline() for _ in range(6)]  # type: ignore[union-attr]
        url = re.search(r" at (http://127\.0\.0\.1:\d+)$", banner[0].strip())
        assert url, "".join(banner) + server.stderr.read()  # type: ignore[union-attr]
        # The model carries its signature: the data's columns and the label's values.
        assert banner[1].startswith("signature: POST /invocations, text/csv with or without")
        assert "columns, in this order: mean_radius (number), mean_texture (number)" in banner[2]
        assert '"label": one of 0, 1, "probabilities"' in banner[3]
        assert "curl -s " + url.group(1) + "/invocations" in banner[5]
        (record_file,) = (run_dir / "endpoints").glob(f"*-{SAMPLE_MODEL}-endpoint.json")
        record = json.loads(record_file.read_text())
        rows = record["example"]["body"]
        caller = local("invoke", SAMPLE_MODEL, "-", "--run-dir", run_dir, stdin=subprocess.PIPE)
        out, err = caller.communicate(rows, timeout=60)
        assert caller.returncode == 0, err
        assert json.loads(out) == record["example"]["response"]
        server.send_signal(signal.SIGINT)
        rest, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0
    assert rest.strip().endswith(f"stopped serving {SAMPLE_MODEL} v1")
    assert not (run_dir / "serving" / f"{SAMPLE_MODEL}.json").exists()

    after = run_cli("invoke", SAMPLE_MODEL, "-", "--run-dir", run_dir)
    assert after.code == 2
    assert f"model {SAMPLE_MODEL!r} is not being served from {run_dir}" in after.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--version", "99"], "--version 99: not registered in "),
        (["--port", "70000"], "--port 70000: must be 0-65535"),
    ],
)
def test_bad_serve_arguments_are_one_line(
    base_run: BaseRun, run_dir: Path, args: list[str], message: str
) -> None:
    result = run_cli(
        "serve", SAMPLE_MODEL, "--assembly", base_run.assembly, "--run-dir", run_dir, *args
    )
    assert result.code == 2
    assert result.err.splitlines() == [result.err.strip()]
    assert message in result.err


def test_a_model_no_run_deployed_says_how_to_get_one(base_run: BaseRun, tmp_path: Path) -> None:
    result = run_cli(
        "serve", SAMPLE_MODEL, "--assembly", base_run.assembly, "--run-dir", tmp_path / "empty"
    )
    assert result.code == 2
    assert f"model {SAMPLE_MODEL!r}: no local run deployed it in" in result.err
    assert f"make run MODEL={SAMPLE_MODEL}" in result.err
