"""Session fixtures for the step scripts: the sample data, one preprocessing run and one
training run, shared because training dominates the suite's run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.sample_data import write_sample_csv
from pipelines.steps import preprocess, train
from tests.steps.runner import (
    CHECKPOINT_INTERVAL,
    TRAIN_ROUNDS,
    TrainedModel,
    run_main,
    train_argv,
)


@pytest.fixture(scope="session")
def sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_csv(tmp_path_factory.mktemp("sample") / "input" / "data.csv")


@pytest.fixture(scope="session")
def split_dir(sample_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("split")
    run = run_main(preprocess.main, ["--input-dir", sample_csv.parent, "--output-dir", output])
    assert run.code == 0, run.stderr
    return output


@pytest.fixture(scope="session")
def trained(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """30 rounds without early stopping, so round counts and checkpoints are predictable."""
    root = tmp_path_factory.mktemp("trained")
    argv = train_argv(
        split_dir,
        root,
        *("--num_round", str(TRAIN_ROUNDS), "--max_depth", "3", "--eta", "0.3"),
        *("--early_stopping_rounds", "0", "--checkpoint_interval", str(CHECKPOINT_INTERVAL)),
        # What SageMaker appends in script mode; the script must accept and ignore it.
        *("--sagemaker_program", "train.py", "--sagemaker_submit_directory", "s3://b/src.tgz"),
    )
    run = run_main(train.main, argv)
    assert run.code == 0, run.stderr
    return TrainedModel(run, root / "model", root / "checkpoints", root / "output")
