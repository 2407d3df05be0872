"""Evaluation step: score the baseline and tuned models on the test split and pick one.

Each model directory holds the ``model.tar.gz`` a SageMaker training job wrote. The report is
written in SageMaker's model-quality metrics layout (``binary_classification_metrics``) for the
selected model, plus which model was selected and both candidates' AUC.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pandas.api.types import is_numeric_dtype
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

if TYPE_CHECKING:
    import numpy.typing as npt

MODEL_ARCHIVE = "model.tar.gz"
MODEL_FILE_NAME = "xgboost-model"
THRESHOLD = 0.5
CANDIDATES = ("baseline", "tuned")


class DataError(ValueError):
    """An input cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class Dataset:
    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]


def load_test_data(directory: Path) -> Dataset:
    """Read all CSVs in ``directory``: headerless, label in the first column."""
    if not directory.is_dir():
        raise DataError(f"test directory not found: {directory}")
    paths = sorted(directory.glob("*.csv"))
    if not paths:
        raise DataError(f"no CSV file found in {directory}")
    try:
        data = pd.concat([pd.read_csv(path, header=None) for path in paths], ignore_index=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"empty CSV file in {directory}") from None
    if data.shape[1] < 2 or not all(is_numeric_dtype(data[column]) for column in data.columns):
        raise DataError(f"test data in {directory} must be numeric with the label first")
    labels = data[0]
    if labels.isna().any() or set(labels.unique().tolist()) != {0, 1}:
        raise DataError("test labels (first column) must be 0 or 1 and include both classes")
    return Dataset(
        features=data.iloc[:, 1:].to_numpy(dtype=np.float32),
        labels=labels.to_numpy(dtype=np.int64),
    )


def extract_model(model_dir: Path, destination: Path, *, candidate: str) -> Path:
    """Copy ``xgboost-model`` out of ``<model_dir>/model.tar.gz`` into ``destination``.

    Only that one regular file is read, and it is written under a fixed name, so member names
    in the archive (``../x``, absolute paths, links) can never choose where bytes land.
    """
    archive = model_dir / MODEL_ARCHIVE
    if not model_dir.is_dir():
        raise DataError(f"{candidate} model directory not found: {model_dir}")
    if not archive.is_file():
        raise DataError(f"no {MODEL_ARCHIVE} in the {candidate} model directory {model_dir}")
    target = destination / MODEL_FILE_NAME
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if _is_model_member(m.name)]
            if not members:
                raise DataError(f"{archive} does not contain {MODEL_FILE_NAME}")
            # As with extraction, the last entry of a name is the one that counts.
            member = members[-1]
            source = tar.extractfile(member) if member.isfile() else None
            if source is None:
                raise DataError(f"{MODEL_FILE_NAME} in {archive} is not a regular file")
            with source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"cannot read {archive}: {exc}") from None
    return target


def _is_model_member(name: str) -> bool:
    # SageMaker archives the model directory's contents, so the name may carry a ``./`` prefix.
    return [part for part in PurePosixPath(name).parts if part != "."] == [MODEL_FILE_NAME]


def load_model(path: Path) -> xgb.Booster:
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except (xgb.core.XGBoostError, ValueError):
        # ValueError: for some truncated files XGBoost fails to decode its own error message.
        raise DataError(f"{path.name} is not a model XGBoost can load") from None
    return booster


def score(booster: xgb.Booster, data: Dataset) -> npt.NDArray[np.float32]:
    expected = booster.num_features()
    if data.features.shape[1] != expected:
        raise DataError(
            f"test data has {data.features.shape[1]} features but the model expects {expected}"
        )
    scores: npt.NDArray[np.float32] = booster.predict(xgb.DMatrix(data.features))
    return scores


def classification_metrics(
    labels: npt.NDArray[np.int64], scores: npt.NDArray[np.float32]
) -> dict[str, Any]:
    """Binary classification metrics in SageMaker's model-quality layout."""
    predicted = (scores >= THRESHOLD).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel().tolist()

    def metric(value: float) -> dict[str, Any]:
        return {"value": float(value), "standard_deviation": "NaN"}

    return {
        "auc": metric(roc_auc_score(labels, scores)),
        "accuracy": metric(accuracy_score(labels, predicted)),
        "precision": metric(precision_score(labels, predicted, zero_division=0)),
        "recall": metric(recall_score(labels, predicted, zero_division=0)),
        "f1": metric(f1_score(labels, predicted, zero_division=0)),
        "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
    }


def select_model(aucs: dict[str, float]) -> str:
    """The candidate with the higher AUC; a tie keeps the baseline."""
    return "tuned" if aucs["tuned"] > aucs["baseline"] else "baseline"


def evaluate(
    test: Dataset, model_dirs: dict[str, Path], model_uris: dict[str, str]
) -> dict[str, Any]:
    metrics = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in CANDIDATES:
            destination = Path(workdir, name)
            destination.mkdir()
            booster = load_model(extract_model(model_dirs[name], destination, candidate=name))
            metrics[name] = classification_metrics(test.labels, score(booster, test))
    aucs = {name: float(metrics[name]["auc"]["value"]) for name in CANDIDATES}
    selected = select_model(aucs)
    return {
        "binary_classification_metrics": metrics[selected],
        "selected_model": {"name": selected, "s3_uri": model_uris[selected]},
        "candidates": {name: {"auc": aucs[name]} for name in CANDIDATES},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-dir", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument(
        "--baseline-model-dir", type=Path, default=Path("/opt/ml/processing/model/baseline")
    )
    parser.add_argument(
        "--tuned-model-dir", type=Path, default=Path("/opt/ml/processing/model/tuned")
    )
    parser.add_argument("--baseline-model-uri", required=True)
    parser.add_argument("--tuned-model-uri", required=True)
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        test = load_test_data(args.test_dir)
        report = evaluate(
            test,
            {"baseline": args.baseline_model_dir, "tuned": args.tuned_model_dir},
            {"baseline": args.baseline_model_uri, "tuned": args.tuned_model_uri},
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    selected = report["selected_model"]["name"]
    aucs = report["candidates"]
    print(
        f"evaluate: selected {selected} model on {len(test.labels)} test rows "
        f"(auc baseline={aucs['baseline']['auc']:.6f} tuned={aucs['tuned']['auc']:.6f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
