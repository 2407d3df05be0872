"""ProjectFunction in a bare stack: its own role and log group, and the scanner skips that
follow from how it is invoked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from infra.constructs.lambda_function import ProjectFunction


def function_template(
    tmp_path: Path, *, build_queue: bool = False, environment: dict[str, str] | None = None
) -> dict[str, Any]:
    (tmp_path / "index.py").write_text("def handler(event, context):\n    return None\n")
    stack = Stack(App(), "Bare")
    ProjectFunction(
        stack,
        "Function",
        description="does one thing",
        log_group_name="/test/lambda/one-thing",
        code_directory=str(tmp_path),
        handler="index.handler",
        timeout=Duration.minutes(1),
        dead_letter_queue=sqs.Queue(stack, "DeadLetters") if build_queue else None,
        environment=environment,
    )
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def of_type(resources: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [resource for resource in resources.values() if resource["Type"] == type_]


def skipped_checks(function: dict[str, Any]) -> set[str]:
    return {skip["id"] for skip in function["Metadata"]["checkov"]["skip"]}


def test_the_function_logs_to_its_named_group_and_may_write_only_there(tmp_path: Path) -> None:
    resources = function_template(tmp_path)
    [group] = of_type(resources, "AWS::Logs::LogGroup")
    [function] = of_type(resources, "AWS::Lambda::Function")
    [policy] = of_type(resources, "AWS::IAM::Policy")
    group_id = next(key for key, value in resources.items() if value is group)
    assert group["Properties"]["LogGroupName"] == "/test/lambda/one-thing"
    assert function["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == {"Fn::GetAtt": [group_id, "Arn"]}


def test_the_role_trusts_lambda_only_and_has_no_managed_policy(tmp_path: Path) -> None:
    [role] = of_type(function_template(tmp_path), "AWS::IAM::Role")
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]


def test_one_run_at_a_time_on_arm(tmp_path: Path) -> None:
    [function] = of_type(function_template(tmp_path), "AWS::Lambda::Function")
    assert function["Properties"]["ReservedConcurrentExecutions"] == 1
    assert function["Properties"]["Architectures"] == ["arm64"]
    assert function["Properties"]["Runtime"].startswith("python3.")


def test_without_a_dead_letter_queue_or_environment_the_scanners_are_told_why(
    tmp_path: Path,
) -> None:
    [function] = of_type(function_template(tmp_path), "AWS::Lambda::Function")
    assert skipped_checks(function) == {"CKV_AWS_117", "CKV_AWS_116"}


def test_a_dead_letter_queue_and_an_environment_change_the_skips(tmp_path: Path) -> None:
    resources = function_template(tmp_path, build_queue=True, environment={"SETTING": "value"})
    [function] = of_type(resources, "AWS::Lambda::Function")
    assert skipped_checks(function) == {"CKV_AWS_117", "CKV_AWS_173"}
    assert "DeadLetterConfig" in function["Properties"]
