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

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from pipelines.local import serving
from pipelines.steps import preprocess, train
from tests.steps.runner import STEPS_DIR, run_main, train_argv
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
    splits, transform = preprocess.run(args)
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
