"""Shared fixtures: one offline synth of each environment for the whole session, and one run of
cfn-lint and of checkov over all of them."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.app_factory import build_app
from infra.config import Settings, app_context, load_settings
from pipelines.assembly.manifest import VALIDATION_REPORT, read_assembly, read_validation_report
from review.assembly import load_assembly
from review.checks import ToolResult, cfn_lint_results, checkov_results
from tests.support.offline import no_network

# Tests may be run without make: never let botocore probe the instance-metadata endpoint.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True, scope="session")
def _offline() -> Iterator[None]:
    """Every test runs with the network blocked; moto-backed tests stay in-process."""
    with no_network(block_botocore=False):
        yield


@dataclass(frozen=True)
class Assembly:
    directory: Path
    settings: Settings
    # Every socket connect and botocore call the synth attempted (each one was blocked).
    network_attempts: tuple[str, ...] = ()

    def templates(self) -> dict[str, dict[str, Any]]:
        """Every top-level stack's template, by artifact id (sorted, as tests compare them)."""
        stacks = read_assembly(self.directory, nested=False).by_id()
        return {artifact_id: stacks[artifact_id].template for artifact_id in sorted(stacks)}

    def template(self, stack: str) -> dict[str, Any]:
        return self.templates()[stack]

    @property
    def validation_report(self) -> dict[str, Any]:
        report = read_validation_report(self.directory)
        assert report is not None, f"cdk-nag wrote no validation report in {self.directory}"
        return report


def synthesize(outdir: Path, **overrides: Any) -> Assembly:
    context = {
        **app_context(cli_context={}),
        "@aws-cdk/core:failSynthOnValidationErrors": False,
        **overrides,
    }
    settings = load_settings(context)
    # Every synth in the suite doubles as proof that synth is offline: AWS calls fail too.
    with no_network() as attempts:
        build_app(settings, context=context, outdir=str(outdir)).synth()
    return Assembly(outdir, settings, tuple(attempts))


# The variants the security checks run on: the default dev app, the prod example, and dev with
# the launcher's image-building permissions switched on (and a larger training instance: the
# review tests diff this variant against dev as their "broadened" head, so it is synthesized
# and scanned once for both).
VARIANTS: dict[str, dict[str, Any]] = {
    "dev": {"env": "dev"},
    "prod": {"env": "prod"},  # with the GitHub OIDC deploy stack
    "dev-image-build": {
        "env": "dev",
        "launch_agent.allow_image_build": "true",
        "models.breast-cancer.training.instance_type": "ml.m5.2xlarge",
    },
}


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assembly]:
    return {
        name: synthesize(tmp_path_factory.mktemp(f"cdk-{name}"), **overrides)
        for name, overrides in VARIANTS.items()
    }


@pytest.fixture(scope="session")
def dev(assemblies: dict[str, Assembly]) -> Assembly:
    return assemblies["dev"]


@pytest.fixture(scope="session")
def flawed(assemblies: dict[str, Assembly], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the dev assembly with one finding for each tool: proof the gates can fail."""
    head = tmp_path_factory.mktemp("flawed") / "assembly"
    shutil.copytree(assemblies["dev"].directory, head)
    foundation = read_assembly(head, nested=False).by_id()["Foundation"]
    template = dict(foundation.template)
    # cfn-lint: E3002 (misspelt property); checkov: a bucket without logging, encryption, ...
    template["Resources"]["BadBucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {"BucketNam": "typo"},
    }
    foundation.template_file.write_text(json.dumps(template))
    report = read_validation_report(head) or {}
    report["pluginReports"] = [
        {
            "pluginName": "AwsSolutions",
            "conclusion": "failure",
            "violations": [
                {
                    "ruleName": "AwsSolutions-IAM5[Resource::*]",
                    "description": "The IAM entity contains wildcard permissions.",
                    "severity": "error",
                    "violatingConstructs": [
                        {"constructPath": "Foundation/ExecutionRole/Role/DefaultPolicy/Resource"}
                    ],
                }
            ],
        }
    ]
    (head / VALIDATION_REPORT).write_text(json.dumps(report))
    return head


@dataclass(frozen=True)
class Scans:
    cfn_lint: ToolResult
    checkov: ToolResult


@pytest.fixture(scope="session")
def scans(assemblies: dict[str, Assembly], flawed: Path) -> dict[str, Scans]:
    """cfn-lint and checkov results of every variant and of ``flawed``, by name.

    Each tool runs once per session, in one process for all assemblies (start-up is most of a
    run), the two side by side; tests/test_app_checks.py and the review tests read the results.
    """
    directories = {name: assembly.directory for name, assembly in assemblies.items()}
    directories["flawed"] = flawed
    loaded = [load_assembly(directory) for directory in directories.values()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        lint = pool.submit(cfn_lint_results, loaded)
        checkov = pool.submit(checkov_results, loaded)
        results = zip(lint.result(), checkov.result(), strict=True)
    return {name: Scans(*result) for name, result in zip(directories, results, strict=True)}
