"""Warm starts: a forked job must look to its script like ``python script.py`` would."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipelines.local.jobs import run_process
from pipelines.local.warmpool import WarmPool, installed_modules, module_imports
from tests.local.support import definition, processing_step, run_cli, write_assembly

PROBE = """\
import json, os, sys
import helper  # a sibling module: the script's folder must be on sys.path
print(json.dumps({
    "name": __name__,
    "argv": sys.argv,
    "cwd": os.getcwd(),
    "marker": os.environ.get("PROBE_MARKER"),
    "helper": helper.VALUE,
}))
print("to stderr", file=sys.stderr)
sys.exit(7)
"""


def test_module_level_imports_of_installed_packages_are_preloaded() -> None:
    source = (
        "from __future__ import annotations\n"
        "import json, numpy as np\n"
        "from pandas.api.types import is_bool_dtype\n"
        "from . import sibling\n"
        "try:\n    import xgboost\nexcept ImportError:\n    pass\n"
        "def later():\n    import sklearn\n"
        "from pipelines.local import cli\n"
    )
    names = module_imports(source)
    assert names == [
        "__future__",
        "json",
        "numpy",
        "pandas.api.types",
        "xgboost",
        "pipelines.local",
    ]
    # Standard library and project code are not third-party packages.
    assert installed_modules(names) == ["numpy", "pandas.api.types", "xgboost"]


def test_a_forked_job_gets_its_own_argv_env_cwd_path_and_exit_code(tmp_path: Path) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "probe.py").write_text(PROBE)
    (code_dir / "helper.py").write_text("VALUE = 42\n")
    log = tmp_path / "log.txt"
    pool = WarmPool((), 1, dict(os.environ))
    env = {**os.environ, "PROBE_MARKER": "set"}
    code, _ = run_process(
        [sys.executable, "probe.py", "--flag", "x"],
        cwd=code_dir,
        env=env,
        log=log,
        timeout=60,
        pool=pool,
    )
    assert code == 7
    lines = log.read_text().splitlines()
    assert lines[1].startswith("(warm start")
    assert lines[2] == (
        f'{{"name": "__main__", "argv": ["{code_dir}/probe.py", "--flag", "x"], '
        f'"cwd": "{code_dir}", "marker": "set", "helper": 42}}'
    )
    assert lines[3] == "to stderr"


def test_a_run_without_the_pool_gives_the_same_results(tmp_path: Path) -> None:
    pipeline = definition([processing_step("A", "--value", "cold")])
    assembly = write_assembly(tmp_path / "cdk.out", pipeline)
    result = run_cli("run", "--assembly", assembly, "--run-dir", tmp_path / "run", "--no-warm-pool")
    assert result.code == 0, result.err
    log = Path(result.step("A")["log"]).read_text()
    assert "warm start" not in log
    assert "wrote 'cold'" in log


def test_jobs_forked_from_several_threads_at_once_all_report_their_own_exit_code(
    tmp_path: Path,
) -> None:
    # Process.start() polls every other child of the process (multiprocessing's _cleanup); when
    # that races with the owner's own wait, one of the two reads EOF from the fork server and
    # the job's exit code becomes 255. Seen as a flaky "processing job exited with code 255".
    (tmp_path / "quick.py").write_text("import sys\nsys.exit(int(sys.argv[1]))\n")
    pool = WarmPool((), 1, dict(os.environ))
    rounds, threads = 12, 6

    def job(index: int) -> list[int]:
        codes = []
        for round_ in range(rounds):
            code, _ = run_process(
                [sys.executable, "quick.py", str((index + round_) % 3)],
                cwd=tmp_path,
                env=dict(os.environ),
                log=tmp_path / f"log-{index}-{round_}.txt",
                timeout=60,
                pool=pool,
            )
            codes.append(code)
        return codes

    with ThreadPoolExecutor(threads) as executor:
        results = list(executor.map(job, range(threads)))
    expected = [[(index + round_) % 3 for round_ in range(rounds)] for index in range(threads)]
    assert results == expected
