"""App-wide gates on every synthesized variant: cdk-nag, cfn-lint, checkov, determinism."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from pipelines.assembly.manifest import read_assembly
from pipelines.names import DATA_BEARING_TYPES
from tests.conftest import VARIANTS, Assembly, Scans, synthesize

ROOT = Path(__file__).resolve().parent.parent
# The foundation meets the bar of five. The pipeline stack needs more: SageMaker
# Pipelines names the jobs and models it creates, so each model's pipeline role is scoped per
# resource type, one finding each, and each model's autoscaling Lambda has three wildcards
# (README, "cdk-nag acknowledgments"). (fixed, per model) for each stack:
ACKNOWLEDGMENT_BUDGET = {"Foundation": (5, 0), "Pipeline": (0, 10)}
ACK_TYPE = "aws:cdk:acknowledged-rules"


def acknowledgments(assembly: Assembly) -> list[tuple[str, str, str]]:
    """(construct path, finding id, reason) for every acknowledgment in the assembly."""
    found = []
    for stack in read_assembly(assembly.directory, nested=False).stacks:
        for path, entries in stack.metadata().items():
            for entry in entries:
                if entry["type"] == ACK_TYPE:
                    for finding, reason in entry["data"].items():
                        found.append((path, finding.removeprefix("Annotation::"), reason))
    return found


def violations(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_cdk_nag_reports_no_unacknowledged_finding(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    assert violations(assemblies[variant].validation_report) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_acknowledgments_are_few_and_give_specific_reasons(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    acks = acknowledgments(assemblies[variant])
    models = len(assemblies[variant].settings.models)
    for stack, (fixed, per_model) in ACKNOWLEDGMENT_BUDGET.items():
        budget = fixed + per_model * models
        count = sum(path.startswith(f"/{stack}/") for path, _, _ in acks)
        assert 0 < count <= budget, f"{stack}: {count} acknowledgments, budget {budget}"
    for path, finding, reason in acks:
        assert finding.startswith("AwsSolutions-"), finding
        assert "[" in finding, f"{finding} on {path} acknowledges a whole rule, not one finding"
        assert len(reason) >= 40, f"{finding} on {path}: reason too short: {reason!r}"
        assert not path.endswith(("/Foundation", "/Pipeline")), f"{finding} acknowledged stack-wide"


def test_readme_lists_every_acknowledgment(assemblies: dict[str, Assembly]) -> None:
    readme = (ROOT / "README.md").read_text()
    reasons = {
        reason for assembly in assemblies.values() for _, _, reason in acknowledgments(assembly)
    }
    missing = sorted(reason for reason in reasons if reason not in readme)
    assert missing == []


def test_every_acknowledgment_matches_a_finding_it_would_otherwise_raise(
    tmp_path: Path, assemblies: dict[str, Assembly]
) -> None:
    """Without acknowledgments, nag must report exactly the acknowledged findings: none stale."""
    with mock.patch("infra.constructs.acknowledgments.Validations"):
        bare = synthesize(tmp_path, **VARIANTS["dev-image-build"])
    raised = {(rule, "/" + path) for rule, path in violations(bare.validation_report)}
    acknowledged = {
        (finding, path.removesuffix("/Resource"))
        for path, finding, _ in acknowledgments(assemblies["dev-image-build"])
    }
    raised_by_construct = {(rule, path.removesuffix("/Resource")) for rule, path in raised}
    assert raised_by_construct == acknowledged


@pytest.mark.parametrize("variant", VARIANTS)
def test_cfn_lint_finds_no_error_or_warning(scans: dict[str, Scans], variant: str) -> None:
    result = scans[variant].cfn_lint
    assert result.error is None
    assert result.findings == ()


@pytest.mark.parametrize("variant", VARIANTS)
def test_checkov_finds_no_failed_check_and_every_skip_has_a_comment(
    scans: dict[str, Scans], variant: str
) -> None:
    result = scans[variant].checkov
    assert result.error is None
    assert result.findings == ()
    assert result.passed > 0
    assert result.skipped, "checkov reported no skipped check: the template skips are not read"
    assert all(skip.message for skip in result.skipped), result.skipped


def test_cfn_lint_and_checkov_flag_a_flawed_template_and_only_its_flaw(
    scans: dict[str, Scans],
) -> None:
    lint, checkov = scans["flawed"].cfn_lint, scans["flawed"].checkov
    assert ("Foundation", "E3002 (Error)", "BadBucket") in {
        (f.stack, f.rule, f.resource) for f in lint.findings
    }
    assert ("Foundation", "CKV_AWS_18", "BadBucket") in {
        (f.stack, f.rule, f.resource) for f in checkov.findings
    }
    assert {f.resource for f in (*lint.findings, *checkov.findings)} == {"BadBucket"}


def test_data_bearing_resources_are_retained(dev: Assembly) -> None:
    resources = [
        resource
        for template in dev.templates().values()
        for resource in template["Resources"].values()
        if resource["Type"] in DATA_BEARING_TYPES
    ]
    # Key, three buckets, two repositories, the copier's log group, and per model a registry
    # and its autoscaling Lambda's log group.
    assert len(resources) == 7 + 2 * len(dev.settings.models)
    for resource in resources:
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"


def test_synth_is_deterministic(tmp_path: Path, dev: Assembly) -> None:
    again = synthesize(tmp_path, **VARIANTS["dev"])
    assert again.templates() == dev.templates()
    first = read_assembly(dev.directory, nested=False).by_id()
    for stack_id, stack in read_assembly(tmp_path, nested=False).by_id().items():
        assert stack.template_file.read_bytes() == first[stack_id].template_file.read_bytes()
