"""GitHubDeployRole: the provider switch, the exact trust conditions, the only permission, and
allowed/denied matrices for both, evaluated offline with the project's IAM simulator."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from infra.constructs.github_deploy_role import (
    BOOTSTRAP_ROLE_KINDS,
    GITHUB_OIDC_HOST,
    GitHubDeployRole,
)
from pipelines.assembly.manifest import read_assembly, read_validation_report
from tests.support.iam import (
    DEFAULT_REGION,
    FAKE_ACCOUNT,
    PolicyMatrix,
    Query,
    raise_on_errors,
    resolve_alone,
    simulate,
)
from tests.support.stacks import FEATURE_FLAGS

REPOSITORY = "acme/ml-platform"
PROVIDER_ARN = f"arn:aws:iam::{FAKE_ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"
OTHER_PROVIDER_ARN = f"arn:aws:iam::222222222222:oidc-provider/{GITHUB_OIDC_HOST}"
AUD, SUB, REF = (f"{GITHUB_OIDC_HOST}:{claim}" for claim in ("aud", "sub", "ref"))
ENV_SUBJECT = f"repo:{REPOSITORY}:environment:production"


def bootstrap_role(kind: str, *, qualifier: str = "hnb659fds", region: str = DEFAULT_REGION) -> str:
    return f"arn:aws:iam::{FAKE_ACCOUNT}:role/cdk-{qualifier}-{kind}-role-{FAKE_ACCOUNT}-{region}"


# -- one synth for the module: every variant, plus a broad role cdk-nag must flag -------------

VARIANTS: dict[str, dict[str, Any]] = {
    "Created": {"create_provider": True, "provider_arn": None},
    "Imported": {"create_provider": False, "provider_arn": PROVIDER_ARN},
    "BranchSubject": {
        "create_provider": False,
        "provider_arn": PROVIDER_ARN,
        "environment": None,
        "branch": "release",
        "bootstrap_qualifier": "custom1",
    },
}


@dataclass(frozen=True)
class Synth:
    templates: Mapping[str, Template]
    violations: list[tuple[str, str]] = field(default_factory=list)
    acknowledgments: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("github-deploy-role")
    app = cdk.App(
        context={**FEATURE_FLAGS, "@aws-cdk/core:failSynthOnValidationErrors": False},
        outdir=str(outdir),
    )
    for name, arguments in VARIANTS.items():
        GitHubDeployRole(
            cdk.Stack(app, name),
            "GitHubDeploy",
            **{"repository": REPOSITORY, "branch": "main", **arguments},
        )
    broad = cdk.Stack(app, "Broad")
    role = iam.Role(broad, "Role", assumed_by=iam.WebIdentityPrincipal(PROVIDER_ARN))
    role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=["*"]))
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    app.synth()
    stacks = read_assembly(outdir, nested=False).by_id()
    report = read_validation_report(outdir)
    assert report is not None
    violations = [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    templates = {name: Template.from_json(stacks[name].template) for name in VARIANTS}
    acknowledgments = [
        f"{path}: {entry['data']}"
        for stack in stacks.values()
        for path, entries in stack.metadata().items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
    ]
    return Synth(templates, violations, acknowledgments)


def template_json(synth: Synth, variant: str) -> dict[str, Any]:
    found: dict[str, Any] = synth.templates[variant].to_json()
    return found


def trust_statement(synth: Synth, variant: str) -> dict[str, Any]:
    (role,) = synth.templates[variant].find_resources("AWS::IAM::Role").values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    found: dict[str, Any] = statement
    return found


# -- the provider switch ---------------------------------------------------------------------


def test_creates_the_github_oidc_provider_natively_when_asked(synth: Synth) -> None:
    template = synth.templates["Created"]
    (provider,) = template.find_resources("AWS::IAM::OIDCProvider").values()
    assert provider["Properties"] == {
        "Url": f"https://{GITHUB_OIDC_HOST}",
        "ClientIdList": ["sts.amazonaws.com"],
    }
    # A native resource: no custom resource and no Lambda function behind it.
    types = {resource["Type"] for resource in template_json(synth, "Created")["Resources"].values()}
    assert types == {"AWS::IAM::OIDCProvider", "AWS::IAM::Role", "AWS::IAM::Policy"}
    (logical_id,) = template.find_resources("AWS::IAM::OIDCProvider")
    assert trust_statement(synth, "Created")["Principal"] == {"Federated": {"Ref": logical_id}}


def test_imports_the_existing_provider_by_arn_instead(synth: Synth) -> None:
    synth.templates["Imported"].resource_count_is("AWS::IAM::OIDCProvider", 0)
    assert trust_statement(synth, "Imported")["Principal"] == {"Federated": PROVIDER_ARN}


def test_created_and_imported_providers_get_the_same_trust_and_permissions(synth: Synth) -> None:
    created, imported = template_json(synth, "Created"), template_json(synth, "Imported")
    for template in (created, imported):
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Role":
                resource["Properties"]["AssumeRolePolicyDocument"]["Statement"][0].pop("Principal")
        template["Resources"] = {
            logical_id: resource
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] != "AWS::IAM::OIDCProvider"
        }
    assert created == imported


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"create_provider": False, "provider_arn": None}, "provider_arn"),
        ({"create_provider": True, "provider_arn": PROVIDER_ARN}, "conflicts"),
        (
            {"create_provider": False, "provider_arn": "arn:aws:iam::111111111111:role/x"},
            "provider_arn",
        ),
        ({"create_provider": True, "provider_arn": None, "repository": "ml-platform"}, "owner"),
        ({"create_provider": True, "provider_arn": None, "branch": "refs/heads/main"}, "branch"),
        ({"create_provider": True, "provider_arn": None, "bootstrap_qualifier": "x" * 11}, "qual"),
    ],
)
def test_rejects_inconsistent_arguments(arguments: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Test")
    with pytest.raises(ValueError, match=message):
        GitHubDeployRole(
            stack, "GitHubDeploy", **{"repository": REPOSITORY, "branch": "main", **arguments}
        )


# -- trust -----------------------------------------------------------------------------------


def test_trusts_only_the_production_environment_of_the_repository_on_its_branch(
    synth: Synth,
) -> None:
    statement = trust_statement(synth, "Imported")
    assert statement == {
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER_ARN},
        "Condition": {
            "StringEquals": {AUD: "sts.amazonaws.com", SUB: ENV_SUBJECT, REF: "refs/heads/main"}
        },
    }
    (role,) = synth.templates["Imported"].find_resources("AWS::IAM::Role").values()
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_without_an_environment_the_subject_names_the_branch(synth: Synth) -> None:
    assert trust_statement(synth, "BranchSubject")["Condition"] == {
        "StringEquals": {
            AUD: "sts.amazonaws.com",
            SUB: f"repo:{REPOSITORY}:ref:refs/heads/release",
            REF: "refs/heads/release",
        }
    }


# The simulator's STS model knows GitHub's `ref`, `environment` and `repository` claims as
# condition keys but not the web-identity `sub` and `aud` (they are not in the service
# authorization reference it is built from): it drops them from the request and then treats
# their conditions as unmet. So those two are checked here with exact-match semantics (what
# StringEquals does), and the simulator evaluates everything else: principal, action and `ref`.
UNSIMULATED = (AUD, SUB)


@dataclass(frozen=True)
class Token:
    """The claims of one GitHub Actions OIDC token, as IAM condition keys."""

    sub: str
    ref: str = "refs/heads/main"
    aud: str = "sts.amazonaws.com"
    provider: str = PROVIDER_ARN

    def context(self) -> dict[str, str]:
        return {AUD: self.aud, SUB: self.sub, REF: self.ref}


def web_identity_verdicts(
    trust_policy: Mapping[str, Any], role_arn: str, tokens: list[Token]
) -> list[str]:
    simulated = copy.deepcopy(dict(trust_policy))
    (statement,) = simulated["Statement"]
    equals = statement["Condition"]["StringEquals"]
    required = {key: equals.pop(key) for key in UNSIMULATED}
    assert all(isinstance(value, str) for value in required.values()), required
    requests = [
        {
            "principal": token.provider,
            "policies": [],
            "resourcePolicy": simulated,
            "action": "sts:AssumeRoleWithWebIdentity",
            "resource": role_arn,
            "account": FAKE_ACCOUNT,
            "context": token.context(),
        }
        for token in tokens
    ]
    verdicts = simulate(requests)
    raise_on_errors(requests, verdicts)
    return [
        verdict
        if all(token.context()[key] == value for key, value in required.items())
        else "ImplicitlyDenied"
        for token, verdict in zip(tokens, verdicts, strict=True)
    ]


TOKENS: dict[str, tuple[Token, bool]] = {
    "deploy job on main": (Token(ENV_SUBJECT), True),
    "another repository": (Token("repo:mallory/ml-platform:environment:production"), False),
    "a fork's same-named repository": (
        Token("repo:fork/ml-platform:environment:production"),
        False,
    ),
    "another branch using the environment": (Token(ENV_SUBJECT, ref="refs/heads/feature"), False),
    "a job on main without the environment": (
        Token(f"repo:{REPOSITORY}:ref:refs/heads/main"),
        False,
    ),
    "a pull request": (Token(f"repo:{REPOSITORY}:pull_request", ref="refs/pull/7/merge"), False),
    "a pull request job using the environment": (
        Token(ENV_SUBJECT, ref="refs/pull/7/merge"),
        False,
    ),
    "a tag": (Token(ENV_SUBJECT, ref="refs/tags/v1.0.0"), False),
    "another audience": (Token(ENV_SUBJECT, aud="https://github.com/acme"), False),
    "another account's provider": (Token(ENV_SUBJECT, provider=OTHER_PROVIDER_ARN), False),
}


@pytest.fixture(scope="module")
def matrix(synth: Synth) -> PolicyMatrix:
    return PolicyMatrix(template_json(synth, "Imported"))


def test_only_the_deploy_jobs_token_may_assume_the_role(matrix: PolicyMatrix) -> None:
    (role,) = matrix.roles()
    tokens = [token for token, _ in TOKENS.values()]
    verdicts = web_identity_verdicts(role.trust_policy, role.arn, tokens)
    expected = {
        case: "Allowed" if allowed else "ImplicitlyDenied" for case, (_, allowed) in TOKENS.items()
    }
    assert dict(zip(TOKENS, verdicts, strict=True)) == expected


def test_without_the_ref_condition_another_branch_could_use_the_environment(
    matrix: PolicyMatrix,
) -> None:
    (role,) = matrix.roles()
    weaker = copy.deepcopy(role.trust_policy)
    del weaker["Statement"][0]["Condition"]["StringEquals"][REF]
    token, _ = TOKENS["another branch using the environment"]
    assert web_identity_verdicts(weaker, role.arn, [token]) == ["Allowed"]


# -- permissions -----------------------------------------------------------------------------


def test_the_only_permission_is_assume_role_on_the_four_bootstrap_roles(synth: Synth) -> None:
    template = template_json(synth, "Imported")
    (role,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    assert not {"ManagedPolicyArns", "Policies", "PermissionsBoundary"} & set(role["Properties"])
    (policy,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy")
    assert resolve_alone(template, policy["Properties"]["PolicyDocument"]["Statement"]) == [
        {
            "Sid": "AssumeCdkBootstrapRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [bootstrap_role(kind) for kind in BOOTSTRAP_ROLE_KINDS],
        }
    ]


def test_the_bootstrap_qualifier_is_a_parameter(synth: Synth) -> None:
    template = template_json(synth, "BranchSubject")
    (policy,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy")
    (statement,) = resolve_alone(template, policy["Properties"]["PolicyDocument"]["Statement"])
    assert statement["Resource"] == [
        bootstrap_role(kind, qualifier="custom1") for kind in BOOTSTRAP_ROLE_KINDS
    ]


REQUESTS: dict[str, tuple[str, str, bool]] = {
    **{
        f"assume the {kind} role": ("sts:AssumeRole", bootstrap_role(kind), True)
        for kind in BOOTSTRAP_ROLE_KINDS
    },
    "assume an admin role": ("sts:AssumeRole", f"arn:aws:iam::{FAKE_ACCOUNT}:role/Admin", False),
    "assume another region's deploy role": (
        "sts:AssumeRole",
        bootstrap_role("deploy", region="eu-west-1"),
        False,
    ),
    "assume the CloudFormation execution role": (
        "sts:AssumeRole",
        bootstrap_role("cfn-exec"),
        False,
    ),
    "assume another account's deploy role": (
        "sts:AssumeRole",
        bootstrap_role("deploy").replace(FAKE_ACCOUNT, "222222222222"),
        False,
    ),
    "read an object": ("s3:GetObject", "arn:aws:s3:::cdk-hnb659fds-assets/asset.zip", False),
    "pass a role": ("iam:PassRole", bootstrap_role("cfn-exec"), False),
    "create a stack": (
        "cloudformation:CreateStack",
        f"arn:aws:cloudformation:{DEFAULT_REGION}:{FAKE_ACCOUNT}:stack/evil/1",
        False,
    ),
}


def test_the_role_may_assume_the_bootstrap_roles_and_nothing_else(matrix: PolicyMatrix) -> None:
    (role,) = matrix.roles()
    verdicts = matrix.evaluate(
        Query(role, action, resource) for action, resource, _ in REQUESTS.values()
    )
    expected = {
        case: "Allowed" if allowed else "ImplicitlyDenied"
        for case, (_, _, allowed) in REQUESTS.items()
    }
    assert dict(zip(REQUESTS, verdicts, strict=True)) == expected


# -- cdk-nag ---------------------------------------------------------------------------------


def test_cdk_nag_has_no_finding_and_the_construct_needs_no_acknowledgment(synth: Synth) -> None:
    ours = [(rule, path) for rule, path in synth.violations if not path.startswith("Broad/")]
    assert ours == []
    assert synth.acknowledgments == []


def test_cdk_nag_would_flag_a_role_allowed_to_assume_any_role(synth: Synth) -> None:
    assert synth.violations == [
        ("AwsSolutions-IAM5[Resource::*]", "Broad/Role/DefaultPolicy/Resource")
    ]
