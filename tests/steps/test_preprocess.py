"""The preprocessing step: validation messages, stratified and reproducible splits, and each
task's labels, categorical columns and missing values."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.steps import preprocess
from tests.steps.runner import files_under, run_main

SPLITS = ("train", "validation", "test")
STEP_SCRIPT = Path(preprocess.__file__)


def read_splits(output_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(output_dir / name / f"{name}.csv", header=None) for name in SPLITS}


def split_bytes(output_dir: Path) -> dict[str, bytes]:
    return {name: (output_dir / name / f"{name}.csv").read_bytes() for name in SPLITS}


def test_splits_are_headerless_label_first_copies_of_the_input_rows(
    sample_csv: Path, split_dir: Path
) -> None:
    source = pd.read_csv(sample_csv)
    label_first = source[["target", *(c for c in source.columns if c != "target")]]
    splits = read_splits(split_dir)

    written = Counter(
        row for frame in splits.values() for row in frame.itertuples(index=False, name=None)
    )
    assert written == Counter(label_first.itertuples(index=False, name=None))
    # No header line: the first field of the first line is a 0/1 label, not a column name.
    first_line = (split_dir / "train" / "train.csv").read_text().splitlines()[0]
    assert first_line.split(",")[0] in {"0", "1"}


def test_split_sizes_add_up_to_the_input_and_follow_the_fractions(
    sample_csv: Path, split_dir: Path
) -> None:
    total = len(pd.read_csv(sample_csv))
    sizes = {name: len(frame) for name, frame in read_splits(split_dir).items()}

    assert sum(sizes.values()) == total
    assert sizes["validation"] / total == pytest.approx(0.15, abs=0.01)
    assert sizes["test"] / total == pytest.approx(0.15, abs=0.01)


def test_every_split_keeps_the_class_balance(sample_csv: Path, split_dir: Path) -> None:
    overall = pd.read_csv(sample_csv)["target"].mean()
    for name, frame in read_splits(split_dir).items():
        assert frame[0].mean() == pytest.approx(overall, abs=0.01), name


@pytest.mark.parametrize("seed", range(8))
def test_split_class_counts_match_the_fractions_for_any_seed(sample_csv: Path, seed: int) -> None:
    # A plain random split misses these counts by several rows for most seeds.
    data = preprocess.prepare(pd.read_csv(sample_csv), "target").data
    class_counts = data["target"].value_counts()

    splits = preprocess.split_dataset(
        data, "target", validation_fraction=0.15, test_fraction=0.15, seed=seed
    )

    for name, fraction in (("train", 0.70), ("validation", 0.15), ("test", 0.15)):
        counts = getattr(splits, name)["target"].value_counts()
        for label, total in class_counts.items():
            assert abs(counts[label] - total * fraction) <= 1.5, (name, label)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    sample_csv: Path, split_dir: Path, tmp_path: Path
) -> None:
    for name, seed in (("again", "42"), ("other", "7")):
        argv: list[str | Path] = ["--input-dir", sample_csv.parent, "--output-dir", tmp_path / name]
        argv += ["--seed", seed]
        assert run_main(preprocess.main, argv).code == 0

    assert split_bytes(tmp_path / "again") == split_bytes(split_dir)
    assert split_bytes(tmp_path / "other")["train"] != split_bytes(split_dir)["train"]


def test_several_csvs_are_read_in_name_order_and_concatenated(
    sample_csv: Path, split_dir: Path, tmp_path: Path
) -> None:
    source = pd.read_csv(sample_csv)
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    # Named so that only name order, not creation order, restores the original row order.
    source.iloc[300:].to_csv(input_dir / "part-2.csv", index=False)
    source.iloc[:300].to_csv(input_dir / "part-1.csv", index=False)

    run = run_main(preprocess.main, ["--input-dir", input_dir, "--output-dir", tmp_path / "out"])

    assert run.code == 0, run.stderr
    assert split_bytes(tmp_path / "out") == split_bytes(split_dir)


def test_prints_one_summary_line_with_row_counts(sample_csv: Path, tmp_path: Path) -> None:
    run = run_main(preprocess.main, ["--input-dir", sample_csv.parent, "--output-dir", tmp_path])

    assert run.code == 0
    assert len(run.stdout.splitlines()) == 1
    assert "train=397 validation=86 test=86" in run.stdout


def _drop_label(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns="target")


def _text_in_a_feature(df: pd.DataFrame) -> pd.DataFrame:
    df["mean_radius"] = df["mean_radius"].astype(object)
    df.loc[3, "mean_radius"] = "abc"
    return df


def _missing_values(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[5, "mean_texture"] = math.nan
    df.loc[7, "worst_area"] = math.nan
    return df


def _infinite_value(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[1, "mean_area"] = math.inf
    return df


def _header_only(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[0:0]


def _three_classes(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[0:2, "target"] = 2
    return df


def _one_class(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["target"] == 1]


def _three_rows_of_class_0(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df[df["target"] == 0].head(3), df[df["target"] == 1]])


BAD_DATA: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "missing label column": (_drop_label, "label column 'target' not found"),
    "non-numeric column": (
        _text_in_a_feature,
        "non-numeric feature column(s): mean_radius; list them in preprocessing.categorical",
    ),
    "missing values": (_missing_values, "missing values in column(s): mean_texture, worst_area"),
    "infinite value": (_infinite_value, "infinite values in column(s): mean_area"),
    "header only": (_header_only, "empty data"),
    "three classes": (
        _three_classes,
        'found 3 distinct value(s): 0, 1, 2; set data.task = "multiclass"',
    ),
    "one class": (_one_class, "found 1 distinct value(s): 1"),
    "too few rows of a class": (
        _three_rows_of_class_0,
        "too few rows of class 0 (3) for a stratified train/validation/test split with "
        "fractions 0.70/0.15/0.15: each class needs at least 7 rows (1 / 0.15, rounded up) so "
        "that every split gets one; add rows or raise preprocessing.validation_fraction and "
        "test_fraction",
    ),
}


def assert_fails_cleanly(input_dir: Path, output_dir: Path, message: str, *options: str) -> None:
    output_dir.mkdir(exist_ok=True)

    argv: list[str | Path] = ["--input-dir", input_dir, "--output-dir", output_dir, *options]
    run = run_main(preprocess.main, argv)

    assert run.code == 1
    assert run.stderr.startswith("error: ")
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert message in run.stderr
    assert run.stdout == ""
    assert files_under(output_dir) == []


@pytest.mark.parametrize(("mutate", "message"), BAD_DATA.values(), ids=BAD_DATA.keys())
def test_bad_data_is_rejected_with_a_one_line_message(
    sample_csv: Path,
    tmp_path: Path,
    mutate: Callable[[pd.DataFrame], pd.DataFrame],
    message: str,
) -> None:
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    mutate(pd.read_csv(sample_csv)).to_csv(input_dir / "data.csv", index=False)

    assert_fails_cleanly(input_dir, tmp_path / "output", message)


HEADER_AND_ENCODING_MISTAKES = {
    "repeated label": (b"a,b,target,target\n1,2,0,1\n", "repeats column name(s) target"),
    "empty name": (b"a,,target\n1,2,0\n", "empty column name(s) at position(s) 2"),
    "blank name": (b"a,  ,target\n1,2,0\n", "empty column name(s) at position(s) 2"),
    "latin-1 byte": (
        b"a,b,target\n1,caf\xe9,0\n",
        "cannot read data.csv: line 2 has byte 0xe9, which is not UTF-8; save the file as UTF-8",
    ),
}


@pytest.mark.parametrize(
    ("content", "message"),
    HEADER_AND_ENCODING_MISTAKES.values(),
    ids=HEADER_AND_ENCODING_MISTAKES.keys(),
)
def test_a_broken_header_or_encoding_is_one_line_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    # pandas would rename a repeated "target" to "target.1" and train on it as a feature.
    (tmp_path / "data.csv").write_bytes(content)

    assert_fails_cleanly(tmp_path, tmp_path / "output", message)


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(
    sample_csv: Path, tmp_path: Path
) -> None:
    data = pd.read_csv(sample_csv)
    data = data[["target", *[c for c in data.columns if c != "target"]]]
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    (input_dir / "data.csv").write_bytes(b"\xef\xbb\xbf" + data.to_csv(index=False).encode())
    output_dir = tmp_path / "output"
    output_dir.mkdir()

    run = run_main(preprocess.main, ["--input-dir", input_dir, "--output-dir", output_dir])

    assert run.code == 0, run.stderr


def test_an_empty_file_is_rejected_as_empty_data(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("")

    assert_fails_cleanly(tmp_path, tmp_path / "output", "empty data")


def test_a_directory_without_csv_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("a,target\n1,0\n")

    assert_fails_cleanly(tmp_path, tmp_path / "output", "no CSV file found")


def test_a_missing_input_directory_is_rejected(tmp_path: Path) -> None:
    assert_fails_cleanly(tmp_path / "absent", tmp_path / "output", "input directory not found")


def test_runs_as_a_standalone_script_without_the_repository(
    sample_csv: Path, tmp_path: Path
) -> None:
    # A processing container receives only this one file, without the repository around it.
    script = tmp_path / "code" / "preprocess.py"
    script.parent.mkdir()
    script.write_bytes(STEP_SCRIPT.read_bytes())
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    argv = ["--input-dir", str(sample_csv.parent), "--output-dir", str(tmp_path / "out")]

    result = subprocess.run(
        [sys.executable, str(script), *argv],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("preprocess: wrote train=397")
    assert (tmp_path / "out" / "test" / "test.csv").is_file()


def test_prepare_moves_the_label_first_and_turns_booleans_and_float_labels_into_integers() -> None:
    data = pd.DataFrame({"flag": [True, False], "size": [1.5, 2.5], "target": [1.0, 0.0]})

    result = preprocess.prepare(data, "target")

    assert list(result.data.columns) == ["target", "flag", "size"]
    assert result.data["target"].tolist() == [1, 0]
    assert result.data["flag"].tolist() == [1, 0]
    assert result.data.to_csv(header=False, index=False) == "1,1,1.5\n0,0,2.5\n"
    assert result.classes is None


def preprocess_frame(
    frame: pd.DataFrame, tmp_path: Path, *options: str
) -> tuple[dict[str, pd.DataFrame], Path]:
    """Run the script on ``frame`` written as a CSV; the splits it wrote and their folder."""
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    frame.to_csv(input_dir / "data.csv", index=False)
    output = tmp_path / "output"
    run = run_main(preprocess.main, ["--input-dir", input_dir, "--output-dir", output, *options])
    assert run.code == 0, run.stderr
    return read_splits(output), output


def classes_file(output: Path) -> object:
    return json.loads((output / "train" / "classes.json").read_text())


def test_text_labels_are_encoded_in_sorted_order_and_recorded(
    sample_csv: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(sample_csv)
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})

    splits, output = preprocess_frame(frame, tmp_path)

    assert classes_file(output) == {"classes": ["benign", "malignant"]}
    # "benign" sorts first, so the original 1s become 0s.
    labels = pd.concat([part[0] for part in splits.values()])
    assert sorted(labels.unique().tolist()) == [0, 1]
    assert (labels == 0).sum() == (pd.read_csv(sample_csv)["target"] == 1).sum()
    # Not a CSV, so the trainer's and evaluator's *.csv globs never read it as data.
    assert sorted(path.name for path in (output / "train").iterdir()) == [
        "classes.json",
        "train.csv",
    ]


def test_labels_already_0_to_k_minus_1_write_no_classes_file(wine_split: Path) -> None:
    assert not (wine_split / "train" / "classes.json").exists()


def test_multiclass_splits_keep_every_class_in_proportion(wine_csv: Path, wine_split: Path) -> None:
    overall = pd.read_csv(wine_csv)["target"].value_counts(normalize=True).sort_index()

    for name, frame in read_splits(wine_split).items():
        shares = frame[0].value_counts(normalize=True).sort_index()
        assert shares.index.tolist() == [0, 1, 2], name
        assert shares.to_numpy() == pytest.approx(overall.to_numpy(), abs=0.06), name


def test_multiclass_numeric_labels_with_gaps_are_encoded(wine_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(wine_csv)
    frame["target"] = frame["target"].map({0: 10, 1: 20, 2: 5})

    splits, output = preprocess_frame(frame, tmp_path, "--task", "multiclass")

    assert classes_file(output) == {"classes": [5, 10, 20]}
    counts = pd.concat([part[0] for part in splits.values()]).value_counts()
    original = pd.read_csv(wine_csv)["target"].value_counts()
    assert counts[0] == original[2]
    assert counts[2] == original[1]


def test_regression_keeps_float_labels_and_splits_by_the_fractions(
    diabetes_csv: Path, diabetes_split: Path
) -> None:
    source = pd.read_csv(diabetes_csv)
    splits = read_splits(diabetes_split)

    labels = pd.concat([part[0] for part in splits.values()])
    assert sorted(labels.tolist()) == sorted(source["target"].astype(float).tolist())
    assert {name: len(frame) for name, frame in splits.items()} == {
        "train": 308,
        "validation": 67,
        "test": 67,
    }
    assert not (diabetes_split / "train" / "classes.json").exists()


def test_regression_split_is_not_stratified(diabetes_csv: Path) -> None:
    data = preprocess.prepare(pd.read_csv(diabetes_csv), "target", task="regression").data

    # Stratifying would treat each of the ~200 distinct values as a class and fail.
    splits = preprocess.split_dataset(
        data, "target", validation_fraction=0.15, test_fraction=0.15, seed=3, stratify=False
    )

    assert sum(len(part) for part in splits) == len(data)


def colour_of(radius: float) -> str:
    return "blue" if radius < 12 else "green" if radius < 15 else "red"


def with_colour(frame: pd.DataFrame) -> pd.DataFrame:
    """A text column in front, derived from mean_radius so each row's colour is checkable."""
    colours = frame["mean_radius"].map(colour_of)
    return frame.assign(colour=colours)[["colour", *frame.columns]]


def test_categorical_columns_are_one_hot_encoded_in_place_in_sorted_order(
    sample_csv: Path, tmp_path: Path
) -> None:
    frame = with_colour(pd.read_csv(sample_csv))

    splits, _ = preprocess_frame(frame, tmp_path, "--categorical", "colour")

    train = splits["train"]
    # label, then blue/green/red where colour was, then the 30 numeric features.
    assert train.shape[1] == 1 + 3 + 30
    one_hot = train.iloc[:, 1:4]
    assert set(np.unique(one_hot.to_numpy()).tolist()) == {0, 1}
    assert (one_hot.sum(axis=1) == 1).all()
    assert one_hot.dtypes.map(lambda dtype: dtype.kind).tolist() == ["i", "i", "i"]
    rows = pd.concat(splits.values())
    decoded = [("blue", "green", "red")[index] for index in np.argmax(rows.iloc[:, 1:4], axis=1)]
    # Column 4 is mean_radius, the first numeric feature.
    assert decoded == [colour_of(radius) for radius in rows[4]]
    assert len(set(decoded)) == 3


def test_one_hot_columns_are_the_same_in_every_split() -> None:
    frame = pd.DataFrame({"colour": ["red", "blue"], "size": [1, 2], "target": [0, 1]})
    values = preprocess.categories(frame, ["colour"])

    encoded = preprocess.one_hot(frame.iloc[:1], values)

    assert encoded.columns.tolist() == ["colour=blue", "colour=red", "size", "target"]
    assert encoded.iloc[0].tolist() == [0, 1, 1, 0]


def test_an_unknown_categorical_column_is_rejected(sample_csv: Path, tmp_path: Path) -> None:
    assert_fails_cleanly(
        sample_csv.parent,
        tmp_path / "output",
        "categorical column(s) not found: colour",
        *("--categorical", "colour"),
    )


def test_the_label_cannot_be_categorical(sample_csv: Path, tmp_path: Path) -> None:
    assert_fails_cleanly(
        sample_csv.parent,
        tmp_path / "output",
        "preprocessing.categorical lists the label column 'target'",
        *("--categorical", "target"),
    )


def test_missing_values_are_dropped_with_drop(sample_csv: Path, tmp_path: Path) -> None:
    frame = _missing_values(pd.read_csv(sample_csv))

    splits, _ = preprocess_frame(frame, tmp_path, "--missing", "drop")

    assert sum(len(part) for part in splits.values()) == len(frame) - 2
    assert not any(part.isna().any().any() for part in splits.values())


def test_drop_fails_when_every_row_has_a_missing_value(sample_csv: Path, tmp_path: Path) -> None:
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    pd.read_csv(sample_csv).assign(mean_area=math.nan).to_csv(input_dir / "d.csv", index=False)

    assert_fails_cleanly(
        input_dir, tmp_path / "output", "no rows left: each of the 569 rows", "--missing", "drop"
    )


def test_impute_fills_numeric_medians_and_categorical_modes_from_the_train_split() -> None:
    train = pd.DataFrame(
        {"size": [1.0, 3.0, 10.0], "colour": ["red", None, "blue"], "target": [0, 1, 0]}
    )
    validation = pd.DataFrame({"size": [math.nan], "colour": ["red"], "target": [1]})
    test = pd.DataFrame({"size": [100.0], "colour": ["red"], "target": [1]})
    splits = preprocess.Splits(train=train, validation=validation, test=test)

    fills = preprocess.impute_values(splits.train, "target", ["colour"])
    filled = preprocess.Splits(*(part.fillna(fills) for part in splits))

    # From the train rows only: all rows would give the median 6.5 and the mode "red".
    assert filled.validation["size"].tolist() == [3.0]
    # A tie between red and blue goes to the first in sorted order.
    assert filled.train["colour"].tolist() == ["red", "blue", "blue"]
    assert filled.test.equals(test)


def test_impute_runs_end_to_end_with_a_categorical_column(sample_csv: Path, tmp_path: Path) -> None:
    frame = _missing_values(with_colour(pd.read_csv(sample_csv)))
    frame.loc[9, "colour"] = None

    splits, _ = preprocess_frame(frame, tmp_path, "--missing", "impute", "--categorical", "colour")

    assert sum(len(part) for part in splits.values()) == len(frame)
    assert not any(part.isna().any().any() for part in splits.values())


def test_impute_refuses_missing_labels(sample_csv: Path, tmp_path: Path) -> None:
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    frame = pd.read_csv(sample_csv)
    frame.loc[4, "target"] = math.nan
    frame.to_csv(input_dir / "data.csv", index=False)

    assert_fails_cleanly(
        input_dir,
        tmp_path / "output",
        "missing values in the label column 'target'",
        *("--missing", "impute"),
    )


TASK_ERRORS = {
    "multiclass of two": ("breast_cancer", "multiclass", 'use data.task = "binary"'),
    "regression of text": ("text", "regression", "regression label column 'target' must be"),
    "binary of three": ("wine", "binary", "must hold exactly two classes; found 3"),
}


@pytest.mark.parametrize(("dataset", "task", "message"), TASK_ERRORS.values(), ids=TASK_ERRORS)
def test_labels_must_suit_the_task(
    samples: dict[str, Path], tmp_path: Path, dataset: str, task: str, message: str
) -> None:
    frame = pd.read_csv(samples["breast_cancer" if dataset == "text" else dataset])
    if dataset == "text":
        frame["target"] = frame["target"].map({0: "no", 1: "yes"})
    input_dir = tmp_path / "input"
    input_dir.mkdir()
    frame.to_csv(input_dir / "data.csv", index=False)

    assert_fails_cleanly(input_dir, tmp_path / "output", message, "--task", task)


def test_a_regression_needs_a_row_for_every_split(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,target\n1,0.5\n2,1.5\n3,2.5\n")

    assert_fails_cleanly(
        tmp_path, tmp_path / "output", "too few rows (3) for a train/", "--task", "regression"
    )
