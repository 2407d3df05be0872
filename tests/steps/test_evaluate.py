"""The evaluation step: the preprocess -> train -> evaluate chain, model selection, bad inputs."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipelines.steps import evaluate, train
from tests.steps.runner import TrainedModel, files_under, pack_model, run_main, train_argv

BASELINE_URI = "s3://artifacts/pipelines/baseline/output/model.tar.gz"
TUNED_URI = "s3://artifacts/pipelines/tuned/output/model.tar.gz"


def evaluate_argv(test_dir: Path, baseline: Path, tuned: Path, output: Path) -> list[str]:
    return [
        *("--test-dir", str(test_dir)),
        *("--baseline-model-dir", str(baseline)),
        *("--tuned-model-dir", str(tuned)),
        *("--baseline-model-uri", BASELINE_URI),
        *("--tuned-model-uri", TUNED_URI),
        *("--output-dir", str(output)),
    ]


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


def test_chain_selects_the_better_tuned_model_with_test_auc_above_098(
    split_dir: Path, trained: TrainedModel, weak_model_dir: Path, tmp_path: Path
) -> None:
    baseline = pack_model(weak_model_dir, tmp_path / "baseline").parent
    tuned = pack_model(trained.model_dir, tmp_path / "tuned").parent

    run = run_main(
        evaluate.main, evaluate_argv(split_dir / "test", baseline, tuned, tmp_path / "eval")
    )

    assert run.code == 0, run.stderr
    report = read_report(tmp_path / "eval")
    metrics = report["binary_classification_metrics"]
    assert metrics["auc"]["value"] >= 0.98
    assert report["selected_model"] == {"name": "tuned", "s3_uri": TUNED_URI}
    assert report["candidates"]["tuned"]["auc"] == metrics["auc"]["value"]
    assert report["candidates"]["baseline"]["auc"] < report["candidates"]["tuned"]["auc"]
    assert len(run.stdout.splitlines()) == 1
    assert "selected tuned" in run.stdout


def test_report_follows_the_sagemaker_model_quality_layout(
    split_dir: Path, trained: TrainedModel, tmp_path: Path
) -> None:
    model = pack_model(trained.model_dir, tmp_path / "model").parent

    run = run_main(
        evaluate.main, evaluate_argv(split_dir / "test", model, model, tmp_path / "eval")
    )

    assert run.code == 0, run.stderr
    metrics = read_report(tmp_path / "eval")["binary_classification_metrics"]
    for name in ("auc", "accuracy", "precision", "recall", "f1"):
        assert isinstance(metrics[name]["value"], float)
        assert metrics[name]["standard_deviation"] == "NaN"
    matrix = metrics["confusion_matrix"]
    assert set(matrix) == {"0", "1"}
    assert all(set(row) == {"0", "1"} for row in matrix.values())
    assert sum(count for row in matrix.values() for count in row.values()) == 86


def test_a_tie_selects_the_baseline(split_dir: Path, trained: TrainedModel, tmp_path: Path) -> None:
    baseline = pack_model(trained.model_dir, tmp_path / "baseline").parent
    tuned = pack_model(trained.model_dir, tmp_path / "tuned").parent

    run = run_main(
        evaluate.main, evaluate_argv(split_dir / "test", baseline, tuned, tmp_path / "eval")
    )

    assert run.code == 0, run.stderr
    assert read_report(tmp_path / "eval")["selected_model"] == {
        "name": "baseline",
        "s3_uri": BASELINE_URI,
    }


@pytest.mark.parametrize(
    ("baseline_auc", "tuned_auc", "selected"),
    [(0.90, 0.95, "tuned"), (0.95, 0.90, "baseline"), (0.95, 0.95, "baseline")],
)
def test_select_model_prefers_the_higher_auc_and_the_baseline_on_ties(
    baseline_auc: float, tuned_auc: float, selected: str
) -> None:
    assert evaluate.select_model({"baseline": baseline_auc, "tuned": tuned_auc}) == selected


def test_classification_metrics_use_a_05_threshold() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.6, 0.4, 0.5, 0.9], dtype=np.float32)

    metrics = evaluate.classification_metrics(labels, scores)

    assert metrics["confusion_matrix"] == {"0": {"0": 1, "1": 1}, "1": {"0": 1, "1": 2}}
    assert metrics["accuracy"]["value"] == pytest.approx(3 / 5)
    assert metrics["precision"]["value"] == pytest.approx(2 / 3)
    assert metrics["recall"]["value"] == pytest.approx(2 / 3)
    assert metrics["f1"]["value"] == pytest.approx(2 / 3)
    assert metrics["auc"]["value"] == pytest.approx(4 / 6)


def _archive(directory: Path, members: dict[str, bytes], links: dict[str, str]) -> Path:
    directory.mkdir(parents=True)
    with tarfile.open(directory / "model.tar.gz", "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return directory


def _missing_dir(root: Path, model_dir: Path) -> Path:
    return root / "absent"


def _no_archive(root: Path, model_dir: Path) -> Path:
    (root / "empty").mkdir(parents=True)
    return root / "empty"


def _traversal(root: Path, model_dir: Path) -> Path:
    model = (model_dir / "xgboost-model").read_bytes()
    return _archive(root / "traversal", {"../xgboost-model": model}, {})


def _symlink(root: Path, model_dir: Path) -> Path:
    return _archive(root / "symlink", {}, {"xgboost-model": "/etc/passwd"})


def _not_a_model(root: Path, model_dir: Path) -> Path:
    return _archive(root / "garbage", {"xgboost-model": b"not a model"}, {})


def _not_gzip(root: Path, model_dir: Path) -> Path:
    (root / "corrupt").mkdir(parents=True)
    (root / "corrupt" / "model.tar.gz").write_bytes(b"plain text")
    return root / "corrupt"


BAD_TUNED_MODEL: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "missing directory": (_missing_dir, "tuned model directory not found"),
    "no model.tar.gz": (_no_archive, "no model.tar.gz in the tuned model directory"),
    "path traversal": (_traversal, "does not contain xgboost-model"),
    "symlink": (_symlink, "is not a regular file"),
    "not a model": (_not_a_model, "xgboost-model is not a model XGBoost can load"),
    "not gzip": (_not_gzip, "cannot read"),
}


@pytest.mark.parametrize(("make_dir", "message"), BAD_TUNED_MODEL.values(), ids=BAD_TUNED_MODEL)
def test_bad_tuned_model_fails_with_one_error_line_and_no_report(
    split_dir: Path,
    trained: TrainedModel,
    tmp_path: Path,
    make_dir: Callable[[Path, Path], Path],
    message: str,
) -> None:
    baseline = pack_model(trained.model_dir, tmp_path / "baseline").parent
    tuned = make_dir(tmp_path / "models", trained.model_dir)
    before = files_under(tmp_path)

    run = run_main(
        evaluate.main, evaluate_argv(split_dir / "test", baseline, tuned, tmp_path / "eval")
    )

    assert run.code == 1
    assert run.stderr.startswith("error: ")
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert message in run.stderr
    # Nothing extracted next to the archive, and no report.
    assert files_under(tmp_path) == before


def test_missing_test_data_fails_cleanly(trained: TrainedModel, tmp_path: Path) -> None:
    model = pack_model(trained.model_dir, tmp_path / "model").parent

    run = run_main(
        evaluate.main, evaluate_argv(tmp_path / "absent", model, model, tmp_path / "eval")
    )

    assert run.code == 1
    assert run.stderr.startswith("error: test directory not found")
    assert not (tmp_path / "eval").exists()
