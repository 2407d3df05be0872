"""A tuning objective no trial reported names its regex and shows what a trial printed."""

from __future__ import annotations

from pathlib import Path

from pipelines.local.errors import StepError
from pipelines.local.training import TrainingResult
from pipelines.local.tuning import Trial, _no_objective

DEFINITION = {
    "AlgorithmSpecification": {
        "MetricDefinitions": [
            {"Name": "validation:rmse", "Regex": r"validation-rmse:([0-9\.]+)"},
            {"Name": "train:rmse", "Regex": r"train-rmse:([0-9\.]+)"},
        ]
    }
}


def trial(tmp_path: Path, index: int, *, lines: list[str], failed: bool) -> Trial:
    log = tmp_path / f"trial-{index}.log"
    log.write_text("".join(f"{line}\n" for line in lines))
    if failed:
        return Trial(index, f"tune-{index}", {}, None, StepError("exited 1", log=log), None)
    result = TrainingResult(f"tune-{index}", "s3://b/model.tar.gz", {}, {}, 1.0, log)
    return Trial(index, f"tune-{index}", {}, result, None, None)


def test_the_message_names_the_regex_and_a_completed_trial_s_last_lines(tmp_path: Path) -> None:
    trials = [
        trial(tmp_path, 0, lines=["Traceback", "ValueError: x"], failed=True),
        trial(tmp_path, 1, lines=["start", "[9] validation-RMSE=3.1", "done"], failed=False),
    ]
    error = _no_objective("Tune", trials, "validation:rmse", DEFINITION)
    assert str(error) == (
        "Tune: no training job reported the objective metric validation:rmse: the regex "
        "'validation-rmse:([0-9\\\\.]+)' matched no line (1 of 2 jobs failed); the last lines "
        "of tune-1: start | [9] validation-RMSE=3.1 | done"
    )
    assert error.log == tmp_path / "trial-1.log"


def test_with_every_trial_failed_the_first_one_s_lines_are_shown(tmp_path: Path) -> None:
    trials = [trial(tmp_path, i, lines=[f"error: bad {i}"], failed=True) for i in range(2)]
    error = _no_objective("Tune", trials, "validation:rmse", DEFINITION)
    assert str(error).endswith("(2 of 2 jobs failed); the last lines of tune-0: error: bad 0")
