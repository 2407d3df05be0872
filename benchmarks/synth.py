"""`make bench`: offline synth wall time of this app against an empty CDK app's, same run,
and of this app with every shipped model against a copy of it with only the sample model.

"Warm" is the everyday re-synth: the pipeline definition, the sample CSV and botocore's
SageMaker enums come from `.build/` (content-addressed caches). "Cold" empties those caches
before every run, so it pays for importing the SageMaker SDK, scikit-learn and botocore, as
the first synth on a machine does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.project_copy import copy_project
from benchmarks.timing import Timing, ratio_line, time_commands
from infra.config import BUILD_DIR, MODELS_DIR

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5
# Synth with every shipped model / synth with one (the model-spec issue's goal).
MODELS_GOAL = 1.2
SAMPLE_MODEL = "breast-cancer"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def clear_synth_caches() -> None:
    for directory in ("pipeline-definitions", "samples", "sources"):
        shutil.rmtree(BUILD_DIR / directory, ignore_errors=True)
    for cached in BUILD_DIR.glob("botocore-*.json"):
        cached.unlink()


def time_cold(command: list[str], env: dict[str, str], rounds: int) -> Timing:
    seconds = []
    for _ in range(rounds):
        clear_synth_caches()
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return Timing("this app, cdk synth, cold caches", tuple(seconds))


def main() -> int:
    python = str(ROOT / ".venv/bin/python")
    cdk = str(ROOT / "node_modules/.bin/cdk")
    os.chdir(ROOT)
    models = sorted(path.parent.name for path in MODELS_DIR.glob("*/model.toml"))
    with tempfile.TemporaryDirectory() as scratch:
        one_model = copy_project(Path(scratch, "one-model"), models=[SAMPLE_MODEL])
        env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}
        empty_app = f"{python} benchmarks/empty_app.py"
        commands = {
            "empty app, direct": [
                "env",
                f"CDK_OUTDIR={scratch}/e1",
                python,
                "benchmarks/empty_app.py",
            ],
            "this app, direct": ["env", f"CDK_OUTDIR={scratch}/a1", python, "app.py"],
            "this app, 1 model, direct": [
                "env",
                f"CDK_OUTDIR={scratch}/m1",
                python,
                str(one_model / "app.py"),
            ],
            "empty app, cdk synth": [cdk, "synth", "-q", "--app", empty_app, "-o", f"{scratch}/e2"],
            "this app, cdk synth": [cdk, "synth", "-q", "-o", f"{scratch}/a2"],
        }
        timings = time_commands(commands, rounds=ROUNDS, env=env)
        cold = time_cold([cdk, "synth", "-q", "-o", f"{scratch}/a3"], env, max(2, ROUNDS // 2))
    print(f"offline synth, {ROUNDS} interleaved rounds after a warm-up, {os.cpu_count()} cores")
    for name, timing in [*timings.items(), (cold.name, cold)]:
        print(f"  {name:<34} median {timing.median:6.2f} s  best {timing.best:6.2f} s")
    print(ratio_line(timings["this app, direct"], timings["empty app, direct"], GOAL))
    print(ratio_line(timings["this app, cdk synth"], timings["empty app, cdk synth"], GOAL))
    print(ratio_line(cold, timings["empty app, cdk synth"], GOAL))
    all_models = Timing(
        f"this app, {len(models)} models, direct", timings["this app, direct"].seconds
    )
    print(ratio_line(all_models, timings["this app, 1 model, direct"], MODELS_GOAL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
