"""Session fixtures for the step scripts: the sample data sets, one preprocessing run and one
training run per task, and the wine model's own training run, shared because training
dominates the suite's run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.definition.spec import load_model_spec
from pipelines.sample_data import write_sample_csv
from pipelines.steps import preprocess, train
from tests.steps.runner import (
    CHECKPOINT_INTERVAL,
    MODELS_DIR,
    STEPS_DIR,
    TRAIN_ROUNDS,
    TrainedModel,
    load_script,
    pack_source,
    run_main,
    train_argv,
)


def _sample(factory: pytest.TempPathFactory, dataset: str) -> Path:
    return write_sample_csv(factory.mktemp(dataset) / "input" / "data.csv", dataset)


def _split(factory: pytest.TempPathFactory, csv: Path, task: str) -> Path:
    output = factory.mktemp(f"split-{task}")
    argv: list[str | Path] = ["--input-dir", csv.parent, "--output-dir", output, "--task", task]
    run = run_main(preprocess.main, argv)
    assert run.code == 0, run.stderr
    return output


def _train(factory: pytest.TempPathFactory, split_dir: Path, *hyperparameters: str) -> TrainedModel:
    root = factory.mktemp("trained")
    run = run_main(train.main, train_argv(split_dir, root, *hyperparameters))
    assert run.code == 0, run.stderr
    return TrainedModel(run, root / "model", root / "checkpoints", root / "output")


@pytest.fixture(scope="session")
def sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sample(tmp_path_factory, "breast_cancer")


@pytest.fixture(scope="session")
def wine_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sample(tmp_path_factory, "wine")


@pytest.fixture(scope="session")
def diabetes_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sample(tmp_path_factory, "diabetes")


@pytest.fixture(scope="session")
def split_dir(sample_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _split(tmp_path_factory, sample_csv, "binary")


@pytest.fixture(scope="session")
def wine_split(wine_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _split(tmp_path_factory, wine_csv, "multiclass")


@pytest.fixture(scope="session")
def diabetes_split(diabetes_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _split(tmp_path_factory, diabetes_csv, "regression")


@pytest.fixture(scope="session")
def samples(sample_csv: Path, wine_csv: Path, diabetes_csv: Path) -> dict[str, Path]:
    """Each sample CSV by its scikit-learn name."""
    return {"breast_cancer": sample_csv, "wine": wine_csv, "diabetes": diabetes_csv}


@pytest.fixture(scope="session")
def splits(split_dir: Path, wine_split: Path, diabetes_split: Path) -> dict[str, Path]:
    """Each task's preprocessed sample (breast cancer, wine, diabetes) by task."""
    return {"binary": split_dir, "multiclass": wine_split, "regression": diabetes_split}


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


@pytest.fixture(scope="session")
def wine_trained(wine_split: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """The shipped trainer's multiclass model of the wine data."""
    return _train(tmp_path_factory, wine_split, "--task", "multiclass", "--num_round", "20")


def spec_argv(model: str) -> list[str]:
    """The hyperparameters the pipeline passes for ``models/<model>`` as arguments."""
    spec = load_model_spec(MODELS_DIR / model)
    return [
        item for name, value in spec.hyperparameters.items() for item in (f"--{name}", str(value))
    ]


@pytest.fixture(scope="session")
def diabetes_trained(
    diabetes_split: Path, tmp_path_factory: pytest.TempPathFactory
) -> TrainedModel:
    """The shipped trainer's regression model with models/diabetes' hyperparameters, as the
    pipeline's baseline trains it (early stopping stops it well before num_round)."""
    return _train(tmp_path_factory, diabetes_split, *spec_argv("diabetes"))


@pytest.fixture(scope="session")
def shipped_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory a processing job gets for the shipped scripts' source bundle."""
    names = ("train.py", "inference.py")
    return pack_source([STEPS_DIR / name for name in names], tmp_path_factory.mktemp("src")).parent


@pytest.fixture(scope="session")
def wine_rf_model_dir(wine_split: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/wine's own trainer with the spec's hyperparameters and SageMaker's arguments."""
    model_dir = tmp_path_factory.mktemp("wine-rf")
    user_train = load_script(MODELS_DIR / "wine" / "train.py", "wine_train")
    argv = [
        *spec_argv("wine"),
        *("--train", str(wine_split / "train"), "--validation", str(wine_split / "validation")),
        *("--model-dir", str(model_dir), "--sagemaker_program", "train.py"),
    ]
    user_train.main(argv)
    return model_dir
