"""Processing step: validate a labelled CSV and split it for the SageMaker XGBoost container.

Reads every CSV in the input directory, checks that it is usable for binary classification and
writes stratified train/validation/test splits as headerless CSVs with the label first, which is
the CSV layout the SageMaker XGBoost container expects.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.model_selection import train_test_split

# Listing every offending value of a large file would make the one-line error unreadable.
MAX_LISTED = 10


class DataError(ValueError):
    """The input data cannot be used; the message says why in one line."""


class Splits(NamedTuple):
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def _listing(values: Sequence[object]) -> str:
    shown = ", ".join(str(value) for value in values[:MAX_LISTED])
    hidden = len(values) - MAX_LISTED
    return f"{shown}, ... ({hidden} more)" if hidden > 0 else shown


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"empty data: {path.name} has no header and no rows") from None
    except pd.errors.ParserError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise DataError(f"cannot parse {path.name}: {reason}") from None


def read_dataset(input_dir: Path) -> pd.DataFrame:
    """Read all CSVs in ``input_dir`` (sorted by name) into one frame."""
    if not input_dir.is_dir():
        raise DataError(f"input directory not found: {input_dir}")
    paths = sorted(input_dir.glob("*.csv"))
    if not paths:
        raise DataError(f"no CSV file found in {input_dir}")
    frames = [_read_csv(path) for path in paths]
    expected = list(frames[0].columns)
    for path, frame in zip(paths, frames):  # noqa: B905 - strict= needs Python 3.10
        if list(frame.columns) != expected:
            raise DataError(f"{path.name} has different columns from {paths[0].name}")
    return pd.concat(frames, ignore_index=True)


def validate(data: pd.DataFrame, label_column: str) -> pd.DataFrame:
    """Return the data with the label as the first column and integer 0/1 labels."""
    if data.empty:
        raise DataError("empty data: the input has a header but no rows")
    if label_column not in data.columns:
        raise DataError(
            f"label column {label_column!r} not found; columns are: {_listing(list(data.columns))}"
        )
    features = [column for column in data.columns if column != label_column]
    if not features:
        raise DataError(f"no feature columns besides the label {label_column!r}")

    missing = [column for column in data.columns if data[column].isna().any()]
    if missing:
        raise DataError(f"missing values in column(s): {_listing(missing)}")

    # pandas counts booleans as numeric; they are converted to 0/1 below.
    non_numeric = [column for column in features if not is_numeric_dtype(data[column])]
    if non_numeric:
        raise DataError(f"non-numeric feature column(s): {_listing(non_numeric)}")

    # XGBoost rejects infinities, so catch them here rather than deep inside training.
    infinite = [column for column in features if np.isinf(data[column].astype(float)).any()]
    if infinite:
        raise DataError(f"infinite values in column(s): {_listing(infinite)}")

    labels = data[label_column]
    distinct = labels.unique().tolist()
    numeric_labels = is_numeric_dtype(labels)
    if not numeric_labels or set(distinct) != {0, 1}:
        found = sorted(distinct) if numeric_labels else sorted(str(value) for value in distinct)
        raise DataError(
            f"label column {label_column!r} must hold exactly the two classes 0 and 1; "
            f"found {len(found)} distinct value(s): {_listing(found)}"
        )

    result = data[[label_column, *features]].copy()
    result[label_column] = labels.astype(int)
    bool_features = [column for column in features if is_bool_dtype(data[column])]
    if bool_features:
        # Written as True/False otherwise, which the XGBoost CSV reader cannot parse.
        result[bool_features] = result[bool_features].astype(int)
    return result


def _too_few(label: object, count: int, fractions: Sequence[float]) -> DataError:
    shares = "/".join(f"{fraction:.2f}" for fraction in fractions)
    return DataError(
        f"too few rows of class {label} ({count}) for a stratified train/validation/test "
        f"split with fractions {shares}: every split needs at least one row of each class"
    )


def split_dataset(
    data: pd.DataFrame,
    label_column: str,
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> Splits:
    """Split ``data`` into stratified train/validation/test parts, reproducibly for a seed."""
    fractions = (1.0 - validation_fraction - test_fraction, validation_fraction, test_fraction)
    counts = data[label_column].value_counts().sort_index()
    # With fewer rows than this, the smallest split cannot receive one row of the class.
    needed = math.ceil(1.0 / min(fractions) - 1e-9)
    for label, count in counts.items():
        if count < needed:
            raise _too_few(label, int(count), fractions)

    rest, test = train_test_split(
        data, test_size=test_fraction, stratify=data[label_column], random_state=seed
    )
    train, validation = train_test_split(
        rest,
        test_size=validation_fraction / (1.0 - test_fraction),
        stratify=rest[label_column],
        random_state=seed,
    )
    splits = Splits(train=train, validation=validation, test=test)
    # The bound above is necessary but rounding can still leave a split without a class.
    for part in splits:
        absent = set(counts.index) - set(part[label_column].unique().tolist())
        if absent:
            label = min(absent)
            raise _too_few(label, int(counts[label]), fractions)
    return splits


def write_splits(splits: Splits, output_dir: Path) -> dict[str, Path]:
    """Write each split as ``<output_dir>/<name>/<name>.csv``, headerless, label first."""
    written = {}
    for name, frame in splits._asdict().items():
        path = output_dir / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, header=False, index=False)
        written[name] = path
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--label-column", default="target")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    args = parser.parse_args(argv)
    if args.validation_fraction <= 0 or args.test_fraction <= 0:
        parser.error("--validation-fraction and --test-fraction must be greater than 0")
    if args.validation_fraction + args.test_fraction >= 1:
        parser.error("--validation-fraction plus --test-fraction must be less than 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        data = validate(read_dataset(args.input_dir), args.label_column)
        splits = split_dataset(
            data,
            args.label_column,
            validation_fraction=args.validation_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_splits(splits, args.output_dir)
    counts = " ".join(f"{name}={len(frame)}" for name, frame in splits._asdict().items())
    print(
        f"preprocess: wrote {counts} rows ({len(data)} total, {data.shape[1] - 1} features, "
        f"positive rate {data[args.label_column].mean():.3f}) to {args.output_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
