"""Three real assemblies for the review tests, synthesized once per session.

- ``base``: dev defaults;
- ``broadened``: the launcher may build images (its policy gains ECR push) and the pipeline
  trains on ml.m5.2xlarge: the suite's ``dev-image-build`` variant;
- ``renamed``: another project prefix, which renames buckets, repositories and the model
  registry, so CloudFormation replaces them.

The base and the broadened head are the suite's own assemblies, and their cfn-lint and checkov
results the suite's own scans (``reusing_scans``): no review test runs a scanner on them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from review.assembly import Assembly, load_assembly
from review.checks import ToolResult, cfn_lint_findings, checkov_findings
from tests.conftest import Assembly as TestAssembly
from tests.conftest import Scans, synthesize

RENAMED = {"project_prefix": "mlops-dev2"}


@pytest.fixture(scope="session")
def review_dirs(
    tmp_path_factory: pytest.TempPathFactory, assemblies: dict[str, TestAssembly]
) -> dict[str, Path]:
    dirs = {
        "base": assemblies["dev"].directory,
        "broadened": assemblies["dev-image-build"].directory,
    }
    directory = tmp_path_factory.mktemp("review-renamed")
    synthesize(directory, env="dev", **RENAMED)
    dirs["renamed"] = directory
    return dirs


@pytest.fixture(scope="session")
def review_assemblies(review_dirs: dict[str, Path]) -> dict[str, Assembly]:
    return {name: load_assembly(directory) for name, directory in review_dirs.items()}


@pytest.fixture(scope="session")
def scans_by_directory(
    assemblies: dict[str, TestAssembly], flawed: Path, scans: dict[str, Scans]
) -> dict[Path, Scans]:
    directories = {name: assembly.directory for name, assembly in assemblies.items()}
    directories["flawed"] = flawed
    return {directories[name].resolve(): result for name, result in scans.items()}


@contextmanager
def reusing_scans(scans_by_directory: dict[Path, Scans]) -> Iterator[list[str]]:
    """Within the block, the review takes the session's cfn-lint and checkov results for the
    assemblies the session scanned (same tools, same options); any other is scanned for real.
    Yields the tools it served from the session, so a test can tell reuse happened."""
    served: list[str] = []

    def reuse(tool: str, real: Callable[..., ToolResult]) -> Callable[..., ToolResult]:
        def findings(assembly: Assembly, **options: Any) -> ToolResult:
            scanned = scans_by_directory.get(assembly.directory.resolve())
            # Another executable or environment is not what the session ran: run it.
            if scanned is None or any(value is not None for value in options.values()):
                return real(assembly, **options)
            served.append(tool)
            result: ToolResult = getattr(scanned, tool)
            return result

        return findings

    # review.build looks the scanners up by name when it runs the checks.
    with (
        mock.patch("review.build.cfn_lint_findings", reuse("cfn_lint", cfn_lint_findings)),
        mock.patch("review.build.checkov_findings", reuse("checkov", checkov_findings)),
    ):
        yield served
