"""A role's statement groups: statements in the order given, and each wildcard acknowledged
with its reason, so cdk-nag passes the role exactly when every wildcard has one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra.constructs.statement_groups import StatementGroup, add_statement_groups
from pipelines.assembly.manifest import read_validation_report
from tests.support.stacks import FEATURE_FLAGS

OBJECTS = "arn:aws:s3:::bucket/prefix/*"
REASON = "Object keys are chosen per run; the role is confined to this bucket's prefix"


def synth_role(outdir: Path, wildcards: Mapping[str, str]) -> tuple[Template, list[str]]:
    """The role's template, and the cdk-nag findings reported on it."""
    app = cdk.App(
        context={**FEATURE_FLAGS, "@aws-cdk/core:failSynthOnValidationErrors": False},
        outdir=str(outdir),
    )
    stack = cdk.Stack(app, "Test")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    read = iam.PolicyStatement(sid="Read", actions=["s3:GetObject"], resources=[OBJECTS])
    put = iam.PolicyStatement(sid="Write", actions=["s3:PutObject"], resources=[OBJECTS])
    add_statement_groups(role, StatementGroup([read], wildcards), StatementGroup([put]))
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    app.synth()
    report = read_validation_report(outdir)
    assert report is not None
    findings = [
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    ]
    return Template.from_stack(stack), findings


def test_statements_keep_their_order_and_a_reasoned_wildcard_passes(tmp_path: Path) -> None:
    template, findings = synth_role(tmp_path, {OBJECTS: REASON})
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [statement["Sid"] for statement in statements] == ["Read", "Write"]
    assert findings == []


def test_a_wildcard_without_a_reason_is_a_finding(tmp_path: Path) -> None:
    _, findings = synth_role(tmp_path, {})
    assert findings == [f"AwsSolutions-IAM5[Resource::{OBJECTS}]"]
