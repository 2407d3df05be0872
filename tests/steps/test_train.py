"""The training step: the objective metric line, the model file, checkpoints and resuming."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xgboost as xgb

from pipelines.steps import train
from tests.steps.runner import (
    CHECKPOINT_INTERVAL,
    TRAIN_ROUNDS,
    TrainedModel,
    files_under,
    run_main,
    train_argv,
)

# The regex the tuning job's objective metric definition uses.
OBJECTIVE_METRIC = re.compile(r"validation-auc:([0-9\.]+)")
ROUND_LINE = re.compile(r"^\[round (\d+)\] train-auc=([0-9.]+) validation-auc=([0-9.]+)$", re.M)


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


@pytest.mark.parametrize(
    ("make_train_dir", "message"),
    [
        (_no_train_dir, "train channel directory not found"),
        (_no_csv, "no CSV file found in the train channel"),
        (_text_values, "train data has non-numeric values in column(s) 2"),
    ],
    ids=["missing channel", "no CSV", "non-numeric"],
)
def test_bad_input_fails_with_one_error_line(
    split_dir: Path, tmp_path: Path, make_train_dir: object, message: str
) -> None:
    assert callable(make_train_dir)
    argv = train_argv(split_dir, tmp_path, "--num_round", "2")
    argv[argv.index("--train") + 1] = str(make_train_dir(split_dir, tmp_path))

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
