"""`make bench`, part two: the local pipeline run, full and cached, on a fresh assembly.

Goals on the 2-core machine: full run with the default tuning budget <= 30 s, cached
re-run <= 5 s. For scale, the same run also times the floor every local run pays: starting
the interpreter and importing the runner.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"full run": 30.0, "cached re-run": 5.0}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> int:
    python = str(ROOT / ".venv/bin/python")
    with tempfile.TemporaryDirectory() as scratch:
        assembly = f"{scratch}/cdk.out"
        subprocess.run(
            ["env", f"CDK_OUTDIR={assembly}", python, "app.py"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        run = [python, "-m", "pipelines.local", "run", "--assembly", assembly]
        start_only = timed([python, "-c", "import pipelines.local.cli"])
        results = {
            "full run": timed([*run, "--run-dir", f"{scratch}/run", "--no-cache"]),
            "cached re-run": timed([*run, "--run-dir", f"{scratch}/run"]),
        }
    print(f"local pipeline run (default tuning budget), {os.cpu_count()} cores")
    print(f"  {'interpreter + runner import (floor)':<36} {start_only:6.2f} s")
    for name, seconds in results.items():
        goal = GOALS[name]
        verdict = "met" if seconds <= goal else "NOT met"
        print(
            f"  {name:<36} {seconds:6.2f} s = {seconds / start_only:5.1f}x floor "
            f"(goal <= {goal:.0f} s: {verdict})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
