"""The evaluation step: the preprocess -> train -> evaluate chain of each task through the
model's own inference script, selection by the metric's direction, the metrics themselves,
safe extraction and bad inputs."""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as sk

from pipelines.definition import contract
from pipelines.steps import evaluate, train
from tests.steps.runner import (
    MODELS_DIR,
    TrainedModel,
    files_under,
    pack_model,
    pack_source,
    run_main,
    train_argv,
)

BASELINE_URI = "s3://artifacts/pipelines/baseline/output/model.tar.gz"
TUNED_URI = "s3://artifacts/pipelines/tuned/output/model.tar.gz"
URIS = {"baseline": BASELINE_URI, "tuned": TUNED_URI}


def stage_models(root: Path, models: dict[str, Path]) -> Path:
    """The model root a processing job gets: <root>/<name>/model.tar.gz per candidate."""
    for name, model_dir in models.items():
        pack_model(model_dir, root / name)
    return root


def evaluate_argv(
    test_dir: Path,
    source_dir: Path,
    model_root: Path,
    output: Path,
    *names: str,
    task: str = "binary",
    metric: str | None = None,
    train_dir: Path | None = None,
) -> list[str]:
    """The evaluator's arguments; the train split is the test split's sibling unless given."""
    train = train_dir or test_dir.parent / "train"
    argv = [
        *("--test-dir", str(test_dir), "--train-dir", str(train)),
        *("--source-dir", str(source_dir)),
        *("--inference", "inference.py", "--task", task),
        *(("--metric", metric) if metric else ()),
        *("--model-root", str(model_root), "--output-dir", str(output)),
    ]
    for name in names or ("baseline", "tuned"):
        argv += ["--model", name, URIS.get(name, f"s3://artifacts/{name}/model.tar.gz")]
    return argv


def read_report(output: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((output / "evaluation.json").read_text())
    return report


@pytest.fixture(scope="module")
def weak_model_dir(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-stump model: clearly worse than the trained one, so selection is not a tie."""
    root = tmp_path_factory.mktemp("weak")
    argv = train_argv(split_dir, root, "--num_round", "1", "--max_depth", "1")
    assert run_main(train.main, argv).code == 0
    return root / "model"


@pytest.fixture(scope="module")
def weak_regressor_dir(diabetes_split: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("weak-regressor")
    argv = train_argv(diabetes_split, root, "--task", "regression", "--num_round", "2")
    assert run_main(train.main, argv).code == 0
    return root / "model"


def test_chain_selects_the_better_tuned_model_with_test_auc_above_098(
    split_dir: Path,
    trained: TrainedModel,
    weak_model_dir: Path,
    shipped_source: Path,
    tmp_path: Path,
) -> None:
    models = stage_models(tmp_path / "m", {"baseline": weak_model_dir, "tuned": trained.model_dir})

    run = run_main(
        evaluate.main,
        evaluate_argv(split_dir / "test", shipped_source, models, tmp_path / "eval"),
    )

    assert run.code == 0, run.stderr
    report = read_report(tmp_path / "eval")
    metrics = report["binary_classification_metrics"]
    assert metrics["auc"]["value"] >= 0.98
    assert report["selected_model"] == {"name": "tuned", "s3_uri": TUNED_URI}
    assert report["candidates"]["tuned"] == {"auc": metrics["auc"]["value"]}
    assert report["candidates"]["baseline"]["auc"] < report["candidates"]["tuned"]["auc"]
    # A constant score ranks nothing: the naive predictor's AUC is 0.5 whatever the data.
    assert report["naive_baseline"] == {
        "strategy": contract.NAIVE_STRATEGIES["binary"],
        "metric": "auc",
        "value": 0.5,
        "improvement": pytest.approx(metrics["auc"]["value"] - 0.5),
    }
    assert run.stdout.count("\n") == 1
    assert "selected tuned" in run.stdout
    assert "naive predictor 0.500000" in run.stdout


def test_binary_report_follows_the_sagemaker_model_quality_layout(
    split_dir: Path, trained: TrainedModel, shipped_source: Path, tmp_path: Path
) -> None:
    models = stage_models(tmp_path / "m", {"baseline": trained.model_dir})

    run = run_main(
        evaluate.main,
        evaluate_argv(split_dir / "test", shipped_source, models, tmp_path / "eval", "baseline"),
    )

    assert run.code == 0, run.stderr
    report = read_report(tmp_path / "eval")
    assert set(report) == {
        "binary_classification_metrics",
        "selected_model",
        "candidates",
        "naive_baseline",
        "scored_as_served",
    }
    # Trained without the preprocessor's transform: the encoded split is all it can score.
    assert report["scored_as_served"] is False
    metrics = report["binary_classification_metrics"]
    for name in ("auc", "accuracy", "precision", "recall", "f1"):
        assert isinstance(metrics[name]["value"], float)
        assert metrics[name]["standard_deviation"] == "NaN"
    matrix = metrics["confusion_matrix"]
    assert set(matrix) == {"0", "1"}
    assert all(set(row) == {"0", "1"} for row in matrix.values())
    assert sum(count for row in matrix.values() for count in row.values()) == 86


def test_a_tie_selects_the_earlier_candidate(
    split_dir: Path, trained: TrainedModel, shipped_source: Path, tmp_path: Path
) -> None:
    models = stage_models(
        tmp_path / "m", {"tuned": trained.model_dir, "baseline": trained.model_dir}
    )

    run = run_main(
        evaluate.main,
        evaluate_argv(
            split_dir / "test", shipped_source, models, tmp_path / "eval", "tuned", "baseline"
        ),
    )

    assert run.code == 0, run.stderr
    assert read_report(tmp_path / "eval")["selected_model"]["name"] == "tuned"


@pytest.fixture(scope="module")
def regression_models(
    diabetes_trained: TrainedModel,
    weak_regressor_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    return stage_models(
        tmp_path_factory.mktemp("regression-models"),
        {"baseline": weak_regressor_dir, "tuned": diabetes_trained.model_dir},
    )


@pytest.mark.parametrize(
    "case",
    [
        ("rmse", ("baseline", "tuned")),
        ("rmse", ("tuned", "baseline")),
        ("r2", ("baseline", "tuned")),
        ("r2", ("tuned", "baseline")),
    ],
    ids=["rmse", "rmse tuned first", "r2", "r2 tuned first"],
)
def test_regression_selects_by_the_metrics_direction_whatever_the_order(
    diabetes_split: Path,
    regression_models: Path,
    shipped_source: Path,
    tmp_path: Path,
    case: tuple[str, tuple[str, str]],
) -> None:
    metric, order = case
    argv = evaluate_argv(
        diabetes_split / "test",
        shipped_source,
        regression_models,
        tmp_path / "eval",
        *order,
        task="regression",
        metric=metric,
    )

    run = run_main(evaluate.main, argv)

    assert run.code == 0, run.stderr
    report = read_report(tmp_path / "eval")
    # The tuned model is the better one: lower RMSE (Minimize) and higher R2 (Maximize).
    assert report["selected_model"] == {"name": "tuned", "s3_uri": TUNED_URI}
    assert list(report["candidates"]) == list(order)
    metrics = report["regression_metrics"]
    assert set(metrics) == {"rmse", "mse", "mae", "r2"}
    assert metrics["rmse"]["value"] == pytest.approx(metrics["mse"]["value"] ** 0.5)
    assert metrics["r2"]["value"] > 0.3
    naive = report["naive_baseline"]
    assert naive["strategy"] == "training mean"
    assert naive["improvement"] > 0
    # A constant has an R2 of at most about zero on the test split.
    assert naive["value"] < 0.05 if metric == "r2" else naive["value"] > metrics[metric]["value"]
    # Where the quality gate reads the selected model's value.
    group, name, field = contract.report_json_path("regression", metric).split(".")
    assert report[group][name][field] == report["candidates"]["tuned"][metric]


def test_multiclass_with_the_shipped_xgboost_scripts(
    wine_split: Path, wine_trained: TrainedModel, shipped_source: Path, tmp_path: Path
) -> None:
    models = stage_models(tmp_path / "m", {"baseline": wine_trained.model_dir})
    argv = evaluate_argv(
        wine_split / "test",
        shipped_source,
        models,
        tmp_path / "eval",
        "baseline",
        task="multiclass",
    )

    run = run_main(evaluate.main, argv)

    assert run.code == 0, run.stderr
    metrics = read_report(tmp_path / "eval")["multiclass_classification_metrics"]
    assert metrics["accuracy"]["value"] >= 0.9


@pytest.fixture(scope="module")
def wine_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/wine's source bundle as the platform packs it: the folder's files but the spec."""
    files = sorted(
        path
        for path in (MODELS_DIR / "wine").iterdir()
        if path.is_file() and path.name != "model.toml"
    )
    return pack_source(files, tmp_path_factory.mktemp("wine-src")).parent


def test_multiclass_with_the_wine_models_own_inference_script(
    wine_split: Path, wine_rf_model_dir: Path, wine_source: Path, tmp_path: Path
) -> None:
    models = stage_models(tmp_path / "m", {"baseline": wine_rf_model_dir})
    argv = evaluate_argv(
        wine_split / "test",
        wine_source,
        models,
        tmp_path / "eval",
        "baseline",
        task="multiclass",
        metric="weighted_f1",
    )

    run = run_main(evaluate.main, argv)

    assert run.code == 0, run.stderr
    report = read_report(tmp_path / "eval")
    metrics = report["multiclass_classification_metrics"]
    assert metrics["accuracy"]["value"] >= 0.9
    assert report["candidates"] == {"baseline": {"weighted_f1": metrics["weighted_f1"]["value"]}}
    matrix = metrics["confusion_matrix"]
    assert set(matrix) == {"0", "1", "2"}
    assert sum(count for row in matrix.values() for count in row.values()) == 27


def test_an_already_extracted_source_directory_is_used_as_is(
    split_dir: Path, trained: TrainedModel, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "inference.py").write_bytes(
        (Path(evaluate.__file__).parent / "inference.py").read_bytes()
    )
    models = stage_models(tmp_path / "m", {"baseline": trained.model_dir})

    run = run_main(
        evaluate.main,
        evaluate_argv(split_dir / "test", source, models, tmp_path / "eval", "baseline"),
    )

    assert run.code == 0, run.stderr
    assert read_report(tmp_path / "eval")["binary_classification_metrics"]["auc"]["value"] > 0.98


# A serving script with a sibling module, and a model of several files in subfolders.
SIBLING_MODULE = "def scale():\n    return 0.5\n"
FILE_MODEL_SCRIPT = """
from pathlib import Path

import numpy as np

import helpers


def model_fn(model_dir):
    root = Path(model_dir)
    bias = float((root / "extra" / "bias.txt").read_text())
    return float((root / "model.txt").read_text()) + bias


def predict_fn(features, model):
    return np.full(len(features), model * helpers.scale())
"""


def tar_members(archive: Path, members: dict[str, bytes | str]) -> Path:
    """A tar.gz of regular files (bytes) and symbolic links (str: the link's target)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return archive


@pytest.fixture
def file_model_source(tmp_path: Path) -> Path:
    tar_members(
        tmp_path / "source" / "bundle.tar.gz",
        {"./inference.py": FILE_MODEL_SCRIPT.encode(), "helpers.py": SIBLING_MODULE.encode()},
    )
    return tmp_path / "source"


def test_every_model_file_is_extracted_and_sibling_modules_import(
    split_dir: Path, file_model_source: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    tar_members(
        models / "baseline" / "model.tar.gz", {"model.txt": b"0.5", "extra/bias.txt": b"0.3"}
    )
    tar_members(
        models / "tuned" / "model.tar.gz", {"./model.txt": b"0.5", "extra/bias.txt": b"0.5"}
    )
    path_before = list(sys.path)

    run = run_main(
        evaluate.main,
        evaluate_argv(
            split_dir / "test",
            file_model_source,
            models,
            tmp_path / "eval",
            task="binary",
            metric="accuracy",
        ),
    )

    assert run.code == 0, run.stderr
    report = read_report(tmp_path / "eval")
    # Constant scores of 0.4 (all negative) and 0.5 (all positive, the larger class).
    assert report["selected_model"]["name"] == "tuned"
    assert report["binary_classification_metrics"]["recall"]["value"] == 1.0
    # The bundle's modules and path are gone again, so the next bundle imports its own.
    assert sys.path == path_before
    assert "helpers" not in sys.modules
    assert "inference" not in sys.modules


UNSAFE_MEMBERS: dict[str, tuple[dict[str, bytes | str], str]] = {
    "parent traversal": (
        {"../escaped.txt": b"x", "model.txt": b"1"},
        "unsafe member '../escaped.txt'",
    ),
    "absolute path": ({"/tmp/escaped.txt": b"x"}, "unsafe member '/tmp/escaped.txt'"),
    "symlink": ({"model.txt": "/etc/passwd"}, "'model.txt' that is not a regular file"),
    "nested traversal": ({"extra/../../escaped.txt": b"x"}, "unsafe member"),
}


@pytest.mark.parametrize(("members", "message"), UNSAFE_MEMBERS.values(), ids=UNSAFE_MEMBERS)
def test_unsafe_model_archive_members_fail_with_one_line(
    split_dir: Path,
    file_model_source: Path,
    tmp_path: Path,
    members: dict[str, bytes | str],
    message: str,
) -> None:
    models = tmp_path / "deep" / "models"
    tar_members(models / "baseline" / "model.tar.gz", {"model.txt": b"1", "extra/bias.txt": b"0"})
    tar_members(models / "tuned" / "model.tar.gz", members)
    before = files_under(tmp_path)

    run = run_main(
        evaluate.main,
        evaluate_argv(split_dir / "test", file_model_source, models, tmp_path / "eval"),
    )

    assert run.code == 1
    assert run.stderr.startswith(f"error: {models / 'tuned' / 'model.tar.gz'} has ")
    assert message in run.stderr
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert files_under(tmp_path) == before


def test_an_unsafe_source_bundle_is_refused(
    split_dir: Path, trained: TrainedModel, tmp_path: Path
) -> None:
    tar_members(tmp_path / "source" / "bundle.tar.gz", {"../inference.py": b"x = 1\n"})
    models = stage_models(tmp_path / "m", {"baseline": trained.model_dir})

    run = run_main(
        evaluate.main,
        evaluate_argv(
            split_dir / "test", tmp_path / "source", models, tmp_path / "eval", "baseline"
        ),
    )

    assert run.code == 1
    assert "/bundle.tar.gz has an unsafe member '../inference.py'" in run.stderr
    assert not (tmp_path / "inference.py").exists()


@pytest.mark.parametrize("escape", ["../escaped.txt", "../../escaped.txt", "a/../../x.txt"])
def test_safe_extract_refuses_traversal_before_writing_any_member(
    tmp_path: Path, escape: str
) -> None:
    # The safe member comes first: an extractor checking as it goes would have written it.
    archive = tar_members(tmp_path / "a.tar.gz", {"first.txt": b"1", escape: b"x"})

    with pytest.raises(evaluate.DataError, match=f"unsafe member '{re.escape(escape)}'"):
        evaluate.safe_extract(archive, tmp_path / "deep" / "down" / "out")

    assert files_under(tmp_path) == [archive]


def test_safe_extract_writes_regular_files_under_the_destination(tmp_path: Path) -> None:
    archive = tar_members(tmp_path / "a.tar.gz", {"./a/b.txt": b"b", "c.txt": b"c"})

    evaluate.safe_extract(archive, tmp_path / "out")

    assert files_under(tmp_path / "out") == [
        tmp_path / "out" / "a" / "b.txt",
        tmp_path / "out" / "c.txt",
    ]
    assert (tmp_path / "out" / "a" / "b.txt").read_bytes() == b"b"


def _missing_dir(root: Path, model_dir: Path) -> Path:
    return root / "absent"


def _no_archive(root: Path, model_dir: Path) -> Path:
    (root / "empty").mkdir(parents=True)
    return root / "empty"


def _not_a_model(root: Path, model_dir: Path) -> Path:
    tar_members(root / "garbage" / "model.tar.gz", {"xgboost-model": b"not a model"})
    return root / "garbage"


def _not_gzip(root: Path, model_dir: Path) -> Path:
    (root / "corrupt").mkdir(parents=True)
    (root / "corrupt" / "model.tar.gz").write_bytes(b"plain text")
    return root / "corrupt"


BAD_TUNED_MODEL: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "missing directory": (_missing_dir, "tuned model directory not found"),
    "no model.tar.gz": (_no_archive, "no model.tar.gz in the tuned model directory"),
    "not a model": (_not_a_model, "tuned: model_fn failed: XGBoostError: "),
    "not gzip": (_not_gzip, "cannot read"),
}


@pytest.mark.parametrize("case", BAD_TUNED_MODEL.values(), ids=BAD_TUNED_MODEL)
def test_bad_tuned_model_fails_with_one_error_line_and_no_report(
    split_dir: Path,
    trained: TrainedModel,
    shipped_source: Path,
    tmp_path: Path,
    case: tuple[Callable[[Path, Path], Path], str],
) -> None:
    make_dir, message = case
    models = stage_models(tmp_path / "m", {"baseline": trained.model_dir})
    tuned = make_dir(tmp_path / "made", trained.model_dir)
    if tuned.exists():
        tuned.rename(models / "tuned")
    before = files_under(tmp_path)

    run = run_main(
        evaluate.main,
        evaluate_argv(split_dir / "test", shipped_source, models, tmp_path / "eval"),
    )

    assert run.code == 1
    assert run.stderr.startswith("error: ")
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert message in run.stderr
    # Nothing extracted next to the archive, and no report.
    assert files_under(tmp_path) == before


BAD_SCRIPTS = {
    "import error": (
        "import no_such_package\n",
        "importing inference.py failed: ModuleNotFoundError",
    ),
    "no predict_fn": (
        "def model_fn(d):\n    return 1\n",
        "inference.py does not define predict_fn",
    ),
    "predict_fn raises": (
        "def model_fn(d):\n    return 1\n\n\ndef predict_fn(x, m):\n    raise RuntimeError('x')\n",
        "baseline: predict_fn failed: RuntimeError: x (at inference.py:6)",
    ),
    "wrong length": (
        "def model_fn(d):\n    return 1\n\n\ndef predict_fn(x, m):\n    return [0.5]\n",
        "baseline: predict_fn returned shape (1,) for 86 test rows",
    ),
}


@pytest.mark.parametrize(("script", "message"), BAD_SCRIPTS.values(), ids=BAD_SCRIPTS)
def test_a_faulty_inference_script_fails_with_one_line(
    split_dir: Path, trained: TrainedModel, tmp_path: Path, script: str, message: str
) -> None:
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "inference.py").write_text(script)
    models = stage_models(tmp_path / "m", {"baseline": trained.model_dir})

    run = run_main(
        evaluate.main,
        evaluate_argv(
            split_dir / "test", tmp_path / "source", models, tmp_path / "eval", "baseline"
        ),
    )

    assert run.code == 1
    assert run.stderr.startswith("error: ")
    assert message in run.stderr
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert not (tmp_path / "eval").exists()


def test_missing_test_data_fails_cleanly(
    trained: TrainedModel, shipped_source: Path, tmp_path: Path
) -> None:
    models = stage_models(tmp_path / "m", {"baseline": trained.model_dir})

    run = run_main(
        evaluate.main,
        evaluate_argv(tmp_path / "absent", shipped_source, models, tmp_path / "eval", "baseline"),
    )

    assert run.code == 1
    assert run.stderr.startswith("error: test directory not found")
    assert not (tmp_path / "eval").exists()


def test_missing_train_data_fails_cleanly(
    split_dir: Path, trained: TrainedModel, shipped_source: Path, tmp_path: Path
) -> None:
    models = stage_models(tmp_path / "m", {"baseline": trained.model_dir})
    argv = evaluate_argv(
        split_dir / "test",
        shipped_source,
        models,
        tmp_path / "eval",
        "baseline",
        train_dir=tmp_path / "absent",
    )

    run = run_main(evaluate.main, argv)

    assert run.code == 1
    assert run.stderr.startswith("error: train directory not found")
    assert not (tmp_path / "eval").exists()


ONE_MODEL = ["--model", "baseline", "s3://b/x"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "regression", "--metric", "auc", *ONE_MODEL], "'auc' is not a regression"),
        ([*ONE_MODEL, *ONE_MODEL], "names must be distinct"),
        (["--model", "../up", "s3://b/x"], "must be letters, digits"),
        (["--task", "binary"], "the following arguments are required: --model"),
    ],
    ids=["metric of another task", "duplicate names", "path as a name", "no model"],
)
def test_bad_arguments_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        evaluate.parse_args(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_gate_metric_defaults_to_the_tasks() -> None:
    args = evaluate.parse_args(["--task", "multiclass", "--model", "baseline", "s3://b/x"])

    assert args.metric == "accuracy"
    assert args.model == [("baseline", "s3://b/x")]


@pytest.mark.parametrize(
    ("values", "direction", "selected"),
    [
        ({"baseline": 0.90, "tuned": 0.95}, "Maximize", "tuned"),
        ({"baseline": 0.95, "tuned": 0.90}, "Maximize", "baseline"),
        ({"baseline": 0.95, "tuned": 0.95}, "Maximize", "baseline"),
        ({"baseline": 50.0, "tuned": 40.0}, "Minimize", "tuned"),
        ({"baseline": 40.0, "tuned": 50.0}, "Minimize", "baseline"),
        ({"tuned": 40.0, "baseline": 40.0}, "Minimize", "tuned"),
        ({"a": 1.0, "b": 3.0, "c": 2.0}, "Maximize", "b"),
    ],
)
def test_select_model_follows_the_direction_and_keeps_the_earlier_on_ties(
    values: dict[str, float], direction: str, selected: str
) -> None:
    assert evaluate.select_model(values, direction) == selected


def test_binary_metrics_use_a_05_threshold() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.6, 0.4, 0.5, 0.9])

    metrics = evaluate.binary_metrics(labels, scores)

    assert metrics["confusion_matrix"] == {"0": {"0": 1, "1": 1}, "1": {"0": 1, "1": 2}}
    assert metrics["accuracy"]["value"] == pytest.approx(3 / 5)
    assert metrics["precision"]["value"] == pytest.approx(2 / 3)
    assert metrics["recall"]["value"] == pytest.approx(2 / 3)
    assert metrics["f1"]["value"] == pytest.approx(2 / 3)
    assert metrics["auc"]["value"] == pytest.approx(4 / 6)


def test_binary_metrics_read_column_1_of_two_class_probabilities() -> None:
    labels = np.array([0, 1, 1])
    probabilities = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])

    metrics = evaluate.binary_metrics(labels, probabilities)

    assert metrics["confusion_matrix"] == {"0": {"0": 1, "1": 0}, "1": {"0": 1, "1": 1}}
    assert metrics["auc"]["value"] == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_numpy_metrics_agree_with_scikit_learn(seed: int) -> None:
    # The evaluator needs only numpy, so it runs in any framework's image; scikit-learn is
    # the reference. Rounded scores force ties, which AUC must count as half.
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 200)
    scores = np.round(labels * 0.3 + rng.random(200) * 0.7, 1).astype(np.float64)
    binary = evaluate.binary_metrics(labels, scores)
    predicted = (scores >= 0.5).astype(int)
    assert binary["auc"]["value"] == pytest.approx(sk.roc_auc_score(labels, scores))
    assert binary["f1"]["value"] == pytest.approx(sk.f1_score(labels, predicted))
    assert binary["precision"]["value"] == pytest.approx(sk.precision_score(labels, predicted))

    classes = rng.integers(0, 4, 200)
    probabilities = rng.dirichlet(np.ones(4), 200) + np.eye(4)[classes] * 0.2
    multi = evaluate.multiclass_metrics(classes, probabilities)
    guess = np.argmax(probabilities, axis=1)
    for name in ("f1", "precision", "recall"):
        reference = getattr(sk, f"{name}_score")(
            classes, guess, average="weighted", zero_division=0
        )
        assert multi[f"weighted_{name}"]["value"] == pytest.approx(reference)
    assert multi["accuracy"]["value"] == pytest.approx(sk.accuracy_score(classes, guess))
    assert multi["confusion_matrix"]["2"]["1"] == sk.confusion_matrix(classes, guess)[2, 1]

    truth, estimate = rng.normal(100, 30, 200), rng.normal(100, 30, 200)
    regression = evaluate.regression_metrics(truth, estimate)
    assert regression["mse"]["value"] == pytest.approx(sk.mean_squared_error(truth, estimate))
    assert regression["mae"]["value"] == pytest.approx(sk.mean_absolute_error(truth, estimate))
    assert regression["r2"]["value"] == pytest.approx(sk.r2_score(truth, estimate))


def test_multiclass_metrics_take_1d_predictions_as_labels() -> None:
    metrics = evaluate.multiclass_metrics(np.array([0, 1, 2, 2]), np.array([0.0, 2.0, 2.0, 2.0]))

    assert metrics["accuracy"]["value"] == 0.75
    assert metrics["confusion_matrix"]["1"] == {"0": 0, "1": 0, "2": 1}


@pytest.mark.parametrize(
    ("task", "labels", "predictions", "message"),
    [
        ("binary", [0, 1], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], "got 3 columns"),
        ("binary", [0, 1], [-0.5, 2.0], "probabilities between 0 and 1"),
        ("multiclass", [0, 1], [0.5, 1.0], "must be class indices"),
        ("regression", [1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]], "one value a row, got 2"),
    ],
)
def test_predictions_the_task_cannot_read_are_refused(
    task: str, labels: list[float], predictions: list[Any], message: str
) -> None:
    with pytest.raises(evaluate.DataError, match=message):
        evaluate.task_metrics(
            task, np.array(labels, dtype=float), np.array(predictions, dtype=float)
        )


def test_the_source_bundle_is_found_by_content_whatever_its_name(tmp_path: Path) -> None:
    # A CDK file asset keeps only the last extension: the bundle arrives as <hash>.gz.
    source = tmp_path / "source"
    tar_members(source / "0f1e2d3c.gz", {"inference.py": FILE_MODEL_SCRIPT.encode()})
    (source / "notes.txt").write_text("not an archive\n")
    unpacked = evaluate.unpack_source(source, tmp_path / "unpacked")
    assert unpacked == tmp_path / "unpacked"
    assert (unpacked / "inference.py").read_text() == FILE_MODEL_SCRIPT


# -- the naive predictor ---------------------------------------------------------------------
def naive_args(task: str, metric: str) -> Any:
    return evaluate.parse_args(["--task", task, "--metric", metric, *ONE_MODEL])


@pytest.mark.parametrize(
    ("train_labels", "metric", "expected"),
    [
        # 30% positive in training: every test row scores 0.3, so all are called 0.
        ([0] * 7 + [1] * 3, "accuracy", 3 / 5),
        ([0] * 7 + [1] * 3, "recall", 0.0),
        # 70% positive: every row is called 1.
        ([0] * 3 + [1] * 7, "accuracy", 2 / 5),
        ([0] * 3 + [1] * 7, "recall", 1.0),
        # One constant score ranks no positive above a negative.
        ([0] * 7 + [1] * 3, "auc", 0.5),
    ],
)
def test_the_binary_naive_predictor_scores_the_training_positive_rate(
    train_labels: list[int], metric: str, expected: float
) -> None:
    test = evaluate.Dataset(np.zeros((5, 2), np.float32), np.array([0.0, 0, 1, 1, 0]))

    section = evaluate.naive_baseline(
        naive_args("binary", metric), np.array(train_labels, float), test, 0.9
    )

    assert section["value"] == pytest.approx(expected)
    assert section["strategy"] == contract.NAIVE_STRATEGIES["binary"]
    assert section["metric"] == metric
    assert section["improvement"] == pytest.approx(0.9 - expected)


def test_the_multiclass_naive_predictor_predicts_the_training_majority_class() -> None:
    # Training frequencies 1/6, 2/6, 3/6: every test row is called class 2.
    train_labels = np.array([0.0, 1, 1, 2, 2, 2])
    test = evaluate.Dataset(np.zeros((4, 2), np.float32), np.array([2.0, 2, 1, 0]))
    predictions = evaluate.naive_predictions("multiclass", train_labels, 4)

    assert predictions.tolist() == [[1 / 6, 2 / 6, 3 / 6]] * 4
    accuracy = evaluate.naive_baseline(naive_args("multiclass", "accuracy"), train_labels, test, 1)
    assert accuracy["value"] == 0.5
    # Class 2 only: precision 2/4, recall 1, F1 2/3, weighted by its support of one half.
    f1 = evaluate.naive_baseline(naive_args("multiclass", "weighted_f1"), train_labels, test, 1)
    assert f1["value"] == pytest.approx(1 / 3)
    assert f1["strategy"] == contract.NAIVE_STRATEGIES["multiclass"]


@pytest.mark.parametrize(
    ("metric", "naive", "improvement"),
    # Model value 0.5 throughout; rmse and mae are minimized, r2 maximized.
    [("rmse", 1.0, 0.5), ("mae", 1.0, 0.5), ("mse", 1.0, 0.5), ("r2", 0.0, 0.5)],
)
def test_the_regression_naive_predictor_is_the_training_mean_and_improvement_is_signed(
    metric: str, naive: float, improvement: float
) -> None:
    # Training mean 3; test labels 2 and 4: every error is 1, and the test mean is 3 too.
    train_labels = np.array([1.0, 2, 3, 6])
    test = evaluate.Dataset(np.zeros((2, 2), np.float32), np.array([2.0, 4.0]))

    section = evaluate.naive_baseline(naive_args("regression", metric), train_labels, test, 0.5)

    assert section["value"] == pytest.approx(naive)
    assert section["improvement"] == pytest.approx(improvement)
    assert section["strategy"] == "training mean"


def test_a_model_worse_than_the_naive_predictor_has_a_negative_improvement() -> None:
    assert evaluate.improvement(0.8, 0.9, "Maximize") == pytest.approx(-0.1)
    assert evaluate.improvement(12.0, 10.0, "Minimize") == pytest.approx(-2.0)
