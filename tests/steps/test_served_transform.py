"""A model trained on the shipped preprocessor's output serves raw rows (text categories,
missing values, a header, named JSON fields) through the fitted transform in its artifact,
and answers with the data's label values. The reference is the training-time encoding: the
row as Preprocess wrote it into its split."""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from pipelines.local import serving
from pipelines.steps import evaluate, preprocess, train
from tests.steps.runner import STEPS_DIR, pack_model, run_main, train_argv
from tests.steps.test_fitted_transform import churn_like

OPTIONS = ["--categorical", "plan", "--categorical", "region", "--missing", "impute"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path, Path]:
    root = tmp_path_factory.mktemp("served")
    frame = churn_like(200)
    # The label follows charges, so the value a missing charge is filled with matters.
    frame["target"] = np.where(frame["charges"].fillna(0) > 70.0, "yes", "no")
    (root / "input").mkdir()
    frame.to_csv(root / "input" / "data.csv", index=False)
    run = run_main(
        preprocess.main, ["--input-dir", root / "input", "--output-dir", root / "splits", *OPTIONS]
    )
    assert run.code == 0, run.stderr
    argv = train_argv(root / "splits", root, "--num_round", "20")
    run = run_main(train.main, [*argv, "--transform", str(root / "splits" / "transform")])
    assert run.code == 0, run.stderr
    code = root / "code"  # the source bundle: the serving script and the transform's code
    code.mkdir()
    for name in ("inference.py", "preprocess.py"):
        shutil.copy(STEPS_DIR / name, code / name)
    return frame, root, code


@pytest.fixture(scope="module")
def endpoint(served: tuple[pd.DataFrame, Path, Path]) -> serving.ModelServer:
    _, root, code = served
    return serving.load_server(str(root / "model"), str(code), "inference.py")


@pytest.fixture(scope="module")
def reference(served: tuple[pd.DataFrame, Path, Path]) -> Callable[[pd.Series], float]:
    """The model's score for the split row training encoded from a raw row: the splits
    Preprocess produced (keeping the input's row index), scored by the trained booster."""
    _, root, _ = served
    args = preprocess.parse_args(["--input-dir", str(root / "input"), *OPTIONS])
    splits, transform, _ = preprocess.run(args)
    encoded = pd.concat(splits).drop(columns=transform.label)
    booster = xgb.Booster()
    booster.load_model(str(root / "model" / "xgboost-model"))

    def score(raw: pd.Series) -> float:
        row = encoded.loc[[raw.name]].to_numpy(dtype=float)
        return float(booster.predict(xgb.DMatrix(row))[0])

    return score


def test_a_raw_row_with_text_and_a_missing_value_scores_as_training_encoded_it(
    served: tuple[pd.DataFrame, Path, Path],
    endpoint: serving.ModelServer,
    reference: Callable[[pd.Series], float],
) -> None:
    frame = served[0]
    raw = frame.loc[4]  # its charges are missing: training filled the train median
    assert math.isnan(raw["charges"])
    body = f"tenure,charges,plan,region\n{raw['tenure']},,{raw['plan']},{raw['region']}\n"
    answer, _ = endpoint.invoke(body.encode(), "text/csv", "application/json")
    (prediction,) = json.loads(answer)["predictions"]
    assert prediction["score"] == pytest.approx(reference(raw), abs=1e-6)
    # Skipping the transform, or refitting it on the request, gives another answer: the fill
    # a one-row request would learn is no value at all, and zero is not the train median.
    zero_filled = body.replace(",,", ",0,")
    other, _ = endpoint.invoke(zero_filled.encode(), "text/csv", "application/json")
    assert json.loads(other)["predictions"][0]["score"] != prediction["score"]


def test_named_json_fields_and_label_values_as_in_the_data(
    served: tuple[pd.DataFrame, Path, Path],
    endpoint: serving.ModelServer,
    reference: Callable[[pd.Series], float],
) -> None:
    frame = served[0]
    raw = frame.loc[7]
    instance = {
        "region": raw["region"],
        "plan": None,
        "tenure": int(raw["tenure"]),
        "charges": raw["charges"],
    }
    body = json.dumps({"instances": [instance]}).encode()
    answer, _ = endpoint.invoke(body, "application/json", "application/json")
    (prediction,) = json.loads(answer)["predictions"]
    assert prediction["label"] in ("no", "yes")
    assert prediction["score"] == pytest.approx(reference(raw), abs=1e-6)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("tenure,charges,plan\n1,2,pro\n", "missing: region, unknown: none"),
        ("tenure,charges,plan,region,colour\n1,2,pro,north,red\n", "unknown: colour"),
        ("tenure,charges,plan,region\nabc,2,pro,north\n", "column 'tenure' holds a value that"),
        ("1,2,pro\n", "each row must have 4 values (tenure, charges, plan, region); got 3"),
    ],
)
def test_a_row_that_does_not_fit_the_signature_is_named(
    endpoint: serving.ModelServer, body: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        endpoint.invoke(body.encode(), "text/csv", "application/json")


def test_a_binary_response_has_each_label_value_s_probability(
    endpoint: serving.ModelServer,
) -> None:
    body = b"tenure,charges,plan,region\n12,85.0,pro,south\n"
    answer, _ = endpoint.invoke(body, "text/csv", "application/json")
    (prediction,) = json.loads(answer)["predictions"]
    no, yes = prediction["probabilities"]
    assert yes == pytest.approx(prediction["score"])
    assert no + yes == pytest.approx(1.0)
    assert prediction["label"] == ("yes" if yes >= 0.5 else "no")


def test_the_model_carries_its_signature(served: tuple[pd.DataFrame, Path, Path]) -> None:
    _, root, _ = served
    signature = json.loads((root / "model" / preprocess.SIGNATURE_FILE).read_text())
    assert signature["task"] == "binary"
    assert [column["name"] for column in signature["inputs"]] == [
        "tenure",
        "charges",
        "plan",
        "region",
    ]
    plan = signature["inputs"][2]
    assert plan == {
        "name": "plan",
        "type": "category",
        "values": ["basic", "plus", "pro"],
        "missing": "filled",
    }
    assert signature["inputs"][0]["type"] == "number"
    assert signature["label"] == {"name": "target", "values": ["no", "yes"]}
    assert set(signature["output"]) == {"label", "probabilities", "score"}


@pytest.fixture(scope="module")
def evaluated(
    served: tuple[pd.DataFrame, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Path], tuple[int, str, dict[str, Any]]]:
    """Evaluate the served model on a given test directory, as the Evaluate step does."""
    _, root, code = served
    models = tmp_path_factory.mktemp("candidates")
    pack_model(root / "model", models / "baseline")

    def run(test_dir: Path) -> tuple[int, str, dict[str, Any]]:
        output = tmp_path_factory.mktemp("evaluation")
        argv = [
            *("--test-dir", str(test_dir), "--train-dir", str(root / "splits" / "train")),
            *("--source-dir", str(code), "--model-root", str(models)),
            *("--output-dir", str(output), "--model", "baseline", "s3://b/model.tar.gz"),
        ]
        result = run_main(evaluate.main, argv)
        report_file = output / "evaluation.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else {}
        return result.code, result.stdout + result.stderr, report

    return run


def test_the_evaluator_scores_the_raw_test_rows_through_the_serving_script(
    served: tuple[pd.DataFrame, Path, Path],
    evaluated: Callable[[Path], tuple[int, str, dict[str, Any]]],
    tmp_path: Path,
) -> None:
    _, root, _ = served
    raw = pd.read_csv(root / "splits" / "test" / preprocess.RAW_TEST_FILE)
    assert list(raw.columns) == ["tenure", "charges", "plan", "region"]  # no label
    code, output, report = evaluated(root / "splits" / "test")
    assert code == 0, output
    assert report["scored_as_served"] is True
    assert "through input_fn" in output
    # The rows it scored are the raw ones: a test split whose raw rows name an unknown column
    # fails, where the encoded rows alone would have scored.
    broken = tmp_path / "test"
    shutil.copytree(root / "splits" / "test", broken)
    (broken / preprocess.RAW_TEST_FILE).write_text("tenure,charges,plan,colour\n1,2,pro,red\n")
    code, output, _ = evaluated(broken)
    assert code == 1
    assert "baseline: predict_fn failed" in output
    assert "unknown: colour" in output
