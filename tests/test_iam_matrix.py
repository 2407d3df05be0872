"""Least privilege of the two roles, proven by an allowed/denied matrix evaluated offline.

Each case is a request one role makes; ``@cloud-copilot/iam-simulate`` evaluates it against the
role's identity policies from the synthesized template plus the resource's own policy (bucket
policy, key policy, trust policy), with the same-account rule: allowed if either side allows
and nothing denies. Every case of every table, in every variant it applies to, plus the
harness self-checks, is evaluated in one node process (the ``verdicts`` fixture).

Resources are written with placeholders filled per variant from the stack outputs and the
settings, so no logical ID or physical name is spelled here.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from pipelines.assembly.resolve import UnresolvableError
from tests.conftest import Assembly
from tests.support.iam import (
    FAKE_ACCOUNT,
    PolicyMatrix,
    Query,
    Role,
    SimulationError,
    matrix_resolver,
    matrix_stack,
    raise_on_errors,
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

STACK = "Foundation"
ROLE_OUTPUTS = {"execution": "ExecutionRoleArn", "agent": "LaunchAgentRoleArn"}

OTHER_REGION = "ap-southeast-2"  # never the region of a variant (checked in resource_names)
TRAINING_LOG_STREAM = (
    "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs"
    ":log-stream:{prefix}-abc/algo-1-1700000000"
)


def role_of(matrix: PolicyMatrix, key: str) -> Role:
    """The role a case's ``role`` (a key of ROLE_OUTPUTS) names."""
    return matrix.role_from_output(ROLE_OUTPUTS[key])


# The tables are laid out one request per case; the formatter would spread each over 8 lines.
# fmt: off
EXECUTION_ROLE_CASES = [
    # -- data bucket: read-only, through the bucket policy -----------------------------------
    Case("execution role may GetObject any data key", "execution",
         "s3:GetObject", "arn:aws:s3:::{data}/raw/2024/train.csv", ALLOWED),
    Case("execution role may GetObject a data key at the bucket root", "execution",
         "s3:GetObject", "arn:aws:s3:::{data}/x", ALLOWED),
    Case("execution role may ListBucket the data bucket", "execution",
         "s3:ListBucket", "arn:aws:s3:::{data}", ALLOWED),
    Case("execution role may not DeleteObject in the data bucket", "execution",
         "s3:DeleteObject", "arn:aws:s3:::{data}/raw/train.csv", DENIED),
    Case("execution role may not PutObject in the data bucket", "execution",
         "s3:PutObject", "arn:aws:s3:::{data}/raw/train.csv", DENIED),
    Case("execution role may not change the data bucket policy", "execution",
         "s3:PutBucketPolicy", "arn:aws:s3:::{data}", DENIED),
    Case("execution role requests without TLS are explicitly denied", "execution",
         "s3:GetObject", "arn:aws:s3:::{data}/raw/train.csv", EXPLICITLY_DENIED,
         context={"aws:SecureTransport": "false"}),
    Case("execution role may not read another bucket", "execution",
         "s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x", DENIED),
    Case("execution role may not list another bucket", "execution",
         "s3:ListBucket", "arn:aws:s3:::someone-elses-bucket", DENIED),
    Case("execution role may not read the access log bucket", "execution",
         "s3:GetObject", "arn:aws:s3:::{access_logs}/DataBucket/x", DENIED),
    # -- artifact bucket: read/write under the artifact prefixes only -------------------------
    *(
        Case(f"execution role may {action} under {prefix}/", "execution",
             f"s3:{action}", f"arn:aws:s3:::{{artifacts}}/{prefix}/run1/model.tar.gz", ALLOWED)
        for prefix in ("pipelines", "launch", "endpoints")
        for action in ("GetObject", "PutObject")
    ),
    Case("execution role may not PutObject outside the artifact prefixes", "execution",
         "s3:PutObject", "arn:aws:s3:::{artifacts}/other/x", DENIED),
    Case("execution role may not GetObject outside the artifact prefixes", "execution",
         "s3:GetObject", "arn:aws:s3:::{artifacts}/other/x", DENIED),
    Case("execution role may not PutObject at a look-alike prefix", "execution",
         "s3:PutObject", "arn:aws:s3:::{artifacts}/pipelines-evil/x", DENIED),
    Case("execution role may not DeleteObject under an artifact prefix", "execution",
         "s3:DeleteObject", "arn:aws:s3:::{artifacts}/pipelines/run1/model.tar.gz", DENIED),
    Case("execution role may ListBucket artifacts with a prefix under pipelines/", "execution",
         "s3:ListBucket", "arn:aws:s3:::{artifacts}", ALLOWED,
         context={"s3:prefix": "pipelines/run1"}),
    Case("execution role may ListBucket artifacts with a prefix under endpoints/", "execution",
         "s3:ListBucket", "arn:aws:s3:::{artifacts}", ALLOWED,
         context={"s3:prefix": "endpoints/"}),
    Case("execution role may not ListBucket artifacts with a prefix secret/", "execution",
         "s3:ListBucket", "arn:aws:s3:::{artifacts}", DENIED, context={"s3:prefix": "secret/"}),
    Case("execution role may not ListBucket artifacts with a look-alike prefix", "execution",
         "s3:ListBucket", "arn:aws:s3:::{artifacts}", DENIED,
         context={"s3:prefix": "pipelines-evil/"}),
    Case("execution role may not ListBucket artifacts without a prefix", "execution",
         "s3:ListBucket", "arn:aws:s3:::{artifacts}", DENIED),
    # -- data key: only through S3 and SageMaker in the stack's region ------------------------
    *(
        Case(f"execution role may {action} with the data key via {service}", "execution",
             f"kms:{action}", "{key}", ALLOWED, context=via(service))
        for action in ("Decrypt", "GenerateDataKey")
        for service in ("s3", "sagemaker")
    ),
    *(
        Case(f"execution role may not {action} with the data key directly", "execution",
             f"kms:{action}", "{key}", DENIED)
        for action in ("Decrypt", "GenerateDataKey")
    ),
    *(
        Case(f"execution role may not {action} with the data key via lambda", "execution",
             f"kms:{action}", "{key}", DENIED, context=via("lambda"))
        for action in ("Decrypt", "GenerateDataKey")
    ),
    Case("execution role may not Decrypt via S3 of another region", "execution",
         "kms:Decrypt", "{key}", DENIED,
         context={"kms:ViaService": f"s3.{OTHER_REGION}.amazonaws.com"}),
    Case("execution role may not ScheduleKeyDeletion", "execution",
         "kms:ScheduleKeyDeletion", "{key}", DENIED),
    Case("execution role may not CreateGrant on the data key", "execution",
         "kms:CreateGrant", "{key}", DENIED, context=via("sagemaker")),
    Case("execution role may not PutKeyPolicy", "execution",
         "kms:PutKeyPolicy", "{key}", DENIED),
    # -- images: pull the project's repositories only ----------------------------------------
    Case("execution role may BatchGetImage from the training repo", "execution",
         "ecr:BatchGetImage", "{training_repo}", ALLOWED),
    Case("execution role may BatchGetImage from the inference repo", "execution",
         "ecr:BatchGetImage", "{inference_repo}", ALLOWED),
    Case("execution role may GetDownloadUrlForLayer from the training repo", "execution",
         "ecr:GetDownloadUrlForLayer", "{training_repo}", ALLOWED),
    Case("execution role may not BatchGetImage from another repo", "execution",
         "ecr:BatchGetImage", "{other_repo}", DENIED),
    Case("execution role may not PutImage in the training repo", "execution",
         "ecr:PutImage", "{training_repo}", DENIED),
    Case("execution role may GetAuthorizationToken to pull", "execution",
         "ecr:GetAuthorizationToken", "*", ALLOWED),
    # -- logs and metrics: SageMaker's own groups and namespaces ------------------------------
    Case("execution role may PutLogEvents to a training job stream", "execution",
         "logs:PutLogEvents", TRAINING_LOG_STREAM, ALLOWED),
    Case("execution role may CreateLogStream in an endpoint log group", "execution",
         "logs:CreateLogStream",
         "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/e1:log-stream:x",
         ALLOWED),
    Case("execution role may not PutLogEvents to a lambda log stream", "execution",
         "logs:PutLogEvents", "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/x"
         ":log-stream:s", DENIED),
    Case("execution role may not DeleteLogGroup of a sagemaker log group", "execution",
         "logs:DeleteLogGroup",
         "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs:*", DENIED),
    Case("execution role may PutMetricData in a sagemaker namespace", "execution",
         "cloudwatch:PutMetricData", "*", ALLOWED,
         context={"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}),
    Case("execution role may not PutMetricData in namespace Custom/Other", "execution",
         "cloudwatch:PutMetricData", "*", DENIED,
         context={"cloudwatch:namespace": "Custom/Other"}),
    # -- no control plane ---------------------------------------------------------------------
    Case("execution role may not PassRole itself", "execution",
         "iam:PassRole", "{execution_role}", DENIED,
         context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Case("execution role may not CreateTrainingJob", "execution",
         "sagemaker:CreateTrainingJob", "arn:aws:sagemaker:{region}:{account}:training-job/"
         "{prefix}-abc", DENIED),
    Case("execution role may not assume the launch agent role", "execution",
         "sts:AssumeRole", "{agent_role}", DENIED),
]

LAUNCH_AGENT_CASES = [
    # -- training jobs named with the prefix --------------------------------------------------
    *(
        Case(f"agent may {action} a prefixed training job", "agent",
             f"sagemaker:{action}",
             "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}-abc", ALLOWED)
        for action in ("DescribeTrainingJob", "StopTrainingJob", "AddTags")
    ),
    Case("agent may CreateTrainingJob writing its model under the data key", "agent",
         "sagemaker:CreateTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}-abc", ALLOWED,
         context={"sagemaker:OutputKmsKeyArn": "{key}"}),
    Case("agent may CreateTrainingJob with model and volume under the data key", "agent",
         "sagemaker:CreateTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}-abc", ALLOWED,
         context={"sagemaker:OutputKmsKeyArn": "{key}", "sagemaker:VolumeKmsKeyArn": "{key}"}),
    Case("agent may not CreateTrainingJob with an unencrypted model output", "agent",
         "sagemaker:CreateTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}-abc", DENIED),
    Case("agent may not CreateTrainingJob writing its model under another key", "agent",
         "sagemaker:CreateTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}-abc", DENIED,
         context={"sagemaker:OutputKmsKeyArn": "arn:aws:kms:{region}:999999999999:key/other"}),
    Case("agent may not CreateTrainingJob with its volume under another key", "agent",
         "sagemaker:CreateTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}-abc", DENIED,
         context={"sagemaker:OutputKmsKeyArn": "{key}",
                  "sagemaker:VolumeKmsKeyArn": "arn:aws:kms:{region}:999999999999:key/other"}),
    Case("agent may not CreateTrainingJob without the prefix", "agent",
         "sagemaker:CreateTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/other-abc", DENIED),
    Case("agent may not CreateTrainingJob whose name only looks like the prefix", "agent",
         "sagemaker:CreateTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}er-abc", DENIED),
    Case("agent may not CreateTrainingJob in another region", "agent",
         "sagemaker:CreateTrainingJob",
         f"arn:aws:sagemaker:{OTHER_REGION}:{{account}}:training-job/{{prefix}}-abc", DENIED),
    Case("agent may not DeleteTrainingJob", "agent",
         "sagemaker:DeleteTrainingJob",
         "arn:aws:sagemaker:{region}:{account}:training-job/{prefix}-abc", DENIED),
    Case("agent may not CreateProcessingJob", "agent",
         "sagemaker:CreateProcessingJob",
         "arn:aws:sagemaker:{region}:{account}:processing-job/{prefix}-abc", DENIED),
    Case("agent may not CreateEndpoint", "agent",
         "sagemaker:CreateEndpoint",
         "arn:aws:sagemaker:{region}:{account}:endpoint/{prefix}-abc", DENIED),
    # -- passing the execution role, to SageMaker only ----------------------------------------
    Case("agent may PassRole the execution role to sagemaker", "agent",
         "iam:PassRole", "{execution_role}", ALLOWED,
         context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Case("agent may not PassRole the execution role to lambda", "agent",
         "iam:PassRole", "{execution_role}", DENIED,
         context={"iam:PassedToService": "lambda.amazonaws.com"}),
    Case("agent may not PassRole the execution role without PassedToService", "agent",
         "iam:PassRole", "{execution_role}", DENIED),
    Case("agent may not PassRole itself", "agent",
         "iam:PassRole", "{agent_role}", DENIED,
         context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Case("agent may not PassRole an Admin role", "agent",
         "iam:PassRole", "arn:aws:iam::{account}:role/Admin", DENIED,
         context={"iam:PassedToService": "sagemaker.amazonaws.com"}),
    Case("agent may not assume the execution role", "agent",
         "sts:AssumeRole", "{execution_role}", DENIED),
    # -- the data key: grants for SageMaker's volumes only ------------------------------------
    Case("agent may CreateGrant on the data key for SageMaker resources", "agent",
         "kms:CreateGrant", "{key}", ALLOWED,
         context={**via("sagemaker"), "kms:GrantIsForAWSResource": "true"}),
    Case("agent may not CreateGrant unless the grant is for an AWS resource", "agent",
         "kms:CreateGrant", "{key}", DENIED,
         context={**via("sagemaker"), "kms:GrantIsForAWSResource": "false"}),
    Case("agent may not CreateGrant via s3", "agent",
         "kms:CreateGrant", "{key}", DENIED,
         context={**via("s3"), "kms:GrantIsForAWSResource": "true"}),
    Case("agent may not CreateGrant directly", "agent",
         "kms:CreateGrant", "{key}", DENIED),
    Case("agent may not Decrypt with the data key via s3", "agent",
         "kms:Decrypt", "{key}", DENIED, context=via("s3")),
    # -- logs of training jobs, read-only -----------------------------------------------------
    Case("agent may GetLogEvents of a training job stream", "agent",
         "logs:GetLogEvents", TRAINING_LOG_STREAM, ALLOWED),
    Case("agent may DescribeLogStreams of the training job log group", "agent",
         "logs:DescribeLogStreams",
         "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/TrainingJobs:*", ALLOWED),
    Case("agent may not GetLogEvents of a lambda stream", "agent",
         "logs:GetLogEvents", "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/x"
         ":log-stream:s", DENIED),
    Case("agent may not PutLogEvents to a training job stream", "agent",
         "logs:PutLogEvents", TRAINING_LOG_STREAM, DENIED),
    # -- no data access ------------------------------------------------------------------------
    Case("agent may not GetObject from the data bucket", "agent",
         "s3:GetObject", "arn:aws:s3:::{data}/raw/train.csv", DENIED),
    Case("agent may not ListBucket the data bucket", "agent",
         "s3:ListBucket", "arn:aws:s3:::{data}", DENIED),
    Case("agent may not GetObject from the artifact bucket", "agent",
         "s3:GetObject", "arn:aws:s3:::{artifacts}/launch/x", DENIED),
    # -- images: nothing unless the image-build switch is on (see IMAGE_BUILD_CASES) ----------
    Case("agent may not PutImage in the inference repo", "agent",
         "ecr:PutImage", "{inference_repo}", DENIED),
    Case("agent may not PutImage in another repo", "agent",
         "ecr:PutImage", "{other_repo}", DENIED),
]

WITHOUT_IMAGE_BUILD = ("dev", "prod")
IMAGE_BUILD = ("dev-image-build",)
IMAGE_BUILD_CASES = [
    Case("agent may not PutImage in the training repo by default", "agent",
         "ecr:PutImage", "{training_repo}", DENIED, variants=WITHOUT_IMAGE_BUILD),
    Case("agent may not GetAuthorizationToken by default", "agent",
         "ecr:GetAuthorizationToken", "*", DENIED, variants=WITHOUT_IMAGE_BUILD),
    Case("agent may not BatchGetImage from the training repo by default", "agent",
         "ecr:BatchGetImage", "{training_repo}", DENIED, variants=WITHOUT_IMAGE_BUILD),
    Case("agent may PutImage in the training repo with image build", "agent",
         "ecr:PutImage", "{training_repo}", ALLOWED, variants=IMAGE_BUILD),
    Case("agent may UploadLayerPart to the training repo with image build", "agent",
         "ecr:UploadLayerPart", "{training_repo}", ALLOWED, variants=IMAGE_BUILD),
    Case("agent may GetAuthorizationToken with image build", "agent",
         "ecr:GetAuthorizationToken", "*", ALLOWED, variants=IMAGE_BUILD),
    Case("agent may not PutImage in the inference repo with image build", "agent",
         "ecr:PutImage", "{inference_repo}", DENIED, variants=IMAGE_BUILD),
    Case("agent may not DeleteRepository with image build", "agent",
         "ecr:DeleteRepository", "{training_repo}", DENIED, variants=IMAGE_BUILD),
]

# fmt: on

TABLES = {
    "execution": EXECUTION_ROLE_CASES,
    "agent": LAUNCH_AGENT_CASES,
    "image-build": IMAGE_BUILD_CASES,
}

assert_unique_descriptions(TABLES)


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrices(assemblies: dict[str, Assembly]) -> dict[str, PolicyMatrix]:
    return {
        variant: PolicyMatrix(assembly.template(STACK), assembly.settings)
        for variant, assembly in assemblies.items()
    }


def _repository_arn(uri: str) -> str:
    # <account>.dkr.ecr.<region>.<suffix>/<name>
    host, name = uri.split("/", 1)
    account, _, _, region = host.split(".")[:4]
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def resource_names(matrix: PolicyMatrix, assembly: Assembly) -> dict[str, str]:
    assert matrix.region != OTHER_REGION
    return {
        "account": matrix.account,
        "region": matrix.region,
        "prefix": assembly.settings.training_job_prefix,
        "data": matrix.output("DataBucketName"),
        "artifacts": matrix.output("ArtifactBucketName"),
        "access_logs": matrix.output("AccessLogBucketName"),
        "key": matrix.output("DataKeyArn"),
        "training_repo": _repository_arn(matrix.output("TrainingRepositoryUri")),
        "inference_repo": _repository_arn(matrix.output("InferenceRepositoryUri")),
        "other_repo": f"arn:aws:ecr:{matrix.region}:{matrix.account}:repository/someone/else",
        "execution_role": matrix.output("ExecutionRoleArn"),
        "agent_role": matrix.output("LaunchAgentRoleArn"),
    }


def _with_extra_role_policy(template: dict[str, Any], role: Role, statement: Any) -> Any:
    mutated = copy.deepcopy(template)
    mutated["Resources"]["InjectedTestPolicy"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "injected",
            "Roles": [{"Ref": role.logical_id}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        },
    }
    return mutated


def harness_requests(assemblies: dict[str, Assembly]) -> dict[str, dict[str, Any]]:
    """Requests whose verdicts prove the harness can report what the matrix must catch."""
    assembly = assemblies["dev"]
    template = assembly.template(STACK)
    matrix = PolicyMatrix(template, assembly.settings)
    execution = matrix.role_from_output(ROLE_OUTPUTS["execution"])
    data = matrix.output("DataBucketName")
    key = matrix.output("DataKeyArn")
    broad = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}

    # The same template with one over-broad statement added to the execution role.
    broadened = PolicyMatrix(_with_extra_role_policy(template, execution, broad), assembly.settings)
    broadened_role = broadened.role_from_output(ROLE_OUTPUTS["execution"])
    # The same template with the data bucket policy gone: reads must then fail.
    without_bucket_policies = copy.deepcopy(template)
    without_bucket_policies["Resources"] = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] != "AWS::S3::BucketPolicy"
    }
    no_bucket_policy = PolicyMatrix(without_bucket_policies, assembly.settings)
    # The same template with a key policy that does not delegate to the account's IAM.
    closed_key = copy.deepcopy(template)
    for resource in closed_key["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            resource["Properties"]["KeyPolicy"] = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{matrix.account}:role/KeyAdmin"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            }
    closed_key_matrix = PolicyMatrix(closed_key, assembly.settings)

    return {
        "raw broad policy": {
            "principal": f"arn:aws:sts::{FAKE_ACCOUNT}:assumed-role/Broad/s",
            "policies": [{"Version": "2012-10-17", "Statement": [broad]}],
            "action": "s3:DeleteObject",
            "resource": "arn:aws:s3:::someone-elses-bucket/x",
            "account": FAKE_ACCOUNT,
        },
        "broadened role, other bucket": broadened.request(
            Query(broadened_role, "s3:DeleteObject", "arn:aws:s3:::someone-elses-bucket/x")
        ),
        "broadened role, data bucket": broadened.request(
            Query(broadened_role, "s3:DeleteObject", f"arn:aws:s3:::{data}/x")
        ),
        "no bucket policy": no_bucket_policy.request(
            Query(
                no_bucket_policy.role_from_output(ROLE_OUTPUTS["execution"]),
                "s3:GetObject",
                f"arn:aws:s3:::{data}/x",
            )
        ),
        "closed key policy": closed_key_matrix.request(
            Query(
                closed_key_matrix.role_from_output(ROLE_OUTPUTS["execution"]),
                "kms:Decrypt",
                key,
                {"kms:ViaService": f"s3.{matrix.region}.amazonaws.com"},
            )
        ),
        "misspelt action": matrix.request(
            Query(execution, "s3:GetObjekt", f"arn:aws:s3:::{data}/x")
        ),
    }


@pytest.fixture(scope="module")
def harness(assemblies: dict[str, Assembly]) -> dict[str, dict[str, Any]]:
    return harness_requests(assemblies)


@pytest.fixture(scope="module")
def verdicts(
    matrices: dict[str, PolicyMatrix],
    assemblies: dict[str, Assembly],
    harness: dict[str, dict[str, Any]],
) -> dict[str, str]:
    """Every verdict of the module, keyed by pytest id or harness name, from one node run."""
    names = {
        variant: resource_names(matrices[variant], assemblies[variant]) for variant in matrices
    }
    cases = [case for cases in TABLES.values() for case in cases]
    return evaluate(cases, matrices, names, role_of, extra_requests=harness)


# -- the matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "case"), expand(EXECUTION_ROLE_CASES))
def test_execution_role(verdicts: dict[str, str], variant: str, case: Case) -> None:
    check(verdicts, variant, case)


@pytest.mark.parametrize(("variant", "case"), expand(LAUNCH_AGENT_CASES))
def test_launch_agent_role(verdicts: dict[str, str], variant: str, case: Case) -> None:
    check(verdicts, variant, case)


@pytest.mark.parametrize(("variant", "case"), expand(IMAGE_BUILD_CASES))
def test_launch_agent_image_build_switch(
    verdicts: dict[str, str], variant: str, case: Case
) -> None:
    check(verdicts, variant, case)


# -- structural guarantees ------------------------------------------------------------------


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_outputs_name_the_two_roles_and_only_the_execution_role_trusts_sagemaker(
    matrices: dict[str, PolicyMatrix], variant: str
) -> None:
    matrix = matrices[variant]
    execution = matrix.role_from_output(ROLE_OUTPUTS["execution"])
    agent = matrix.role_from_output(ROLE_OUTPUTS["agent"])
    assert execution.logical_id != agent.logical_id
    assert matrix.roles_trusting_service("sagemaker.amazonaws.com") == [execution]
    # Every role of the stack is covered by the matrix: a new role needs its own table.
    roles = set(matrix.resources_of_type("AWS::IAM::Role"))
    assert roles == {execution.logical_id, agent.logical_id}
    assert execution.policies, "the execution role has no identity policy"
    assert agent.policies, "the launch agent role has no identity policy"


@pytest.mark.parametrize("variant", ALL_VARIANTS)
@pytest.mark.parametrize("role", sorted(ROLE_OUTPUTS))
def test_no_allow_statement_grants_a_wildcard_action(
    matrices: dict[str, PolicyMatrix], variant: str, role: str
) -> None:
    found = wildcard_actions(matrices[variant].role_from_output(ROLE_OUTPUTS[role]))
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


# -- the harness can fail -------------------------------------------------------------------


def test_harness_reports_an_over_broad_policy_as_allowed(verdicts: dict[str, str]) -> None:
    assert verdicts["raw broad policy"] == ALLOWED


def test_harness_reads_role_policies_from_the_template(verdicts: dict[str, str]) -> None:
    # With s3:* on * added to the execution role, the matrix must see the role over-reach.
    assert verdicts["broadened role, other bucket"] == ALLOWED
    assert verdicts["broadened role, data bucket"] == ALLOWED


def test_harness_grants_s3_reads_only_through_the_bucket_policy(verdicts: dict[str, str]) -> None:
    assert verdicts["no bucket policy"] != ALLOWED


def test_harness_honours_the_key_policy(verdicts: dict[str, str]) -> None:
    # The identity policy allows Decrypt via S3, but a key policy that does not delegate to
    # the account's IAM policies must still stop it.
    assert verdicts["closed key policy"] != ALLOWED


def test_harness_fails_loudly_on_requests_the_simulator_rejects(
    verdicts: dict[str, str], harness: dict[str, dict[str, Any]]
) -> None:
    request = harness["misspelt action"]
    verdict = verdicts["misspelt action"]
    assert verdict.startswith("ERROR")
    with pytest.raises(SimulationError, match="s3:GetObjekt"):
        raise_on_errors([request], [verdict])


def test_matrix_refuses_roles_with_managed_policies(assemblies: dict[str, Assembly]) -> None:
    assembly = assemblies["dev"]
    template = copy.deepcopy(assembly.template(STACK))
    role = PolicyMatrix(template, assembly.settings).role_from_output(ROLE_OUTPUTS["execution"])
    template["Resources"][role.logical_id]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    ]
    with pytest.raises(ValueError, match="managed policies"):
        PolicyMatrix(template, assembly.settings).role_from_output(ROLE_OUTPUTS["execution"])


def test_wildcard_check_flags_service_and_global_wildcards() -> None:
    role = Role(
        logical_id="R",
        name="R",
        arn=f"arn:aws:iam::{FAKE_ACCOUNT}:role/R",
        trust_policy={},
        policies=(
            {
                "Statement": [
                    {
                        "Sid": "A",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:*"],
                        "Resource": "*",
                    },
                    {"Sid": "B", "Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Sid": "C", "Effect": "Deny", "Action": "*", "Resource": "*"},
                ]
            },
        ),
    )
    assert wildcard_actions(role) == ["s3:* in A", "* in B"]


def test_every_table_has_allowed_and_denied_cases() -> None:
    # A table of only denials would also pass against a role with no permissions at all.
    for name, cases in TABLES.items():
        expectations = {case.expected for case in cases}
        assert ALLOWED in expectations, name
        assert DENIED in expectations, name
    assert {case.role for cases in TABLES.values() for case in cases} == set(ROLE_OUTPUTS)


def test_the_matrix_names_resources_after_their_logical_ids_and_invents_no_value() -> None:
    template: dict[str, Any] = {
        "Parameters": {"Qualifier": {"Type": "String"}},
        "Resources": {
            "Bucket1": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Fn1": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Repo1": {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "a/b"}},
            "Queue1": {"Type": "AWS::SQS::Queue", "Properties": {}},
        },
    }
    stack = matrix_stack(template, account="222222222222", region="eu-west-1")
    resolver = matrix_resolver([stack])

    def resolve(value: Any) -> Any:
        return resolver.resolve(value, stack, "test")

    assert resolve({"Fn::Sub": "${Bucket1.Arn}/*"}) == "arn:aws:s3:::bucket1/*"
    assert resolve({"Fn::GetAtt": ["Fn1", "Arn"]}) == (
        "arn:aws:lambda:eu-west-1:222222222222:function:Fn1"
    )
    assert resolve({"Fn::GetAtt": ["Repo1", "Arn"]}) == (
        "arn:aws:ecr:eu-west-1:222222222222:repository/a/b"
    )
    # A policy evaluated against a made-up ARN would prove nothing: no stand-in values.
    unmodelled = {
        "Ref of Queue1 (AWS::SQS::Queue)": {"Ref": "Queue1"},
        "ARN of Queue1 (AWS::SQS::Queue)": {"Fn::GetAtt": ["Queue1", "Arn"]},
        "Bucket1.WebsiteURL (AWS::S3::Bucket)": {"Fn::GetAtt": ["Bucket1", "WebsiteURL"]},
    }
    for what, token in unmodelled.items():
        with pytest.raises(UnresolvableError, match=re.escape(f"{what} is not modelled")):
            resolve(token)
    with pytest.raises(UnresolvableError, match="parameter Qualifier has no default"):
        resolve({"Ref": "Qualifier"})
