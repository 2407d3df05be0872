"""`make bench`: offline synth wall time of this app against an empty CDK app's, same run."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from benchmarks.timing import ratio_line, time_commands

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def main() -> int:
    python = str(ROOT / ".venv/bin/python")
    cdk = str(ROOT / "node_modules/.bin/cdk")
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}
        commands = {
            "empty app, direct": [
                "env",
                f"CDK_OUTDIR={scratch}/e1",
                python,
                "benchmarks/empty_app.py",
            ],
            "this app, direct": ["env", f"CDK_OUTDIR={scratch}/a1", python, "app.py"],
            "empty app, cdk synth": [
                cdk,
                "synth",
                "-q",
                "--app",
                f"{python} benchmarks/empty_app.py",
                "-o",
                f"{scratch}/e2",
            ],
            "this app, cdk synth": [cdk, "synth", "-q", "-o", f"{scratch}/a2"],
        }
        os.chdir(ROOT)
        timings = time_commands(commands, rounds=ROUNDS, env=env)
    print(f"offline synth, {ROUNDS} interleaved rounds after a warm-up, {os.cpu_count()} cores")
    for name, timing in timings.items():
        print(f"  {name:<22} median {timing.median:6.2f} s  best {timing.best:6.2f} s")
    print(ratio_line(timings["this app, direct"], timings["empty app, direct"], GOAL))
    print(ratio_line(timings["this app, cdk synth"], timings["empty app, cdk synth"], GOAL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
