"""The git paths of the CLI: a real worktree of this repository, bad refs, broken bases."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from review import ReviewError
from review.assembly import Assembly
from review.cli import main, run
from review.report import SUMMARY_HEADER, TITLE
from tests.support.offline import node_offline_env

ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def test_the_cli_reviews_head_in_a_worktree_and_removes_it(tmp_path: Path) -> None:
    """End to end: synth HEAD in a worktree and the working tree, offline.

    Without the checks: the head is the working tree's dev app, which the session has already
    scanned; the CLI's checks and --fail-on-findings are tested on the session's assemblies
    (test_report.py).
    """
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "review" / "report.md"
    env = node_offline_env()  # every node process (jsii, the diff engine) is network-blocked
    env["TMPDIR"] = str(temp)
    result = subprocess.run(
        [sys.executable, "-m", "review", "--base", "HEAD", "--out", str(out), "--skip-checks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text == result.stdout
    assert text.startswith(TITLE)
    assert SUMMARY_HEADER in text
    head = git(ROOT, "rev-parse", "HEAD").strip()
    assert f"**Base:** `HEAD` at `{head[:12]}`" in text
    assert "### Stack `Foundation`" in text
    assert "### Stack `Pipeline`" in text
    assert "> ⚠️" not in text.split(SUMMARY_HEADER)[0]  # both sides synthesized cleanly
    # The base's worktree lived under TMPDIR and is gone, from disk and from git's list. (Not a
    # before/after comparison of the whole list: another checkout's worktrees may come and go.)
    listed = git(ROOT, "worktree", "list", "--porcelain").splitlines()
    assert [line for line in listed if line.startswith(f"worktree {temp}")] == []
    assert list(temp.iterdir()) == []
    assert sorted(p.name for p in temp.iterdir() if p.name.startswith("review-")) == []


def test_a_bad_base_ref_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "review", "--base", "no-such-ref-4b1d", "--head-dir", str(ROOT)],
        cwd=ROOT,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: bad base ref 'no-such-ref-4b1d': not a commit in {ROOT}"
    ]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base", "HEAD", "--skip-checks", "--fail-on-findings"]) == 2
    assert capsys.readouterr().err.startswith("error: --skip-checks and --fail-on-findings")
    with pytest.raises(ReviewError):
        run([])  # neither --base nor --base-assembly


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose first commit has no app.py and whose second has a failing one."""
    repo = tmp_path_factory.mktemp("history")
    author = ["-c", "user.name=Review Test", "-c", "user.email=review@example.com"]
    git(repo, "init", "--quiet")
    (repo / "README.md").write_text("no app yet\n")
    git(repo, "add", "README.md")
    git(repo, *author, "commit", "--quiet", "-m", "no app")
    (repo / "app.py").write_text("import sys\nsys.exit('synth exploded: boom')\n")
    git(repo, "add", "app.py")
    git(repo, *author, "commit", "--quiet", "-m", "broken app")
    return repo


@pytest.mark.parametrize(
    ("ref", "note"),
    [
        ("HEAD~1", "base has no app.py"),
        ("HEAD", "synth of base failed (exit 1)"),
    ],
)
def test_a_base_without_a_working_app_is_treated_as_empty(
    history: Path,
    review_dirs: dict[str, Path],
    review_assemblies: dict[str, Assembly],
    ref: str,
    note: str,
) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(
        [
            *("--base", ref, "--head-dir", str(history)),
            *("--head-assembly", str(review_dirs["base"]), "--skip-checks"),
        ],
        stdout=stdout,
        stderr=stderr,
    )
    text = stdout.getvalue()
    assert code == 0, stderr.getvalue()
    assert f"> ⚠️ {note}: the base is treated as empty, so everything shows as added." in text
    for stack in review_assemblies["base"].stacks.values():
        created = len(stack.template["Resources"])
        (row,) = [
            line for line in text.splitlines() if line.startswith(f"| `{stack.artifact_id}` |")
        ]
        assert row.split("|")[2].strip() == str(created)
    if ref == "HEAD":
        assert "synth exploded: boom" in text  # the base's own output, in <details>
    assert git(history, "worktree", "list").count("\n") == 1
