"""The CI stack: GitHub's OIDC provider and the role the deploy workflow assumes."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import Settings
from infra.constructs.github_deploy_role import GitHubDeployRole


class GitHubDeployStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, settings: Settings, **kwargs: object) -> None:
        super().__init__(scope, id_, **kwargs)
        github = settings.github
        if github.repository is None:  # the settings model already rejects this
            raise ValueError("github.repository is required")
        deploy = GitHubDeployRole(
            self,
            "GitHubDeploy",
            repository=github.repository,
            branch=github.branch,
            environment=github.environment,
            create_provider=github.create_oidc_provider,
            provider_arn=github.oidc_provider_arn,
            # A known name, so the repository variable DEPLOY_ROLE_ARN can be set in advance.
            role_name=f"{settings.project_prefix}-github-deploy",
        )
        CfnOutput(
            self,
            "DeployRoleArn",
            value=deploy.role.role_arn,
            description="GitHub repository variable DEPLOY_ROLE_ARN",
        )
