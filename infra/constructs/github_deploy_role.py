"""The role GitHub Actions assumes through OIDC to run `cdk deploy` from one branch."""

from __future__ import annotations

import re

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
# The audience aws-actions/configure-aws-credentials requests for its token.
STS_AUDIENCE = "sts.amazonaws.com"
DEFAULT_BOOTSTRAP_QUALIFIER = "hnb659fds"
# The roles `cdk bootstrap` creates; the CLI assumes them to publish assets, look up context and
# hand the templates to CloudFormation. Nothing else is needed to deploy this app.
BOOTSTRAP_ROLE_KINDS = ("deploy", "file-publishing", "image-publishing", "lookup")

_REPOSITORY = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")
_QUALIFIER = re.compile(r"[A-Za-z0-9_-]{1,10}")  # the bootstrap template's own pattern
_PROVIDER_ARN = re.compile(
    rf"arn:aws(-cn|-us-gov)?:iam::\d{{12}}:oidc-provider/{re.escape(GITHUB_OIDC_HOST)}"
)


def subject(repository: str, *, branch: str, environment: str | None) -> str:
    """The `sub` claim GitHub puts in the token of a job of ``repository`` (default template).

    A job that names an `environment:` gets ``repo:<owner>/<repo>:environment:<name>``, whatever
    branch it runs on; any other job started by a push gets ``...:ref:refs/heads/<branch>``.
    """
    if environment is not None:
        return f"repo:{repository}:environment:{environment}"
    return f"repo:{repository}:ref:refs/heads/{branch}"


class GitHubDeployRole(Construct):
    """An OIDC-federated role for one repository's deploy job, allowed only to assume the CDK
    bootstrap roles of its own account and region.

    ``create_provider`` switches between creating the account's GitHub OIDC provider and
    importing it by ``provider_arn``: IAM allows one provider per URL and account, so a second
    app (or a hand-made provider) in the same account must import it.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        repository: str,
        branch: str,
        create_provider: bool,
        provider_arn: str | None,
        environment: str | None = "production",
        bootstrap_qualifier: str = DEFAULT_BOOTSTRAP_QUALIFIER,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        _check(repository, branch, create_provider, provider_arn, bootstrap_qualifier)
        if create_provider:
            # The native AWS::IAM::OIDCProvider: no custom-resource Lambda. Without thumbprints
            # IAM verifies GitHub's certificate against its own trusted CAs.
            self.provider: iam.IOpenIdConnectProvider = iam.OidcProviderNative(
                self, "Provider", url=GITHUB_OIDC_URL, client_ids=[STS_AUDIENCE]
            )
        else:
            self.provider = iam.OidcProviderNative.from_oidc_provider_arn(
                self, "Provider", provider_arn
            )
        self.provider_arn: str = self.provider.open_id_connect_provider_arn
        self.subject = subject(repository, branch=branch, environment=environment)
        # The conditions match what .github/workflows/deploy.yml really sends (GitHub's
        # default subject template). Its job names `environment: production`, and then the
        # `sub` claim is repo:<owner>/<repo>:environment:production, whichever branch the run
        # is on: the branch is no longer in `sub`. So the branch is checked on the token's own
        # `ref` claim, which STS evaluates as a condition key for GitHub's provider. Denied:
        # other repositories (`sub`), other branches and tags using the environment (`ref`),
        # pull requests (`sub` ...:pull_request, or `ref` refs/pull/<n>/merge when they name
        # the environment), jobs on the branch that skip the environment and its reviewers
        # (`sub` ...:ref:refs/heads/<branch>), and tokens minted for another audience.
        # Without an environment, `sub` itself names the branch and `ref` repeats it.
        # A repository with a customized subject template sends another `sub`: assuming the
        # role then fails (closed) until this subject is adapted.
        conditions = {
            "StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": self.subject,
                f"{GITHUB_OIDC_HOST}:ref": f"refs/heads/{branch}",
            }
        }
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=f"Assumed by GitHub Actions ({repository}, {branch}) to run cdk deploy",
            assumed_by=iam.WebIdentityPrincipal(self.provider_arn, conditions),
            # Also the limit of the role chaining the CDK CLI does next.
            max_session_duration=Duration.hours(1),
        )
        # Exact ARNs of this stack's account and region (literals when the stack is pinned to
        # an environment): no wildcard, so no other role and no other region's CDK roles.
        stack = Stack.of(self)
        self.bootstrap_role_arns = [
            stack.format_arn(
                service="iam",
                region="",
                resource="role",
                resource_name=(
                    f"cdk-{bootstrap_qualifier}-{kind}-role-{stack.account}-{stack.region}"
                ),
            )
            for kind in BOOTSTRAP_ROLE_KINDS
        ]
        # No sts:TagSession: the CLI tags its bootstrap-role sessions only when the synthesizer
        # is configured with session tags, and this app's default synthesizer is not.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeCdkBootstrapRoles",
                actions=["sts:AssumeRole"],
                resources=self.bootstrap_role_arns,
            )
        )


def _check(
    repository: str,
    branch: str,
    create_provider: bool,
    provider_arn: str | None,
    qualifier: str,
) -> None:
    if not _REPOSITORY.fullmatch(repository):
        raise ValueError(f"repository {repository!r} is not <owner>/<name>")
    if not branch or branch.startswith("refs/") or any(c in branch for c in " ~^:?*[\\"):
        raise ValueError(f"branch {branch!r} is not a branch name (without refs/heads/)")
    if not _QUALIFIER.fullmatch(qualifier):
        raise ValueError(f"bootstrap qualifier {qualifier!r} is not a CDK qualifier")
    if create_provider and provider_arn is not None:
        raise ValueError("provider_arn is for importing a provider; it conflicts with creating one")
    if not create_provider and (
        provider_arn is None
        or not (Token.is_unresolved(provider_arn) or _PROVIDER_ARN.fullmatch(provider_arn))
    ):
        raise ValueError(
            f"provider_arn {provider_arn!r} must be the ARN of the account's "
            f"{GITHUB_OIDC_HOST} OIDC provider when the provider is not created"
        )
