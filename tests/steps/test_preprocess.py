"""The preprocessing step: validation messages, and stratified, reproducible splits."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

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
    data = preprocess.validate(pd.read_csv(sample_csv), "target")
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


def _text_labels(df: pd.DataFrame) -> pd.DataFrame:
    df["target"] = df["target"].map({0: "no", 1: "yes"})
    return df


def _three_rows_of_class_0(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df[df["target"] == 0].head(3), df[df["target"] == 1]])


BAD_DATA: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "missing label column": (_drop_label, "label column 'target' not found"),
    "non-numeric column": (_text_in_a_feature, "non-numeric feature column(s): mean_radius"),
    "missing values": (_missing_values, "missing values in column(s): mean_texture, worst_area"),
    "infinite value": (_infinite_value, "infinite values in column(s): mean_area"),
    "header only": (_header_only, "empty data"),
    "three classes": (_three_classes, "found 3 distinct value(s): 0, 1, 2"),
    "one class": (_one_class, "found 1 distinct value(s): 1"),
    "text labels": (_text_labels, "found 2 distinct value(s): no, yes"),
    "too few rows of a class": (_three_rows_of_class_0, "too few rows of class 0 (3)"),
}


def assert_fails_cleanly(input_dir: Path, output_dir: Path, message: str) -> None:
    output_dir.mkdir(exist_ok=True)

    run = run_main(preprocess.main, ["--input-dir", input_dir, "--output-dir", output_dir])

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


def test_validate_moves_the_label_first_and_turns_booleans_and_float_labels_into_integers() -> None:
    data = pd.DataFrame({"flag": [True, False], "size": [1.5, 2.5], "target": [1.0, 0.0]})

    result = preprocess.validate(data, "target")

    assert list(result.columns) == ["target", "flag", "size"]
    assert result["target"].tolist() == [1, 0]
    assert result["flag"].tolist() == [1, 0]
    assert result.to_csv(header=False, index=False) == "1,1,1.5\n0,0,2.5\n"
