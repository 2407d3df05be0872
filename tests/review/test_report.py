"""Reports between real assemblies: broadened IAM, a changed instance type, replaced data."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipelines.project import MODELS_DIR
from review.assembly import Assembly
from review.build import Review, Side, build_review
from review.checks import cfn_lint_findings, checkov_findings
from review.cli import run
from review.report import BROADENS, DANGER, NO_CHANGES, SUMMARY_HEADER, TITLE, render
from tests.conftest import Scans
from tests.review.conftest import reusing_scans

MODELS = len(list(MODELS_DIR.glob("*/model.toml")))
DATA_BEARING_RENAMED = {
    ("Foundation", "AWS::S3::Bucket"): 3,
    ("Foundation", "AWS::ECR::Repository"): 2,
    ("Pipeline", "AWS::SageMaker::ModelPackageGroup"): MODELS,
    # The Lambdas' log groups are named after the prefix too (the copier's, and per model the
    # autoscaling Lambda's and the deployer's).
    ("Pipeline", "AWS::Logs::LogGroup"): 1 + 2 * MODELS,
}


def summary_row(text: str, stack: str) -> list[str]:
    """The cells of ``stack``'s row in the summary table."""
    summary = text.split(SUMMARY_HEADER, 1)[1].split("\n## ", 1)[0]
    (line,) = [line for line in summary.splitlines() if line.startswith(f"| `{stack}` |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n### ", 1)[0]


@pytest.fixture(scope="module")
def broadened_cli(
    review_dirs: dict[str, Path],
    scans_by_directory: dict[Path, Scans],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[int, str, str, Path]:
    """The real CLI on two assemblies, checks (the session's scans) and --fail-on-findings."""
    out = tmp_path_factory.mktemp("report") / "nested" / "report.md"
    stdout, stderr = io.StringIO(), io.StringIO()
    with reusing_scans(scans_by_directory) as served:
        code = run(
            [
                "--base-assembly",
                str(review_dirs["base"]),
                "--head-assembly",
                str(review_dirs["broadened"]),
                "--out",
                str(out),
                "--fail-on-findings",
            ],
            stdout=stdout,
            stderr=stderr,
        )
    assert sorted(served) == ["cfn_lint", "checkov"]  # no scanner ran again
    return code, stdout.getvalue(), stderr.getvalue(), out


@pytest.fixture(scope="module")
def renamed(review_assemblies: dict[str, Assembly]) -> tuple[Review, str]:
    review = build_review(
        Side("dev", review_assemblies["base"]),
        Side("dev2", review_assemblies["renamed"]),
        checks=False,
    )
    return review, render(review)


def test_the_cli_writes_one_report_to_stdout_and_the_file_and_exits_0_on_a_clean_head(
    broadened_cli: tuple[int, str, str, Path],
) -> None:
    code, stdout, stderr, out = broadened_cli
    assert code == 0, stderr
    assert out.read_text() == stdout
    assert stdout.startswith(TITLE + "\n")
    assert SUMMARY_HEADER in stdout
    assert "Head checks (findings): cdk-nag 0 · cfn-lint 0 · checkov 0" in stdout


def test_the_broadened_policy_is_flagged_in_the_summary_and_the_iam_section(
    broadened_cli: tuple[int, str, str, Path],
) -> None:
    text = broadened_cli[1]
    assert summary_row(text, "Foundation")[6] == "🔓 **yes**"
    assert summary_row(text, "Pipeline")[6] == "no"
    iam = section(text, "#### IAM changes — 🔓 permissions broadened")
    broadening = [line for line in iam.splitlines() if line.startswith(f"| {BROADENS} |")]
    assert any("ecr:PutImage" in line and "LaunchAgentRole" in line for line in broadening)
    assert DANGER not in text


def pipeline_sections(text: str) -> dict[str, str]:
    """Each pipeline's section of the report, by pipeline name."""
    parts = text.split("### Pipeline `")[1:]
    return {part.split("`", 1)[0]: part.split("\n## ", 1)[0] for part in parts}


def test_the_instance_type_change_is_in_the_pipeline_diff(
    broadened_cli: tuple[int, str, str, Path],
) -> None:
    text = broadened_cli[1]
    sections = pipeline_sections(text)
    pipeline = sections.pop("mlops-dev-breast-cancer-pipeline")
    # The change is one model's: every other model's pipeline reads as unchanged.
    assert sections
    for name, section in sections.items():
        assert "The definition is unchanged." in section, name
    assert (
        "| `TrainingInstanceType` | changed | String, default `ml.m5.xlarge` | "
        "String, default `ml.m5.2xlarge` |"
    ) in pipeline
    for step, path in (
        ("TrainBaseline", "ResourceConfig.InstanceType"),
        ("Tune", "TrainingJobDefinition.ResourceConfig.InstanceType"),
    ):
        block = pipeline.split(f"**`{step}`**", 1)[1].split("\n**`", 1)[0]
        assert (
            f"| **instance type** | `{path}` | `ml.m5.xlarge` (default of parameter "
            "`TrainingInstanceType`) | `ml.m5.2xlarge` (default of parameter "
            "`TrainingInstanceType`) |"
        ) in block
    assert "2 steps changed (**instance type**)" in text
    assert "```mermaid\nflowchart TD\n" in pipeline


def test_replaced_buckets_repositories_and_registry_are_danger(
    renamed: tuple[Review, str],
) -> None:
    review, text = renamed
    dangers = [(s.id, c) for s in review.stacks for c in s.diff.dangers]
    counts: dict[tuple[str, str], int] = {}
    for stack, change in dangers:
        assert change.impact == "WILL_REPLACE", change
        counts[(stack, change.type)] = counts.get((stack, change.type), 0) + 1
    assert counts == DATA_BEARING_RENAMED
    danger_lines = [line for line in text.splitlines() if line.startswith(f"| {DANGER} |")]
    for _, change in dangers:
        rows = [line for line in danger_lines if f"`{change.logical_id}`" in line]
        # Once in the danger table, once in its stack's resource table.
        assert len(rows) == 2, change.logical_id
        assert all("**REPLACED**" in row for row in rows)
    assert any("BucketName" in line for line in danger_lines)
    # Replaced, but holding no data: listed, not flagged.
    policies = [line for line in text.splitlines() if "`AWS::S3::BucketPolicy`" in line]
    assert policies
    assert all("**REPLACED**" in line and DANGER not in line for line in policies)
    assert summary_row(text, "Foundation")[5] == f"{DANGER} 5"
    assert summary_row(text, "Pipeline")[5] == f"{DANGER} {MODELS + 1 + 2 * MODELS}"


def test_a_renamed_stack_is_called_out(renamed: tuple[Review, str]) -> None:
    text = renamed[1]
    assert "changes from `mlops-dev-foundation` to `mlops-dev2-foundation`" in text
    assert "creates a **new** CloudFormation stack `mlops-dev2-foundation`" in text


def test_identical_assemblies_give_a_no_changes_report(
    review_assemblies: dict[str, Assembly],
) -> None:
    base = review_assemblies["base"]
    review = build_review(Side("a", base), Side("b", base), checks=False)
    text = render(review)
    assert not review.has_changes
    assert NO_CHANGES in text
    for stack in ("Foundation", "Pipeline"):
        assert summary_row(text, stack)[1:7] == ["0", "0", "0", "0", "0", "no"]
    assert "- Pipeline `mlops-dev-breast-cancer-pipeline`: definition unchanged" in text
    assert DANGER not in text
    assert BROADENS not in text


def test_the_report_is_deterministic(
    review_assemblies: dict[str, Assembly], renamed: tuple[Review, str]
) -> None:
    again = build_review(
        Side("dev", review_assemblies["base"]),
        Side("dev2", review_assemblies["renamed"]),
        checks=False,
    )
    assert render(again) == renamed[1]


def test_fail_on_findings_exits_1_and_the_report_lists_each_tools_findings(
    review_dirs: dict[str, Path], flawed: Path, scans_by_directory: dict[Path, Scans]
) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    with reusing_scans(scans_by_directory) as served:
        code = run(
            [
                *("--base-assembly", str(review_dirs["base"])),
                *("--head-assembly", str(flawed), "--fail-on-findings"),
            ],
            stdout=stdout,
            stderr=stderr,
        )
    assert sorted(served) == ["cfn_lint", "checkov"]  # no scanner ran again
    text = stdout.getvalue()
    assert code == 1
    assert stderr.getvalue().splitlines()[-1].startswith("error: ")
    assert "(--fail-on-findings)" in stderr.getvalue()
    nag = section(text, "### cdk-nag")
    assert "| `Foundation` | `AwsSolutions-IAM5[Resource::*]` | `ExecutionRole/Role" in nag
    lint = section(text, "### cfn-lint")
    assert "| `Foundation` | `E3002 (Error)` | `BadBucket` |" in lint
    checkov = section(text, "### checkov")
    assert "| `Foundation` | `CKV_AWS_18` | `BadBucket` |" in checkov
    assert int(summary_row(text, "Foundation")[7]) >= 3
    assert summary_row(text, "Pipeline")[7] == "0"
    # The added bucket is a plain addition, not danger.
    assert summary_row(text, "Foundation")[1] == "1"
    assert DANGER not in text


def test_a_checker_that_cannot_run_is_reported(review_assemblies: dict[str, Assembly]) -> None:
    missing = Path("/nonexistent/bin/tool")
    base = review_assemblies["base"]
    for result in (
        cfn_lint_findings(base, executable=missing),
        checkov_findings(base, executable=missing),
    ):
        assert result.findings == ()
        assert result.error is not None
        assert str(missing) in result.error
