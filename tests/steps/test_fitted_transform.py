"""The fitted transform Preprocess writes reproduces the training-time encoding of a raw row,
from the artifact alone: no refitting, fills from the train split, unknown categories set no
one-hot column."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.steps import preprocess
from tests.steps.runner import run_main

LABEL = "target"


def churn_like(rows: int = 120) -> pd.DataFrame:
    """Two text categorical columns, numeric columns, and missing values in both kinds."""
    generator = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "tenure": generator.integers(1, 72, rows),
            "charges": generator.normal(70.0, 20.0, rows).round(2),
            "plan": generator.choice(["basic", "plus", "pro"], rows),
            "region": generator.choice(["north", "south"], rows),
            LABEL: generator.choice(["no", "yes"], rows),
        }
    )
    frame.loc[[4, 50], "charges"] = math.nan
    frame.loc[[7, 90], "plan"] = None
    return frame


@pytest.fixture
def written(tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    frame = churn_like()
    input_dir, output = tmp_path / "input", tmp_path / "output"
    input_dir.mkdir()
    frame.to_csv(input_dir / "data.csv", index=False)
    options = ["--categorical", "plan", "--categorical", "region", "--missing", "impute"]
    run = run_main(preprocess.main, ["--input-dir", input_dir, "--output-dir", output, *options])
    assert run.code == 0, run.stderr
    return frame, output


def loaded(output: Path) -> preprocess.FittedTransform:
    path = output / preprocess.TRANSFORM_OUTPUT / preprocess.TRANSFORM_FILE
    return preprocess.FittedTransform.from_json(path.read_text())


def test_the_artifact_records_columns_categories_fills_and_label_values(
    written: tuple[pd.DataFrame, Path],
) -> None:
    _frame, output = written
    transform = loaded(output)
    assert transform.features == ["tenure", "charges", "plan", "region"]
    assert transform.categories == {"plan": ["basic", "plus", "pro"], "region": ["north", "south"]}
    assert transform.classes == ["no", "yes"]
    assert set(transform.fills) == set(transform.features)
    assert transform.encoded_columns == [
        "tenure",
        "charges",
        "plan=basic",
        "plan=plus",
        "plan=pro",
        "region=north",
        "region=south",
    ]
    # Not among the training splits' files, so no loader reads it as data.
    assert not (output / "train" / preprocess.TRANSFORM_FILE).exists()


def test_applying_the_artifact_to_the_raw_rows_gives_every_written_split_row(
    written: tuple[pd.DataFrame, Path],
) -> None:
    frame, output = written
    transform = loaded(output)
    encoded = transform.apply(frame).to_numpy(dtype=float)
    for name in preprocess.SPLITS:
        split = pd.read_csv(output / name / f"{name}.csv", header=None).to_numpy(dtype=float)
        features = {tuple(row) for row in np.round(encoded, 9)}
        # Each written row (label dropped) is the encoding of one raw input row.
        assert {tuple(row) for row in np.round(split[:, 1:], 9)} <= features, name


def test_a_missing_value_gets_the_train_split_fill_and_an_unknown_category_no_column(
    written: tuple[pd.DataFrame, Path],
) -> None:
    _frame, output = written
    transform = loaded(output)
    raw = pd.DataFrame([{"tenure": 12, "charges": math.nan, "plan": "enterprise", "region": None}])
    row = transform.apply(raw).iloc[0]
    assert row["charges"] == transform.fills["charges"]
    assert row["region=north"] + row["region=south"] == 1  # filled with the train mode
    assert row[["plan=basic", "plan=plus", "plan=pro"]].sum() == 0


def test_the_fills_come_from_the_train_split_only(tmp_path: Path) -> None:
    frame = churn_like()
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    frame.to_csv(input_dir / "data.csv", index=False)
    args = preprocess.parse_args(
        [
            "--input-dir",
            str(input_dir),
            "--categorical",
            "plan",
            "--categorical",
            "region",
            "--missing",
            "impute",
        ]
    )
    splits, transform, _ = preprocess.run(args)
    train_median = float(frame.loc[splits.train.index, "charges"].median())
    assert transform.fills["charges"] == train_median
    assert train_median != float(frame["charges"].median())  # so the check can tell them apart


def test_a_row_without_a_feature_column_is_named() -> None:
    transform = preprocess.FittedTransform(
        label=LABEL,
        task="binary",
        missing="error",
        features=["a", "b"],
        categories={},
        fills={},
        classes=None,
    )
    with pytest.raises(preprocess.DataError, match=r"missing column\(s\): b"):
        transform.apply(pd.DataFrame([{"a": 1}]))
