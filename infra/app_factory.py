"""Builds the CDK app from settings: the single place that decides which stacks exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import cdk_nag

from infra.config import Settings
from infra.stacks.foundation import FoundationStack
from infra.stacks.github_deploy import GitHubDeployStack
from infra.stacks.pipeline import PipelineStack


def build_app(
    settings: Settings, *, context: Mapping[str, Any], outdir: str | None = None
) -> cdk.App:
    # The built-in CloudFormation validation costs 1.5-5 s a synth and checks a subset of what
    # `make test` runs cfn-lint for on every template; cdk-nag is unaffected by this switch.
    app = cdk.App(context=dict(context), outdir=outdir, builtin_cloud_formation_validation=False)
    env = cdk.Environment(account=settings.account, region=settings.region)
    foundation = FoundationStack(
        app,
        "Foundation",
        stack_name=settings.stack_name("foundation"),
        settings=settings,
        env=env,
        termination_protection=settings.termination_protection,
        description=f"ML platform foundation ({settings.env_name}): key, buckets, ECR, roles",
    )
    PipelineStack(
        app,
        "Pipeline",
        stack_name=settings.stack_name("pipeline"),
        settings=settings,
        foundation=foundation,
        env=env,
        termination_protection=settings.termination_protection,
        description=f"ML platform pipeline ({settings.env_name}): SageMaker pipeline and registry",
    )
    if settings.github.enabled:
        GitHubDeployStack(
            app,
            "GitHubDeploy",
            stack_name=settings.stack_name("github-deploy"),
            settings=settings,
            env=env,
            termination_protection=settings.termination_protection,
            description=f"ML platform CI ({settings.env_name}): GitHub OIDC deploy role",
        )
    cdk.Tags.of(app).add("project", settings.project_prefix)
    cdk.Tags.of(app).add("environment", settings.env_name)
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return app
