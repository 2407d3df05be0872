"""cdk-nag, cfn-lint and checkov findings on the head assembly, offline.

Nag from the assembly's ``validation-report.json``, cfn-lint from this venv, checkov from
``.venv-checkov`` with ``--skip-download`` (no vendor API call). A tool that cannot run is
reported, never skipped silently: ``--fail-on-findings`` treats it as a failure. The
``*_results`` functions scan several assemblies in one process per tool and split the results
by template; the test suite's app-wide gates (``tests/test_app_checks.py``) use them too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from review import PROJECT_ROOT
from review.assembly import Assembly

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
TOOL_TIMEOUT_SECONDS = 600
TOOLS = ("cdk-nag", "cfn-lint", "checkov")


@dataclass(frozen=True, order=True)
class Finding:
    tool: str
    stack: str
    rule: str
    resource: str
    message: str


@dataclass(frozen=True)
class ToolResult:
    findings: tuple[Finding, ...]
    error: str | None = None
    # checkov only: how many checks passed, and the checks the templates skip, each with its
    # skip comment as the message ("" when it has none).
    passed: int = 0
    skipped: tuple[Finding, ...] = ()


def nag_findings(assembly: Assembly) -> ToolResult:
    return ToolResult(
        tuple(
            sorted(
                Finding("cdk-nag", v.stack, v.rule, v.construct_path, v.description)
                for v in assembly.nag_violations
            )
        )
    )


def _run(command: list[str], env: Mapping[str, str] | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else dict(env),
        timeout=TOOL_TIMEOUT_SECONDS,
    )


class _Templates:
    """The stack templates of several assemblies, and which assembly and stack a file is."""

    def __init__(self, assemblies: Sequence[Assembly]) -> None:
        self.count = len(assemblies)
        self.files = {
            stack.template_file.resolve(): (index, stack.artifact_id)
            for index, assembly in enumerate(assemblies)
            for stack in assembly.stacks.values()
        }

    def owners(self, file: object) -> list[tuple[int, str]]:
        """(assembly index, stack id) of a file a tool reported; a file that is none of ours is
        charged to every assembly as stack "?", so no finding is lost."""
        found = self.files.get(Path(str(file)).resolve())
        return [found] if found else [(index, "?") for index in range(self.count)]


def _failed(assemblies: Sequence[Assembly], error: str) -> list[ToolResult]:
    return [ToolResult((), error) for _ in assemblies]


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr.strip().splitlines() or ["no output"])[-1]


def cfn_lint_findings(
    assembly: Assembly, *, executable: Path = CFN_LINT, env: Mapping[str, str] | None = None
) -> ToolResult:
    return cfn_lint_results([assembly], executable=executable, env=env)[0]


def cfn_lint_results(
    assemblies: Sequence[Assembly],
    *,
    executable: Path = CFN_LINT,
    env: Mapping[str, str] | None = None,
) -> list[ToolResult]:
    """One result per assembly from a single cfn-lint run: start-up is most of a run's time."""
    templates = _Templates(assemblies)
    if not templates.files:
        return [ToolResult(()) for _ in assemblies]
    if not executable.exists():
        return _failed(assemblies, f"cfn-lint not found at {executable}")
    try:
        result = _run([str(executable), "--format", "json", *map(str, templates.files)], env)
    except subprocess.TimeoutExpired:
        return _failed(assemblies, "cfn-lint timed out")
    try:
        matches: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        return _failed(
            assemblies, f"cfn-lint failed (exit {result.returncode}): {_last_line(result)}"
        )
    findings: list[set[Finding]] = [set() for _ in assemblies]
    for match in matches:
        path = match.get("Location", {}).get("Path") or []
        resource = (
            str(path[1]) if len(path) > 1 and path[0] == "Resources" else "/".join(map(str, path))
        )
        for index, stack in templates.owners(match.get("Filename", "")):
            findings[index].add(
                Finding(
                    "cfn-lint",
                    stack,
                    f"{match['Rule']['Id']} ({match.get('Level', '?')})",
                    resource,
                    str(match.get("Message", "")),
                )
            )
    return [ToolResult(tuple(sorted(found))) for found in findings]


def _checkov_reports(text: str) -> list[dict[str, Any]]:
    """checkov prints one report, a list of reports, or several documents back to back."""
    decoder, reports, position = json.JSONDecoder(), [], 0
    text = text.strip()
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        reports.extend(document if isinstance(document, list) else [document])
        while position < len(text) and text[position].isspace():
            position += 1
    return reports


def checkov_findings(
    assembly: Assembly, *, executable: Path = CHECKOV, env: Mapping[str, str] | None = None
) -> ToolResult:
    return checkov_results([assembly], executable=executable, env=env)[0]


def checkov_results(
    assemblies: Sequence[Assembly],
    *,
    executable: Path = CHECKOV,
    env: Mapping[str, str] | None = None,
) -> list[ToolResult]:
    """One result per assembly from a single checkov run: its start-up alone takes ~1.7 s."""
    templates = _Templates(assemblies)
    if not templates.files:
        return [ToolResult(()) for _ in assemblies]
    if not executable.exists():
        return _failed(assemblies, f"checkov not found at {executable}")
    command = [str(executable), "--framework", "cloudformation", "--skip-download"]
    for template in templates.files:
        command += ["-f", str(template)]
    # Not --quiet: it drops the passed and skipped checks, which are counted per assembly.
    command += ["--compact", "-o", "json"]
    try:
        result = _run(command, env)
        reports = _checkov_reports(result.stdout)
    except subprocess.TimeoutExpired:
        return _failed(assemblies, "checkov timed out")
    except json.JSONDecodeError:
        reports = []
    if result.returncode not in (0, 1) or not reports:
        failure = f"checkov failed (exit {result.returncode}): {_last_line(result)}"
        return _failed(assemblies, failure)
    return _split_checkov(reports, templates)


def _split_checkov(reports: list[dict[str, Any]], templates: _Templates) -> list[ToolResult]:
    """The failed, skipped and passed checks of ``reports``, per assembly."""

    def owners(check: dict[str, Any]) -> list[tuple[int, str]]:
        return templates.owners(check.get("file_abs_path") or check["file_path"])

    def finding(check: dict[str, Any], stack: str, message: str) -> Finding:
        resource = str(check.get("resource", "?")).split(".", 1)[-1]
        return Finding("checkov", stack, str(check["check_id"]), resource, message)

    failed: list[set[Finding]] = [set() for _ in range(templates.count)]
    skipped: list[set[Finding]] = [set() for _ in range(templates.count)]
    passed = [0] * templates.count
    for report in reports:
        results = report.get("results", {})
        for check in results.get("failed_checks", []):
            for index, stack in owners(check):
                failed[index].add(finding(check, stack, str(check.get("check_name", ""))))
        for check in results.get("skipped_checks", []):
            comment = str(check.get("check_result", {}).get("suppress_comment") or "")
            for index, stack in owners(check):
                skipped[index].add(finding(check, stack, comment))
        for check in results.get("passed_checks", []):
            for index, _ in owners(check):
                passed[index] += 1
    return [
        ToolResult(tuple(sorted(f)), passed=n, skipped=tuple(sorted(s)))
        for f, n, s in zip(failed, passed, skipped, strict=True)
    ]
