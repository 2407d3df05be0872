"""Processing step: validate a labelled CSV and split it into numeric train/validation/test CSVs.

Reads every CSV in the input directory, checks that it suits the task (binary, multiclass or
regression), encodes text labels and the listed categorical columns as numbers, handles
missing values as told, and writes train/validation/test splits as headerless CSVs with the
label first: the CSV layout the SageMaker framework containers' training scripts read.
Classification splits are stratified; an encoded label's original values go to
``train/classes.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.model_selection import train_test_split

# Kept in step with pipelines/definition/contract.py (the tests compare them); this script
# ships alone into its container, so it cannot import the project.
TASKS = ("binary", "multiclass", "regression")
MISSING_POLICIES = ("error", "drop", "impute")
SPLITS = ("train", "validation", "test")
INPUT_DIR = "/opt/ml/processing/input"
OUTPUT_DIR = "/opt/ml/processing/output"
CLASSES_FILE = "classes.json"
# The fitted transform, in an output of its own (transform/transform.json): a built-in
# algorithm would read it as data in the train channel.
TRANSFORM_OUTPUT = "transform"
TRANSFORM_FILE = "transform.json"
# What a request holds and a response answers, derived from the transform, for people and
# for the registry (the version's customer metadata points at it).
SIGNATURE_FILE = "signature.json"
# The test split's rows as the data has them (header, text categories, missing cells) and
# without the label: what an application sends, so the evaluator scores through the serving
# path. A subfolder, so loaders of the split's own CSVs do not read it.
RAW_TEST_FILE = "raw/test.csv"
# Listing every offending value of a large file would make the one-line error unreadable.
MAX_LISTED = 10


class DataError(ValueError):
    """The input data cannot be used; the message says why in one line."""


class Splits(NamedTuple):
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


class Preprocessed(NamedTuple):
    splits: Splits  # encoded: the model's input, label first
    transform: FittedTransform
    raw_test: pd.DataFrame  # the test split's feature rows as the data has them


class Prepared(NamedTuple):
    """Label first and numeric; categorical columns still hold their raw values."""

    data: pd.DataFrame
    # The original label of each class index, when the labels had to be encoded.
    classes: list[Any] | None


def _listing(values: Sequence[object]) -> str:
    shown = ", ".join(str(value) for value in values[:MAX_LISTED])
    hidden = len(values) - MAX_LISTED
    return f"{shown}, ... ({hidden} more)" if hidden > 0 else shown


def _sorted(values: Sequence[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        # Mixed types (say numbers and text in one object column) do not compare.
        return sorted(values, key=str)


def _check_header(path: Path, header: Sequence[str]) -> None:
    """pandas renames a repeated name ("target" -> "target.1") and invents one for an empty
    name ("Unnamed: 3"), which would turn a broken header into features; refuse both."""
    blank = [str(index + 1) for index, name in enumerate(header) if not name.strip()]
    if blank:
        raise DataError(
            f"{path.name}: the header has empty column name(s) at position(s) {_listing(blank)}"
        )
    repeated = [name for name, count in Counter(header).items() if count > 1]
    if repeated:
        raise DataError(
            f"{path.name}: the header repeats column name(s) {_listing(sorted(set(repeated)))}; "
            "every column needs its own name"
        )


def _not_utf8(path: Path) -> DataError:
    # Decoded again as a whole: the reader's offsets count from its current chunk.
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return DataError(
            f"cannot read {path.name}: line {line} has byte 0x{data[exc.start]:02x}, which is "
            "not UTF-8; save the file as UTF-8"
        )
    return DataError(f"cannot read {path.name}: not UTF-8 text; save the file as UTF-8")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first name.
        with path.open(encoding="utf-8-sig", newline="") as file:
            header = next(csv.reader(file), None)
        if header is not None:
            _check_header(path, header)
        return pd.read_csv(path, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"empty data: {path.name} has no header and no rows") from None
    except (pd.errors.ParserError, csv.Error) as exc:
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


def _check_columns(data: pd.DataFrame, label_column: str, categorical: Sequence[str]) -> None:
    if data.empty:
        raise DataError("empty data: the input has a header but no rows")
    if label_column not in data.columns:
        raise DataError(
            f"label column {label_column!r} not found; columns are: {_listing(list(data.columns))}"
        )
    if len(data.columns) < 2:
        raise DataError(f"no feature columns besides the label {label_column!r}")
    if label_column in categorical:
        raise DataError(
            f"preprocessing.categorical lists the label column {label_column!r}; "
            "list feature columns only"
        )
    unknown = [column for column in categorical if column not in data.columns]
    if unknown:
        raise DataError(
            f"categorical column(s) not found: {_listing(unknown)}; columns are: "
            f"{_listing(list(data.columns))}"
        )


def _handle_missing(data: pd.DataFrame, label_column: str, missing: str) -> pd.DataFrame:
    """Rows with a missing value dropped, or the data as is; imputing waits for the split."""
    if missing == "drop":
        kept = data.dropna()
        if kept.empty:
            raise DataError(f"no rows left: each of the {len(data)} rows has a missing value")
        return kept.reset_index(drop=True)
    if missing == "impute":
        if data[label_column].isna().any():
            raise DataError(
                f"missing values in the label column {label_column!r}: imputing fills "
                'features only; set preprocessing.missing = "drop" to drop those rows'
            )
        return data
    incomplete = [column for column in data.columns if data[column].isna().any()]
    if incomplete:
        raise DataError(
            f"missing values in column(s): {_listing(incomplete)}; set preprocessing.missing "
            'to "drop" or "impute" to accept them'
        )
    return data


def _check_features(
    data: pd.DataFrame, features: Sequence[str], categorical: Sequence[str]
) -> None:
    # pandas counts booleans as numeric; they are converted to 0/1 later.
    non_numeric = [
        column
        for column in features
        if column not in categorical and not is_numeric_dtype(data[column])
    ]
    if non_numeric:
        raise DataError(
            f"non-numeric feature column(s): {_listing(non_numeric)}; list them in "
            "preprocessing.categorical to one-hot encode them"
        )
    # XGBoost rejects infinities, so catch them here rather than deep inside training.
    numeric = [column for column in features if column not in categorical]
    infinite = [column for column in numeric if np.isinf(data[column].astype(float)).any()]
    if infinite:
        raise DataError(f"infinite values in column(s): {_listing(infinite)}")


def encode_labels(
    labels: pd.Series, label_column: str, task: str
) -> tuple[pd.Series, list[Any] | None]:
    """Labels as the task's numbers, and the original value of each class when encoded."""
    if task == "regression":
        if not is_numeric_dtype(labels) or is_bool_dtype(labels):
            raise DataError(f"regression label column {label_column!r} must be numeric")
        if np.isinf(labels.astype(float)).any():
            raise DataError(f"infinite values in the label column {label_column!r}")
        return labels.astype(float), None
    distinct = _sorted(labels.unique().tolist())
    if task == "binary" and len(distinct) != 2:
        hint = '; set data.task = "multiclass"' if len(distinct) > 2 else ""
        raise DataError(
            f"a binary label column {label_column!r} must hold exactly two classes; found "
            f"{len(distinct)} distinct value(s): {_listing(distinct)}{hint}"
        )
    if task == "multiclass" and len(distinct) < 3:
        raise DataError(
            f"a multiclass label column {label_column!r} needs at least three classes; found "
            f'{len(distinct)} distinct value(s): {_listing(distinct)}; use data.task = "binary" '
            "for two"
        )
    numeric = is_numeric_dtype(labels) and not is_bool_dtype(labels)
    if numeric and distinct == list(range(len(distinct))):
        # Already class indices (possibly written as 0.0, 1.0): nothing to record.
        return labels.astype(int), None
    index = {value: position for position, value in enumerate(distinct)}
    return labels.map(index).astype(int), [_plain(value) for value in distinct]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _stripped(value: Any) -> Any:
    text = value.strip() if isinstance(value, str) else value
    return None if text == "" else text


def _plain(value: Any) -> Any:
    # numpy scalars are not JSON serialisable; their Python equivalents are.
    return value.item() if isinstance(value, np.generic) else value


def prepare(
    data: pd.DataFrame,
    label_column: str,
    *,
    task: str = "binary",
    categorical: Sequence[str] = (),
    missing: str = "error",
) -> Prepared:
    """Check ``data`` for the task and return it label first, with numeric labels."""
    _check_columns(data, label_column, categorical)
    data = _handle_missing(data, label_column, missing)
    features = [column for column in data.columns if column != label_column]
    _check_features(data, features, categorical)
    labels, classes = encode_labels(data[label_column], label_column, task)
    result = data[[label_column, *features]].copy()
    result[label_column] = labels
    bool_features = [
        column for column in features if column not in categorical and is_bool_dtype(data[column])
    ]
    if bool_features:
        # Written as True/False otherwise, which the XGBoost CSV reader cannot parse.
        result[bool_features] = result[bool_features].astype(int)
    return Prepared(result, classes)


def minimum_rows(fractions: Sequence[float]) -> int:
    """Rows (of each class, when stratified) below which the smallest split cannot get one:
    1 / the smallest fraction, rounded up (7 at the default 0.70/0.15/0.15)."""
    return math.ceil(1.0 / min(fractions) - 1e-9)


def _too_few(label: object, count: int, fractions: Sequence[float]) -> DataError:
    shares = "/".join(f"{fraction:.2f}" for fraction in fractions)
    of_class = "" if label is None else f" of class {label}"
    kind = "" if label is None else "stratified "
    who = "the data needs" if label is None else "each class needs"
    needed = minimum_rows(fractions)
    bound = f"{needed} rows (1 / {min(fractions):.2f}, rounded up)"
    if count < needed:
        why = f"{who} at least {bound} so that every split gets one"
    else:
        why = f"rounding left a split without one, although {who} only {bound} in principle"
    return DataError(
        f"too few rows{of_class} ({count}) for a {kind}train/validation/test split with "
        f"fractions {shares}: {why}; add rows or raise preprocessing.validation_fraction "
        "and test_fraction"
    )


def split_dataset(
    data: pd.DataFrame,
    label_column: str,
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: bool = True,
) -> Splits:
    """Split ``data`` into train/validation/test parts, reproducibly for a seed; stratified
    by the label for a classification."""
    fractions = (1.0 - validation_fraction - test_fraction, validation_fraction, test_fraction)
    needed = minimum_rows(fractions)
    if not stratify:
        if len(data) < needed:
            raise _too_few(None, len(data), fractions)
        rest, test = train_test_split(data, test_size=test_fraction, random_state=seed)
        train, validation = train_test_split(
            rest, test_size=validation_fraction / (1.0 - test_fraction), random_state=seed
        )
        return Splits(train=train, validation=validation, test=test)

    counts = data[label_column].value_counts().sort_index()
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


def impute_values(
    train: pd.DataFrame, label_column: str, categorical: Sequence[str]
) -> dict[str, Any]:
    """Each feature's fill for a missing value, learnt from the train split only: its median
    (numeric) or most frequent value (categorical). Every feature gets one, since a row served
    later may miss any of them."""
    fills: dict[str, Any] = {}
    for column in train.columns:
        if column == label_column:
            continue
        known = train[column].dropna()
        if known.empty:
            raise DataError(f"column {column!r} has no value in the train split to impute from")
        # mode() sorts its result, so a tie picks the same value every run.
        fills[column] = (
            _plain(known.mode().iloc[0]) if column in categorical else float(known.median())
        )
    return fills


def categories(data: pd.DataFrame, categorical: Sequence[str]) -> dict[str, list[Any]]:
    """The sorted distinct values of each categorical column: one 0/1 column each."""
    return {
        column: [_plain(v) for v in _sorted(data[column].dropna().unique().tolist())]
        for column in categorical
    }


def one_hot(frame: pd.DataFrame, values: dict[str, list[Any]]) -> pd.DataFrame:
    """Replace each categorical column, in place, by one int 0/1 column per value; a value
    not among them (one served later) sets none of its columns."""
    columns: list[pd.Series] = []
    for column in frame.columns:
        if column not in values:
            columns.append(frame[column])
            continue
        for value in values[column]:
            columns.append((frame[column] == value).astype(int).rename(f"{column}={value}"))
    return pd.concat(columns, axis=1)


@dataclass(frozen=True)
class FittedTransform:
    """Everything Preprocess learnt from the data, as one JSON artifact: the raw feature
    columns in order, each categorical column's values (its one-hot columns), the fills for
    missing values, and the label's original values. ``apply`` turns raw feature rows into
    the model's input; the splits are written through it, so applying the same artifact to
    a raw row later reproduces training's encoding exactly, with nothing refitted."""

    label: str
    task: str
    missing: str
    features: list[str]
    categories: dict[str, list[Any]]
    fills: dict[str, Any]
    classes: list[Any] | None
    # Every class as the data writes it, in class-index order, also when the data already
    # held indices (classes is None then); None for a regression.
    label_values: list[Any] | None = None

    @property
    def encoded_columns(self) -> list[str]:
        return list(one_hot(pd.DataFrame(columns=self.features), self.categories).columns)

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input for raw feature rows (the label, if present, is left out).
        Missing values are filled only where training imputed them; elsewhere training saw
        none, so a row with one is refused rather than guessed at."""
        missing = [column for column in self.features if column not in frame.columns]
        if missing:
            raise DataError(f"missing column(s): {_listing(missing)}")
        features = frame[self.features]
        if self.fills:
            features = features.fillna(self.fills)
        incomplete = [column for column in self.features if features[column].isna().any()]
        if incomplete:
            raise DataError(
                f"missing value(s) in column(s) {_listing(incomplete)}; the model was trained "
                f'with preprocessing.missing = "{self.missing}", which fills none'
            )
        return one_hot(features, self.categories)

    def frame(self, rows: Sequence[Any]) -> pd.DataFrame:
        """Raw request rows as the data's feature columns: named fields, or rows of values in
        the features' order with an optional header row naming the columns."""
        if rows and all(isinstance(row, Mapping) for row in rows):
            self._check_names({str(key) for row in rows for key in row})
            return self._typed(pd.DataFrame([dict(row) for row in rows], columns=self.features))
        cells = [list(row) for row in rows]
        columns = self.features
        first = [str(cell).strip() for cell in cells[0]] if cells else []
        if set(first) & set(self.features):
            self._check_names(set(first))
            columns, cells = first, cells[1:]
        widths = sorted({len(row) for row in cells})
        if widths != [len(columns)]:
            raise DataError(
                f"each row must have {len(columns)} values ({', '.join(columns)}); got "
                f"{', '.join(map(str, widths)) or 'no rows'}"
            )
        return self._typed(pd.DataFrame(cells, columns=columns)[self.features])

    def _check_names(self, names: set[str]) -> None:
        missing = [column for column in self.features if column not in names]
        extra = sorted(names - set(self.features))
        if missing or extra:
            raise DataError(
                f"columns must be {', '.join(self.features)}; missing: "
                f"{_listing(missing) or 'none'}, unknown: {_listing(extra) or 'none'}"
            )

    def _typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Text cells as the training data's types: numbers for numeric columns (and for a
        categorical column of numbers), an empty cell as a missing value."""
        typed = frame.replace({"": None}).astype(object).where(frame.notna(), None)
        for column in self.features:
            values = self.categories.get(column)
            numeric = values is None or all(_is_number(value) for value in values)
            if not numeric:
                continue
            try:
                typed[column] = pd.to_numeric(typed[column].map(_stripped), errors="raise")
            except (ValueError, TypeError):
                raise DataError(f"column {column!r} holds a value that is not a number") from None
        return typed

    def signature(self) -> dict[str, Any]:
        """The request's columns in order with their type (and a categorical column's known
        values), the label's values and the response's fields, per the task."""
        inputs = [
            {"name": column, "type": "number"}
            if column not in self.categories
            else {"name": column, "type": "category", "values": self.categories[column]}
            for column in self.features
        ]
        for column in inputs:
            column["missing"] = "filled" if column["name"] in self.fills else "refused"
        output: dict[str, Any] = {"regression": {"value": "number"}}.get(self.task) or {
            "label": "one of the label's values",
            "probabilities": "one per label value, in the order of label.values",
        }
        if self.task == "binary":
            output["score"] = "probability of the second label value"
        return {
            "task": self.task,
            "inputs": inputs,
            "label": {"name": self.label, "values": self.label_values},
            "output": output,
            "content_types": ["text/csv", "application/json"],
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> FittedTransform:
        fields: Mapping[str, Any] = json.loads(text)
        return cls(**fields)


def write_splits(
    splits: Splits,
    output_dir: Path,
    classes: list[Any] | None = None,
    transform: FittedTransform | None = None,
    raw_test: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write each split as ``<output_dir>/<name>/<name>.csv``, headerless, label first, the
    classes of encoded labels as ``train/classes.json`` (not a CSV: loaders skip it), the
    fitted transform and its signature under ``transform/`` and the raw test rows as
    ``test/raw/test.csv``."""
    written = {}
    for name, frame in splits._asdict().items():
        path = output_dir / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, header=False, index=False)
        written[name] = path
    if classes is not None:
        path = output_dir / "train" / CLASSES_FILE
        path.write_text(json.dumps({"classes": classes}, indent=2) + "\n")
        written["classes"] = path
    if transform is not None:
        path = output_dir / TRANSFORM_OUTPUT / TRANSFORM_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(transform.to_json())
        written["transform"] = path
        path = output_dir / TRANSFORM_OUTPUT / SIGNATURE_FILE
        path.write_text(json.dumps(transform.signature(), indent=2) + "\n")
        written["signature"] = path
    if raw_test is not None:
        path = output_dir / "test" / RAW_TEST_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        _whole_numbers_as_integers(raw_test).to_csv(path, index=False)
        written["raw_test"] = path
    return written


def _whole_numbers_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """A column of whole numbers with gaps is float in pandas (4.0); written back as the data
    had it (4), so the raw rows read like the input."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if is_numeric_dtype(values) and not is_bool_dtype(values):
            known = values.dropna()
            if not known.empty and bool((known == known.round()).all()):
                frame[column] = values.astype("Int64")
    return frame


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=Path(INPUT_DIR))
    parser.add_argument("--output-dir", type=Path, default=Path(OUTPUT_DIR))
    parser.add_argument("--label-column", default="target")
    parser.add_argument("--task", choices=TASKS, default="binary")
    parser.add_argument("--missing", choices=MISSING_POLICIES, default="error")
    parser.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a text feature column to one-hot encode (repeat for several)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    args = parser.parse_args(argv)
    if args.validation_fraction <= 0 or args.test_fraction <= 0:
        parser.error("--validation-fraction and --test-fraction must be greater than 0")
    if args.validation_fraction + args.test_fraction >= 1:
        parser.error("--validation-fraction plus --test-fraction must be less than 1")
    return args


def run(args: argparse.Namespace) -> Preprocessed:
    """Read, check, split, fit the transform and encode; raises DataError before anything is
    written."""
    categorical = list(dict.fromkeys(args.categorical))
    prepared = prepare(
        read_dataset(args.input_dir),
        args.label_column,
        task=args.task,
        categorical=categorical,
        missing=args.missing,
    )
    splits = split_dataset(
        prepared.data,
        args.label_column,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        stratify=args.task != "regression",
    )
    features = [column for column in prepared.data.columns if column != args.label_column]
    fills = (
        impute_values(splits.train, args.label_column, categorical)
        if args.missing == "impute"
        else {}
    )
    transform = FittedTransform(
        label=args.label_column,
        task=args.task,
        missing=args.missing,
        features=features,
        # From all rows, so every split gets the same columns in the same order.
        categories=categories(prepared.data, categorical),
        fills=fills,
        classes=prepared.classes,
        label_values=None
        if args.task == "regression"
        else prepared.classes or sorted(int(v) for v in prepared.data[args.label_column].unique()),
    )
    encoded = [
        pd.concat([part[[args.label_column]], transform.apply(part)], axis=1) for part in splits
    ]
    return Preprocessed(Splits(*encoded), transform, splits.test[features])


def _summary(splits: Splits, label_column: str, task: str) -> str:
    labels = pd.concat([part[label_column] for part in splits])
    if task == "binary":
        return f"positive rate {labels.mean():.3f}"
    if task == "multiclass":
        return f"{labels.nunique()} classes"
    return f"label mean {labels.mean():.4g}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        splits, transform, raw_test = run(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    write_splits(splits, args.output_dir, transform.classes, transform, raw_test)
    counts = " ".join(f"{name}={len(frame)}" for name, frame in splits._asdict().items())
    total = sum(len(frame) for frame in splits)
    print(
        f"preprocess: wrote {counts} rows ({total} total, {splits.train.shape[1] - 1} features, "
        f"{_summary(splits, args.label_column, args.task)}) to {args.output_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
