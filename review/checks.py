"""cdk-nag, cfn-lint and checkov findings on the head assembly, offline.

Run the way ``tests/test_app_checks.py`` runs them: nag from the assembly's
``validation-report.json``, cfn-lint from this venv, checkov from ``.venv-checkov`` with
``--skip-download`` (no vendor API call). A tool that cannot run is reported, never skipped
silently: ``--fail-on-findings`` treats it as a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
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


def _stack_by_file(assembly: Assembly) -> dict[str, str]:
    return {stack.template_file.name: stack.id for stack in assembly.stacks.values()}


def cfn_lint_findings(
    assembly: Assembly, *, executable: Path = CFN_LINT, env: Mapping[str, str] | None = None
) -> ToolResult:
    templates = [str(stack.template_file) for stack in assembly.stacks.values()]
    if not templates:
        return ToolResult(())
    if not executable.exists():
        return ToolResult((), f"cfn-lint not found at {executable}")
    try:
        result = _run([str(executable), "--format", "json", *templates], env)
    except subprocess.TimeoutExpired:
        return ToolResult((), "cfn-lint timed out")
    try:
        matches: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return ToolResult((), f"cfn-lint failed (exit {result.returncode}): {last}")
    stacks = _stack_by_file(assembly)
    findings = []
    for match in matches:
        path = match.get("Location", {}).get("Path") or []
        resource = (
            str(path[1]) if len(path) > 1 and path[0] == "Resources" else "/".join(map(str, path))
        )
        findings.append(
            Finding(
                "cfn-lint",
                stacks.get(Path(str(match.get("Filename", ""))).name, "?"),
                f"{match['Rule']['Id']} ({match.get('Level', '?')})",
                resource,
                str(match.get("Message", "")),
            )
        )
    return ToolResult(tuple(sorted(set(findings))))


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
    stacks = list(assembly.stacks.values())
    if not stacks:
        return ToolResult(())
    if not executable.exists():
        return ToolResult((), f"checkov not found at {executable}")
    command = [str(executable), "--framework", "cloudformation", "--skip-download"]
    for stack in stacks:
        command += ["-f", str(stack.template_file)]
    command += ["--compact", "--quiet", "-o", "json"]
    try:
        result = _run(command, env)
        reports = _checkov_reports(result.stdout)
    except subprocess.TimeoutExpired:
        return ToolResult((), "checkov timed out")
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return ToolResult((), f"checkov failed (exit {result.returncode}): {last}")
    if result.returncode not in (0, 1) or not reports:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return ToolResult((), f"checkov failed (exit {result.returncode}): {last}")
    by_file = _stack_by_file(assembly)
    findings = {
        Finding(
            "checkov",
            by_file.get(Path(str(check.get("file_abs_path") or check["file_path"])).name, "?"),
            str(check["check_id"]),
            str(check.get("resource", "?")).split(".", 1)[-1],
            str(check.get("check_name", "")),
        )
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    }
    return ToolResult(tuple(sorted(findings)))
