"""An interrupted local run (Ctrl-C or SIGTERM) ends with one line and exit code 130, stops its
job processes, and leaves no cache entry for the step that was running: the next run redoes
that step and reuses only what had finished."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.local.support import definition, processing_step, run_cli, write_assembly

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = "local-test-pipeline"
# Holds (sleeps) while the --hold file exists, after writing its PID next to it.
HOLDING_SCRIPT = """\
import argparse, os, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--output", required=True)
parser.add_argument("--hold", default="")
args = parser.parse_args()
out = pathlib.Path(args.output)
out.mkdir(parents=True, exist_ok=True)
(out / "report.json").write_text("{}")
hold = pathlib.Path(args.hold) if args.hold else None
if hold is not None and hold.exists():
    hold.with_suffix(".pid").write_text(str(os.getpid()))
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    """Until the holding step has written its PID (the file can exist still empty)."""
    deadline = time.monotonic() + 120
    while not (path.exists() and path.read_text().strip()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the holding step never started"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signal_number", "to_group", "pool_flag"),
    [(signal.SIGINT, True, []), (signal.SIGTERM, False, ["--no-warm-pool"])],
    ids=["ctrl-c to the process group, warm pool", "SIGTERM to the runner only, subprocesses"],
)
def test_an_interrupt_stops_the_jobs_and_caches_nothing_that_was_running(
    tmp_path: Path, signal_number: signal.Signals, to_group: bool, pool_flag: list[str]
) -> None:
    hold = tmp_path / "hold"
    hold.write_text("")
    steps = [
        processing_step("Finished"),
        processing_step("Holding", "--hold", str(hold), depends_on=["Finished"]),
    ]
    assembly = write_assembly(tmp_path / "cdk.out", definition(steps), script=HOLDING_SCRIPT)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "pipelines.local", "run", "--assembly", str(assembly)]
    process = subprocess.Popen(
        [*command, "--run-dir", str(run_dir), *pool_flag],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    try:
        _wait_for(hold.with_suffix(".pid"), process)
        job = int(hold.with_suffix(".pid").read_text())
        if to_group:
            os.killpg(process.pid, signal_number)
        else:
            process.send_signal(signal_number)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    assert process.returncode == 130, out + err
    assert err.splitlines() == [
        f"error: interrupted by {signal_number.name}: running steps were stopped and none of "
        "them was cached; steps that had finished are reused by the next run"
    ]
    assert re.search(r"Holding +stopped: the run was interrupted", out), out
    deadline = time.monotonic() + 10
    while _alive(job) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(job), "the job process outlived the run"
    cache = run_dir / "cache" / PIPELINE
    assert len(list((cache / "Finished").glob("*.json"))) == 1
    assert not (cache / "Holding").exists()

    hold.unlink()
    rerun = run_cli("run", "--assembly", assembly, "--run-dir", run_dir)
    assert rerun.code == 0, rerun.out + rerun.err
    assert rerun.statuses() == {"Finished": "Cached", "Holding": "Succeeded"}
