"""Evaluation step: score every candidate model on the test split with the model's own serving
code, and pick the best on the gate metric.

The source directory holds the model's source bundle (one ``*.tar.gz``, or its files already
extracted); its inference script is imported and, for each candidate, ``model_fn`` loads the
files of the candidate's ``model.tar.gz`` and ``predict_fn`` scores the test features. So
the evaluator works for any framework whose image runs it: it needs only numpy besides the
inference script's own imports. The report is written in SageMaker's model-quality metrics
layout for the task, for the selected model, plus which model was selected and every
candidate's gate metric, and the naive predictor's score on the same test split: a model
that does not beat it has learnt nothing the training labels alone would not tell.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import re
import shutil
import sys
import tarfile
import tempfile
import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

# Kept in step with pipelines/definition/contract.py (the tests compare them); this script
# ships alone into its container, so it cannot import the project.
METRIC_GROUPS = {
    "binary": "binary_classification_metrics",
    "multiclass": "multiclass_classification_metrics",
    "regression": "regression_metrics",
}
TASK_METRICS = {
    "binary": {
        "auc": "Maximize",
        "accuracy": "Maximize",
        "precision": "Maximize",
        "recall": "Maximize",
        "f1": "Maximize",
    },
    "multiclass": {
        "accuracy": "Maximize",
        "weighted_f1": "Maximize",
        "weighted_precision": "Maximize",
        "weighted_recall": "Maximize",
    },
    "regression": {"rmse": "Minimize", "mse": "Minimize", "mae": "Minimize", "r2": "Maximize"},
}
DEFAULT_GATE_METRIC = {"binary": "auc", "multiclass": "accuracy", "regression": "rmse"}
TEST_DIR = "/opt/ml/processing/test"
TRAIN_DIR = "/opt/ml/processing/train"
SOURCE_DIR = "/opt/ml/processing/source"
MODEL_ROOT = "/opt/ml/processing/model"
OUTPUT_DIR = "/opt/ml/processing/evaluation"
REPORT_FILE = "evaluation.json"
INFERENCE_SCRIPT = "inference.py"
MODEL_ARCHIVE = "model.tar.gz"
# A model trained on the shipped preprocessor's output carries its fitted transform; the test
# split then also holds its rows as the data has them, which are scored as an endpoint would
# receive them (input_fn, then predict_fn), so what is evaluated is what is served.
TRANSFORM_FILE = "transform.json"
RAW_TEST_FILE = "raw/test.csv"
RAW_CONTENT_TYPE = "text/csv"
THRESHOLD = 0.5
# What the naive predictor is, per task, in the words the report and the gate's message use.
NAIVE_STRATEGIES = {
    "binary": "majority class, scored with the training positive rate",
    "multiclass": "majority class, scored with the training class frequencies",
    "regression": "training mean",
}
NAIVE_SECTION = "naive_baseline"
# A candidate's name becomes a directory name under the model root.
CANDIDATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class DataError(ValueError):
    """An input cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Dataset:
    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.float64]


def load_test_data(directory: Path, task: str, split: str = "test") -> Dataset:
    """Read all CSVs in ``directory``: headerless, numeric, label in the first column."""
    if not directory.is_dir():
        raise DataError(f"{split} directory not found: {directory}")
    paths = sorted(directory.glob("*.csv"))
    if not paths:
        raise DataError(f"no CSV file found in {directory}")
    parts = []
    for path in paths:
        try:
            with warnings.catch_warnings():
                # An empty file is reported below, not as a warning.
                warnings.simplefilter("ignore", UserWarning)
                part = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
        except ValueError as exc:
            reason = str(exc).strip().splitlines()[0]
            raise DataError(f"cannot parse {path.name}: {reason}") from None
        if part.size == 0:
            raise DataError(f"empty CSV file {path.name} in {directory}")
        parts.append(part)
    widths = {part.shape[1] for part in parts}
    if len(widths) != 1 or min(widths) < 2:
        raise DataError(
            f"{split} data in {directory} needs the label and the same features in each file"
        )
    data = np.concatenate(parts)
    labels = data[:, 0]
    _check_labels(labels, task, split)
    return Dataset(features=data[:, 1:].astype(np.float32), labels=labels)


def _check_labels(labels: npt.NDArray[np.float64], task: str, split: str) -> None:
    if not np.isfinite(labels).all():
        raise DataError(f"{split} labels (first column) must be finite numbers")
    if task == "binary" and set(np.unique(labels).tolist()) != {0, 1}:
        raise DataError(f"{split} labels (first column) must be 0 or 1 and include both classes")
    if task == "multiclass" and not ((labels >= 0) & (labels == np.round(labels))).all():
        raise DataError(f"{split} labels (first column) must be class indices 0, 1, 2, ...")


# -- safe extraction ------------------------------------------------------------------------
def _member_parts(name: str, archive: Path) -> tuple[str, ...]:
    path = PurePosixPath(name)
    parts = tuple(part for part in path.parts if part not in (".", ""))
    if path.is_absolute() or ".." in parts:
        raise DataError(
            f"{archive} has an unsafe member {name!r}: absolute or '..' paths are refused"
        )
    return parts


def safe_extract(archive: Path, destination: Path) -> None:
    """Extract the regular files of ``archive`` under ``destination``.

    Every member is checked before anything is written: an absolute name, a ``..`` part, a
    link or a device fails the whole archive, so no member can choose where bytes land.
    Directories are created as the files need them.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            files = []
            for member in members:
                parts = _member_parts(member.name, archive)
                if member.isdir():
                    continue
                if not member.isfile() or not parts:
                    raise DataError(
                        f"{archive} has a member {member.name!r} that is not a regular "
                        "file (links and devices are refused)"
                    )
                files.append((member, parts))
            for member, parts in files:
                target = destination.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise DataError(f"cannot read {member.name!r} in {archive}")
                with source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"cannot read {archive}: {exc}") from None


def unpack_source(source_dir: Path, destination: Path) -> Path:
    """The directory holding the source bundle's files: the bundle's one tar archive
    extracted into ``destination``, or ``source_dir`` itself when it holds the files already.

    The archive is recognised by its content, not its name: a CDK file asset keeps only the
    last extension (``<hash>.gz``)."""
    if not source_dir.is_dir():
        raise DataError(f"source directory not found: {source_dir}")
    archives = sorted(
        path for path in source_dir.iterdir() if path.is_file() and tarfile.is_tarfile(path)
    )
    if len(archives) > 1:
        names = ", ".join(path.name for path in archives)
        raise DataError(f"source directory {source_dir} has several archives: {names}")
    if not archives:
        return source_dir
    destination.mkdir(parents=True, exist_ok=True)
    safe_extract(archives[0], destination)
    return destination


def extract_model(model_dir: Path, destination: Path, *, candidate: str) -> Path:
    """Every regular file of ``<model_dir>/model.tar.gz``, extracted into ``destination``."""
    archive = model_dir / MODEL_ARCHIVE
    if not model_dir.is_dir():
        raise DataError(f"{candidate} model directory not found: {model_dir}")
    if not archive.is_file():
        raise DataError(f"no {MODEL_ARCHIVE} in the {candidate} model directory {model_dir}")
    destination.mkdir(parents=True, exist_ok=True)
    safe_extract(archive, destination)
    return destination


# -- the model's inference script -----------------------------------------------------------
def _failure(what: str, exc: BaseException, code_dir: Path) -> DataError:
    """One line for an exception raised through the model's own code, with the innermost
    line of that code it passed (a library's internals would not help its author)."""
    message = (str(exc).strip().splitlines() or [""])[0]
    root = code_dir.resolve()
    own = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if root in Path(frame.filename).resolve().parents
    ]
    where = (
        f" (at {Path(own[-1].filename).resolve().relative_to(root)}:{own[-1].lineno})"
        if own
        else ""
    )
    return DataError(f"{what} failed: {type(exc).__name__}: {message}{where}")


@contextlib.contextmanager
def inference_module(code_dir: Path, script: str) -> Iterator[ModuleType]:
    """Import ``script`` from ``code_dir`` as the serving toolkit would: the bundle's root on
    sys.path, so its sibling modules import too. sys.path and the module table are restored
    afterwards, so a second evaluation in the same process imports its own script."""
    relative = PurePosixPath(script)
    if relative.is_absolute() or ".." in relative.parts or relative.suffix != ".py":
        raise DataError(f"--inference {script!r} must be a .py path inside the source bundle")
    path = code_dir.joinpath(*relative.parts)
    if not path.is_file():
        raise DataError(f"inference script {script!r} not found in the source bundle")
    roots = list(dict.fromkeys([str(code_dir), str(path.parent)]))
    name = ".".join(relative.with_suffix("").parts)
    saved_path = list(sys.path)
    # A module of that name imported earlier (another bundle's script) must not stand in.
    shadowed = sys.modules.pop(name, None)
    loaded = set(sys.modules)
    sys.path[:0] = roots
    try:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise _failure(f"importing {script}", exc, code_dir) from None
        missing = [
            fn for fn in ("model_fn", "predict_fn") if not callable(getattr(module, fn, None))
        ]
        if missing:
            raise DataError(f"{script} does not define {' and '.join(missing)}")
        yield module
    finally:
        sys.path[:] = saved_path
        _forget_modules_under(code_dir, set(sys.modules) - loaded)
        if shadowed is not None:
            sys.modules[name] = shadowed


def _forget_modules_under(directory: Path, names: set[str]) -> None:
    # Only the bundle's own modules: re-importing an extension module such as numpy in the
    # same process fails, so what the script imported from site-packages stays loaded.
    root = directory.resolve()
    for name in names:
        location = getattr(sys.modules[name], "__file__", None)
        if location and root in Path(location).resolve().parents:
            del sys.modules[name]


def served_rows(module: ModuleType, model_dir: Path, test_dir: Path) -> str | None:
    """The raw test rows, when this candidate is served through its fitted transform: the
    model carries one, the split has the rows, and the serving script decodes requests."""
    raw = test_dir / RAW_TEST_FILE
    served = (model_dir / TRANSFORM_FILE).is_file() and hasattr(module, "input_fn")
    return raw.read_text(encoding="utf-8") if served and raw.is_file() else None


def predict(
    module: ModuleType,
    model_dir: Path,
    features: npt.NDArray[np.float32],
    *,
    candidate: str,
    code_dir: Path,
    raw_rows: str | None = None,
) -> npt.NDArray[np.float64]:
    """``predict_fn(features, model_fn(model_dir))``, checked to give one prediction a row;
    with ``raw_rows`` (CSV with a header), ``input_fn`` decodes them first, as an endpoint
    would, in place of the encoded ``features``."""
    try:
        model = module.model_fn(str(model_dir))
    except Exception as exc:
        raise _failure(f"{candidate}: model_fn", exc, code_dir) from None
    try:
        request = features if raw_rows is None else module.input_fn(raw_rows, RAW_CONTENT_TYPE)
    except Exception as exc:
        raise _failure(f"{candidate}: input_fn on {RAW_TEST_FILE}", exc, code_dir) from None
    try:
        raw = module.predict_fn(request, model)
    except Exception as exc:
        raise _failure(f"{candidate}: predict_fn", exc, code_dir) from None
    try:
        predictions = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{candidate}: predict_fn did not return numbers") from None
    if predictions.ndim not in (1, 2) or len(predictions) != len(features):
        raise DataError(
            f"{candidate}: predict_fn returned shape {predictions.shape} for "
            f"{len(features)} test rows; expected one value or one row of values per row"
        )
    if not np.isfinite(predictions).all():
        raise DataError(f"{candidate}: predict_fn returned values that are not finite")
    return predictions


# -- metrics --------------------------------------------------------------------------------
def _metric(value: float) -> dict[str, Any]:
    return {"value": float(value), "standard_deviation": "NaN"}


def _ratio(numerator: float, denominator: float) -> float:
    # What scikit-learn reports with zero_division=0.
    return numerator / denominator if denominator else 0.0


def auc(labels: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> float:
    """Area under the ROC curve: the chance a positive scores above a negative, ties half."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # The average 1-based rank of each distinct score, so tied scores share their rank.
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def confusion(
    labels: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64], classes: int
) -> npt.NDArray[np.int64]:
    """``matrix[true, predicted]`` counts."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def _matrix_json(matrix: npt.NDArray[np.int64]) -> dict[str, dict[str, int]]:
    # SageMaker's layout: {"<true label>": {"<predicted label>": count}}.
    return {
        str(true): {str(guess): int(count) for guess, count in enumerate(row)}
        for true, row in enumerate(matrix)
    }


def binary_metrics(
    labels: npt.NDArray[np.int64], predictions: npt.NDArray[np.float64]
) -> dict[str, Any]:
    """AUC from the scores; the rest at a 0.5 threshold. Of (n, 2) probabilities, column 1
    is the score."""
    if predictions.ndim == 2 and predictions.shape[1] in (1, 2):
        predictions = predictions[:, -1]
    scores = predictions
    if scores.ndim != 1:
        raise DataError(
            f"binary predictions must be one score a row or two class probabilities, got "
            f"{predictions.shape[1]} columns"
        )
    if scores.min() < 0 or scores.max() > 1:
        raise DataError("binary predictions must be probabilities between 0 and 1")
    predicted = (scores >= THRESHOLD).astype(np.int64)
    matrix = confusion(labels, predicted, 2)
    (tn, fp), (fn, tp) = matrix.tolist()
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "auc": _metric(auc(labels, scores)),
        "accuracy": _metric((tp + tn) / len(labels)),
        "precision": _metric(precision),
        "recall": _metric(recall),
        "f1": _metric(_ratio(2 * tp, 2 * tp + fp + fn)),
        "confusion_matrix": _matrix_json(matrix),
    }


def multiclass_metrics(
    labels: npt.NDArray[np.int64], predictions: npt.NDArray[np.float64]
) -> dict[str, Any]:
    """Accuracy and support-weighted precision, recall and F1 of the predicted labels: the
    argmax of (n, k) probabilities, or 1-D predictions taken as labels."""
    if predictions.ndim == 2:
        predicted = np.argmax(predictions, axis=1).astype(np.int64)
        width = predictions.shape[1]
    else:
        if (predictions < 0).any() or (predictions != np.round(predictions)).any():
            raise DataError("1-D multiclass predictions must be class indices 0, 1, 2, ...")
        predicted = predictions.astype(np.int64)
        width = 0
    classes = max(width, int(labels.max()) + 1, int(predicted.max()) + 1)
    matrix = confusion(labels, predicted, classes)
    tp = np.diag(matrix).astype(float)
    support, guessed = matrix.sum(axis=1), matrix.sum(axis=0)
    per_class = {
        "precision": [_ratio(t, g) for t, g in zip(tp, guessed)],  # noqa: B905 - Python 3.9
        "recall": [_ratio(t, s) for t, s in zip(tp, support)],  # noqa: B905
        "f1": [_ratio(2 * t, g + s) for t, g, s in zip(tp, guessed, support)],  # noqa: B905
    }
    weights = support / support.sum()
    return {
        "accuracy": _metric(tp.sum() / len(labels)),
        "weighted_f1": _metric(float(np.dot(weights, per_class["f1"]))),
        "weighted_precision": _metric(float(np.dot(weights, per_class["precision"]))),
        "weighted_recall": _metric(float(np.dot(weights, per_class["recall"]))),
        "confusion_matrix": _matrix_json(matrix),
    }


def regression_metrics(
    labels: npt.NDArray[np.float64], predictions: npt.NDArray[np.float64]
) -> dict[str, Any]:
    if predictions.ndim == 2 and predictions.shape[1] != 1:
        raise DataError(
            f"regression predictions must be one value a row, got {predictions.shape[1]}"
        )
    errors = labels - predictions.ravel()
    mse = float(np.mean(errors**2))
    residual = float(np.sum(errors**2))
    total = float(np.sum((labels - labels.mean()) ** 2))
    # scikit-learn's r2_score for a constant label: perfect predictions 1, anything else 0.
    r2 = 1.0 - residual / total if total else (1.0 if residual == 0 else 0.0)
    return {
        "rmse": _metric(mse**0.5),
        "mse": _metric(mse),
        "mae": _metric(float(np.mean(np.abs(errors)))),
        "r2": _metric(r2),
    }


def task_metrics(
    task: str, labels: npt.NDArray[np.float64], predictions: npt.NDArray[np.float64]
) -> dict[str, Any]:
    if task == "regression":
        return regression_metrics(labels, predictions)
    classes = labels.astype(np.int64)
    if task == "binary":
        return binary_metrics(classes, predictions)
    return multiclass_metrics(classes, predictions)


def naive_predictions(
    task: str, train_labels: npt.NDArray[np.float64], rows: int
) -> npt.NDArray[np.float64]:
    """What a predictor that ignores the features says for ``rows`` test rows, learnt from
    the training labels only: the positive rate as a constant score (AUC 0.5, the majority
    label at the 0.5 threshold), the class frequencies as probabilities (argmax: the majority
    class), or the mean."""
    if task != "multiclass":
        # The mean of 0/1 labels is the positive rate.
        return np.full(rows, float(train_labels.mean()))
    frequencies = np.bincount(train_labels.astype(np.int64)) / len(train_labels)
    return np.tile(frequencies.astype(np.float64), (rows, 1))


def improvement(model: float, naive: float, direction: str) -> float:
    """How much better the model is than the naive predictor: positive is better, whichever
    way the metric points."""
    return model - naive if direction == "Maximize" else naive - model


def naive_baseline(
    args: argparse.Namespace, train_labels: npt.NDArray[np.float64], test: Dataset, model: float
) -> dict[str, Any]:
    """The report's section on the naive predictor, scored on the gate metric."""
    predictions = naive_predictions(args.task, train_labels, len(test.labels))
    value = float(task_metrics(args.task, test.labels, predictions)[args.metric]["value"])
    return {
        "strategy": NAIVE_STRATEGIES[args.task],
        "metric": args.metric,
        "value": value,
        "improvement": improvement(model, value, TASK_METRICS[args.task][args.metric]),
    }


def select_model(values: dict[str, float], direction: str) -> str:
    """The candidate best on the metric; a tie keeps the earlier candidate."""
    selected = next(iter(values))
    for name, value in values.items():
        if (value > values[selected]) if direction == "Maximize" else (value < values[selected]):
            selected = name
    return selected


def evaluate(
    args: argparse.Namespace, test: Dataset, train_labels: npt.NDArray[np.float64]
) -> dict[str, Any]:
    """Score every candidate and build the report for the one selected, against the naive
    predictor learnt from ``train_labels``."""
    metrics = {}
    as_served = []
    with tempfile.TemporaryDirectory() as workdir:
        code_dir = unpack_source(args.source_dir, Path(workdir, "source"))
        with inference_module(code_dir, args.inference) as module:
            for name, _ in args.model:
                model_dir = extract_model(
                    args.model_root / name, Path(workdir, "models", name), candidate=name
                )
                raw_rows = served_rows(module, model_dir, args.test_dir)
                as_served.append(raw_rows is not None)
                predictions = predict(
                    module,
                    model_dir,
                    test.features,
                    candidate=name,
                    code_dir=code_dir,
                    raw_rows=raw_rows,
                )
                metrics[name] = task_metrics(args.task, test.labels, predictions)
    values = {name: float(metrics[name][args.metric]["value"]) for name in metrics}
    selected = select_model(values, TASK_METRICS[args.task][args.metric])
    uris = dict(args.model)
    return {
        METRIC_GROUPS[args.task]: metrics[selected],
        "selected_model": {"name": selected, "s3_uri": uris[selected]},
        "candidates": {name: {args.metric: value} for name, value in values.items()},
        NAIVE_SECTION: naive_baseline(args, train_labels, test, values[selected]),
        # True when every candidate scored the raw test rows through input_fn.
        "scored_as_served": all(as_served),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-dir", type=Path, default=Path(TEST_DIR))
    parser.add_argument(
        "--train-dir", type=Path, default=Path(TRAIN_DIR), help="the naive predictor learns here"
    )
    parser.add_argument("--source-dir", type=Path, default=Path(SOURCE_DIR))
    parser.add_argument("--inference", default=INFERENCE_SCRIPT, help="serving script's path")
    parser.add_argument("--task", choices=sorted(TASK_METRICS), default="binary")
    parser.add_argument("--metric", help="the gate metric (default: the task's)")
    parser.add_argument(
        "--model",
        nargs=2,
        action="append",
        metavar=("NAME", "URI"),
        required=True,
        help="a candidate, in order; its model.tar.gz is in <model-root>/NAME",
    )
    parser.add_argument("--model-root", type=Path, default=Path(MODEL_ROOT))
    parser.add_argument("--output-dir", type=Path, default=Path(OUTPUT_DIR))
    args = parser.parse_args(argv)
    args.model = [tuple(pair) for pair in args.model]
    args.metric = args.metric or DEFAULT_GATE_METRIC[args.task]
    if args.metric not in TASK_METRICS[args.task]:
        parser.error(
            f"--metric {args.metric!r} is not a {args.task} metric; "
            f"allowed: {', '.join(TASK_METRICS[args.task])}"
        )
    names = [name for name, _ in args.model]
    if len(set(names)) != len(names):
        parser.error(f"--model names must be distinct, got {', '.join(names)}")
    bad = [name for name in names if not CANDIDATE_NAME.fullmatch(name)]
    if bad:
        parser.error(f"--model name {bad[0]!r} must be letters, digits, '_' and '-'")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        test = load_test_data(args.test_dir, args.task)
        train = load_test_data(args.train_dir, args.task, "train")
        report = evaluate(args, test, train.labels)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    values = " ".join(
        f"{name}={scores[args.metric]:.6f}" for name, scores in report["candidates"].items()
    )
    naive = report[NAIVE_SECTION]
    print(
        f"evaluate: selected {report['selected_model']['name']} model on {len(test.labels)} "
        f"test rows ({args.metric} {values}; naive predictor {naive['value']:.6f})"
        + (
            f"; raw rows from {RAW_TEST_FILE} through input_fn"
            if report["scored_as_served"]
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
