"""One small real assembly per session (2 tuning jobs instead of 6) and one full local run of
it; the scenario tests copy that run's directory, so they start from its cache and registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import synthesize
from tests.local.support import CliRun, run_cli

SMALL_BUDGET = {"pipeline.tuning_max_jobs": "2", "pipeline.tuning_max_parallel_jobs": "2"}


@dataclass(frozen=True)
class BaseRun:
    assembly: Path
    run_dir: Path
    result: CliRun


@pytest.fixture(scope="session")
def small_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("local-cdk")
    synthesize(directory, env="dev", **SMALL_BUDGET)
    return directory


@pytest.fixture(scope="session")
def base_run(small_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> BaseRun:
    run_dir = tmp_path_factory.mktemp("local-run") / "run"
    result = run_cli("run", "--assembly", small_assembly, "--run-dir", run_dir)
    assert result.code == 0, result.out + result.err
    return BaseRun(small_assembly, run_dir, result)
