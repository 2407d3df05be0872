"""The runner on small hand-made pipelines whose steps run a trivial script: caching and its
invalidation, DependsOn, conditions with JsonGet, the Fail step and a failing job."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pipelines.local.objectstore import ObjectStore
from pipelines.local.runner import cpu_share
from tests.local.support import (
    STEP_SCRIPT,
    CliRun,
    definition,
    processing_step,
    run_cli,
    step_output,
    write_assembly,
)


def chain() -> dict[str, Any]:
    """A(X) -> B(reads A's output); C(Y) on its own."""
    return definition(
        [
            processing_step("A", "--value", {"Get": "Parameters.X"}),
            processing_step("B", inputs={"a": step_output("A")}),
            processing_step("C", "--value", {"Get": "Parameters.Y"}),
        ],
        X="x1",
        Y="y1",
    )


def result_text(result: CliRun, step: str, run_dir: Path) -> str:
    uri = result.step(step)["outputs"]["out"]
    return (ObjectStore(run_dir / "s3").path(uri) / "result.txt").read_text()


def run(assembly: Path, run_dir: Path, *extra: str) -> CliRun:
    return run_cli("run", "--assembly", assembly, "--run-dir", run_dir, *extra)


def test_cache_reuses_unchanged_steps_and_reruns_what_a_parameter_feeds(tmp_path: Path) -> None:
    assembly = write_assembly(tmp_path / "cdk.out", chain())
    run_dir = tmp_path / "run"

    first = run(assembly, run_dir)
    assert first.code == 0, first.err
    assert first.statuses() == {"A": "Succeeded", "B": "Succeeded", "C": "Succeeded"}
    assert result_text(first, "B", run_dir) == "x1"

    second = run(assembly, run_dir)
    assert second.statuses() == {"A": "Cached", "B": "Cached", "C": "Cached"}
    assert {second.step(s)["cached_from_execution"] for s in "ABC"} == {
        first.summary["execution_id"]
    }
    assert second.step("B")["outputs"] == first.step("B")["outputs"]

    changed = run(assembly, run_dir, "--param", "X=x2")
    assert changed.statuses() == {"A": "Succeeded", "B": "Succeeded", "C": "Cached"}
    assert result_text(changed, "B", run_dir) == "x2"

    forced = run(assembly, run_dir, "--no-cache")
    assert forced.statuses() == {"A": "Succeeded", "B": "Succeeded", "C": "Succeeded"}
    assert "step cache: off (--no-cache)" in forced.out


def test_a_cache_entry_whose_outputs_are_gone_is_not_used(tmp_path: Path) -> None:
    assembly = write_assembly(tmp_path / "cdk.out", chain())
    run_dir = tmp_path / "run"
    first = run(assembly, run_dir)
    assert first.code == 0, first.err
    shutil.rmtree(ObjectStore(run_dir / "s3").path(first.step("A")["outputs"]["out"]))
    again = run(assembly, run_dir)
    # A runs again; B reads A's new output URI, so its key changes too; C is untouched.
    assert again.statuses() == {"A": "Succeeded", "B": "Succeeded", "C": "Cached"}
    assert result_text(again, "B", run_dir) == "x1"


def test_changed_step_code_invalidates_the_cache(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = run(write_assembly(tmp_path / "one", chain()), run_dir)
    assert first.code == 0, first.err
    edited = write_assembly(tmp_path / "two", chain(), script=STEP_SCRIPT + "# edited\n")
    again = run(edited, run_dir)
    assert again.statuses() == {"A": "Succeeded", "B": "Succeeded", "C": "Succeeded"}


def test_depends_on_waits_without_a_data_reference(tmp_path: Path) -> None:
    steps = [
        processing_step("Late", "--value", "l", depends_on=["Early"], cache=False),
        processing_step("Early", "--value", "e", cache=False),
    ]
    result = run(write_assembly(tmp_path / "cdk.out", definition(steps)), tmp_path / "run")
    assert result.code == 0, result.err
    assert result.out.index("Early                  succeeded") < result.out.index(
        "Late                   started"
    )


def gated(minimum: int) -> dict[str, Any]:
    length = {
        "Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.PropertyFiles.Report"}, "Path": "length"}
    }
    pipeline = definition(
        [
            processing_step("A", "--value", "abcd"),
            {
                "Name": "Gate",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "Not",
                            "Condition": {
                                "Type": "LessThan",
                                "LeftValue": length,
                                "RightValue": {"Get": "Parameters.Min"},
                            },
                        }
                    ],
                    "IfSteps": [processing_step("D", inputs={"a": step_output("A")})],
                    "ElseSteps": [
                        {
                            "Name": "Stop",
                            "Type": "Fail",
                            "Arguments": {
                                "ErrorMessage": {
                                    "Std:Join": {
                                        "On": " ",
                                        "Values": [
                                            "length",
                                            length,
                                            "below",
                                            {"Get": "Parameters.Min"},
                                        ],
                                    }
                                }
                            },
                        }
                    ],
                },
            },
        ]
    )
    pipeline["Parameters"].append({"Name": "Min", "Type": "Integer", "DefaultValue": minimum})
    return pipeline


def test_a_condition_on_a_property_file_takes_the_if_branch(tmp_path: Path) -> None:
    result = run(write_assembly(tmp_path / "cdk.out", gated(4)), tmp_path / "run")
    assert result.code == 0, result.err
    assert result.statuses() == {
        "A": "Succeeded",
        "Gate": "Succeeded",
        "D": "Succeeded",
        "Stop": "Skipped",
    }
    assert result.step("Gate")["outputs"]["evaluated"] == ["Not(4 LessThan 4)"]
    assert result_text(result, "D", tmp_path / "run") == "abcd"


def test_the_else_branch_runs_the_fail_step_with_its_message(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run(write_assembly(tmp_path / "cdk.out", gated(1)), run_dir, "--param", "Min=5")
    assert result.code == 1
    assert result.statuses() == {
        "A": "Succeeded",
        "Gate": "Succeeded",
        "D": "Skipped",
        "Stop": "Failed",
    }
    assert result.err.strip().splitlines()[-1] == "error: Stop: length 4 below 5"
    assert result.summary["failure"] == {
        "kind": "fail",
        "step": "Stop",
        "message": "length 4 below 5",
    }


def test_a_failing_job_shows_its_log_tail_and_stops_the_execution(tmp_path: Path) -> None:
    steps = [
        processing_step("Broken", "--fail"),
        processing_step("After", inputs={"b": step_output("Broken")}),
    ]
    run_dir = tmp_path / "run"
    result = run(write_assembly(tmp_path / "cdk.out", definition(steps)), run_dir)
    assert result.code == 1
    assert result.statuses() == {"Broken": "Failed", "After": "NotStarted"}
    log = result.step("Broken")["log"]
    assert f"lines of {log}:" in result.err
    assert "  | step script: failing on purpose" in result.err
    assert f"run directory kept: {run_dir}" in result.err
    assert result.err.strip().splitlines()[-1] == (
        f"error: Broken: processing job exited with code 3 (log: {log})"
    )
    # The job's working files stay for inspection.
    assert (Path(log).parent / "container" / "opt" / "ml" / "processing").is_dir()


def test_a_job_s_own_one_line_reason_is_the_last_line(tmp_path: Path) -> None:
    reason = "label column 'target' not found; columns are a, b"
    steps = [processing_step("Preprocess", "--fail-with", reason)]
    result = run(write_assembly(tmp_path / "cdk.out", definition(steps)), tmp_path / "run")
    log = result.step("Preprocess")["log"]
    assert result.code == 1
    assert result.err.strip().splitlines()[-1] == f"error: Preprocess: {reason} (log: {log})"
    assert result.summary["failure"]["message"] == reason
    assert "  | some progress" in result.err  # the tail is still shown, above


def test_each_job_gets_its_share_of_the_cpus_across_every_pipeline_running() -> None:
    # 8 CPUs, 2 steps at once: 4 threads per job alone, 2 with a second pipeline beside it,
    # and never fewer than one.
    assert [cpu_share(8, 2, pipelines) for pipelines in (1, 2, 3, 8)] == [4, 2, 1, 1]
