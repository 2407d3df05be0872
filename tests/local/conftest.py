"""One small real assembly per session (2 tuning jobs instead of 6 for every model) and one
full local run of all its models at once, as `make run` does; the scenario tests copy that
run's directory, so they start from its cache and registry, and use the sample model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.definition.spec import discover_models
from pipelines.project import MODELS_DIR
from tests.conftest import synthesize
from tests.local.support import CliRun, run_cli

SAMPLE_MODEL = "breast-cancer"
SPECS = discover_models(MODELS_DIR)
MODELS = [spec.name for spec in SPECS]
# A built-in algorithm runs in SageMaker only: `make run` names it and runs the others.
LOCAL_MODELS = [spec.name for spec in SPECS if spec.training.algorithm is None]
BUILTIN_MODELS = [spec.name for spec in SPECS if spec.training.algorithm is not None]
SMALL_BUDGET = {
    f"models.{model}.tuning.{field}": "2"
    for model in MODELS
    for field in ("max_jobs", "max_parallel_jobs")
}


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
    everything = run_cli("run", "--assembly", small_assembly, "--run-dir", run_dir)
    assert everything.code == 0, everything.out + everything.err
    return BaseRun(small_assembly, run_dir, everything.for_model(SAMPLE_MODEL))
