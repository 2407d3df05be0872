"""Train a random forest on the wine data: the training half of "bring your own script".

SageMaker's scikit-learn container runs this file in script mode: the hyperparameters arrive
as ``--name value`` arguments, the data channels and the model directory as SM_* environment
variables. The channels hold headerless CSVs with the label (class 0, 1, 2, ...) first, as the
pipeline's preprocessing step writes them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier


def load(channel_dir: str) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(Path(channel_dir).glob("*.csv"))
    data = pd.concat([pd.read_csv(path, header=None) for path in files])
    return data.iloc[:, 1:].to_numpy(), data.iloc[:, 0].to_numpy()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_estimators", type=int, default=200)
    parser.add_argument("--max_depth", type=int, default=0, help="0: grow trees fully")
    parser.add_argument("--min_samples_leaf", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    # SageMaker may add arguments of its own (--sagemaker_program, ...): ignore them.
    args, _ = parser.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    features, labels = load(args.train)
    model = RandomForestClassifier(
        n_estimators=args.n_estimators,
        max_depth=args.max_depth or None,
        min_samples_leaf=args.min_samples_leaf,
        random_state=args.seed,
    )
    model.fit(features, labels)

    val_features, val_labels = load(args.validation)
    accuracy = float(np.mean(model.predict(val_features) == val_labels))
    joblib.dump(model, Path(args.model_dir) / "model.joblib")
    # The tuning job's objective regex reads this line: validation-accuracy:([0-9\.]+)
    print(f"validation-accuracy:{accuracy:.6f}")


if __name__ == "__main__":
    main()
