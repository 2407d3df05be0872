"""The inference handlers: request decoding, prediction and the JSON response."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from pipelines.steps import inference
from tests.steps.runner import TrainedModel


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("1,2,3", "text/csv", [[1, 2, 3]]),
        (b"1,2,3\n4,5,6\n", "text/csv", [[1, 2, 3], [4, 5, 6]]),
        (b"1.5,-2,3e2\r\n", "text/csv; charset=utf-8", [[1.5, -2, 300]]),
        ('{"instances": [[1, 2, 3], [4, 5, 6]]}', "application/json", [[1, 2, 3], [4, 5, 6]]),
        (b"[1, 2, 3]", "application/json", [[1, 2, 3]]),
        ("[[1, 2, 3]]", "Application/JSON", [[1, 2, 3]]),
    ],
    ids=[
        "csv row",
        "csv rows as bytes",
        "csv with charset",
        "json instances",
        "json row",
        "json rows",
    ],
)
def test_input_fn_decodes_csv_and_json_rows(
    body: str | bytes, content_type: str, expected: list[list[float]]
) -> None:
    decoded = inference.input_fn(body, content_type)

    assert decoded.dtype == np.float32
    assert decoded.tolist() == expected


def test_input_fn_treats_empty_csv_cells_and_json_nulls_as_missing() -> None:
    from_csv = inference.input_fn("1,,3", "text/csv")
    from_json = inference.input_fn("[1, null, 3]", "application/json")

    assert math.isnan(from_csv[0, 1])
    assert math.isnan(from_json[0, 1])


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("1,2,3", "application/x-npy", "unsupported content type 'application/x-npy'"),
        ("1,2", None, "unsupported content type None"),
        ("1,2\n3", "text/csv", "different numbers of features"),
        ("1,abc", "text/csv", "CSV row 1 has a value that is not a number"),
        ("\n\n", "text/csv", "no rows"),
        ('{"rows": [[1]]}', "application/json", '"instances"'),
        ('[[1, "a"]]', "application/json", "JSON row 1 must be a list of numbers"),
        ("[[1, 2], 3]", "application/json", "JSON row 2 must be a list of numbers"),
        ("{", "application/json", "not valid JSON"),
    ],
)
def test_input_fn_rejects_what_it_cannot_decode(
    body: str, content_type: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        inference.input_fn(body, content_type)


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
def test_output_fn_returns_scores_and_labels_as_json(accept: str | None) -> None:
    body = inference.output_fn(np.array([0.2, 0.5, 0.9], dtype=np.float32), accept)

    predictions = json.loads(body)["predictions"]
    assert [p["label"] for p in predictions] == [0, 1, 1]
    assert [p["score"] for p in predictions] == pytest.approx([0.2, 0.5, 0.9])


def test_output_fn_rejects_other_accept_types() -> None:
    with pytest.raises(ValueError, match="unsupported accept type 'text/csv'"):
        inference.output_fn(np.array([0.2], dtype=np.float32), "text/csv")


@pytest.fixture(scope="module")
def test_rows(split_dir: Path) -> pd.DataFrame:
    return pd.read_csv(split_dir / "test" / "test.csv", header=None)


def _serve(model: xgb.Booster, body: str, content_type: str) -> list[dict[str, Any]]:
    """The handler chain the SageMaker serving toolkit runs for one request."""
    prediction = inference.predict_fn(inference.input_fn(body, content_type), model)
    predictions: list[dict[str, Any]] = json.loads(
        inference.output_fn(prediction, "application/json")
    )["predictions"]
    return predictions


def test_round_trip_with_a_trained_model_scores_csv_and_json_alike(
    trained: TrainedModel, test_rows: pd.DataFrame
) -> None:
    model = inference.model_fn(str(trained.model_dir))
    features = test_rows.iloc[:, 1:]
    labels = test_rows[0].tolist()
    csv_body = features.to_csv(header=False, index=False)
    json_body = json.dumps({"instances": features.to_numpy().tolist()})

    from_csv = _serve(model, csv_body, "text/csv")
    from_json = _serve(model, json_body, "application/json")

    direct = model.predict(xgb.DMatrix(features.to_numpy(dtype=np.float32)))
    assert [p["score"] for p in from_csv] == pytest.approx(direct.tolist(), abs=1e-6)
    assert from_json == from_csv
    accuracy = np.mean([p["label"] == label for p, label in zip(from_csv, labels, strict=True)])
    assert accuracy >= 0.9


def test_predict_helper_matches_the_handler_chain(
    trained: TrainedModel, test_rows: pd.DataFrame
) -> None:
    model = inference.model_fn(str(trained.model_dir))
    rows = test_rows.iloc[:3, 1:].to_numpy().tolist()

    assert inference.predict(model, rows) == _serve(model, json.dumps(rows), "application/json")


def test_predict_fn_rejects_the_wrong_number_of_features(trained: TrainedModel) -> None:
    model = inference.model_fn(str(trained.model_dir))

    with pytest.raises(ValueError, match="each row must have 30 features"):
        inference.predict_fn(np.ones((1, 3), dtype=np.float32), model)
