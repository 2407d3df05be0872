"""The training step: each task's objective metric line and model, label checks, checkpoints
and resuming."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from pipelines.definition import contract
from pipelines.steps import train
from tests.steps.runner import (
    CHECKPOINT_INTERVAL,
    TRAIN_ROUNDS,
    TrainedModel,
    files_under,
    run_main,
    train_argv,
)

# The regex the tuning job's objective metric definition uses for a binary task.
OBJECTIVE_METRIC = re.compile(contract.metric_regex("auc"))


def round_line(metric: str) -> re.Pattern[str]:
    value = "([0-9.]+)"
    return re.compile(
        rf"^\[round (\d+)\] train-{metric}={value} validation-{metric}={value}$", re.M
    )


ROUND_LINE = round_line("auc")


def rounds_logged(stdout: str) -> list[int]:
    return [int(match.group(1)) for match in ROUND_LINE.finditer(stdout)]


def load_booster(model_dir: Path) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(str(model_dir / "xgboost-model"))
    return booster


def metrics(trained_root: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((trained_root / "metrics.json").read_text())
    return loaded


def test_prints_exactly_one_objective_metric_line_matching_metrics_json(
    trained: TrainedModel,
) -> None:
    values = OBJECTIVE_METRIC.findall(trained.run.stdout)
    reported = metrics(trained.output_data_dir)["validation_auc"]

    assert len(values) == 1
    assert isinstance(reported, float)
    assert float(values[0]) == pytest.approx(reported, abs=1e-6)
    assert trained.run.stdout.rstrip().endswith(f"validation-auc:{reported:.6f}")


def test_logs_one_line_per_round(trained: TrainedModel) -> None:
    assert rounds_logged(trained.run.stdout) == list(range(1, TRAIN_ROUNDS + 1))


def test_model_file_loads_with_booster_load_model(trained: TrainedModel) -> None:
    booster = load_booster(trained.model_dir)

    assert booster.num_boosted_rounds() == TRAIN_ROUNDS
    assert booster.num_features() == 30


def test_keeps_the_last_two_checkpoints(trained: TrainedModel) -> None:
    names = [path.name for path in files_under(trained.checkpoint_dir)]

    assert names == [
        f"xgboost-checkpoint.{TRAIN_ROUNDS - CHECKPOINT_INTERVAL}.json",
        f"xgboost-checkpoint.{TRAIN_ROUNDS}.json",
    ]


def _resume(checkpoints: Path, split_dir: Path, root: Path, num_round: int) -> str:
    """Train into ``root`` starting from a copy of ``checkpoints``; return everything printed."""
    shutil.copytree(checkpoints, root / "checkpoints")
    argv = train_argv(
        split_dir,
        root,
        *("--num_round", str(num_round), "--max_depth", "3", "--eta", "0.3"),
        *("--early_stopping_rounds", "0", "--checkpoint_interval", str(CHECKPOINT_INTERVAL)),
    )
    run = run_main(train.main, argv)
    assert run.code == 0, run.stderr
    return run.stdout + run.stderr


def test_resumes_from_the_latest_checkpoint_and_trains_only_the_remaining_rounds(
    trained: TrainedModel, split_dir: Path, tmp_path: Path
) -> None:
    output = _resume(trained.checkpoint_dir, split_dir, tmp_path, num_round=TRAIN_ROUNDS + 10)

    assert f"resuming from checkpoint at round {TRAIN_ROUNDS}" in output
    assert rounds_logged(output) == list(range(TRAIN_ROUNDS + 1, TRAIN_ROUNDS + 11))
    assert load_booster(tmp_path / "model").num_boosted_rounds() == TRAIN_ROUNDS + 10
    assert metrics(tmp_path / "output")["resumed_from_round"] == TRAIN_ROUNDS


def test_an_unreadable_latest_checkpoint_falls_back_to_the_previous_one(
    trained: TrainedModel, split_dir: Path, tmp_path: Path
) -> None:
    # What an interrupted write or partial sync of a newer checkpoint would leave behind.
    checkpoints = tmp_path / "interrupted"
    shutil.copytree(trained.checkpoint_dir, checkpoints)
    truncated = f"xgboost-checkpoint.{TRAIN_ROUNDS + 5}.json"
    (checkpoints / truncated).write_text('{"learner": {')

    output = _resume(checkpoints, split_dir, tmp_path / "run", num_round=TRAIN_ROUNDS + 10)

    assert f"skipping unreadable checkpoint {truncated}" in output
    assert f"resuming from checkpoint at round {TRAIN_ROUNDS}" in output
    assert load_booster(tmp_path / "run" / "model").num_boosted_rounds() == TRAIN_ROUNDS + 10


def test_early_stopping_saves_the_best_round(split_dir: Path, tmp_path: Path) -> None:
    argv = train_argv(split_dir, tmp_path, "--num_round", "200", "--early_stopping_rounds", "5")

    run = run_main(train.main, argv)

    assert run.code == 0, run.stderr
    logged = [float(match.group(3)) for match in ROUND_LINE.finditer(run.stdout)]
    booster = load_booster(tmp_path / "model")
    assert len(logged) < 200
    assert booster.num_boosted_rounds() < len(logged)
    assert metrics(tmp_path / "output")["validation_auc"] == pytest.approx(max(logged), abs=1e-5)


def test_the_fitted_transform_travels_in_the_model_and_only_when_given(
    split_dir: Path, trained: TrainedModel, tmp_path: Path
) -> None:
    transform = tmp_path / "transform"
    transform.mkdir()
    (transform / train.TRANSFORM_FILE).write_text('{"features": ["a", "b"]}\n')
    argv = [*train_argv(split_dir, tmp_path, "--num_round", "3"), "--transform", str(transform)]

    run = run_main(train.main, argv)

    assert run.code == 0, run.stderr
    copied = tmp_path / "model" / train.TRANSFORM_FILE
    assert copied.read_bytes() == (transform / train.TRANSFORM_FILE).read_bytes()
    assert not (trained.model_dir / train.TRANSFORM_FILE).exists()


def test_parses_sagemaker_hyperparameters_and_ignores_its_own_arguments() -> None:
    args = train.parse_args(
        [
            *("--num_round", "7", "--max_depth", "2", "--eta", "0.05", "--lambda", "2.5"),
            *("--alpha", "0.5", "--gamma", "0.1", "--min_child_weight", "3"),
            *("--sagemaker_program", "train.py", "--sagemaker_container_log_level", "20"),
        ]
    )
    params = train.training_params(args)

    assert args.num_round == 7
    assert params["lambda"] == 2.5
    assert params["alpha"] == 0.5
    assert params["max_depth"] == 2
    assert params["objective"] == "binary:logistic"
    assert params["eval_metric"] == "auc"
    assert "num_class" not in params


@pytest.mark.parametrize(
    ("task", "objective", "metric"),
    [
        ("binary", "binary:logistic", "auc"),
        ("multiclass", "multi:softprob", "mlogloss"),
        ("regression", "reg:squarederror", "rmse"),
    ],
)
def test_the_task_chooses_the_objective_and_eval_metric(
    task: str, objective: str, metric: str
) -> None:
    params = train.training_params(train.parse_args(["--task", task]), num_class=3)

    assert (params["objective"], params["eval_metric"]) == (objective, metric)
    assert params.get("num_class") == (3 if task == "multiclass" else None)


def test_paths_default_to_the_sagemaker_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SM_CHANNEL_TRAIN": "/data/train",
        "SM_CHANNEL_VALIDATION": "/data/validation",
        "SM_MODEL_DIR": "/model",
        "SM_OUTPUT_DATA_DIR": "/output",
        "SM_CHECKPOINT_DIR": "/checkpoints",
    }.items():
        monkeypatch.setenv(name, value)

    args = train.parse_args([])

    assert (args.train, args.validation) == (Path("/data/train"), Path("/data/validation"))
    assert (args.model_dir, args.output_data_dir) == (Path("/model"), Path("/output"))
    assert args.checkpoint_dir == Path("/checkpoints")


def test_paths_fall_back_to_sagemaker_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR", "SM_CHECKPOINT_DIR", "SM_CHANNEL_TRAIN"):
        monkeypatch.delenv(name, raising=False)

    args = train.parse_args([])

    assert args.train == Path("/opt/ml/input/data/train")
    assert args.model_dir == Path("/opt/ml/model")
    assert args.output_data_dir == Path("/opt/ml/output/data")
    assert args.checkpoint_dir == Path("/opt/ml/checkpoints")


def _no_train_dir(split_dir: Path, root: Path) -> Path:
    return root / "absent"


def _no_csv(split_dir: Path, root: Path) -> Path:
    (root / "empty").mkdir()
    return root / "empty"


def _text_values(split_dir: Path, root: Path) -> Path:
    (root / "bad").mkdir()
    (root / "bad" / "train.csv").write_text("1,0.5,abc\n0,0.1,0.2\n")
    return root / "bad"


def _labels(text: str) -> Callable[[Path, Path], Path]:
    def make(split_dir: Path, root: Path) -> Path:
        (root / "labels").mkdir()
        (root / "labels" / "train.csv").write_text(text)
        return root / "labels"

    return make


BAD_TRAIN_DATA: dict[str, tuple[str, Callable[[Path, Path], Path], str]] = {
    "missing channel": ("binary", _no_train_dir, "train channel directory not found"),
    "no CSV": ("binary", _no_csv, "no CSV file found in the train channel"),
    "non-numeric": ("binary", _text_values, "train data has non-numeric values in column(s) 2"),
    "binary label 2": ("binary", _labels("2,0.5\n0,0.1\n"), "must be 0 or 1"),
    "multiclass label -1": ("multiclass", _labels("-1,0.5\n0,0.1\n"), "non-negative integers"),
    "multiclass label 1.5": ("multiclass", _labels("1.5,0.5\n0,0.1\n"), "non-negative integers"),
    "regression gap": ("regression", _labels(",0.5\n3.5,0.1\n"), "finite numbers"),
}


@pytest.mark.parametrize(
    ("task", "make_train_dir", "message"), BAD_TRAIN_DATA.values(), ids=BAD_TRAIN_DATA
)
def test_bad_input_fails_with_one_error_line(
    splits: dict[str, Path],
    tmp_path: Path,
    task: str,
    make_train_dir: Callable[[Path, Path], Path],
    message: str,
) -> None:
    # Validation data whose labels suit the task, so only the train channel is at fault.
    argv = train_argv(splits[task], tmp_path, "--num_round", "2", "--task", task)
    argv[argv.index("--train") + 1] = str(make_train_dir(splits[task], tmp_path))

    run = run_main(train.main, argv)

    assert run.code == 1
    assert run.stderr.startswith("error: ")
    assert message in run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert not (tmp_path / "model").exists()


def test_runs_as_a_standalone_script_configured_by_sagemaker_environment(
    split_dir: Path, tmp_path: Path
) -> None:
    # The training container gets only this file, paths in SM_* variables and hyperparameters
    # plus SageMaker's own arguments on the command line.
    script = tmp_path / "code" / "train.py"
    script.parent.mkdir()
    script.write_bytes(Path(train.__file__).read_bytes())
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env |= {
        "SM_CHANNEL_TRAIN": str(split_dir / "train"),
        "SM_CHANNEL_VALIDATION": str(split_dir / "validation"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
        "SM_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    }
    argv = ["--num_round", "5", "--early_stopping_rounds", "0", "--nthread", "1"]
    argv += ["--sagemaker_program", "train.py"]

    result = subprocess.run(
        [sys.executable, str(script), *argv],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert len(OBJECTIVE_METRIC.findall(result.stdout)) == 1
    assert load_booster(tmp_path / "model").num_boosted_rounds() == 5
    assert (tmp_path / "output" / "metrics.json").is_file()


def test_the_saved_model_records_its_task(
    trained: TrainedModel, wine_trained: TrainedModel, diabetes_trained: TrainedModel
) -> None:
    recorded = [
        load_booster(model.model_dir).attr("task")
        for model in (trained, wine_trained, diabetes_trained)
    ]

    assert recorded == ["binary", "multiclass", "regression"]


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_prints_the_tasks_metric_once_as_the_contract_reads_it(
    task: contract.Task, wine_trained: TrainedModel, diabetes_trained: TrainedModel
) -> None:
    model = wine_trained if task == "multiclass" else diabetes_trained
    metric, _ = contract.TRAINER_METRIC[task]

    values = re.findall(contract.metric_regex(metric), model.run.stdout)

    reported = metrics(model.output_data_dir)[f"validation_{metric}"]
    assert isinstance(reported, float)
    assert [float(value) for value in values] == [pytest.approx(reported, abs=1e-6)]
    assert model.run.stdout.rstrip().endswith(contract.metric_line(metric, reported))
    assert metrics(model.output_data_dir)["task"] == task


def test_multiclass_model_predicts_one_probability_per_class(
    wine_trained: TrainedModel, wine_split: Path
) -> None:
    test = train.load_channel(wine_split / "test", "test", "multiclass")

    probabilities = load_booster(wine_trained.model_dir).predict(xgb.DMatrix(test.features))

    assert probabilities.shape == (len(test.labels), 3)
    assert probabilities.sum(axis=1) == pytest.approx(np.ones(len(test.labels)), abs=1e-5)
    assert np.mean(np.argmax(probabilities, axis=1) == test.labels) >= 0.9


def test_regression_early_stopping_keeps_the_lowest_validation_rmse(
    diabetes_trained: TrainedModel,
) -> None:
    logged = [
        float(match.group(3)) for match in round_line("rmse").finditer(diabetes_trained.run.stdout)
    ]
    booster = load_booster(diabetes_trained.model_dir)

    # Early stopping minimises RMSE: it stopped before num_round and kept the best round.
    assert len(logged) < 200
    assert booster.num_boosted_rounds() == int(np.argmin(logged)) + 1
    reported = metrics(diabetes_trained.output_data_dir)["validation_rmse"]
    assert reported == pytest.approx(min(logged), abs=1e-4)


def test_num_class_counts_the_classes_of_both_channels() -> None:
    features = np.zeros((2, 1), dtype=np.float32)
    train_part = train.Dataset(features, np.array([0, 1], dtype=np.float32))
    validation = train.Dataset(features, np.array([2, 1], dtype=np.float32))

    assert train.class_count(train_part, validation) == 3


def test_multiclass_labels_with_a_gap_are_rejected() -> None:
    features = np.zeros((2, 1), dtype=np.float32)
    part = train.Dataset(features, np.array([0, 5], dtype=np.float32))

    with pytest.raises(train.DataError, match=r"class indices 0\.\.k-1 .* found 0, 5"):
        train.class_count(part, part)
