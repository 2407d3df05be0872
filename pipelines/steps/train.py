"""Training step: XGBoost binary or multiclass classifier or regressor in SageMaker XGBoost
script mode.

Hyperparameters (``--task`` among them) arrive as ``--name value`` arguments, data and output
locations as SageMaker ``SM_*`` environment variables (overridable by arguments). The channels
hold headerless CSVs with the label first. The task's final validation metric is printed once
as ``validation-<metric>:<value>`` (auc, mlogloss or rmse) for the tuning job's objective;
per-round lines use ``=`` so that pattern cannot match them. Checkpoints let a restarted
managed spot training job resume where it stopped. The saved model records its task, so the
serving script knows how to format predictions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pandas.api.types import is_numeric_dtype

if TYPE_CHECKING:
    import numpy.typing as npt

# The SageMaker XGBoost container's default inference loads this file name.
MODEL_FILE_NAME = "xgboost-model"
# The preprocessor's fitted transform (preprocess.TRANSFORM_FILE), kept beside the model.
TRANSFORM_FILE = "transform.json"
SIGNATURE_FILE = "signature.json"
CHECKPOINT_DIR = "/opt/ml/checkpoints"
# Per task: XGBoost objective, validation metric and whether a higher metric is better. The
# metric and direction are kept in step with contract.TRAINER_METRIC (the tests compare them).
TASKS: dict[str, tuple[str, str, bool]] = {
    "binary": ("binary:logistic", "auc", True),
    "multiclass": ("multi:softprob", "mlogloss", False),
    "regression": ("reg:squarederror", "rmse", False),
}
MAXIMIZED = frozenset(metric for _, metric, higher in TASKS.values() if higher)
# The booster attribute inference.py reads to format predictions.
TASK_ATTRIBUTE = "task"
CHECKPOINT_PATTERN = re.compile(r"^xgboost-checkpoint\.(\d+)\.json$")
CHECKPOINTS_TO_KEEP = 2


class DataError(ValueError):
    """The input data cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Dataset:
    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.float32]

    def to_dmatrix(self) -> xgb.DMatrix:
        return xgb.DMatrix(self.features, label=self.labels)


@dataclass(frozen=True)
class TrainingResult:
    booster: xgb.Booster
    metric: str
    validation_metric: float
    resumed_from_round: int | None


def check_labels(labels: pd.Series, channel: str, task: str) -> None:
    values = labels.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise DataError(f"{channel} labels (first column) must be finite numbers, without gaps")
    if task == "binary" and not set(np.unique(values).tolist()) <= {0, 1}:
        raise DataError(f"{channel} labels (first column) must be 0 or 1")
    if task == "multiclass" and not ((values >= 0) & (values == np.round(values))).all():
        raise DataError(
            f"{channel} labels (first column) must be class indices 0, 1, 2, ... "
            "(non-negative integers)"
        )


def load_channel(directory: Path, channel: str, task: str = "binary") -> Dataset:
    """Read all CSVs of a channel directory: headerless, label in the first column."""
    if not directory.is_dir():
        raise DataError(f"{channel} channel directory not found: {directory}")
    paths = sorted(directory.glob("*.csv"))
    if not paths:
        raise DataError(f"no CSV file found in the {channel} channel ({directory})")
    try:
        data = pd.concat([pd.read_csv(path, header=None) for path in paths], ignore_index=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{channel} channel has an empty CSV file") from None
    except pd.errors.ParserError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise DataError(f"cannot parse the {channel} channel: {reason}") from None
    if data.shape[1] < 2:
        raise DataError(f"{channel} data needs a label column and at least one feature column")
    non_numeric = [str(column) for column in data.columns if not is_numeric_dtype(data[column])]
    if non_numeric:
        raise DataError(
            f"{channel} data has non-numeric values in column(s) {', '.join(non_numeric)} "
            "(0 is the label)"
        )
    check_labels(data[0], channel, task)
    return Dataset(
        features=data.iloc[:, 1:].to_numpy(dtype=np.float32),
        labels=data[0].to_numpy(dtype=np.float32),
    )


def class_count(train: Dataset, validation: Dataset) -> int:
    """The number of classes of a multiclass task, whose labels must be 0..k-1."""
    found = np.unique(np.concatenate([train.labels, validation.labels])).astype(int).tolist()
    if found != list(range(len(found))) or len(found) < 2:
        raise DataError(
            "multiclass labels must be the class indices 0..k-1 with k >= 2, each in train or "
            f"validation; found {', '.join(str(label) for label in found[:10])}"
        )
    return len(found)


def training_params(args: argparse.Namespace, num_class: int | None = None) -> dict[str, Any]:
    objective, metric, _ = TASKS[args.task]
    params: dict[str, Any] = {
        "objective": objective,
        "eval_metric": metric,
        "max_depth": args.max_depth,
        "eta": args.eta,
        "subsample": args.subsample,
        "min_child_weight": args.min_child_weight,
        "gamma": args.gamma,
        "alpha": args.alpha,
        "lambda": args.reg_lambda,
        "seed": args.seed,
    }
    if args.task == "multiclass":
        if num_class is None:
            raise ValueError("a multiclass task needs num_class")
        params["num_class"] = num_class
    if args.nthread > 0:
        params["nthread"] = args.nthread
    return params


def metric_line(metric: str, value: float) -> str:
    """The one line the tuning job's objective regex reads, as contract.metric_line writes."""
    return f"validation-{metric}:{value:.6f}"


def list_checkpoints(directory: Path) -> list[tuple[int, Path]]:
    """Checkpoints in ``directory`` as (boosted rounds, path), oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = CHECKPOINT_PATTERN.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def load_latest_checkpoint(directory: Path) -> tuple[xgb.Booster, int] | None:
    """The newest readable checkpoint and its round, or None when there is none."""
    for rounds, path in reversed(list_checkpoints(directory)):
        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
        except (xgb.core.XGBoostError, ValueError):
            # An interrupted job can leave a truncated checkpoint; the one before it is still
            # good. (For some truncated files XGBoost fails to decode its own error message,
            # which surfaces as a ValueError.)
            print(f"warning: skipping unreadable checkpoint {path.name}", file=sys.stderr)
            continue
        return booster, rounds
    return None


def _write_model(booster: xgb.Booster, path: Path) -> None:
    # JSON is loadable by every XGBoost version; writing via a temporary file and a rename keeps
    # an interrupted job from leaving a truncated model behind.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(bytes(booster.save_raw(raw_format="json")))
    os.replace(tmp, path)


class RoundLogger(xgb.callback.TrainingCallback):
    """Print one line of metrics per boosting round."""

    def after_iteration(
        self, model: Any, epoch: int, evals_log: xgb.callback.TrainingCallback.EvalsLog
    ) -> bool:
        scores = " ".join(
            f"{data}-{metric}={float(np.ravel(history[-1])[0]):.6f}"
            for data, metrics in evals_log.items()
            for metric, history in metrics.items()
        )
        # The booster's round count, unlike ``epoch``, includes rounds from a checkpoint.
        print(f"[round {model.num_boosted_rounds()}] {scores}", flush=True)
        return False


class Checkpointer(xgb.callback.TrainingCallback):
    """Save the model every ``interval`` rounds, keeping the newest ``keep`` checkpoints."""

    def __init__(self, directory: Path, interval: int, keep: int = CHECKPOINTS_TO_KEEP) -> None:
        super().__init__()
        self.directory = directory
        self.interval = interval
        self.keep = keep

    def after_iteration(
        self, model: Any, epoch: int, evals_log: xgb.callback.TrainingCallback.EvalsLog
    ) -> bool:
        rounds = model.num_boosted_rounds()
        if rounds % self.interval == 0:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_model(model, self.directory / f"xgboost-checkpoint.{rounds}.json")
            for _, stale in list_checkpoints(self.directory)[: -self.keep]:
                stale.unlink()
        return False


def validation_metric(booster: xgb.Booster, validation: Dataset) -> float:
    """The booster's own eval_metric on the validation data, as early stopping saw it."""
    # One metric configured, so the result reads "[0]\tvalidation-<metric>:<value>".
    return float(booster.eval(validation.to_dmatrix(), name="validation").rsplit(":", 1)[1])


def train_model(
    params: dict[str, Any],
    train: Dataset,
    validation: Dataset,
    *,
    num_round: int,
    early_stopping_rounds: int,
    checkpoint_dir: Path,
    checkpoint_interval: int,
) -> TrainingResult:
    """Train up to ``num_round`` rounds in total, resuming from the newest checkpoint if any.

    With early stopping the returned booster is cut back to its best round, so the model that
    is saved is the one whose validation metric is reported.
    """
    metric = str(params["eval_metric"])
    maximize = metric in MAXIMIZED
    checkpoint = load_latest_checkpoint(checkpoint_dir)
    start_round = 0
    booster: xgb.Booster | None = None
    if checkpoint is not None:
        booster, start_round = checkpoint
        print(f"resuming from checkpoint at round {start_round} in {checkpoint_dir}")
    else:
        print(f"no checkpoint in {checkpoint_dir}; training from round 0")

    remaining = num_round - start_round
    if booster is not None and remaining <= 0:
        print(f"checkpoint already has {start_round} rounds (num_round={num_round})")
    else:
        callbacks: list[xgb.callback.TrainingCallback] = [
            RoundLogger(),
            Checkpointer(checkpoint_dir, checkpoint_interval),
        ]
        if early_stopping_rounds > 0:
            callbacks.append(
                xgb.callback.EarlyStopping(
                    rounds=early_stopping_rounds,
                    metric_name=metric,
                    data_name="validation",
                    maximize=maximize,
                    save_best=True,
                )
            )
        dtrain = train.to_dmatrix()
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=remaining,
            evals=[(dtrain, "train"), (validation.to_dmatrix(), "validation")],
            verbose_eval=False,
            xgb_model=booster,
            callbacks=callbacks,
        )
    return TrainingResult(
        booster=booster,
        metric=metric,
        validation_metric=validation_metric(booster, validation),
        resumed_from_round=start_round if checkpoint is not None else None,
    )


def _env_path(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or fallback)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse hyperparameters and paths; path defaults come from the environment at call time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hyper = parser.add_argument_group("hyperparameters")
    hyper.add_argument("--task", choices=sorted(TASKS), default="binary")
    hyper.add_argument("--num_round", type=int, default=200)
    hyper.add_argument("--max_depth", type=int, default=5)
    hyper.add_argument("--eta", type=float, default=0.2)
    hyper.add_argument("--subsample", type=float, default=0.8)
    hyper.add_argument("--min_child_weight", type=float, default=1.0)
    hyper.add_argument("--gamma", type=float, default=0.0)
    hyper.add_argument("--alpha", type=float, default=0.0)
    # ``lambda`` is a Python keyword, so ``args.lambda`` would be a syntax error.
    hyper.add_argument("--lambda", dest="reg_lambda", type=float, default=1.0)
    hyper.add_argument(
        "--early_stopping_rounds", type=int, default=20, help="0 disables early stopping"
    )
    hyper.add_argument("--seed", type=int, default=42)
    hyper.add_argument("--checkpoint_interval", type=int, default=10)
    hyper.add_argument("--nthread", type=int, default=0, help="0 uses every CPU")

    paths = parser.add_argument_group("paths")
    paths.add_argument(
        "--train", type=Path, default=_env_path("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    paths.add_argument(
        "--validation",
        type=Path,
        default=_env_path("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    paths.add_argument(
        "--transform",
        type=Path,
        default=_env_path("SM_CHANNEL_TRANSFORM", "/opt/ml/input/data/transform"),
        help="the preprocessor's fitted transform, copied into the model when present",
    )
    paths.add_argument("--model-dir", type=Path, default=_env_path("SM_MODEL_DIR", "/opt/ml/model"))
    paths.add_argument(
        "--output-data-dir",
        type=Path,
        default=_env_path("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"),
    )
    paths.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=_env_path("SM_CHECKPOINT_DIR", CHECKPOINT_DIR),
    )

    # SageMaker adds its own arguments (sagemaker_program, sagemaker_submit_directory, ...).
    args, unknown = parser.parse_known_args(argv)
    ignored = [
        arg for arg in unknown if arg.startswith("--") and not arg.startswith("--sagemaker_")
    ]
    if ignored:
        print(f"warning: ignoring unknown argument(s): {' '.join(ignored)}", file=sys.stderr)

    if args.num_round < 1:
        parser.error("--num_round must be at least 1")
    if args.checkpoint_interval < 1:
        parser.error("--checkpoint_interval must be at least 1")
    if args.eta <= 0:
        parser.error("--eta must be greater than 0")
    if not 0 < args.subsample <= 1:
        parser.error("--subsample must be in (0, 1]")
    return args


def load_data(args: argparse.Namespace) -> tuple[Dataset, Dataset, int | None]:
    """Both channels, checked for the task, and a multiclass task's number of classes."""
    train = load_channel(args.train, "train", args.task)
    validation = load_channel(args.validation, "validation", args.task)
    if train.features.shape[1] != validation.features.shape[1]:
        raise DataError(
            f"train has {train.features.shape[1]} features but validation has "
            f"{validation.features.shape[1]}"
        )
    if args.task == "binary" and len(np.unique(validation.labels)) < 2:
        raise DataError("validation data must contain both classes to compute AUC")
    num_class = class_count(train, validation) if args.task == "multiclass" else None
    return train, validation, num_class


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train, validation, num_class = load_data(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    result = train_model(
        training_params(args, num_class),
        train,
        validation,
        num_round=args.num_round,
        early_stopping_rounds=args.early_stopping_rounds,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_interval=args.checkpoint_interval,
    )
    result.booster.set_attr(**{TASK_ATTRIBUTE: args.task})

    args.model_dir.mkdir(parents=True, exist_ok=True)
    _write_model(result.booster, args.model_dir / MODEL_FILE_NAME)
    if (args.transform / TRANSFORM_FILE).is_file():
        # Served with the model: the endpoint encodes raw rows exactly as training did, and
        # the version carries the signature of what it accepts and answers.
        for name in (TRANSFORM_FILE, SIGNATURE_FILE):
            if (args.transform / name).is_file():
                shutil.copyfile(args.transform / name, args.model_dir / name)
    metrics = {
        "task": args.task,
        f"validation_{result.metric}": result.validation_metric,
        "boosted_rounds": result.booster.num_boosted_rounds(),
        "resumed_from_round": result.resumed_from_round,
    }
    args.output_data_dir.mkdir(parents=True, exist_ok=True)
    (args.output_data_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    print(f"saved {args.task} model with {metrics['boosted_rounds']} rounds to {args.model_dir}")
    print(metric_line(result.metric, result.validation_metric))
    return 0


if __name__ == "__main__":
    sys.exit(main())
