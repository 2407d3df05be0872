"""Inference handlers for the SageMaker XGBoost container in script mode.

The serving toolkit calls ``model_fn`` once, then ``input_fn`` -> ``predict_fn`` -> ``output_fn``
per request. A model trained on the shipped preprocessor's output carries its fitted transform
(``transform.json``): requests then hold the data's own columns (CSV with or without a header
row, or JSON objects with named fields; text categories and missing values as in the data),
encoded exactly as training encoded them. Without a transform, requests hold the numeric
feature rows. A client's mistake raises ``RequestError`` (4xx). Responses are JSON
``{"predictions": [...]}`` with one record per row, shaped by the task the model was trained
for (recorded in the model by train.py), labels as the data wrote them:

- binary: ``{"score": p, "label": 0|1}``, ``p`` the probability of class 1;
- multiclass: ``{"label": k, "probabilities": [p0, p1, ...]}``;
- regression: ``{"value": v}``.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xgboost as xgb

if TYPE_CHECKING:
    import numpy.typing as npt

MODEL_FILE_NAME = "xgboost-model"
# The shipped preprocessor's fitted transform, packed beside the model by train.py; its code
# (preprocess.py) ships in the same source bundle as this script.
TRANSFORM_FILE = "transform.json"
# Written by train.py; a model saved before tasks existed is a binary classifier.
TASK_ATTRIBUTE = "task"
DEFAULT_TASK = "binary"
TASKS = ("binary", "multiclass", "regression")
THRESHOLD = 0.5
CSV = "text/csv"
JSON = "application/json"


class RequestError(ValueError):
    """A client's mistake in the request, answered with ``status_code`` rather than 500.

    The SageMaker inference toolkit answers an error carrying a ``status_code`` (its
    GenericInferenceToolkitError) with that status; the local model server does the same.
    Whether a given framework image's serving stack honours it is not verified offline."""

    status_code = 400


class UnsupportedMediaError(RequestError):
    status_code = 415


class NotAcceptableError(RequestError):
    status_code = 406


class Predictions(np.ndarray):
    """Predictions tagged with the model's task and its labels' original values: output_fn
    receives only this array, and a regression's values are as one-dimensional as a binary
    classifier's scores."""

    task: str = DEFAULT_TASK
    classes: list[Any] | None = None

    def __array_finalize__(self, obj: Any) -> None:
        # Views and slices keep the tags.
        self.task = getattr(obj, "task", DEFAULT_TASK)
        self.classes = getattr(obj, "classes", None)


def tagged(values: Any, task: str, classes: list[Any] | None = None) -> Predictions:
    predictions = np.asarray(values, dtype=np.float32).view(Predictions)
    predictions.task = task
    predictions.classes = classes
    return predictions


class RawRows(list):  # type: ignore[type-arg]
    """Rows a numeric array cannot hold (text cells, a header, named fields): what the fitted
    transform turns into the model's input in predict_fn, which has the model at hand."""


def model_task(model: xgb.Booster) -> str:
    task = model.attr(TASK_ATTRIBUTE) or DEFAULT_TASK
    if task not in TASKS:
        raise ValueError(f"model records an unknown task {task!r}; expected one of {TASKS}")
    return task


def _media_type(content_type: str | None) -> str:
    # Clients often send parameters, e.g. "text/csv; charset=utf-8".
    return (content_type or "").split(";")[0].strip().lower()


def _text(body: bytes | bytearray | str) -> str:
    return body if isinstance(body, str) else bytes(body).decode("utf-8")


def model_fn(model_dir: str) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, MODEL_FILE_NAME))
    transform_path = os.path.join(model_dir, TRANSFORM_FILE)
    if os.path.isfile(transform_path):
        # preprocess.py ships in the source bundle beside this script; imported only here, so
        # a model without a transform needs neither it nor pandas.
        preprocess = importlib.import_module("preprocess")
        with open(transform_path, encoding="utf-8") as file:
            transform = preprocess.FittedTransform.from_json(file.read())
        booster.fitted_transform = transform  # type: ignore[attr-defined]
    return booster


def _parse_csv(text: str) -> list[list[float]] | RawRows:
    cells = [
        row
        for row in csv.reader(io.StringIO(text))
        if row and not all(not cell.strip() for cell in row)
    ]
    try:
        # An empty cell is a missing value, which XGBoost handles natively.
        return [[float(cell) if cell.strip() else math.nan for cell in row] for row in cells]
    except ValueError:
        # Text: a header or categorical values, for the fitted transform to read.
        return RawRows(cells)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_json(text: str) -> list[list[float]] | RawRows:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError(f"request body is not valid JSON: {exc}") from None
    if isinstance(payload, dict):
        if "instances" not in payload:
            raise RequestError('JSON object must have an "instances" list')
        payload = payload["instances"]
    if not isinstance(payload, list):
        raise ValueError(
            "JSON body must be a list of numbers, a list of lists or {'instances': ...}"
        )
    if payload and all(isinstance(row, dict) for row in payload):
        return RawRows(payload)  # named fields
    # A flat list of numbers is a single row.
    rows = [payload] if payload and all(_is_number(v) or v is None for v in payload) else payload
    if any(isinstance(row, list) and any(isinstance(v, str) for v in row) for row in rows):
        return RawRows(rows)
    parsed = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or not all(_is_number(v) or v is None for v in row):
            raise RequestError(f"JSON row {number} must be a list of numbers")
        parsed.append([math.nan if v is None else float(v) for v in row])
    return parsed


def input_fn(
    request_body: bytes | bytearray | str, request_content_type: str | None
) -> npt.NDArray[np.float32] | RawRows:
    """Decode a request into a 2-D float array of feature rows, or the raw rows when they
    hold text (a header, categorical values, named JSON fields)."""
    media_type = _media_type(request_content_type)
    if media_type == CSV:
        rows = _parse_csv(_text(request_body))
    elif media_type == JSON:
        rows = _parse_json(_text(request_body))
    else:
        raise UnsupportedMediaError(
            f"unsupported content type {request_content_type!r}; use {CSV} or {JSON}"
        )
    if not rows:
        raise RequestError("request contains no rows")
    if isinstance(rows, RawRows):
        return rows
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise RequestError(f"rows have different numbers of features: {sorted(widths)}")
    return np.asarray(rows, dtype=np.float32)


def _model_input(
    input_data: npt.NDArray[np.float32] | RawRows, model: xgb.Booster
) -> npt.NDArray[np.float32]:
    """Raw rows through the model's fitted transform, exactly as training encoded its rows;
    rows already encoded (the evaluator's, or a model without a transform) as they are."""
    transform = getattr(model, "fitted_transform", None)
    if isinstance(input_data, RawRows):
        if transform is None:
            raise RequestError("this model takes numeric feature rows only: no fitted transform")
        rows: list[Any] = input_data
    elif (
        transform is not None
        and input_data.shape[1] == len(transform.features)
        and bool(np.isnan(input_data).any())
    ):
        # Raw numeric rows still get training's fills for their missing values.
        rows = input_data.tolist()
    else:
        return input_data
    try:
        encoded = transform.apply(transform.frame(rows)).to_numpy(dtype=float)
    except ValueError as error:  # the transform's DataError: a row that does not fit
        raise RequestError(str(error)) from None
    return np.asarray(encoded, dtype=np.float32)


def predict_fn(input_data: npt.NDArray[np.float32] | RawRows, model: xgb.Booster) -> Predictions:
    """Per row: the probability of class 1 (binary), the probability of each class as an
    (n, k) array (multiclass) or the predicted value (regression)."""
    input_data = _model_input(input_data, model)
    expected = model.num_features()
    if input_data.ndim != 2 or input_data.shape[1] != expected:
        raise RequestError(f"each row must have {expected} features, got shape {input_data.shape}")
    transform = getattr(model, "fitted_transform", None)
    classes = transform.classes if transform is not None else None
    return tagged(model.predict(xgb.DMatrix(input_data)), model_task(model), classes)


def _records(prediction: npt.NDArray[np.float32]) -> list[dict[str, Any]]:
    # A plain array (no task tag) is read by its shape: rows of probabilities or scores.
    task = getattr(prediction, "task", "multiclass" if np.ndim(prediction) == 2 else "binary")
    classes = getattr(prediction, "classes", None)

    def label(index: int) -> Any:
        # The label as the data wrote it ("yes", "class_a"), when training had to encode it.
        return classes[index] if classes else index

    if task == "multiclass":
        return [
            {"label": label(int(np.argmax(row))), "probabilities": [float(p) for p in row]}
            for row in np.atleast_2d(np.asarray(prediction))
        ]
    values = np.ravel(np.asarray(prediction))
    if task == "regression":
        return [{"value": float(v)} for v in values]
    return [
        {
            "score": float(p),
            "label": label(int(p >= THRESHOLD)),
            "probabilities": [1.0 - float(p), float(p)],
        }
        for p in values
    ]


def output_fn(prediction: npt.NDArray[np.float32], accept: str | None) -> str:
    """Encode predictions as JSON; ``*/*`` and no Accept header also get JSON."""
    if _media_type(accept) not in ("", "*/*", JSON):
        raise NotAcceptableError(f"unsupported accept type {accept!r}; use {JSON}")
    return json.dumps({"predictions": _records(prediction)})


def predict(model: xgb.Booster, rows: Sequence[Sequence[float]]) -> list[dict[str, Any]]:
    """Predict for feature rows directly, e.g. in a notebook or test: the response's records."""
    return _records(predict_fn(np.asarray(rows, dtype=np.float32), model))
