"""Serve the wine random forest: the serving half of "bring your own script".

SageMaker's scikit-learn serving toolkit calls ``model_fn`` once, then ``input_fn`` ->
``predict_fn`` -> ``output_fn`` per request; the pipeline's evaluation step calls ``model_fn``
and ``predict_fn`` the same way to score the test split. Requests carry feature rows only, as
``text/csv`` or ``application/json`` (a list of rows or ``{"instances": [...]}``).
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import joblib
import numpy as np


def model_fn(model_dir: str) -> Any:
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body: bytes | str, content_type: str) -> np.ndarray:
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "text/csv":
        return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
    if media_type == "application/json":
        rows = json.loads(text)
        rows = rows["instances"] if isinstance(rows, dict) else rows
        return np.atleast_2d(np.asarray(rows, dtype=float))
    raise ValueError(f"unsupported content type {content_type!r}; use text/csv or application/json")


def predict_fn(data: np.ndarray, model: Any) -> np.ndarray:
    # One row of class probabilities per input row; column k is class k.
    probabilities: np.ndarray = model.predict_proba(data)
    return probabilities


def output_fn(prediction: np.ndarray, accept: str) -> str:
    if accept not in ("application/json", "*/*", "", None):
        raise ValueError(f"unsupported accept type {accept!r}; use application/json")
    records = [
        {"label": int(np.argmax(row)), "probabilities": [float(p) for p in row]}
        for row in prediction
    ]
    return json.dumps({"predictions": records})
