"""Least privilege of the Pipeline stack's roles, proven by an allowed/denied matrix.

The roles: the one SageMaker Pipelines assumes for the sample model (found through the stack
output ``PipelineRoleArnBreastCancer``; every model's role is built by the same construct and
held to this one's grants below) and the roles of the endpoint-autoscaling and
sample-dataset-copier Lambda
functions (found through the functions, by their Description, and the function's ``Role``).

The Pipeline stack refers to the Foundation stack's key and execution role with
``Fn::GetStackOutput``; the matrix resolves those in the Foundation template of the same
assembly, and applies the Foundation's bucket and key policies as resource policies. Each table
is evaluated in one node process (one module fixture per table).

Resources are written with placeholders filled per variant from the stack outputs and the
settings, so no logical ID or physical name is spelled here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipelines.assembly.manifest import read_assembly
from pipelines.assembly.resolve import UnresolvableError
from tests.conftest import Assembly
from tests.support.iam import (
    FAKE_ACCOUNT,
    PolicyMatrix,
    Query,
    Role,
    wildcard_actions,
)
from tests.support.iam_cases import (
    ALL_VARIANTS,
    ALLOWED,
    DENIED,
    EXPLICITLY_DENIED,
    Case,
    assert_unique_descriptions,
    check,
    evaluate,
    expand,
    via,
)

STACK = "Pipeline"
FOUNDATION = "Foundation"
MODEL = "BreastCancer"  # the outputs of models/breast-cancer carry this suffix
PIPELINE_ROLE_OUTPUT = f"PipelineRoleArn{MODEL}"
SAMPLE_MODEL = "breast-cancer"


def autoscaling_function(model: str) -> str:
    """The Description of a model's autoscaling Lambda (one per model)."""
    return f"Registers autoscaling for the {model} model's endpoint"


AUTOSCALING_FUNCTION = autoscaling_function(SAMPLE_MODEL)
COPIER_FUNCTION = "Copies the models' sample datasets into the data bucket"
LAMBDA_ROLE_PREFIX = "Runs the Lambda function: "
ROLE_KEYS = ("pipeline", "autoscaling", "copier")

SM = "arn:aws:sagemaker:{region}:{account}"
SCALABLE_TARGET = (
    "arn:aws:application-autoscaling:{region}:{account}:"
    "scalable-target/0a1b2c3d4e5f60718293a4b5c6d7e8f9"
)
SAGEMAKER_VARIANT = {
    "application-autoscaling:service-namespace": "sagemaker",
    "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
}
ECS_SERVICE = {
    "application-autoscaling:service-namespace": "ecs",
    "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount",
}
SAGEMAKER_SLR_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SAGEMAKER_SLR = (
    "arn:aws:iam::{account}:role/aws-service-role/"
    f"{SAGEMAKER_SLR_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
ECS_SLR_SERVICE = "ecs.application-autoscaling.amazonaws.com"
ECS_SLR = (
    "arn:aws:iam::{account}:role/aws-service-role/"
    f"{ECS_SLR_SERVICE}/AWSServiceRoleForApplicationAutoScaling_ECSService"
)
TARGET_TRACKING_ALARM = (
    "arn:aws:cloudwatch:{region}:{account}:alarm:"
    "TargetTracking-endpoint/{endpoint}/variant/AllTraffic-AlarmHigh-abc"
)
LOG_STREAM = ":log-stream:2024/01/01/abc123"


def role_of(matrix: PolicyMatrix, key: str) -> Role:
    """The role a case's ``role`` (one of ROLE_KEYS) names."""
    if key == "pipeline":
        return matrix.role_from_output(PIPELINE_ROLE_OUTPUT)
    if key == "autoscaling":
        return matrix.lambda_function(AUTOSCALING_FUNCTION).role
    if key == "copier":
        return matrix.lambda_function(COPIER_FUNCTION).role
    raise KeyError(key)


GRANT_FOR_SAGEMAKER = {**via("sagemaker"), "kms:GrantIsForAWSResource": "true"}
TO_SAGEMAKER = {"iam:PassedToService": "sagemaker.amazonaws.com"}

# The tables are laid out one request per case; the formatter would spread each over 8 lines.
# fmt: off
PIPELINE_ROLE_CASES = [
    # -- jobs SageMaker Pipelines names itself: any name of the type ---------------------------
    *(
        Case(f"pipeline role may {verb}{job} under any generated name", "pipeline",
             f"sagemaker:{verb}{job}", f"{SM}:{kind}/pipelines-a1b2c3d4e5f6-step-x7y8z9",
             ALLOWED)
        for job, kind in (
            ("ProcessingJob", "processing-job"),
            ("TrainingJob", "training-job"),
            ("HyperParameterTuningJob", "hyper-parameter-tuning-job"),
        )
        for verb in ("Create", "Describe", "Stop")
    ),
    Case("pipeline role may CreateModel under any generated name", "pipeline",
         "sagemaker:CreateModel", SM + ":model/pipelines-a1b2c3d4e5f6-createmodel-x7y8", ALLOWED),
    Case("pipeline role may not CreateTransformJob", "pipeline",
         "sagemaker:CreateTransformJob", SM + ":transform-job/pipelines-abc", DENIED),
    Case("pipeline role may not CreateNotebookInstance", "pipeline",
         "sagemaker:CreateNotebookInstance", SM + ":notebook-instance/{prefix}-nb", DENIED),
    Case("pipeline role may not DeleteModel", "pipeline",
         "sagemaker:DeleteModel", SM + ":model/pipelines-abc", DENIED),
    # -- the one endpoint ----------------------------------------------------------------------
    *(
        Case(f"pipeline role may {action} the project endpoint", "pipeline",
             f"sagemaker:{action}", SM + ":endpoint/{endpoint}", ALLOWED)
        for action in ("CreateEndpoint", "UpdateEndpoint", "DescribeEndpoint")
    ),
    Case("pipeline role may not CreateEndpoint under another name", "pipeline",
         "sagemaker:CreateEndpoint", SM + ":endpoint/other-endpoint", DENIED),
    Case("pipeline role may not UpdateEndpoint of another endpoint", "pipeline",
         "sagemaker:UpdateEndpoint", SM + ":endpoint/other-endpoint", DENIED),
    Case("pipeline role may not DeleteEndpoint", "pipeline",
         "sagemaker:DeleteEndpoint", SM + ":endpoint/{endpoint}", DENIED),
    Case("pipeline role may CreateEndpointConfig with the endpoint name and a suffix", "pipeline",
         "sagemaker:CreateEndpointConfig", SM + ":endpoint-config/{endpoint}-config-abc123",
         ALLOWED),
    Case("pipeline role may not CreateEndpointConfig that only looks like the endpoint's",
         "pipeline", "sagemaker:CreateEndpointConfig", SM + ":endpoint-config/{endpoint}evil",
         DENIED),
    Case("pipeline role may not CreateEndpointConfig under another name", "pipeline",
         "sagemaker:CreateEndpointConfig", SM + ":endpoint-config/other", DENIED),
    # -- the model registry: this group only, no deletion, no approval -------------------------
    Case("pipeline role may CreateModelPackage in the project group", "pipeline",
         "sagemaker:CreateModelPackage", SM + ":model-package/{group}/1", ALLOWED),
    Case("pipeline role may DescribeModelPackageGroup of the project group", "pipeline",
         "sagemaker:DescribeModelPackageGroup", SM + ":model-package-group/{group}", ALLOWED),
    Case("pipeline role may not CreateModelPackage in another group", "pipeline",
         "sagemaker:CreateModelPackage", SM + ":model-package/other-models/1", DENIED),
    Case("pipeline role may not DeleteModelPackageGroup", "pipeline",
         "sagemaker:DeleteModelPackageGroup", SM + ":model-package-group/{group}", DENIED),
    Case("pipeline role may not UpdateModelPackage (approve a model)", "pipeline",
         "sagemaker:UpdateModelPackage", SM + ":model-package/{group}/1", DENIED),
    # -- the autoscaling step ------------------------------------------------------------------
    Case("pipeline role may InvokeFunction the autoscaling function", "pipeline",
         "lambda:InvokeFunction", "{autoscaling_function}", ALLOWED),
    Case("pipeline role may not InvokeFunction another function", "pipeline",
         "lambda:InvokeFunction", "arn:aws:lambda:{region}:{account}:function:other", DENIED),
    Case("pipeline role may not InvokeFunction the sample copier", "pipeline",
         "lambda:InvokeFunction", "{copier_function}", DENIED),
    # -- passing the execution role (from the Foundation stack) to SageMaker only --------------
    Case("pipeline role may PassRole the execution role to sagemaker", "pipeline",
         "iam:PassRole", "{execution_role}", ALLOWED, context=TO_SAGEMAKER),
    Case("pipeline role may not PassRole the execution role to lambda", "pipeline",
         "iam:PassRole", "{execution_role}", DENIED,
         context={"iam:PassedToService": "lambda.amazonaws.com"}),
    Case("pipeline role may not PassRole the execution role without PassedToService",
         "pipeline", "iam:PassRole", "{execution_role}", DENIED),
    Case("pipeline role may not PassRole itself", "pipeline",
         "iam:PassRole", "{pipeline_role}", DENIED, context=TO_SAGEMAKER),
    Case("pipeline role may not assume the execution role", "pipeline",
         "sts:AssumeRole", "{execution_role}", DENIED),
    # -- S3: reads step outputs under pipelines/ only, writes nothing, no data access ----------
    Case("pipeline role may GetObject an evaluation report under its model's prefix", "pipeline",
         "s3:GetObject", "arn:aws:s3:::{artifacts}/pipelines/breast-cancer/x/evaluation.json",
         ALLOWED),
    Case("pipeline role may not GetObject another model's outputs", "pipeline",
         "s3:GetObject", "arn:aws:s3:::{artifacts}/pipelines/wine/x/evaluation.json", DENIED),
    Case("pipeline role GetObject without TLS is explicitly denied by the bucket policy",
         "pipeline", "s3:GetObject", "arn:aws:s3:::{artifacts}/pipelines/x/evaluation.json",
         EXPLICITLY_DENIED, context={"aws:SecureTransport": "false"}),
    Case("pipeline role may not GetObject under launch/", "pipeline",
         "s3:GetObject", "arn:aws:s3:::{artifacts}/launch/x", DENIED),
    Case("pipeline role may not GetObject at a look-alike prefix", "pipeline",
         "s3:GetObject", "arn:aws:s3:::{artifacts}/pipelines-evil/x", DENIED),
    Case("pipeline role may not GetObject from the data bucket", "pipeline",
         "s3:GetObject", "arn:aws:s3:::{data}/{sample_key}", DENIED),
    Case("pipeline role may not ListBucket the artifact bucket", "pipeline",
         "s3:ListBucket", "arn:aws:s3:::{artifacts}", DENIED, context={"s3:prefix": "pipelines/"}),
    *(
        Case(f"pipeline role may not PutObject in {where}", "pipeline",
             "s3:PutObject", resource, DENIED)
        for where, resource in (
            ("the artifact bucket under pipelines/", "arn:aws:s3:::{artifacts}/pipelines/x/y"),
            ("the data bucket", "arn:aws:s3:::{data}/x"),
            ("another bucket", "arn:aws:s3:::someone-elses-bucket/x"),
        )
    ),
    # -- the data key: grants for SageMaker resources, decrypt through S3 ----------------------
    Case("pipeline role may CreateGrant via sagemaker for an AWS resource", "pipeline",
         "kms:CreateGrant", "{key}", ALLOWED, context=GRANT_FOR_SAGEMAKER),
    Case("pipeline role may not CreateGrant via sagemaker unless for an AWS resource",
         "pipeline", "kms:CreateGrant", "{key}", DENIED, context=via("sagemaker")),
    Case("pipeline role may not CreateGrant for an AWS resource directly", "pipeline",
         "kms:CreateGrant", "{key}", DENIED, context={"kms:GrantIsForAWSResource": "true"}),
    Case("pipeline role may not CreateGrant via s3", "pipeline",
         "kms:CreateGrant", "{key}", DENIED,
         context={**via("s3"), "kms:GrantIsForAWSResource": "true"}),
    Case("pipeline role may Decrypt with the data key via s3", "pipeline",
         "kms:Decrypt", "{key}", ALLOWED, context=via("s3")),
    Case("pipeline role may not Decrypt with the data key directly", "pipeline",
         "kms:Decrypt", "{key}", DENIED),
    Case("pipeline role may not Decrypt with the data key via sagemaker", "pipeline",
         "kms:Decrypt", "{key}", DENIED, context=via("sagemaker")),
    Case("pipeline role may not GenerateDataKey via s3", "pipeline",
         "kms:GenerateDataKey", "{key}", DENIED, context=via("s3")),
]

AUTOSCALING_ROLE_CASES = [
    # -- Application Auto Scaling: SageMaker variant counts only -------------------------------
    *(
        case
        for action in ("RegisterScalableTarget", "PutScalingPolicy")
        for case in (
            Case(f"autoscaling role may {action} for a SageMaker variant count", "autoscaling",
                 f"application-autoscaling:{action}", SCALABLE_TARGET, ALLOWED,
                 context=SAGEMAKER_VARIANT),
            Case(f"autoscaling role may not {action} for an ECS service", "autoscaling",
                 f"application-autoscaling:{action}", SCALABLE_TARGET, DENIED,
                 context=ECS_SERVICE),
            Case(f"autoscaling role may not {action} for another SageMaker dimension",
                 "autoscaling", f"application-autoscaling:{action}", SCALABLE_TARGET, DENIED,
                 context={**SAGEMAKER_VARIANT, "application-autoscaling:scalable-dimension":
                          "sagemaker:inference-component:DesiredCopyCount"}),
            Case(f"autoscaling role may not {action} without namespace and dimension",
                 "autoscaling", f"application-autoscaling:{action}", SCALABLE_TARGET, DENIED),
        )
    ),
    Case("autoscaling role may not DeregisterScalableTarget", "autoscaling",
         "application-autoscaling:DeregisterScalableTarget", SCALABLE_TARGET, DENIED,
         context=SAGEMAKER_VARIANT),
    # -- the endpoint: read it and resize it (as autoscaling requires), never reconfigure --
    Case("autoscaling role may DescribeEndpoint of the project endpoint", "autoscaling",
         "sagemaker:DescribeEndpoint", SM + ":endpoint/{endpoint}", ALLOWED),
    Case("autoscaling role may not DescribeEndpoint of another endpoint", "autoscaling",
         "sagemaker:DescribeEndpoint", SM + ":endpoint/other-endpoint", DENIED),
    Case("autoscaling role may not UpdateEndpoint", "autoscaling",
         "sagemaker:UpdateEndpoint", SM + ":endpoint/{endpoint}", DENIED),
    Case("autoscaling role may UpdateEndpointWeightsAndCapacities of the endpoint",
         "autoscaling", "sagemaker:UpdateEndpointWeightsAndCapacities",
         SM + ":endpoint/{endpoint}", ALLOWED),
    Case("autoscaling role may not UpdateEndpointWeightsAndCapacities of another endpoint",
         "autoscaling", "sagemaker:UpdateEndpointWeightsAndCapacities",
         SM + ":endpoint/other-endpoint", DENIED),
    Case("autoscaling role may DescribeEndpointConfig of the endpoint's configs",
         "autoscaling", "sagemaker:DescribeEndpointConfig",
         SM + ":endpoint-config/{endpoint}-config-abc123", ALLOWED),
    Case("autoscaling role may not DescribeEndpointConfig of another config", "autoscaling",
         "sagemaker:DescribeEndpointConfig", SM + ":endpoint-config/other", DENIED),
    # -- target tracking alarms of this endpoint ----------------------------------------------
    Case("autoscaling role may PutMetricAlarm for the endpoint's target tracking", "autoscaling",
         "cloudwatch:PutMetricAlarm", TARGET_TRACKING_ALARM, ALLOWED),
    Case("autoscaling role may DeleteAlarms of the endpoint's target tracking", "autoscaling",
         "cloudwatch:DeleteAlarms", TARGET_TRACKING_ALARM, ALLOWED),
    Case("autoscaling role may not PutMetricAlarm on another alarm", "autoscaling",
         "cloudwatch:PutMetricAlarm", "arn:aws:cloudwatch:{region}:{account}:alarm:other",
         DENIED),
    Case("autoscaling role may not PutMetricAlarm for another endpoint's target tracking",
         "autoscaling", "cloudwatch:PutMetricAlarm",
         "arn:aws:cloudwatch:{region}:{account}:alarm:"
         "TargetTracking-endpoint/other-endpoint/variant/AllTraffic-AlarmHigh-abc", DENIED),
    # -- the service-linked role of SageMaker autoscaling only --------------------------------
    Case("autoscaling role may CreateServiceLinkedRole for SageMaker autoscaling",
         "autoscaling", "iam:CreateServiceLinkedRole", SAGEMAKER_SLR, ALLOWED,
         context={"iam:AWSServiceName": SAGEMAKER_SLR_SERVICE}),
    Case("autoscaling role may not CreateServiceLinkedRole for ECS autoscaling", "autoscaling",
         "iam:CreateServiceLinkedRole", ECS_SLR, DENIED,
         context={"iam:AWSServiceName": ECS_SLR_SERVICE}),
    Case("autoscaling role may not CreateServiceLinkedRole naming another service",
         "autoscaling", "iam:CreateServiceLinkedRole", SAGEMAKER_SLR, DENIED,
         context={"iam:AWSServiceName": ECS_SLR_SERVICE}),
    # -- its own log group ---------------------------------------------------------------------
    Case("autoscaling role may PutLogEvents to its own log group", "autoscaling",
         "logs:PutLogEvents", "{autoscaling_logs}" + LOG_STREAM, ALLOWED),
    Case("autoscaling role may CreateLogStream in its own log group", "autoscaling",
         "logs:CreateLogStream", "{autoscaling_logs}" + LOG_STREAM, ALLOWED),
    Case("autoscaling role may not PutLogEvents to the copier's log group", "autoscaling",
         "logs:PutLogEvents", "{copier_logs}" + LOG_STREAM, DENIED),
    Case("autoscaling role may not PutLogEvents to another log group", "autoscaling",
         "logs:PutLogEvents",
         "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/other" + LOG_STREAM, DENIED),
    # -- nothing else --------------------------------------------------------------------------
    Case("autoscaling role may not GetObject from the data bucket", "autoscaling",
         "s3:GetObject", "arn:aws:s3:::{data}/{sample_key}", DENIED),
    Case("autoscaling role may not Decrypt with the data key via s3", "autoscaling",
         "kms:Decrypt", "{key}", DENIED, context=via("s3")),
    Case("autoscaling role may not PassRole the execution role", "autoscaling",
         "iam:PassRole", "{execution_role}", DENIED, context=TO_SAGEMAKER),
]

COPIER_ROLE_CASES = [
    # -- read the one asset object ------------------------------------------------------------
    Case("copier role may GetObject the sample asset", "copier",
         "s3:GetObject", "arn:aws:s3:::{asset_bucket}/{asset_key}", ALLOWED),
    Case("copier role may not GetObject another key of the asset bucket", "copier",
         "s3:GetObject", "arn:aws:s3:::{asset_bucket}/other.zip", DENIED),
    # -- write the one sample object ------------------------------------------------------------
    Case("copier role may PutObject the sample key in the data bucket", "copier",
         "s3:PutObject", "arn:aws:s3:::{data}/{sample_key}", ALLOWED),
    Case("copier role PutObject without TLS is explicitly denied by the bucket policy",
         "copier", "s3:PutObject", "arn:aws:s3:::{data}/{sample_key}", EXPLICITLY_DENIED,
         context={"aws:SecureTransport": "false"}),
    Case("copier role may not PutObject another key of the data bucket", "copier",
         "s3:PutObject", "arn:aws:s3:::{data}/other.csv", DENIED),
    Case("copier role may not PutObject the sample key in the artifact bucket", "copier",
         "s3:PutObject", "arn:aws:s3:::{artifacts}/{sample_key}", DENIED),
    Case("copier role may not DeleteObject the sample key", "copier",
         "s3:DeleteObject", "arn:aws:s3:::{data}/{sample_key}", DENIED),
    Case("copier role may not GetObject from the data bucket", "copier",
         "s3:GetObject", "arn:aws:s3:::{data}/{sample_key}", DENIED),
    # -- the data key: encrypt the new object ------------------------------------------------
    Case("copier role may GenerateDataKey with the data key via s3", "copier",
         "kms:GenerateDataKey", "{key}", ALLOWED, context=via("s3")),
    Case("copier role may not GenerateDataKey directly, outside S3", "copier",
         "kms:GenerateDataKey", "{key}", DENIED),
    Case("copier role may not GenerateDataKey with another key", "copier",
         "kms:GenerateDataKey", "arn:aws:kms:{region}:{account}:key/"
         "00000000-0000-0000-0000-000000000000", DENIED, context=via("s3")),
    Case("copier role may not Decrypt with the data key", "copier",
         "kms:Decrypt", "{key}", DENIED, context=via("s3")),
    # -- its own log group ---------------------------------------------------------------------
    Case("copier role may PutLogEvents to its own log group", "copier",
         "logs:PutLogEvents", "{copier_logs}" + LOG_STREAM, ALLOWED),
    Case("copier role may not PutLogEvents to the autoscaling log group", "copier",
         "logs:PutLogEvents", "{autoscaling_logs}" + LOG_STREAM, DENIED),
]
# fmt: on

TABLES = {
    "pipeline": PIPELINE_ROLE_CASES,
    "autoscaling": AUTOSCALING_ROLE_CASES,
    "copier": COPIER_ROLE_CASES,
}

assert_unique_descriptions(TABLES)


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrices(assemblies: dict[str, Assembly]) -> dict[str, PolicyMatrix]:
    return {
        variant: PolicyMatrix.for_stack(assembly.directory, STACK, assembly.settings)
        for variant, assembly in assemblies.items()
    }


def _split_s3_uri(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bucket, key


def _sample_copy_source(matrix: PolicyMatrix, key: str) -> tuple[str, str]:
    """The asset object the copier custom resource copies to ``key``."""
    (props,) = (
        props
        for resource in matrix.resources_of_type("Custom::SampleDatasetCopy").values()
        if (props := matrix.resolve(resource["Properties"]))["DestinationKey"] == key
    )
    return str(props["SourceBucket"]), str(props["SourceKey"])


def resource_names(matrix: PolicyMatrix, assembly: Assembly) -> dict[str, str]:
    autoscaling = matrix.lambda_function(AUTOSCALING_FUNCTION)
    copier = matrix.lambda_function(COPIER_FUNCTION)
    assert autoscaling.log_group_arn, "the autoscaling function has no log group"
    assert copier.log_group_arn, "the copier function has no log group"
    data = str(matrix.stack_output(FOUNDATION, "DataBucketName"))
    sample_bucket, sample_key = _split_s3_uri(str(matrix.output(f"SampleDataUri{MODEL}")))
    assert sample_bucket == data, "the sample lands outside the Foundation's data bucket"
    asset_bucket, asset_key = _sample_copy_source(matrix, sample_key)
    return {
        "region": matrix.region,
        "account": matrix.account,
        "prefix": assembly.settings.project_prefix,
        "endpoint": str(matrix.output(f"EndpointName{MODEL}")),
        "group": str(matrix.output(f"ModelPackageGroupName{MODEL}")),
        "pipeline_role": str(matrix.output(PIPELINE_ROLE_OUTPUT)),
        "data": data,
        "artifacts": str(matrix.stack_output(FOUNDATION, "ArtifactBucketName")),
        "key": str(matrix.stack_output(FOUNDATION, "DataKeyArn")),
        "execution_role": str(matrix.stack_output(FOUNDATION, "ExecutionRoleArn")),
        "sample_key": sample_key,
        "asset_bucket": asset_bucket,
        "asset_key": asset_key,
        "autoscaling_function": autoscaling.arn,
        "copier_function": copier.arn,
        # Log group ARNs without CloudFormation's trailing ":*", to append a stream to.
        "autoscaling_logs": autoscaling.log_group_arn.removesuffix(":*"),
        "copier_logs": copier.log_group_arn.removesuffix(":*"),
    }


@pytest.fixture(scope="module")
def names(
    matrices: dict[str, PolicyMatrix], assemblies: dict[str, Assembly]
) -> dict[str, dict[str, str]]:
    return {variant: resource_names(matrices[variant], assemblies[variant]) for variant in matrices}


@pytest.fixture(scope="module")
def pipeline_verdicts(
    matrices: dict[str, PolicyMatrix], names: dict[str, dict[str, str]]
) -> dict[str, str]:
    return evaluate(PIPELINE_ROLE_CASES, matrices, names, role_of)


@pytest.fixture(scope="module")
def autoscaling_verdicts(
    matrices: dict[str, PolicyMatrix], names: dict[str, dict[str, str]]
) -> dict[str, str]:
    return evaluate(AUTOSCALING_ROLE_CASES, matrices, names, role_of)


@pytest.fixture(scope="module")
def copier_verdicts(
    matrices: dict[str, PolicyMatrix], names: dict[str, dict[str, str]]
) -> dict[str, str]:
    return evaluate(COPIER_ROLE_CASES, matrices, names, role_of)


# -- the matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "case"), expand(PIPELINE_ROLE_CASES))
def test_pipeline_role(pipeline_verdicts: dict[str, str], variant: str, case: Case) -> None:
    check(pipeline_verdicts, variant, case)


@pytest.mark.parametrize(("variant", "case"), expand(AUTOSCALING_ROLE_CASES))
def test_autoscaling_lambda_role(
    autoscaling_verdicts: dict[str, str], variant: str, case: Case
) -> None:
    check(autoscaling_verdicts, variant, case)


@pytest.mark.parametrize(("variant", "case"), expand(COPIER_ROLE_CASES))
def test_sample_copier_lambda_role(
    copier_verdicts: dict[str, str], variant: str, case: Case
) -> None:
    check(copier_verdicts, variant, case)


# -- structural guarantees ------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_the_stack_has_exactly_the_roles_the_tables_cover(
    matrices: dict[str, PolicyMatrix], variant: str
) -> None:
    matrix = matrices[variant]
    covered = {role_of(matrix, key).logical_id for key in ROLE_KEYS}
    assert len(covered) == len(ROLE_KEYS), "two tables resolve to the same role"
    # The other models' pipeline and autoscaling roles are held to the sample's tables by the
    # next test.
    others = {
        role.logical_id
        for model, pipeline in other_pipeline_roles(matrix)
        for role in (pipeline, matrix.lambda_function(autoscaling_function(model)).role)
    }
    # A new role fails here until it gets its own table.
    assert set(matrix.resources_of_type("AWS::IAM::Role")) == covered | others
    for key in ROLE_KEYS:
        assert role_of(matrix, key).policies, f"the {key} role has no identity policy"


def other_pipeline_roles(matrix: PolicyMatrix) -> list[tuple[str, Role]]:
    """(model, pipeline role) of every model except the sample."""
    return [
        (_kebab(name.removeprefix("PipelineRoleArn")), matrix.role_from_output(name))
        for name in matrix.template["Outputs"]
        if name.startswith("PipelineRoleArn") and name != PIPELINE_ROLE_OUTPUT
    ]


def grants(matrix: PolicyMatrix, role: Role, model: str) -> str:
    """The role's allow statements as JSON, with the model's own generated ARNs (its Lambda
    and that Lambda's log group) as placeholders, so two models' roles compare by shape."""
    function = matrix.lambda_function(autoscaling_function(model))
    text = json.dumps(role.allow_statements(), sort_keys=True)
    text = text.replace(function.arn, "{autoscaling_function}")
    return text.replace(str(function.log_group_arn).removesuffix(":*"), "{autoscaling_logs}")


def _kebab(pascal: str) -> str:
    return "-".join(part.lower() for part in re.findall(r"[A-Z][a-z0-9]*", pascal))


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_model_pipeline_role_is_the_sample_role_with_its_own_names(
    matrices: dict[str, PolicyMatrix], variant: str
) -> None:
    # The table above proves the sample's role; every other model's role must grant exactly
    # the same, with its own model's prefix, group and endpoint in place of the sample's.
    matrix = matrices[variant]
    samples = {
        key: grants(matrix, role_of(matrix, key), SAMPLE_MODEL)
        for key in ("pipeline", "autoscaling")
    }
    others = other_pipeline_roles(matrix)
    assert len(others) == len(matrix.template["Outputs"]) // 5 - 1
    for model, pipeline in others:
        autoscaling = matrix.lambda_function(autoscaling_function(model)).role
        for key, role in (("pipeline", pipeline), ("autoscaling", autoscaling)):
            expected = samples[key].replace(SAMPLE_MODEL, model)
            assert grants(matrix, role, model) == expected, (model, key)
            assert model in expected


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_lambda_roles_are_described_as_running_their_function_and_trust_only_lambda(
    matrices: dict[str, PolicyMatrix], variant: str
) -> None:
    matrix = matrices[variant]
    functions = matrix.lambda_functions()
    models = [SAMPLE_MODEL, *(model for model, _ in other_pipeline_roles(matrix))]
    assert sorted(function.description or "" for function in functions) == sorted(
        [*map(autoscaling_function, models), COPIER_FUNCTION]
    )
    described = {
        role.logical_id
        for role in matrix.roles()
        if (role.description or "").startswith(LAMBDA_ROLE_PREFIX)
    }
    assert described == {function.role.logical_id for function in functions}
    for function in functions:
        assert function.role.description == LAMBDA_ROLE_PREFIX + (function.description or "")
    assert {role.logical_id for role in matrix.roles_trusting_service("lambda.amazonaws.com")} == (
        described
    )
    pipeline_roles = {
        matrix.role_from_output(name).logical_id
        for name in matrix.template["Outputs"]
        if name.startswith("PipelineRoleArn")
    }
    assert PIPELINE_ROLE_OUTPUT in matrix.template["Outputs"]
    assert {
        role.logical_id for role in matrix.roles_trusting_service("sagemaker.amazonaws.com")
    } == pipeline_roles


@pytest.mark.parametrize("variant", ALL_VARIANTS)
@pytest.mark.parametrize("role", ROLE_KEYS)
def test_no_allow_statement_grants_a_wildcard_action(
    matrices: dict[str, PolicyMatrix], variant: str, role: str
) -> None:
    found = wildcard_actions(role_of(matrices[variant], role))
    assert found == [], f"{role} role in {variant} grants wildcard actions: {found}"


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_no_managed_policy_is_attached_anywhere(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    template = assemblies[variant].template(STACK)
    attached = {
        logical_id: resource["Properties"]["ManagedPolicyArns"]
        for logical_id, resource in template["Resources"].items()
        if resource.get("Properties", {}).get("ManagedPolicyArns")
    }
    assert attached == {}
    assert ":iam::aws:policy/" not in json.dumps(template)


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_names_agree_with_the_settings_and_the_foundation(
    matrices: dict[str, PolicyMatrix],
    names: dict[str, dict[str, str]],
    assemblies: dict[str, Assembly],
    variant: str,
) -> None:
    matrix, named = matrices[variant], names[variant]
    prefix = assemblies[variant].settings.project_prefix
    assert named["endpoint"] == f"{prefix}-breast-cancer-endpoint"
    assert named["group"] == f"{prefix}-breast-cancer-models"
    # The derived bucket names of the Pipeline stack are the Foundation's physical names, so
    # the Foundation's bucket policies are the ones that apply to the Pipeline roles' requests.
    assert {named["data"], named["artifacts"]} <= set(matrix.bucket_policies)
    assert named["key"] in matrix.key_policies
    # Every KMS key and bucket the roles name is one whose resource policy the matrix applies
    # (the CDK asset bucket excepted: it belongs to the bootstrap stack).
    for key in ROLE_KEYS:
        for statement in role_of(matrix, key).allow_statements():
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                if resource.startswith("arn:aws:kms:"):
                    assert resource in matrix.key_policies, resource
                if resource.startswith("arn:aws:s3:::"):
                    bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
                    assert bucket in matrix.bucket_policies or bucket == named["asset_bucket"]


def test_every_table_has_allowed_and_denied_cases() -> None:
    # A table of only denials would also pass against a role with no permissions at all.
    for name, cases in TABLES.items():
        expectations = {case.expected for case in cases}
        assert ALLOWED in expectations, name
        assert DENIED in expectations, name
        assert {case.role for case in cases} == {name}
    assert set(TABLES) == set(ROLE_KEYS)


# -- the harness can fail -------------------------------------------------------------------


def _foundation_with_closed_key(directory: Path, target: Path) -> Path:
    """A copy of the cloud assembly whose data key policy no longer delegates to IAM."""
    target.mkdir()
    for path in directory.glob("*.json"):
        (target / path.name).write_text(path.read_text())
    foundation = read_assembly(target, nested=False).by_id()[FOUNDATION]
    template: dict[str, Any] = copy.deepcopy(dict(foundation.template))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            resource["Properties"]["KeyPolicy"] = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{FAKE_ACCOUNT}:role/KeyAdmin"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            }
    foundation.template_file.write_text(json.dumps(template))
    return target


def test_harness_applies_the_foundation_key_policy(
    assemblies: dict[str, Assembly], tmp_path: Path
) -> None:
    # The pipeline role's identity policy allows Decrypt via S3; a Foundation key policy that
    # does not delegate to the account's IAM policies must still stop it.
    assembly = assemblies["dev"]
    closed = PolicyMatrix.for_stack(
        _foundation_with_closed_key(assembly.directory, tmp_path / "closed"),
        STACK,
        assembly.settings,
    )
    role = closed.role_from_output(PIPELINE_ROLE_OUTPUT)
    key = str(closed.stack_output(FOUNDATION, "DataKeyArn"))
    context = {"kms:ViaService": f"s3.{closed.region}.amazonaws.com"}
    assert closed.evaluate([Query(role, "kms:Decrypt", key, context)]) == ["ImplicitlyDenied"]


def test_pipeline_template_cannot_be_resolved_without_the_foundation(
    assemblies: dict[str, Assembly],
) -> None:
    # Cross-stack values are looked up, never invented.
    assembly = assemblies["dev"]
    alone = PolicyMatrix(assembly.template(STACK), assembly.settings)
    with pytest.raises(UnresolvableError, match="not in the assembly"):
        alone.role_from_output(PIPELINE_ROLE_OUTPUT)
