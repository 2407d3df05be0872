"""The inference handlers: request decoding, each task's prediction and JSON response."""

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
from tests.steps.runner import TrainedModel, files_under


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

    assert isinstance(decoded, np.ndarray)
    assert decoded.dtype == np.float32
    assert decoded.tolist() == expected


def test_input_fn_treats_empty_csv_cells_and_json_nulls_as_missing() -> None:
    from_csv = inference.input_fn("1,,3", "text/csv")
    from_json = inference.input_fn("[1, null, 3]", "application/json")

    assert isinstance(from_csv, np.ndarray)
    assert isinstance(from_json, np.ndarray)
    assert math.isnan(from_csv[0, 1])
    assert math.isnan(from_json[0, 1])


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("1,2,3", "application/x-npy", "unsupported content type 'application/x-npy'"),
        ("1,2", None, "unsupported content type None"),
        ("1,2\n3", "text/csv", "different numbers of features"),
        ("\n\n", "text/csv", "no rows"),
        ('{"rows": [[1]]}', "application/json", '"instances"'),
        ("[[1, 2], 3]", "application/json", "JSON row 2 must be a list of numbers"),
        ("{", "application/json", "not valid JSON"),
    ],
)
def test_input_fn_rejects_what_it_cannot_decode(
    body: str, content_type: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        inference.input_fn(body, content_type)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("1,abc", "text/csv"),
        ("a,b\n1,2", "text/csv"),
        ('[[1, "a"]]', "application/json"),
        ('{"instances": [{"a": 1}]}', "application/json"),
    ],
)
def test_text_rows_wait_for_the_model_s_transform_and_a_model_without_one_refuses_them(
    trained: TrainedModel, body: str, content_type: str
) -> None:
    decoded = inference.input_fn(body, content_type)
    assert isinstance(decoded, inference.RawRows)
    model = inference.model_fn(str(trained.model_dir))
    with pytest.raises(ValueError, match="numeric feature rows only: no fitted transform"):
        inference.predict_fn(decoded, model)


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


def serve_split(model_dir: Path, split: Path) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The responses to the test split's feature rows sent as CSV, and the rows."""
    rows = pd.read_csv(split / "test" / "test.csv", header=None)
    model = inference.model_fn(str(model_dir))
    return _serve(model, rows.iloc[:, 1:].to_csv(header=False, index=False), "text/csv"), rows


def test_multiclass_response_has_the_label_and_every_class_probability(
    wine_trained: TrainedModel, wine_split: Path
) -> None:
    predictions, rows = serve_split(wine_trained.model_dir, wine_split)

    assert all(set(p) == {"label", "probabilities"} for p in predictions)
    assert all(len(p["probabilities"]) == 3 for p in predictions)
    assert all(p["label"] == int(np.argmax(p["probabilities"])) for p in predictions)
    assert all(sum(p["probabilities"]) == pytest.approx(1, abs=1e-5) for p in predictions)
    accuracy = np.mean([p["label"] == label for p, label in zip(predictions, rows[0], strict=True)])
    assert accuracy >= 0.9


def test_regression_response_has_one_value_a_row(
    diabetes_trained: TrainedModel, diabetes_split: Path
) -> None:
    predictions, rows = serve_split(diabetes_trained.model_dir, diabetes_split)

    assert all(set(p) == {"value"} for p in predictions)
    values = np.array([p["value"] for p in predictions])
    # Far better than predicting the mean: a scale check, not a quality gate.
    assert np.sqrt(np.mean((values - rows[0]) ** 2)) < rows[0].std()


def test_predict_fn_tags_its_output_with_the_models_task(
    wine_trained: TrainedModel, wine_split: Path
) -> None:
    model = inference.model_fn(str(wine_trained.model_dir))
    features = pd.read_csv(wine_split / "test" / "test.csv", header=None).iloc[:2, 1:]

    prediction = inference.predict_fn(features.to_numpy(dtype=np.float32), model)

    assert prediction.shape == (2, 3)
    assert prediction.task == "multiclass"
    first = prediction[:1]
    assert isinstance(first, inference.Predictions)
    assert first.task == "multiclass"


def test_a_model_without_a_recorded_task_is_served_as_binary(
    trained: TrainedModel, test_rows: pd.DataFrame, tmp_path: Path
) -> None:
    # What train.py saved before it recorded the task.
    booster = inference.model_fn(str(trained.model_dir))
    booster.set_attr(task=None)
    (tmp_path / "xgboost-model").write_bytes(bytes(booster.save_raw(raw_format="json")))
    old = inference.model_fn(str(tmp_path))

    predictions = inference.predict(old, test_rows.iloc[:2, 1:].to_numpy().tolist())

    assert old.attr("task") is None
    assert [set(p) for p in predictions] == [{"score", "label", "probabilities"}] * 2
    assert files_under(tmp_path) == [tmp_path / "xgboost-model"]


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        (inference.tagged([3.5, -1.0], "regression"), [{"value": 3.5}, {"value": -1.0}]),
        (
            np.array([[0.25, 0.75]], dtype=np.float32),
            [{"label": 1, "probabilities": [0.25, 0.75]}],
        ),
        (
            inference.tagged([0.75], "binary"),
            [{"score": 0.75, "label": 1, "probabilities": [0.25, 0.75]}],
        ),
    ],
    ids=["tagged regression", "untagged 2-D", "tagged binary"],
)
def test_output_fn_formats_by_the_task_tag_or_else_the_shape(
    prediction: np.ndarray[Any, Any], expected: list[dict[str, Any]]
) -> None:
    assert json.loads(inference.output_fn(prediction, None))["predictions"] == expected


def test_a_model_recording_an_unknown_task_is_refused(trained: TrainedModel) -> None:
    booster = inference.model_fn(str(trained.model_dir))
    booster.set_attr(task="ranking")

    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        inference.predict_fn(np.zeros((1, 30), dtype=np.float32), booster)
